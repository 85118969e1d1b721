"""lint's facts, gathered in the dataflow walk, are what the separate walk gave.

`old_gather` is that walk as it was (nb2prod.lint.context._gather before
issue 16), kept here as the oracle.
"""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest

from nb2prod.analysis.analyze import analyze
from nb2prod.analysis.dataflow import analyze_cell
from nb2prod.analysis.facts import CellFacts, analyze_cell_with_facts
from nb2prod.analysis.scopes import CHILD_FIELDS, child_fields
from nb2prod.errors import UserError
from nb2prod.notebook import load_notebook

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = [ROOT.parent / "shared" / "corpus", ROOT.parent / "shared" / "realworld",
           ROOT / "tests" / "data", ROOT / "examples"]
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def old_gather(tree: ast.Module, source: str) -> CellFacts:
    """One walk of the cell's tree for everything the rules look up.

    Hand-rolled instead of `ast.walk` (1.5x faster: no generator per node), and
    skipped outright when the source has no call and no string literal in it.
    """
    if "(" not in source and "'" not in source and '"' not in source:
        return CellFacts(imports=tuple(n for n in tree.body
                                       if isinstance(n, (ast.Import, ast.ImportFrom))))
    calls: list[ast.Call] = []
    strings: list[ast.Constant] = []
    decorators: list[ast.expr] = []
    imports: list[ast.stmt] = []
    skip: set[int] = set()  # ids of constants that are docstrings or f-string parts
    stack: list[ast.AST] = [tree]
    node_type, pop, push, extend = ast.AST, stack.pop, stack.append, stack.extend
    fields_of = CHILD_FIELDS  # contexts and operators are skipped: nothing to gather there
    while stack:
        node = pop()
        kind = node.__class__
        if kind is ast.Call:
            calls.append(node)
        elif kind is ast.Constant:
            if type(node.value) is str and id(node) not in skip:
                strings.append(node)
            continue
        elif kind is ast.Name:
            continue
        elif kind is ast.JoinedStr:
            skip.update(id(v) for v in node.values)
        elif kind is ast.Expr and type(node.value) is ast.Constant:
            skip.add(id(node.value))
        elif kind in _DEFINITIONS:
            decorators.extend(node.decorator_list)
        elif kind is ast.Import or kind is ast.ImportFrom:
            imports.append(node)
        fields = fields_of.get(kind) or child_fields(kind)
        for name in fields:
            value = getattr(node, name, None)
            if type(value) is list:
                extend([v for v in value if isinstance(v, node_type)])
            elif isinstance(value, node_type):
                push(value)
    order = (lambda n: (n.lineno, n.col_offset))
    return CellFacts(tuple(sorted(calls, key=order)), tuple(sorted(strings, key=order)),
                     tuple(decorators), tuple(imports))




def _cells():
    for folder in FOLDERS:
        for path in sorted(folder.rglob("*.ipynb")) if folder.is_dir() else ():
            try:
                notebook = load_notebook(path, validate=False)
            except UserError:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield from (c for c in analyze(notebook).cells if c.tree is not None)


def _same(tree: ast.Module, source: str) -> None:
    flow, facts = analyze_cell_with_facts(tree, source)
    old = old_gather(tree, source)
    assert flow == analyze_cell(tree)
    assert facts.calls == old.calls and facts.strings == old.strings
    assert facts.imports == old.imports
    assert facts.decorators == tuple(sorted(old.decorators, key=lambda n: (n.lineno,
                                                                            n.col_offset)))


def test_facts_are_the_old_walks_on_every_real_cell():
    cells = list(_cells())
    assert len(cells) > 1500
    for cell in cells:
        _same(cell.tree, cell.code.python)


TRICKY = [
    ("import numpy as np\ndef f():\n    import jax.numpy as np\n    x: 'Array' = np.ones(3)\n"
    "    return x\nimport numpy as np; import torch as np"),
    "f(a)(b).g(c)(d)\n'docstring'\nx = f'{a!r:{w}} text {g(\"s\")}'",
    "@decorate\n@other(1)\nclass A:\n    @property\n    def p(self) -> 'T':\n        ...\n",
    "match v:\n    case 'a' | {'k': str(x)}:\n        y = call('s')\n    case _:\n        pass",
    ("try:\n    import a\nexcept ImportError:\n    import b as a\nelse:\n    import c\n"
    "finally:\n    import d"),
    "if x:\n    import os\nimport sys\n@dec\nclass A: pass",  # no ( and no quote
    ("lambda_ = lambda q='s': q(1)\n[f(i) for i in g('x') if h(i)]\nasync def a():\n"
    "    async with w('p') as z:\n        await z.r('q')"),
]


@pytest.mark.parametrize("source", TRICKY)
def test_facts_are_the_old_walks_on_tricky_cells(source):
    _same(ast.parse(source), source)
    assert isinstance(analyze_cell_with_facts(ast.parse(source), source)[1], CellFacts)


def test_build_walks_without_collecting_lints_facts():
    """`analyze_cell` (build's walk) records no facts; the flow is the same either way."""
    from nb2prod.analysis.walk import CellWalk

    source = ("import os\n@dec(1)\ndef f(x: 'T' = g('s')) -> int:\n    return h(x, 'y')\n"
              "class C(Base):\n    z: list['int'] = []\nf(os.sep)\n")
    tree = ast.parse(source)
    walk = CellWalk(tree).run()
    assert (walk.calls, walk.strings, walk.decorators, walk.import_nodes) == ([], [], [], [])
    flow, facts = analyze_cell_with_facts(tree, source)
    assert flow == analyze_cell(tree)
    assert facts.calls and facts.strings and facts.decorators and facts.imports
