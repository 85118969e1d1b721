"""NB2xx: names and imports across cells, from the shared dataflow.

Hidden state (NB201/NB203), star imports (NB202), global writes (NB609) and
IPython-only names (NB613) are the conversion codes `build` reports too, so
lint and build agree on them. Redefinition (NB204) and scattered imports
(NB205) are lint's own.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from nb2prod.analysis import IPYTHON_NAMES, CellAnalysis, unresolved_names
from nb2prod.lint.context import Check, LintContext, found
from nb2prod.problems import WARNING, Problem, Rule, make_problem
from nb2prod.tags import FUNCTIONS, IMPORTS, METRICS, SKIP, TEST

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
    metrics = {c.cell.number for c in ctx.code_cells if c.tags.role == METRICS}
    for problem in unresolved_names(ctx.code_cells):
        if problem.cell in metrics:
            name = problem.message.split("`")[1]
            yield make_problem("NB608", f"metrics cell names `{name}`, which no earlier "
                               "cell defines", problem.cell, problem.line, problem.column,
                               problem.cell_id)
        else:
            yield problem


def check_star_imports(ctx: LintContext) -> Iterator[Problem]:
    for cell in ctx.parsed:
        if "*" not in cell.cell.source:
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
        loads = ctx.facts[cell.cell.index].loads
        for name in cell.flow.defines:
            previous = last.get(name)
            last[name] = (cell, name in loads)  # read in its own cell: counts as used
            if previous is None or name.startswith("_"):
                continue
            problem = _redefinition(previous[0], cell, name, previous[1])
            if problem:
                yield problem


def _redefinition(before: CellAnalysis, cell: CellAnalysis, name: str,
                  used: bool) -> Problem | None:
    old_kind = binding_site(before.tree, name)[0]
    kind, line, column = binding_site(cell.tree, name)
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


def binding_site(tree: ast.Module, name: str) -> tuple[str, int, int]:
    """(kind, line, column) of the first binding of `name` outside loops and functions."""
    for stmt in tree.body:
        for node in _top_level(stmt, loops=False):
            kind = _binds(node, name)
            if kind:
                return kind, node.lineno, node.col_offset + 1
    return "other", 1, 1


def _top_level(stmt: ast.stmt, loops: bool = True) -> Iterator[ast.AST]:
    """The statement and the statements nested in its blocks, not in functions
    (nor in loop and `with` bodies unless `loops`: loop variables are meant to change)."""
    yield stmt
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return
    if not loops and isinstance(stmt, (ast.For, ast.AsyncFor, ast.While, ast.With,
                                       ast.AsyncWith)):
        return
    for block in ("body", "orelse", "finalbody", "handlers"):
        for child in getattr(stmt, block, ()):
            yield from _top_level(child, loops)


def _binds(node: ast.AST, name: str) -> str | None:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return "def" if node.name == name else None
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        names = {a.asname or a.name.split(".")[0] for a in node.names}
        return "import" if name in names else None
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if any(_has_name(t, name) for t in targets):
            return "assign"
    if isinstance(node, (ast.For, ast.AsyncFor)):
        return "loop" if _has_name(node.target, name) else None
    if isinstance(node, (ast.With, ast.AsyncWith)):
        targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
        return "loop" if any(_has_name(t, name) for t in targets) else None
    return None


def _has_name(target: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(target))


def check_late_imports(ctx: LintContext) -> Iterator[Problem]:
    started = False  # has a cell with real work been seen?
    for cell in ctx.parsed:
        if started and cell.tags.role not in (IMPORTS, FUNCTIONS, SKIP, TEST):
            for stmt in _imports(cell.tree):
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
