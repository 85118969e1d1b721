"""Facts lint's rules look up in a cell's tree, gathered during the dataflow walk.

`analyze_cell_with_facts(tree, source)` is `dataflow.analyze_cell` plus a
`CellFacts`: the calls, string literals, decorators and import statements
of the cell, at any depth. The walk (walk.py) visits every node anyway, so with
`facts=True` it records them as it goes (a list append each; `build` walks
without), which
replaces a second walk of every tree (that cost lint ~15% of a cold run:
docs/lint-speed.md); it also walks, for the facts only, the few subtrees the
dataflow skips (annotations inside functions, type parameters). Here they
are sorted and put in the record.

The facts are exactly what lint's former separate walk gave, order
included (tests/test_lint_facts.py compares them on every corpus cell):
calls, strings and decorators sorted by position (an enclosing call before
the one it starts with; decorators were in walk order, which no rule depends
on), strings outside f-string parts and expression statements (docstrings),
imports in reverse source order (so the first import of an alias wins in
`LintContext.aliases`), and for a cell with no `(` and no quote, only its
top-level imports, in source order.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass

from nb2prod.analysis.dataflow import CellFlow, flow_of
from nb2prod.analysis.walk import CellWalk


@dataclass(frozen=True)
class CellFacts:
    """The nodes of one cell lint's rules look up, in source order (see above)."""

    calls: tuple[ast.Call, ...] = ()
    strings: tuple[ast.Constant, ...] = ()  # str literals outside f-strings and docstrings
    decorators: tuple[ast.expr, ...] = ()
    imports: tuple[ast.stmt, ...] = ()  # import statements at any depth


def analyze_cell_with_facts(tree: ast.Module, source: str) -> tuple[CellFlow, CellFacts]:
    """`analyze_cell(tree)` and the cell's facts, from one walk of `tree`."""
    walk = CellWalk(tree, facts=True).run()
    if "(" not in source and "'" not in source and '"' not in source:
        # No call and no string literal can be in there.
        imports = tuple([n for n in tree.body if n.__class__ in _IMPORTS])
        return flow_of(walk), CellFacts(imports=imports)
    found = walk.calls, walk.strings, walk.decorators
    for nodes in found:
        if len(nodes) > 1:
            nodes.sort(key=_POSITION)  # stable, in place: the walk's lists are not kept
    imports = walk.import_nodes
    if len(imports) > 1:
        imports = sorted(imports, key=_POSITION, reverse=True)
    return flow_of(walk), CellFacts(tuple(found[0]), tuple(found[1]), tuple(found[2]),
                                    tuple(imports))


_IMPORTS = (ast.Import, ast.ImportFrom)
_POSITION = operator.attrgetter("lineno", "col_offset")  # a C key: no Python call per node
