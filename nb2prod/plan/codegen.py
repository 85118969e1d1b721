"""Cell code -> code fit for a module or a function body.

User code is only ever cut at statement boundaries found by `ast` and
re-indented line by line; it is never parsed as a template or rewritten
otherwise. Lines inside multi-line strings keep their exact text, so the
package computes with the same string values the notebook did.
"""

from __future__ import annotations

import ast
import io
import json
import tokenize
from dataclasses import dataclass

DISPLAY_METHODS = frozenset([
    "head", "tail", "describe", "show", "display",
    "style", "to_frame", "value_counts", "nunique", "isna", "isnull", "corr", "memory_usage",
])
"""Method calls that, as a cell's last expression, only show a value. Not
`info` (it prints to stdout), `sample` (it draws from the global RNG, so
dropping it changes every later random value), nor `plot`/`hist` (they draw
on the current figure, which a later `savefig` may write)."""


@dataclass(frozen=True)
class Cut:
    """Code taken out of a cell: its first line (1-based) and text."""

    line: int
    text: str


@dataclass(frozen=True)
class Body:
    code: str  # the remaining code, dedented, blank lines trimmed at both ends
    imports: tuple[Cut, ...]  # hoisted top-level import statements
    dropped: tuple[Cut, ...]  # display-only expressions that were removed
    lines: tuple[int, ...] = ()  # the cell line (1-based) each line of `code` came from


def split_body(python: str, tree: ast.Module, *, hoist_imports: bool) -> Body:
    """Remove top-level imports (when hoisting) and display-only expressions."""
    lines = python.split("\n")
    remove: set[int] = set()  # 0-based line indexes
    imports, dropped = [], []
    statements = tree.body
    if hoist_imports:
        imports.extend(_hoist_from_shared_lines(lines, statements, remove))
    for position, node in enumerate(statements):
        if not _owns_lines(node, statements):
            continue
        is_last = position == len(statements) - 1
        if hoist_imports and isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(Cut(node.lineno, _text(lines, node)))
        elif _is_display(node, is_last):
            dropped.append(Cut(node.lineno, _text(lines, node)))
        elif _is_computing_display(node):  # display(rng.random(3)): the draw still runs
            dropped.append(Cut(node.lineno, _text(lines, node)))
            _keep_arguments(python, lines, node)
            continue
        else:
            continue
        remove.update(range(node.lineno - 1, node.end_lineno))
    kept = [(i + 1, text) for i, text in enumerate(lines) if i not in remove]
    code = _trim("\n".join(text for _, text in kept))
    first = next((n for n, text in kept if text.strip()), 1)  # _trim drops leading blanks
    numbers = [n for n, _ in kept if n >= first][: code.count("\n") + 1]
    return Body(code, tuple(imports), tuple(dropped), tuple(numbers))


def _hoist_from_shared_lines(lines: list[str], statements: list[ast.stmt],
                             remove: set[int]) -> list[Cut]:
    """`import warnings; warnings.filterwarnings("ignore")`: cut the imports out of
    a line of one-line statements; the rest stays on that line (or it goes)."""
    cuts = []
    by_line: dict[int, list[ast.stmt]] = {}
    for node in statements:
        by_line.setdefault(node.lineno, []).append(node)
    for lineno, nodes in by_line.items():
        if len(nodes) < 2 or any(n.end_lineno != lineno for n in nodes) or not any(
                isinstance(n, (ast.Import, ast.ImportFrom)) for n in nodes):
            continue
        if any(n.lineno <= lineno <= n.end_lineno for n in statements if n not in nodes):
            continue
        raw = lines[lineno - 1].encode("utf-8")  # ast columns are UTF-8 byte offsets
        parts = [(n, raw[n.col_offset:n.end_col_offset].decode("utf-8")) for n in nodes]
        cuts += [Cut(lineno, text) for n, text in parts
                 if isinstance(n, (ast.Import, ast.ImportFrom))]
        rest = [text for n, text in parts if not isinstance(n, (ast.Import, ast.ImportFrom))]
        indent = lines[lineno - 1][: len(lines[lineno - 1]) - len(lines[lineno - 1].lstrip())]
        lines[lineno - 1] = indent + "; ".join(rest)
        if not rest:
            remove.add(lineno - 1)
    return cuts


def _owns_lines(node: ast.stmt, statements: list[ast.stmt]) -> bool:
    """False when another statement shares a line (`import os; x = 1`): leave both."""
    return not any(
        other is not node and other.lineno <= node.end_lineno and other.end_lineno >= node.lineno
        for other in statements
    )


PURE_BUILTINS = frozenset(["len", "round", "str", "int", "float", "bool", "range", "list",
                           "tuple", "sorted", "min", "max", "sum", "abs", "zip", "enumerate",
                           "format", "repr", "dict", "set"])
"""Calls that compute nothing a later statement could notice."""


def computes_inside(call: ast.Call) -> bool:
    """Whether a call's arguments or receiver make calls of their own (other than
    pure builtins): `df.head()` only shows, `df.sample(5).head()` also draws."""
    inner = [*call.args, *(k.value for k in call.keywords), call.func]
    return any(isinstance(n, ast.Call) and not (isinstance(n.func, ast.Name)
                                                and n.func.id in PURE_BUILTINS)
               for part in inner for n in ast.walk(part))


def _is_computing_display(node: ast.stmt) -> bool:
    value = node.value if isinstance(node, ast.Expr) else None
    return (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
            and value.func.id == "display" and computes_inside(value))


