"""Code in strings gets the namespace it had in the notebook.

In a notebook every cell runs in the kernel's global namespace, so code in a
string sees the notebook's values wherever it is run: `exec(s)`, `eval(s)`,
`cProfile.run(s)` (in `__main__`, which is the kernel's namespace) and
`timeit.timeit(s, globals=globals())`. In the package the cell is the body of a
step function and those values are its locals, which the string cannot see
(`eval` sees them, but not from a comprehension inside the string). Each such
call in a step's own code (not inside a function, class, lambda or
comprehension it defines) gets the namespace explicitly: the step's globals and
locals merged, a snapshot as the notebook's namespace was at that line. The
rewrite is a table of call shapes; arguments are only added or a callee renamed,
at the positions `ast` gives, so the line count stays. What a string binds
(`exec("b = 1")`) is not a step value, and `from __main__ import x` in a
`setup` string names the package's `__main__`: both are NB628, located.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from nb2prod.problems import Problem, make_problem

NAMESPACE = "{**globals(), **locals()}"


@dataclass(frozen=True)
class Edit:
    line: int  # 1-based
    start: int  # UTF-8 byte columns, as ast gives them
    end: int
    text: str


def _insert_after_first(call: ast.Call, text: str) -> list[Edit]:
    first = call.args[0]
    return [Edit(first.end_lineno, first.end_col_offset, first.end_col_offset, text)]


def _exec_eval(call: ast.Call) -> list[Edit]:
    if len(call.args) == 1 and not call.keywords:
        return _insert_after_first(call, f", {NAMESPACE}")
    return []


def _profile_run(call: ast.Call) -> list[Edit]:
    """`cProfile.run(s, ...)` runs in `__main__`; `runctx(s, globals, locals, ...)` here."""
    if not call.args or any(isinstance(a, ast.Starred) for a in call.args[:1]):
        return []
    func = call.func
    name_end = func.end_col_offset
    return [Edit(func.end_lineno, name_end - len("run"), name_end, "runctx"),
            *_insert_after_first(call, ", globals(), locals()")]


def _timeit(call: ast.Call) -> list[Edit]:
    """`globals=globals()` meant the notebook's namespace: the step's too, here."""
    for keyword in call.keywords:
        value = keyword.value
        if keyword.arg == "globals" and isinstance(value, ast.Call) and isinstance(
                value.func, ast.Name) and value.func.id == "globals" and not value.args:
            return [Edit(value.lineno, value.col_offset, value.end_col_offset, NAMESPACE)]
    return []


CALLS = {
    ("", "exec"): _exec_eval, ("", "eval"): _exec_eval,
    ("cProfile", "run"): _profile_run, ("profile", "run"): _profile_run,
    **{(module, name): _timeit for module in ("timeit", "") for name in
       ("timeit", "repeat", "Timer")},
}
"""(module name or "" for a bare name, function) -> the edits that pass the namespace."""

_OWN_SCOPE = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp,
              ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _calls(tree: ast.Module) -> Iterator[ast.Call]:
    """Calls in the step's own scope (not in functions, classes, lambdas, comprehensions)."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, _OWN_SCOPE):
            continue
        if isinstance(node, ast.Call):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _key(call: ast.Call) -> tuple[str, str]:
    func = call.func
    if isinstance(func, ast.Name):
        return "", func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id, func.attr
    return "", ""


def namespaced(code: str) -> str:
    """Step code with every code-in-string call given the step's namespace."""
    if not any(name in code for _, name in CALLS):
        return code
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    edits = [e for call in _calls(tree) for e in CALLS.get(_key(call), lambda c: [])(call)]
    lines = [line.encode("utf-8") for line in code.split("\n")]
    for edit in sorted(edits, key=lambda e: (e.line, e.start), reverse=True):
        raw = lines[edit.line - 1]
        lines[edit.line - 1] = raw[:edit.start] + edit.text.encode("utf-8") + raw[edit.end:]
    return "\n".join(line.decode("utf-8") for line in lines)


def string_problems(tree: ast.Module, cell: int, cell_id: str | None,
                    read: set[str]) -> list[Problem]:
    """NB628 where code in a string cannot behave as in the notebook: it binds a name
    the code reads (`read`), or imports from `__main__`."""
    problems = []
    for call in _calls(tree):
        key = _key(call)
        if key in (("", "exec"),) and call.args and isinstance(call.args[0], ast.Constant) \
                and isinstance(call.args[0].value, str):
            bound = [n for n in _binds(call.args[0].value) if n in read]
            if bound:
                problems.append(make_problem(
                    "NB628", f"`exec` binds {', '.join(f'`{n}`' for n in bound)}: in the "
                    "package that is not a value of the step", cell, call.lineno,
                    call.col_offset + 1, cell_id))
        for keyword in call.keywords:
            value = keyword.value
            if keyword.arg == "setup" and isinstance(value, ast.Constant) and isinstance(
                    value.value, str) and "from __main__ import" in value.value:
                problems.append(make_problem(
                    "NB628", "`from __main__ import` in a setup string imports from the "
                    "package's `__main__`, not the notebook", cell, value.lineno,
                    value.col_offset + 1, cell_id,
                    hint="pass `globals=globals()` instead of importing from __main__"))
    return problems


def _binds(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return sorted({n.id for n in ast.walk(tree)
                   if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)})
