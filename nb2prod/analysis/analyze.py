"""One analysis of a notebook, shared by `build`, `plan` and `lint`.

Per cell: its tags, its Python (IPython syntax split off by magics.py), its
syntax tree and its dataflow. Across cells: names read before anything
defines them. Nothing here renders or writes.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterable
from dataclasses import dataclass

from nb2prod.analysis.dataflow import CellFlow, analyze_cell
from nb2prod.analysis.facts import CellFacts, analyze_cell_with_facts
from nb2prod.analysis.lazy import helper_of, lazy_spans
from nb2prod.analysis.magics import DEPENDENCY, DROP, REFUSE, UNWRAP, CellCode, split_ipython
from nb2prod.analysis.tags import CellTags, read_tags, strip_directives
from nb2prod.notebook import Cell, Notebook
from nb2prod.problems import Problem, make_problem

BUILTIN_NAMES = frozenset(dir(builtins)) | {"__file__", "__builtins__"}
IPYTHON_NAMES = frozenset(["display", "get_ipython", "In", "Out", "_", "__", "___", "_ih",
                           "_oh", "_i", "_ii", "_iii", "exit", "quit"])
"""Names an IPython kernel defines that a plain Python module does not."""

MAGIC_CODES = {REFUSE: "NB601", DROP: "NB602", UNWRAP: "NB603", DEPENDENCY: "NB604"}


@dataclass(frozen=True)
class CellAnalysis:
    """One cell as analysed: tags, Python, syntax tree, dataflow, its own problems."""

    cell: Cell
    tags: CellTags
    code: CellCode | None = None  # None for markdown and raw cells
    tree: ast.Module | None = None  # None when not code or not valid Python
    flow: CellFlow | None = None
    problems: tuple[Problem, ...] = ()  # syntax and IPython problems of this cell alone
    facts: CellFacts | None = None  # with `analyze(..., facts=True)` (lint), when parsed

    @property
    def is_code(self) -> bool:
        return self.cell.kind == "code"


@dataclass(frozen=True)
class NotebookAnalysis:
    """Every cell of a notebook, analysed once, in notebook order."""

    notebook: Notebook
    cells: tuple[CellAnalysis, ...]

    @property
    def code_cells(self) -> tuple[CellAnalysis, ...]:
        return tuple(c for c in self.cells if c.is_code)

    @property
    def is_nbdev(self) -> bool:
        return any(c.tags.nbdev for c in self.cells)


def analyze(notebook: Notebook, facts: bool = False) -> NotebookAnalysis:
    """`facts`: also gather lint's `CellFacts`, in the same walk as the dataflow."""
    return NotebookAnalysis(notebook, tuple(analyze_one(cell, facts) for cell in notebook.cells))


def analyze_one(cell: Cell, facts: bool = False) -> CellAnalysis:
    tags = read_tags(cell.source, cell.tags)
    if cell.kind != "code":
        return CellAnalysis(cell, tags)
    code = split_ipython(strip_directives(cell.source))
    problems = [_magic_problem(cell, m) for m in code.magics]
    try:
        tree = ast.parse(code.python)
    except SyntaxError as exc:
        problems.append(make_problem(
            "NB002", f"syntax error: {exc.msg}", cell.number, exc.lineno,
            exc.offset, cell.cell_id))
        return CellAnalysis(cell, tags, code, None, None, tuple(problems))
    except (UnicodeEncodeError, ValueError) as exc:
        # JSON can carry text Python source cannot: a lone surrogate ('\ud800')
        # or a NUL byte. The cell is left out like one with a syntax error.
        line, column = _position(code.python, getattr(exc, "start", None))
        problems.append(make_problem(
            "NB002", f"not valid Python source: {_reason(exc)}", cell.number, line, column,
            cell.cell_id))
        return CellAnalysis(cell, tags, code, None, None, tuple(problems))
    except (RecursionError, MemoryError):  # `1+1+...` 50,000 times: Python cannot run it
        return _too_deep(cell, tags, code, problems)
    try:
        if facts:
            flow, found = analyze_cell_with_facts(tree, code.python)
            return CellAnalysis(cell, tags, code, tree, flow, tuple(problems), found)
        return CellAnalysis(cell, tags, code, tree, analyze_cell(tree), tuple(problems))
    except RecursionError:  # 500 nested lambdas parse, but no walk over them ends well
        return _too_deep(cell, tags, code, problems)