def _keep_arguments(python: str, lines: list[str], node: ast.stmt) -> None:
    """`display(a(), b)` -> `a(), b` on the same lines: shown no more, still computed."""
    args = [*node.value.args, *(k.value for k in node.value.keywords)]
    kept = ", ".join(ast.get_source_segment(python, a) or "None" for a in args).split("\n")
    span = node.end_lineno - node.lineno + 1
    indent = lines[node.lineno - 1][: node.col_offset]
    kept = [indent + kept[0], *kept[1:]] + [""] * max(0, span - len(kept))
    lines[node.lineno - 1 : node.end_lineno] = kept[:span]


def _is_display(node: ast.stmt, is_last: bool) -> bool:
    if not isinstance(node, ast.Expr):
        return False
    value = node.value
    if isinstance(value, ast.Call) and computes_inside(value):
        return False  # it computes too (draws from a generator, mutates): it runs
    if isinstance(value, ast.Call):
        func = value.func
        if isinstance(func, ast.Name) and func.id == "display":
            return True
        return is_last and isinstance(func, ast.Attribute) and func.attr in DISPLAY_METHODS \
            and not value.args and not value.keywords
    # A bare name, attribute, subscript or constant only shows a value.
    return is_last and isinstance(value, (ast.Name, ast.Attribute, ast.Subscript, ast.Constant))


def _text(lines: list[str], node: ast.stmt) -> str:
    return "\n".join(lines[node.lineno - 1 : node.end_lineno]).strip()


def _trim(code: str) -> str:
    lines = code.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(line.rstrip() if line.strip() else "" for line in lines)


def string_continuation_lines(code: str) -> set[int]:
    """0-based indexes of lines that start inside a multi-line string token."""
    inside: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type == tokenize.STRING or token.type == getattr(
                tokenize, "FSTRING_MIDDLE", -1
            ):
                inside.update(range(token.start[0], token.end[0]))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return inside


def indent(code: str, prefix: str = "    ") -> str:
    """Indent every line except blank ones and those inside multi-line strings."""
    protected = string_continuation_lines(code)
    return "\n".join(
        line if (i in protected or not line.strip()) else prefix + line
        for i, line in enumerate(code.split("\n"))
    )


def mark_unused(code: str, names: set[str], rule: str) -> str:
    """Append `# noqa: RULE` to the import lines that bind an unused `name` (kept on
    purpose); unused locals of a step: `mark_unused_locals`."""
    if not names:
        return code
    lines = code.split("\n")
    targets = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                (a.asname or a.name.split(".")[0]) in names for a in node.names):
            targets.add(node.lineno - 1)
    for index in targets:
        if "# noqa" not in lines[index]:
            lines[index] = f"{lines[index]}  # noqa: {rule}"
    return "\n".join(lines)


def unused_local_rules(code: str, names: set[str]) -> dict[int, list[str]]:
    """0-based line -> the ruff rules an unused `name` bound there triggers in a
    function body: F841 for plain bindings (assign, annotated, walrus, `with ...
    as x`, `except ... as x`), RUF059 for tuple unpacking. Loop and
    comprehension targets and `_`-prefixed names trigger nothing."""
    found: dict[int, list[str]] = {}

    def add(line: int, rule: str) -> None:
        rules = found.setdefault(line - 1, [])
        if rule not in rules:
            rules.append(rule)

    def target(node: ast.expr, unpacked: bool) -> None:
        if isinstance(node, ast.Name):
            if node.id in names and not node.id.startswith("_"):
                add(node.lineno, "RUF059" if unpacked else "F841")
        elif isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                target(element, True)
        elif isinstance(node, ast.Starred):
            target(node.value, unpacked)

    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Assign):
            for each in node.targets:
                target(each, False)
        elif isinstance(node, ast.NamedExpr) or (
                isinstance(node, ast.AnnAssign) and node.value is not None):
            target(node.target, False)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            target(node.optional_vars, False)
        elif isinstance(node, ast.ExceptHandler) and node.name in names \
                and not node.name.startswith("_"):
            add(node.lineno, "F841")
    return found


def mark_unused_locals(code: str, names: set[str]) -> str:
    """Append `# noqa: F841`/`RUF059` where ruff would flag an unused local binding."""
    if not names:
        return code
    lines = code.split("\n")
    in_string = string_continuation_lines(code)  # a line ending inside a string: no comment
    for index, rules in sorted(unused_local_rules(code, names).items()):
        if "# noqa" not in lines[index] and index + 1 not in in_string:
            lines[index] = f"{lines[index]}  # noqa: {', '.join(sorted(rules))}"
    return "\n".join(lines)


def loaded_names(code: str) -> set[str]:
    """Every name read anywhere in `code` (any scope); `x.attr` reads `x` too,
    as the walk reaches its `Name` node."""
    return {
        node.id for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store)
    }


def bound_names(code: str) -> set[str]:
    """Every name `code` binds by assignment or `except ... as name` (any scope)."""
    return {
        node.id if isinstance(node, ast.Name) else node.name
        for node in ast.walk(ast.parse(code))
        if (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store))
        or (isinstance(node, ast.ExceptHandler) and node.name)
    }


def imported_names(code: str) -> set[str]:
    """Names bound by import statements anywhere in `code`."""
    return {alias.asname or alias.name.split(".")[0]
            for node in ast.walk(ast.parse(code)) if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names if alias.name != "*"}


def starts_with_definition(code: str) -> bool:
    """Whether the first statement is a def or class (decorators included)."""
    try:
        body = ast.parse(code).body
    except SyntaxError:
        return False
    return bool(body) and isinstance(
        body[0], (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))


def python_literal(value: object) -> str:
    """Python source for a literal, with double-quoted strings (black's style)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(python_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{python_literal(k)}: {python_literal(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    return repr(value)
