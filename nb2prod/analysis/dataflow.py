"""Per-cell def/use analysis with real Python scoping. Pure: `ast` in, data out.

CONTRACT (used by plan/ and lint; keep the names and meanings):

    analyze_cell(tree: ast.Module) -> CellFlow

`tree` is the parsed Python of ONE cell (IPython syntax already removed by
magics.py, line numbers preserved). Everything is about the cell's top level
(module scope): what it binds, what it needs from outside, what it changes.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass

from nb2prod.analysis.walk import CellWalk


@dataclass(frozen=True)
class NameUse:
    name: str
    line: int  # 1-based, within the cell
    column: int  # 1-based


@dataclass(frozen=True)
class CellFlow:
    """What one cell binds, reads, changes and deletes at its top level."""

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
    Python's rules. Builtins are NOT filtered here (the plan does it)."""
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
    """Def/use summary of one cell's top level. Never raises on valid ASTs.

    Simplifications (all on the conservative side for `reads`):
    - Textual order: a name is "bound" once an earlier statement binds it,
      even conditionally (`if c: y = 1`, may-define) or later in a loop body.
      Branches of one if/elif/else, try-body vs. each handler, and match
      cases are alternatives: each starts from the state before them.
    - A read after a top-level `del x` is a read again unless x is re-bound
      before it; `del x` of a name not bound yet is itself a read.
    - A function/lambda body reads late: its free names count only if bound
      nowhere in the cell. Loading a top-level function's name (calling it or
      passing it on) before those names are bound makes them reads again; an
      anonymous lambda is assumed to be called where it is written.
    - Generator expressions are treated as consumed immediately.
    """
    return flow_of(CellWalk(tree).run())


def flow_of(walk: CellWalk) -> CellFlow:
    """The `CellFlow` of a finished walk (uses become `NameUse`s only here)."""
    reads, deleted, global_writes = walk.reads, walk.deleted, walk.global_writes
    return CellFlow(
        defines=tuple(walk.defines),
        # A stable sort of the uses in the order they were found: as before.
        reads=tuple(sorted((_name_use(name, node) for name, node in reads.items()),
                           key=_USE_POSITION)),
        mutates=tuple(walk.mutates),
        deletes=tuple(n for n in deleted if n not in walk.module.local),
        imports=tuple(walk.imports),
        star_imports=tuple(walk.star_imports),
        functions=tuple(walk.functions),
        global_writes=tuple(_name_use(name, node) for name, node in global_writes.items()),
    )


_USE_POSITION = operator.attrgetter("line", "column")


def _name_use(name: str, node: ast.AST) -> NameUse:
    return NameUse(name, node.lineno, node.col_offset + 1)
