"""The code kept from each cell: imports hoisted, display-only expressions dropped.

The first stage of `steps.assemble`, as values: `cut_cell` cuts one cell,
`cut_code` every module-level and step cell in notebook order, and gathers
what the later stages read (the hoisted imports, the names module-level code
binds, the dropped lines, NB605 per dropped expression).
"""

from __future__ import annotations

from dataclasses import dataclass

from nb2prod.analysis.analyze import CellAnalysis
from nb2prod.analysis.tags import IMPORTS, STEP
from nb2prod.plan import code_strings, codegen, lines
from nb2prod.plan.records import Block, Unit
from nb2prod.plan.tests import bound_by_import
from nb2prod.problems import Problem, make_problem


@dataclass(frozen=True)
class CellCut:
    code: str
    imports: tuple[str, ...]  # hoisted import statements
    dropped: frozenset[tuple[int, int]]  # (cell, line) of every dropped display line
    problems: tuple[Problem, ...]  # NB605 per dropped display expression
    first_line: int = 1  # the cell line the kept code starts at


def cut_cell(cell: CellAnalysis, *, hoist: bool) -> CellCut:
    body = codegen.split_body(cell.code.python, cell.tree, hoist_imports=hoist)
    number = cell.cell.number
    dropped = frozenset((number, cut.line + i) for cut in body.dropped
                        for i in range(cut.text.count("\n") + 1))
    problems = tuple(make_problem("NB605", f"display-only `{cut.text.splitlines()[0]}` dropped",
                                  number, cut.line, 1, cell.cell.cell_id)
                     for cut in body.dropped)
    imports = tuple(cut.text for cut in body.imports)
    if not hoist:  # a test's code, kept whole
        return CellCut(body.code, imports, dropped, problems)
    # `# cell N, line L` markers where hoisting or dropping cut lines out, so a failure
    # at run time is named at its notebook line
    return CellCut(lines.line_markers(number, body.code, body.lines), imports, dropped,
                   problems, body.lines[0] if body.lines else 1)


StepCells = list[tuple[CellAnalysis, str]]
"""A step unit's parsed cells with the code kept from each."""


@dataclass(frozen=True)
class CutCode:
    helpers: tuple[Block, ...]  # module-level cells' code (empty blocks too)
    steps: list[tuple[Unit, StepCells]]  # step units with their cells' code
    imports: tuple[str, ...]  # hoisted imports, first seen first
    module_names: frozenset[str]  # bound by module-level code or a hoisted import
    dropped: frozenset[tuple[int, int]]  # (cell, line) of dropped display lines
    problems: tuple[Problem, ...]
    first_line: dict[int, int]  # cell -> the cell line its kept code starts at


def cut_code(units: list[Unit]) -> CutCode:
    """Cut the module-level cells, then the steps' (the import block keeps that order)."""
    module = [(c, cut_cell(c, hoist=True)) for u in units if u.role == IMPORTS
              for c in u.cells if c.tree is not None]
    steps = [(u, [(c, cut_cell(c, hoist=True)) for c in u.cells if c.tree is not None])
             for u in units if u.role == STEP]
    cuts = [cut for _, cut in module] + [cut for _, cells in steps for _, cut in cells]
    imports = tuple(dict.fromkeys(text for cut in cuts for text in cut.imports))
    names = {n for text in imports for n in bound_by_import(text)}
    names.update(n for u in units if u.role == IMPORTS for c in u.cells if c.flow
                 for n in c.flow.defines)
    return CutCode(
        helpers=tuple(Block(c.cell.number, c.cell.cell_id, cut.code, cut.first_line)
                      for c, cut in module),
        # code in strings (exec, eval, cProfile.run, timeit) gets the step's namespace
        steps=[(u, [(c, code_strings.namespaced(cut.code)) for c, cut in cells])
               for u, cells in steps],
        imports=imports, module_names=frozenset(names),
        dropped=frozenset().union(*(cut.dropped for cut in cuts)),
        problems=tuple(p for cut in cuts for p in cut.problems),
        first_line={c.cell.number: cut.first_line for c, cut in
                    [*module, *(pair for _, cells in steps for pair in cells)]})