def _too_deep(cell: Cell, tags: CellTags, code: CellCode, problems: list) -> CellAnalysis:
    problems.append(make_problem(
        "NB002", "code nested too deeply to analyse (over Python's recursion limit): "
        "split the expression", cell.number, None, None, cell.cell_id))
    return CellAnalysis(cell, tags, code, None, None, tuple(problems))


def _position(source: str, index: int | None) -> tuple[int | None, int | None]:
    """1-based line and column of a character index (None when unknown)."""
    if index is None:
        index = source.find("\0")
        if index < 0:
            return None, None
    before = source[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


def _reason(exc: ValueError) -> str:
    if isinstance(exc, UnicodeEncodeError):
        bad = exc.object[exc.start:exc.end]
        return (f"the character {bad!r} cannot be encoded as UTF-8 "
                "(a lone surrogate); write the text it stands for")
    return f"{exc}; remove the character"


def _magic_problem(cell: Cell, magic) -> Problem:
    code = MAGIC_CODES[magic.action]
    message = f"`{magic.text}`: {magic.reason}"
    if magic.packages:
        message = f"`{magic.text}`: dependency {', '.join(magic.packages)}"
    return make_problem(code, message, cell.number, magic.line, 1, cell.cell_id)


def unresolved_names(
    cells: Iterable[CellAnalysis], known: frozenset[str] = frozenset(),
    *, late_helpers: bool = False,
) -> list[Problem]:
    """Reads that no earlier cell (in the order given) defines.

    `known` holds names defined outside these cells (e.g. parameters). A name
    defined only by a later cell is NB203; defined nowhere is NB201. After a
    star import, undefined names may come from it, so they are not reported.
    With `late_helpers` (the notebook's own semantics, for lint), a helper body
    may read a name a later cell binds: NB203 only if a cell calls the helper
    before that.
    """
    cells = [c for c in cells if c.flow is not None]
    defined_anywhere = {name for c in cells for name in c.flow.defines}
    defined = set(BUILTIN_NAMES | known)
    problems: list[Problem] = []
    waiting: dict[str, list] = {}  # helper -> its body's reads of names not bound yet
    star = False
    for analysis in cells:
        flow = analysis.flow
        star = star or bool(flow.star_imports)
        spans = lazy_spans(analysis.tree) if analysis.tree is not None else []
        for use in flow.reads:
            for early, where in waiting.pop(use.name, ()):  # a helper called: are they bound?
                if early.name not in defined:
                    problems.append(_unresolved(early, where, True))
            if use.name in defined or use.name in IPYTHON_NAMES or star:
                continue
            later = use.name in defined_anywhere
            helper = helper_of(use, spans) if later and late_helpers else None
            if helper:  # read when the helper runs: fine if bound by then
                waiting.setdefault(helper, []).append((use, analysis))
                continue
            problems.append(_unresolved(use, analysis, later))
        defined.update(flow.defines)
        defined.difference_update(flow.deletes)
    return problems


def _unresolved(use, analysis: CellAnalysis, later: bool) -> Problem:
    cell = analysis.cell
    return make_problem(
        "NB203" if later else "NB201",
        f"`{use.name}` is read here but "
        + ("only defined in a later cell" if later else "defined in no cell"),
        cell.number, use.line, use.column, cell.cell_id)


def star_import_problems(cells: Iterable[CellAnalysis]) -> list[Problem]:
    return [
        make_problem("NB202", f"`from {module} import *` hides which names exist",
                     c.cell.number, None, None, c.cell.cell_id)
        for c in cells if c.flow for module in c.flow.star_imports
    ]
