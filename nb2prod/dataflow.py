"""Per-cell def/use analysis with real Python scoping. Pure: `ast` in, data out.

CONTRACT (used by plan.py and lint; keep the names and meanings):

    analyze_cell(tree: ast.Module) -> CellFlow

`tree` is the parsed Python of ONE cell (IPython syntax already removed by
cells.py, line numbers preserved). Everything is about the cell's top level
(module scope): what it binds, what it needs from outside, what it changes.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass


@dataclass(frozen=True)
class NameUse:
    name: str
    line: int  # 1-based, within the cell
    column: int  # 1-based


@dataclass(frozen=True)
class CellFlow:
    defines: tuple[str, ...]
    """Names bound at the cell's top level, in order of first binding (assign,
    annotated assign with value, augmented assign, walrus (also inside
    comprehensions), for/with/except/match targets, import aliases, def and
    class names, names declared `global` and assigned inside functions)."""
    reads: tuple[NameUse, ...]
    """Free reads: each name the cell needs from outside, at its FIRST use.
    A read before the cell binds the name counts; a read after does not.
    Function/lambda bodies: names free in them and bound nowhere in the cell
    count (late binding). Comprehension scopes, class bodies handled per
    Python's rules. Builtins are NOT filtered here (plan.py does it)."""
    mutates: tuple[str, ...]
    """Root names changed in place: `df["x"] = ..`, `df.a = ..`, `del df["x"]`,
    `x += 1`, and statement-level method calls `obj.meth(...)` (obj may be
    changed in place, e.g. `model.fit(X, y)`, `lst.append(1)`). A mutated
    name not bound earlier in the cell is also in `reads`."""
    deletes: tuple[str, ...]
    """Names unbound by a top-level `del name` (and left unbound at the end)."""
    imports: tuple[str, ...]
    """Names bound by top-level import statements (subset of `defines`)."""
    star_imports: tuple[str, ...]
    """Modules imported with `from m import *` at any level."""
    functions: tuple[str, ...]
    """Names of top-level def/class statements (subset of `defines`)."""
    global_writes: tuple[NameUse, ...]
    """Names a nested function declares `global` and assigns: hidden state."""


def analyze_cell(tree: ast.Module) -> CellFlow:
    raise NotImplementedError
