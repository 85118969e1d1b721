"""The dataflow and facts walk give what the walk before its rewrite gave.

tests/dataflow_oracle.py keeps that walk (nb2prod.analysis at 21d9f1e) as the
oracle. Compared on every parsed code cell of the shared corpus, the test
notebooks and the examples, on each compound statement's body lifted to a
cell of its own (function bodies, loops, branches: other paths of the walk),
and on every snippet of the dataflow and lint-facts tests.
"""

from __future__ import annotations

import ast
import textwrap
import warnings
from pathlib import Path

import pytest

from nb2prod.analysis.analyze import analyze
from nb2prod.analysis.dataflow import analyze_cell
from nb2prod.analysis.facts import analyze_cell_with_facts
from nb2prod.errors import UserError
from nb2prod.notebook import load_notebook
from tests import dataflow_oracle as oracle

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = [ROOT.parent / "shared" / "corpus", ROOT.parent / "shared" / "realworld",
           ROOT / "tests" / "data", ROOT / "examples"]
SNIPPET_FILES = ["test_dataflow.py", "test_lint_facts.py", "test_helper_globals.py",
                 "test_lint_rules.py"]


def _cell_sources() -> list[str]:
    sources = []
    for folder in FOLDERS:
        for path in sorted(folder.rglob("*.ipynb")) if folder.is_dir() else ():
            try:
                notebook = load_notebook(path, validate=False)
            except UserError:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sources += [c.code.python for c in analyze(notebook).cells if c.tree]
    return sources


def _lifted_bodies(tree: ast.Module) -> list[ast.Module]:
    """Each statement list nested in the cell, as a cell of its own."""
    bodies = []
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if node is not tree and type(body) is list and body:
                bodies.append(ast.Module(body=body, type_ignores=[]))
    return bodies


def _snippets() -> list[str]:
    """String literals of the tests that are Python with a name in them."""
    found = []
    for name in SNIPPET_FILES:
        for node in ast.walk(ast.parse((ROOT / "tests" / name).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and type(node.value) is str:
                source = textwrap.dedent(node.value)
                try:
                    tree = ast.parse(source)
                except (SyntaxError, ValueError):
                    continue
                if any(isinstance(n, (ast.Name, ast.Import, ast.ImportFrom))
                       for n in ast.walk(tree)):
                    found.append(source)
    return found


def assert_same(tree: ast.Module, source: str) -> None:
    assert analyze_cell(tree) == oracle.analyze_cell(tree), source
    flow, facts = analyze_cell_with_facts(tree, source)
    old_flow, old_facts = oracle.analyze_cell_with_facts(tree, source)
    assert flow == old_flow and repr(flow) == repr(old_flow), source
    for field in ("calls", "strings", "decorators", "imports"):  # the same nodes, in order
        assert getattr(facts, field) == getattr(old_facts, field), (field, source)


@pytest.mark.filterwarnings("ignore::SyntaxWarning", "ignore::DeprecationWarning")
def test_every_real_cell_and_nested_body_is_analysed_as_before():
    sources = _cell_sources()
    assert len(sources) > 1600
    lifted = 0
    for source in sources:
        tree = ast.parse(source)
        assert_same(tree, source)
        for body in _lifted_bodies(tree):
            assert_same(body, ast.unparse(body))
            lifted += 1
    assert lifted > 200


@pytest.mark.filterwarnings("ignore::SyntaxWarning", "ignore::DeprecationWarning")
def test_every_test_snippet_is_analysed_as_before():
    snippets = _snippets()
    assert len(snippets) > 150
    for source in snippets:
        assert_same(ast.parse(source), source)


TRICKY = [
    "x = 1\ndel x\nprint(x)\ndel y\nz += 1\nw: int\nv: int = w",
    "def f():\n    global g, h\n    g = 1\n    return k\ndef k(): h = 2\nf()\ng",
    "def outer():\n    a = 1\n    def inner():\n        nonlocal a\n        a += b\n    return inner\nb = 2",
    "class A:\n    x = y\n    y = 1\n    z = [x for _ in y]\n    def m(self): return x\n",
    "[(q := i) for i in r if (p := i)]\nprint(q, p)\n{k: v for k, v in d.items()}\n{s for s in t}",
    "(lambda a=b: a + c)()\nf = lambda: g\nf()\ng = 1\nh = lambda x: x(h)\n",
    "try:\n    import a\nexcept (E, F) as e:\n    print(e)\nelse:\n    b = a\nfinally:\n    c = b",
    ("match p:\n    case Point(x=0, y=yy) as pt if yy > lim:\n        r = pt\n"
    "    case {'k': v, **rest}:\n        r = rest\n    case [a, *others]:\n        r = others\n"
    "    case str() | None:\n        r = p"),
    ("async def f():\n    async with a as (b, c):\n        async for d in b:\n            await c(d)\n"
    "    return [e async for e in d]"),
    "for i, (j, k) in enumerate(z):\n    m[i] = j\nelse:\n    n.append(k)\nwhile w:\n    w -= 1",
    "with open(p) as fh, ctx() as (a, b):\n    data = fh.read()\nassert data, msg\nraise E from F",
    "import os.path as op, sys\nfrom . import x\nfrom ..m import *\nfrom m import (a as b, c)",
    "df['a'] = 1\ndf.b.c = 2\ndel df['a'], e\nobj.fit(X)\nawait obj.run()\nf().x = 1\nx[0] += 1",
    "x = f'{a!r:>{w}} {b.c:{d}}' f\"{e}\"\ny = b'bytes' + r'raw'\nz = ...\n'doc'",
    ("@dec(a)\n@dec2\nasync def f(p: T = d, /, q: U = e, *r: V, s: W = g, **t: X) -> Y:\n"
    "    u: Z = 1\n    return u\n"),
    "if a:\n    b = 1\nelif c:\n    b = 2\nelse:\n    del b\nprint(b)\nx = y if z else w",
    "try:\n    pass\nexcept* ValueError as eg:\n    h(eg)\n",
    "def f(): return x\nx = 1\nprint(f)\ndef g(): return y\ng()\ny = 2\n",
    "a = b = c\na, *b = c\n[d, e] = f\n(g.h, i[j]) = k\nl[m:n:o] = p\nq = -r ** ~s and not t or u",
]


@pytest.mark.parametrize("source", TRICKY)
def test_tricky_cells_are_analysed_as_before(source):
    tree = ast.parse(source)
    assert_same(tree, source)
    for body in _lifted_bodies(tree):
        assert_same(body, ast.unparse(body))
