"""NB2xx: names and imports across cells, from the shared dataflow.

Hidden state (NB201/NB203), star imports (NB202), global writes (NB609) and
IPython-only names (NB613) are the conversion codes `build` reports too, so
lint and build agree on them. Redefinition (NB204) and scattered imports
(NB205) are lint's own.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from nb2prod.analysis.tags import FUNCTIONS, IMPORTS, METRICS, SKIP, TEST
from nb2prod.lint.context import Check, LintContext, found
from nb2prod.problems import WARNING, Problem, Rule, make_problem

if TYPE_CHECKING:
    from nb2prod.analysis.analyze import CellAnalysis

REDEFINED = Rule(
    "NB204", "redefined-across-cells", WARNING,
    "A name defined in one cell is defined again in a later cell before it is used, "
    "or a function is defined twice.",
    "Give the values different names, or delete the earlier definition.",
    "Which definition wins depends on which cells ran last; the package keeps only the "
    "last one, so cells in between silently change meaning.",
    "# cell 2\nmodel = LogisticRegression()\n# cell 5\nmodel = RandomForestClassifier()",
    "# cell 2\nbaseline = LogisticRegression()\n# cell 5\nforest = RandomForestClassifier()")
LATE_IMPORT = Rule(
    "NB205", "import-not-at-top", WARNING,
    "An import appears after the notebook's first cells.",
    "Move the import to the imports cell at the top of the notebook.",
    "Imports scattered through a notebook hide its dependencies and make steps depend "
    "on cells that ran earlier only for their imports.",
    "# cell 12\nfrom sklearn.metrics import f1_score",
    "# cell 1\nfrom sklearn.metrics import f1_score")

RULES = (REDEFINED, LATE_IMPORT)
_BINDING_KINDS = ("assign", "def", "import")


def check_hidden_state(ctx: LintContext) -> Iterator[Problem]:
    from nb2prod.analysis.analyze import unresolved_names  # loaded with the analysis: no extra cost

    metrics = {c.cell.number for c in ctx.code_cells if c.tags.role == METRICS}
    for problem in unresolved_names(ctx.code_cells, late_helpers=True):
        if problem.cell in metrics:
            name = problem.message.split("`")[1]
            yield make_problem("NB608", f"metrics cell names `{name}`, which no earlier "
                               "cell defines", problem.cell, problem.line, problem.column,
                               problem.cell_id)
        else:
            yield problem


def check_star_imports(ctx: LintContext) -> Iterator[Problem]:
    for cell in ctx.parsed:
        if not cell.flow.star_imports:
            continue
        for node in ast.walk(cell.tree):
            if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
                yield make_problem("NB202", f"`from {node.module} import *` hides which "
                                   "names exist", cell.cell.number, node.lineno,
                                   node.col_offset + 1, cell.cell.cell_id)


def check_global_writes(ctx: LintContext) -> Iterator[Problem]:
    for cell in ctx.parsed:
        for use in cell.flow.global_writes:
            yield make_problem("NB609", f"function assigns global `{use.name}`",
                               cell.cell.number, use.line, use.column, cell.cell.cell_id)


def check_ipython_names(ctx: LintContext) -> Iterator[Problem]:
    from nb2prod.analysis.analyze import IPYTHON_NAMES

    defined: set[str] = set()
    for cell in ctx.parsed:
        if cell.tags.role != SKIP:
            for use in cell.flow.reads:
                if use.name in IPYTHON_NAMES and use.name not in defined:
                    yield make_problem("NB613", f"`{use.name}` exists only inside IPython",
                                       cell.cell.number, use.line, use.column,
                                       cell.cell.cell_id)
        defined.update(cell.flow.defines)


def check_redefinitions(ctx: LintContext) -> Iterator[Problem]:
    last: dict[str, tuple[CellAnalysis, bool]] = {}  # name -> (defining cell, used since)
    for cell in ctx.parsed:
        for use in cell.flow.reads:
            if use.name in last:
                last[use.name] = (last[use.name][0], True)
        for name in cell.flow.defines:
            previous = last.get(name)
            last[name] = (cell, None)  # None: "used in its own cell?" not computed yet
            if previous is None or name.startswith("_"):
                continue
            used = previous[1] or _used_in_own_cell(previous[0], name)
            problem = _redefinition(ctx, previous[0], cell, name, used)
            if problem:
                yield problem


def _redefinition(ctx: LintContext, before: CellAnalysis, cell: CellAnalysis, name: str,
                  used: bool) -> Problem | None:
    old_kind = ctx_bindings(ctx, before).get(name, ("other", 1, 1))[0]
    kind, line, column = ctx_bindings(ctx, cell).get(name, ("other", 1, 1))
    if kind not in _BINDING_KINDS or old_kind not in _BINDING_KINDS:
        return None
    if not used:
        return found(REDEFINED, cell, f"`{name}` from cell {before.cell.number} is "
                     "redefined before it was used", line, column)
    if kind == old_kind == "def":
        return found(REDEFINED, cell, f"`{name}` is defined again (first in cell "
                     f"{before.cell.number}); cells in between used the old version",
                     line, column)
    return None


def _used_in_own_cell(cell: CellAnalysis, name: str) -> bool:
    """Does the defining cell mention the name again (most likely a read)?"""
    return _word_count(cell.code.python, name, stop=2) > 1


def _word_count(text: str, word: str, stop: int) -> int:
    r"""`len(re.findall(rf"\b{word}\b", text))` for an identifier, counting up to `stop`.

    Without a regex compiled per name: `\w` is `str.isalnum()` or `_`. Two
    whole-word matches of an identifier cannot overlap, so scanning on from
    the next character finds what `findall` finds.
    """
    count, start, size = 0, 0, len(word)
    while count < stop:
        at = text.find(word, start)
        if at < 0:
            break
        before, after = text[at - 1:at] if at else "", text[at + size:at + size + 1]
        if not (before and (before.isalnum() or before == "_")) and \
                not (after and (after.isalnum() or after == "_")):
            count += 1
        start = at + 1
    return count


def ctx_bindings(ctx: LintContext, cell: CellAnalysis) -> dict[str, tuple[str, int, int]]:
    """Name -> (kind, line, column) of its first binding in the cell, computed once."""
    key = ("bindings", cell.cell.index)
    if key not in ctx.memo:
        ctx.memo[key] = bindings(cell.tree)
    return ctx.memo[key]


def bindings(tree: ast.Module) -> dict[str, tuple[str, int, int]]:
    """Name -> (kind, line, column) of the first binding outside functions; bindings in
    loop and `with` bodies are kind "loop" (loop variables are meant to change)."""
    table: dict[str, tuple[str, int, int]] = {}
    for stmt in tree.body:
        for node in _top_level(stmt):
            for name, kind in _bound_names(node):
                table.setdefault(name, (kind, node.lineno, node.col_offset + 1))
    return table


def _top_level(stmt: ast.stmt) -> Iterator[ast.AST]:
    """The statement and the statements nested in its blocks, not in functions."""
    yield stmt
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return
    for block in ("body", "orelse", "finalbody", "handlers"):
        for child in getattr(stmt, block, ()):
            yield from _top_level(child)


def _bound_names(node: ast.AST) -> Iterator[tuple[str, str]]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield node.name, "def"
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            yield alias.asname or alias.name.split(".")[0], "import"
    elif isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            yield from ((n, "assign") for n in _names(target))
    elif isinstance(node, (ast.For, ast.AsyncFor)):
        yield from ((n, "loop") for n in _names(node.target))
        yield from ((n, "loop") for n in _stored(node))  # a loop body rebinds on purpose
    elif isinstance(node, (ast.While, ast.With, ast.AsyncWith)):
        yield from ((n, "loop") for n in _stored(node))


def _stored(node: ast.AST) -> list[str]:
    """Names assigned anywhere in `node` (`ast.walk` without its generator per node)."""
    from nb2prod.analysis.scopes import CHILD_FIELDS, child_fields  # loaded by the analysis

    names, todo = [], [node]
    while todo:
        sub = todo.pop()
        kind = sub.__class__
        if kind is ast.Name:
            if sub.ctx.__class__ is ast.Store:
                names.append(sub.id)
            continue
        for field in CHILD_FIELDS.get(kind) or child_fields(kind):
            value = getattr(sub, field, None)
            if type(value) is list:
                todo.extend(v for v in value if isinstance(v, ast.AST))
            elif isinstance(value, ast.AST):
                todo.append(value)
    return names


def _names(target: ast.AST) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _names(element)
    elif isinstance(target, ast.Starred):
        yield from _names(target.value)


def check_late_imports(ctx: LintContext) -> Iterator[Problem]:
    started = False  # has a cell with real work been seen?
    for cell in ctx.parsed:
        if started and cell.tags.role not in (IMPORTS, FUNCTIONS, SKIP, TEST):
            for stmt in (_imports(cell.tree) if "import" in cell.code.python else ()):
                text = ast.unparse(stmt)
                yield found(LATE_IMPORT, cell, f"`{text[:60]}` after the notebook's first "
                            "cells", stmt.lineno, stmt.col_offset + 1)
        started = started or any(not _is_import_or_docs(s) for s in cell.tree.body)


def _imports(tree: ast.Module) -> Iterator[ast.stmt]:
    for stmt in tree.body:
        for node in _top_level(stmt):
            if isinstance(node, ast.Import) or (
                    isinstance(node, ast.ImportFrom) and node.module != "__future__"):
                yield node


def _is_import_or_docs(stmt: ast.stmt) -> bool:
    if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Pass)):
        return True
    if isinstance(stmt, ast.Try):
        return all(_is_import_or_docs(s) for s in stmt.body)
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)


CHECKS = (
    Check(("NB201", "NB203", "NB608"), check_hidden_state),
    Check(("NB202",), check_star_imports),
    Check(("NB609",), check_global_writes),
    Check(("NB613",), check_ipython_names),
    Check(("NB204",), check_redefinitions),
    Check(("NB205",), check_late_imports),
)
