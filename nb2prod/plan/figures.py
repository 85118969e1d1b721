"""Figures follow the notebook's backend cell by cell.

Under `%matplotlib inline`, Jupyter's default, the kernel shows and then closes
every figure after each cell: the next cell starts with no current figure, so
`plt.scatter(...)` draws on new 2-D axes even when the cell above drew on 3-D
ones, and a later `plt.savefig` writes only what its own cell drew. A step runs
several cells in one function; when the notebook imports matplotlib (pyplot,
or seaborn, which draws through it) and keeps the inline backend, the package
ends each cell that has code the same way (`_runtime.end_cell()`). An explicit
`%matplotlib widget`/`qt`/`notebook` keeps figures open across cells, so
nothing is closed then.
"""

from __future__ import annotations

import ast

from nb2prod.analysis.analyze import CellAnalysis

PLOTTING = ("matplotlib", "seaborn")
"""Top-level modules whose import means figures may be open at a cell's end."""
KEEPS_FIGURES = "inline"  # the one backend that closes figures after each cell


def _imports_plotting(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [
            node.module or ""] if isinstance(node, ast.ImportFrom) else []
        if any(m.split(".")[0] in PLOTTING for m in modules):
            return True
    return False


def _backend(cells: list[CellAnalysis]) -> str:
    """The backend the notebook's first `%matplotlib`/`%pylab` magic selects ("inline"
    without one: Jupyter's default)."""
    for cell in cells:
        for magic in cell.code.magics if cell.code else ():
            words = magic.text.lstrip("%").split()
            if words and words[0] in ("matplotlib", "pylab"):
                return next((w for w in words[1:] if not w.startswith("-")), "")
    return KEEPS_FIGURES


def closes_figures(cells: list[CellAnalysis]) -> bool:
    """Whether each cell of a step ends by closing the figures it left open."""
    uses = any(c.tree is not None and _imports_plotting(c.tree) for c in cells)
    return uses and _backend(cells) == KEEPS_FIGURES
