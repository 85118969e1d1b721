"""Issue 26 items 3 and 4: code in strings gets the step's namespace; figures close at
each cell's end when the notebook keeps Jupyter's inline backend."""

from __future__ import annotations

import ast

import pytest

from nb2prod.notebook import load_notebook
from nb2prod.plan.build import build_plan
from nb2prod.plan.code_strings import namespaced, string_problems


@pytest.mark.parametrize("code, expected", [
    ('exec("b = a")', 'exec("b = a", {**globals(), **locals()})'),
    ('y = eval(s) + 1', 'y = eval(s, {**globals(), **locals()}) + 1'),
    ('eval(s, ns)', 'eval(s, ns)'),  # a namespace of its own: as written
    ('cProfile.run("f(a)", "out.prof")',
     'cProfile.runctx("f(a)", globals(), locals(), "out.prof")'),
    ('t = timeit.timeit("a + 1", number=3, globals=globals())',
     't = timeit.timeit("a + 1", number=3, globals={**globals(), **locals()})'),
    ('timeit.timeit("a + 1", number=3)', 'timeit.timeit("a + 1", number=3)'),
    ('print("é", eval("a"))', 'print("é", eval("a", {**globals(), **locals()}))'),
    ('def f():\n    return eval("a")', 'def f():\n    return eval("a")'),  # its own scope
    ('[eval(s) for s in xs]', '[eval(s) for s in xs]'),
])
def test_calls_get_the_namespace(code, expected):
    assert namespaced(code) == expected


def test_the_rewritten_code_runs_as_the_notebook_did():
    code = namespaced('a = 41\nr = eval("[a + x for x in range(2)]")\n'
                      't = timeit.timeit("a + 1", number=2, globals=globals())')
    namespace: dict = {}
    exec(f"import timeit\ndef step():\n{_indent(code)}\n    return r, t", namespace)
    assert namespace["step"]()[0] == [41, 42]


def _indent(code: str) -> str:
    return "\n".join("    " + line for line in code.split("\n"))


def test_what_cannot_work_is_located():
    tree = ast.parse('exec("b = 1; c = 2")\ntimeit.timeit("f()", setup="from __main__ import f")')
    found = sorted((p.code, p.line, p.column) for p in string_problems(tree, 3, None, {"b"}))
    assert found == [("NB628", 1, 1), ("NB628", 2, 28)]
    assert string_problems(tree, 3, None, set())[0].line == 2  # nothing reads b: quiet


@pytest.mark.parametrize("cells, closes", [
    (["import matplotlib.pyplot as plt\nplt.plot([1])", "plt.scatter([1], [2])"], True),
    (["%matplotlib inline\nimport seaborn as sns", "x = 1"], True),
    (["%matplotlib widget\nimport matplotlib.pyplot as plt", "plt.plot([1])"], False),
    (["import numpy as np", "x = np.ones(2)"], False),
])
def test_figures_close_per_cell_under_the_inline_backend(notebook_factory, cells, closes):
    plan = build_plan(load_notebook(notebook_factory(cells)))
    assert plan.close_figures is closes
