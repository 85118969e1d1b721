"""Where a split could change what the package prints, so `tag` proposes less.

In the notebook every cell shares one namespace; in the package each step is a
function and helpers are module-level. Three patterns behave differently once
split, and each has a rule here that `suggest.py` follows:

- a function defined in a step reads a global the notebook rebinds later:
  split, the function keeps seeing its own step's value (a closure), so the
  step goes on until the last rebinding (`closure_reads`, `bound_from`);
- a function or constant is defined twice: at module level only the last
  definition would exist, for every step, so such cells stay in steps
  (`defined_twice`);
- an assert cell that calls methods of values (`assert xs.pop() == 3`) may
  change them: as a pytest test it would no longer run in the pipeline, so it
  stays in its step (`assert_may_change`);
- a display or plotting call whose arguments compute (`plt.hist(np.random.
  randn(100))` draws from the global generator) is not display-only: skipped,
  every later draw would change, so it runs (`plan.codegen.computes_inside`,
  which build uses too: such a call is never dropped as display-only).
"""

from __future__ import annotations

import ast
from collections import Counter

from nb2prod.analysis.analyze import CellAnalysis
from nb2prod.plan.helper_globals import helper_uses


def bindings(cells: list[CellAnalysis]) -> dict[str, list[int]]:
    """Name -> indexes of the cells that bind it, in order."""
    found: dict[str, list[int]] = {}
    for cell in cells:
        for name in cell.flow.defines if cell.flow else ():
            found.setdefault(name, []).append(cell.cell.index)
    return found


def defined_twice(cells: list[CellAnalysis]) -> set[str]:
    """Functions, classes and constants bound by more than one definitions cell
    or bound again by any other cell."""
    counts = Counter(n for c in cells if c.flow for n in c.flow.defines)
    return {n for n, count in counts.items() if count > 1}


def closure_reads(cell: CellAnalysis) -> set[str]:
    """Globals read by the bodies of functions this cell defines."""
    return {use.name for _, use in helper_uses(cell)}


def bound_from(names: set[str], index: int, binding: dict[str, list[int]]) -> list[str]:
    """Those of `names` that the cell at `index` or a later one binds."""
    return sorted(n for n in names if any(i >= index for i in binding.get(n, ())))


def assert_may_change(cell: CellAnalysis, modules: set[str]) -> bool:
    """An assert that calls a method of a value (not of a module) may mutate it."""
    for node in ast.walk(cell.tree) if cell.tree is not None else ():
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            root = node.func.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if not (isinstance(root, ast.Name) and root.id in modules):
                return True
    return False

