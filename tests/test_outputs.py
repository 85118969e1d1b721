"""Issue 26 item 1: a step returns only what later code reads, and only names bound on
every path; without a metrics cell the last step reports its plain data."""

from __future__ import annotations

import ast

import pytest

from nb2prod.notebook import load_notebook
from nb2prod.plan.build import build_plan
from nb2prod.plan.outputs import definitely_bound, plain_data
from nb2prod.plan.records import Block


@pytest.fixture
def plan_of(notebook_factory):
    def make(cells):
        return build_plan(load_notebook(notebook_factory(cells)))
    return make


def bound(*cells: str, entry=()) -> set[str]:
    blocks = tuple(Block(i, None, code) for i, code in enumerate(cells, 1))
    return set(definitely_bound(blocks, entry))


@pytest.mark.parametrize("code, expected", [
    ("a = 1\nb, (c, *d) = 1, (2, 3)", {"a", "b", "c", "d"}),
    ("if x:\n    a = 1\nelse:\n    a = 2\n    b = 3", {"a"}),
    ("if x:\n    a = 1", set()),
    ("if x:\n    a = 1\nelse:\n    raise ValueError", {"a"}),
    ("try:\n    import tomllib\n    fast = True\nexcept ImportError:\n    fast = False",
     {"fast"}),
    ("try:\n    import ujson as j\nexcept ImportError:\n    k = None", set()),
    ("e = 1\ntry:\n    int('x')\nexcept ValueError as e:\n    print(e)", set()),
    ("try:\n    a = 1\nexcept KeyError:\n    raise\nfinally:\n    z = 0", {"a", "z"}),
    ("for i in range(3):\n    last = i", {"i", "last"}),  # loops ran in the notebook
    ("with open(p) as f:\n    text = f.read()", {"f", "text"}),
    ("a = 1\ndel a", set()),
    ("[y for y in range(3)]\nf = lambda q: q\n(w := 2)", {"f", "w"}),
    ("match v:\n    case 1:\n        m = 1\n    case _:\n        m = 2", {"m"}),
    ("match v:\n    case 1:\n        m = 1", set()),
    ("def f():\n    inner = 1\nclass C:\n    pass", {"f", "C"}),
])
def test_definitely_bound(code, expected):
    assert bound(code) - {"x", "p", "v"} == expected


def test_entry_names_stay_bound_unless_unbound():
    assert bound("x.append(1)", entry=["x"]) == {"x"}
    assert bound("try:\n    pass\nexcept E as x:\n    pass", entry=["x"]) == set()


@pytest.mark.parametrize("code, expected", [
    ("acc = accuracy_score(y, p)\nn = len(rows)\nmsg = f'{n}'\nm = df.x.mean()", 
     {"acc", "n", "msg", "m"}),
    ("fig, ax = plt.subplots()\nax2 = df.plot()\nimport os\ndef f():\n    pass", set()),
    ("df = pd.read_csv('x.csv')\nmodel = LinearRegression().fit(X, y)", set()),
    ("total = 0\nfor v in vals:\n    total += v", {"total"}),
    ("best = grid.best_score_\nshape = df.shape\nr = np.sqrt(best)", {"best", "shape", "r"}),
    ("x = 1\nx = plt.figure()", set()),  # its last binding is a figure
])
def test_plain_data(code, expected):
    ast.parse(code)
    assert plain_data((Block(1, None, code),)) == expected


def test_the_untagged_step_reports_plain_data_only(plan_of):
    plan = plan_of([("import matplotlib.pyplot as plt\nimport numpy as np\n"
                    "values = np.arange(10)\nfig, ax = plt.subplots()\nmean = values.mean()"),
                    ("for i in range(3):\n    row = i\nlabel = 'ok'\n"
                    "def helper():\n    return 1")])
    assert plan.metrics == ("mean", "label")
    assert plan.steps[-1].outputs == ("mean", "label")


def test_an_except_variable_nothing_reads_is_not_returned(plan_of):
    plan = plan_of([("import numpy as np\ne = np.arange(3)\ntry:\n    int('x')\n"
                    "except ValueError as e:\n    print(e)"), "print('done')"])
    assert plan.steps[0].outputs == ()
    assert not [p for p in plan.problems if p.code == "NB627"]


def test_a_maybe_unbound_value_a_later_step_reads_is_located(plan_of):
    plan = plan_of([(("try:\n    import ujson as fast_json\nexcept ImportError:\n"
                     "    fallback = True"), ["step:load"]),
                    ("print(fallback)", ["step:report"])])
    assert plan.steps[0].outputs == ("fallback",)
    found = [(p.code, p.cell, p.line, p.severity) for p in plan.problems
             if p.code == "NB627"]
    assert found == [("NB627", 1, 1, "warning")]
