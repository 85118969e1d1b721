"""`tag/suggest.py`: which tags an untagged notebook gets, and that build accepts them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nb2prod.notebook import load_notebook
from nb2prod.plan.build import build_plan
from nb2prod.problems import ERROR, WARNING
from nb2prod.tag.suggest import heading_text, step_name, suggest_notebook
from nb2prod.tag.write import write_tags

UNTAGGED = Path(__file__).parent / "data" / "untagged"


def md(text: str) -> dict:
    return {"cell_type": "markdown", "source": text}


def tags_of(notebook_factory, cells) -> dict[int, tuple[str, ...]]:
    """Cell number -> proposed tags."""
    path = notebook_factory(cells)
    return {s.cell: s.tags for s in suggest_notebook(load_notebook(path))}


SHAPES = [
    # (cells, cell number, expected tags)
    (["import os\nfrom pathlib import Path", "x = os.getcwd()"], 1, ("imports",)),
    (["import math", "def area(r):\n    return math.pi * r ** 2", "a = area(2)"], 2,
     ("functions",)),
    (["import math", "SCALE = 3\ndef f(x):\n    return x * SCALE", "y = f(1)"], 2,
     ("functions",)),
    (["n = 10\nrate = 0.5\nname = 'x'\nflags = [1, 2]", "total = n * rate"], 1,
     ("parameters",)),
    (["data = [1, 2, 3]", "data", "total = sum(data)"], 2, ("skip",)),
    (["import pandas as pd", "df = pd.DataFrame({'a': [1]})", "df.head()", "df['b'] = 1"], 3,
     ("skip",)),
    (["import matplotlib.pyplot as plt", "xs = [1, 2]", "plt.plot(xs)\nplt.show()", "y = 1"],
     3, ("skip",)),
    (["xs = [3, 1]", "ys = sorted(xs)", "assert ys == [1, 3]\nassert len(ys) == 2", "z = 1"],
     3, ("test",)),
    (["xs = [3, 1]", "total = sum(xs)", "print(total)"], 3, ("metrics",)),
    (["xs = [3, 1]", "total = sum(xs)", "total"], 3, ("metrics",)),
    (["xs = [3, 1]", "total = sum(xs)", "print(f'total = {total}')"], 3, ("metrics",)),
    (["xs = [3, 1]", "total = sum(xs)\nprint(total)"], 2, ("step:make_total",)),
    (["%matplotlib inline", "x = 1"], 1, ("skip",)),
    (["import warnings\nwarnings.filterwarnings('ignore')", "x = 1"], 1, ("imports",)),
]


@pytest.mark.parametrize("cells, number, expected", SHAPES)
def test_cell_shapes(notebook_factory, cells, number, expected):
    assert tags_of(notebook_factory, cells)[number] == expected


def test_a_method_call_that_may_mutate_is_not_display(notebook_factory):
    tags = tags_of(notebook_factory, ["xs = [3, 1]", "xs.sort()", "print(xs)"])
    assert tags[2][0].startswith("step:") and tags[3] == ("metrics",)


def test_helper_reading_a_step_value_stays_in_the_step(notebook_factory):
    tags = tags_of(notebook_factory, ["df = list(range(2))", "def first():\n    return df[0]",
                                      "v = first()"])
    assert tags[2] == ()


def test_literals_after_the_first_step_are_not_parameters(notebook_factory):
    tags = tags_of(notebook_factory, ["import math", "x = math.sqrt(2)", "n = 3"])
    assert tags[2] == ("step:make_x",) and tags[3] == ()


def test_literals_read_by_helpers_are_module_constants(notebook_factory):
    tags = tags_of(notebook_factory, ["factor = 3", "def f(x):\n    return x * factor",
                                      "y = f(2)"])
    assert tags[1] == ("functions",) and tags[2] == ("functions",)


def test_headings_name_steps_uniquely(notebook_factory):
    tags = tags_of(notebook_factory, [
        "import math", md("# Title"), md("## 1. Load *raw* data"), "model = list(range(3))",
        md("## Model"), "fit = sum(model)", md("## Model"), "again = fit + 1",
        md("### `print` & [plot](http://x)"), "shown = again * 2"])
    steps = [t[0] for t in tags.values() if t and t[0].startswith("step:")]
    assert steps == ["step:load_raw_data", "step:model_step", "step:model_step_2",
                     "step:print_plot"]


def test_without_section_headings_steps_split_at_dataflow_boundaries(notebook_factory):
    tags = tags_of(notebook_factory, [
        "import math", "raw = list(range(4))", "raw = [r * 2 for r in raw]",
        "mean = sum(raw) / len(raw)", "spread = max(raw) - mean", "print(spread)"])
    assert tags == {1: ("imports",), 2: ("step:make_raw",), 3: (), 4: ("step:make_mean",),
                    5: ("step:make_spread",), 6: ("metrics",)}


@pytest.mark.parametrize("text, expected", [
    ("Load data", "load_data"), ("2.1 Fit the model", "fit_the_model"),
    ("Step 3: clean", "clean"), ("class", "class_"), ("", "step"),
    ("Train a gradient boosting model on the cleaned features", "train_a_gradient_boosting_model"),
])
def test_step_name(text, expected):
    assert step_name(text, set()) == expected


def test_heading_text():
    assert heading_text("intro\n## Clean ##\nmore") == "Clean"
    assert heading_text("#not a heading\n    # code comment") is None


@pytest.mark.parametrize("name", ["untagged_regression.ipynb", "untagged_wrangling.ipynb"])
def test_suggested_tags_build_cleanly(tmp_path, name):
    """The aim: after `tag --write`, build reports no error or warning."""
    path = tmp_path / name
    shutil.copy(UNTAGGED / name, path)
    suggestions = suggest_notebook(load_notebook(path))
    write_tags(path, {s.cell - 1: s.tags for s in suggestions})
    plan = build_plan(load_notebook(path))
    assert [p for p in plan.problems if p.severity in (ERROR, WARNING)] == []
    assert [s.name for s in plan.steps] == ["load_data", "clean", plan.steps[2].name,
                                            plan.steps[3].name]
    assert plan.params  # (`visits.info()` in the wrangling fixture prints: it runs, no skip)


def test_regression_fixture_proposal():
    suggestions = suggest_notebook(load_notebook(UNTAGGED / "untagged_regression.ipynb"))
    assert {s.cell: s.tags for s in suggestions} == {
        1: ("imports",), 2: ("parameters",), 4: ("step:load_data",), 5: ("skip",),
        7: ("step:clean",), 9: ("step:model",), 11: ("step:evaluate",), 12: ("metrics",)}
    assert all(s.why for s in suggestions)
    assert suggestions[0].first_line == "import numpy as np"


def test_info_and_sample_cells_are_not_display_only(notebook_factory):
    """`df.info()` prints and `df.sample(5)` draws from the global RNG: both run."""
    found = tags_of(notebook_factory, [
        "import numpy as np\nimport pandas as pd",
        "np.random.seed(0)\ndf = pd.DataFrame({'a': np.random.rand(9)})",
        "df.info()", "df.sample(5)", "print(np.random.rand())"])
    assert found[3] == () and found[4] == ()


def test_helper_reading_values_computed_below_shares_their_step(notebook_factory):
    """A helper whose body reads `X` that a later cell computes becomes part of that
    step (a closure over `X`), and build accepts it: no NB614/NB203."""
    cells = ["import numpy as np",
             "def total(k):\n    return float(X.sum()) * k",
             md("## Data"),
             "X = np.arange(4)\nprint(X.size)",
             md("## Use"),
             "t = total(2)\nprint(t)"]
    path = notebook_factory(cells)
    suggestions = suggest_notebook(load_notebook(path))
    found = {s.cell: s.tags for s in suggestions}
    assert found[2][0].startswith("step:") and found[4] == ()
    assert found[6] and found[6][0].startswith("step:")
    write_tags(path, {s.cell - 1: s.tags for s in suggestions})
    plan = build_plan(load_notebook(path))
    assert [p.code for p in plan.problems if p.severity == ERROR] == []
    assert "total" in plan.steps[0].outputs


@pytest.mark.parametrize("last", [
    'print("fitted with", fit, "->", total)',  # an imported function among the names
    'print(f"{math}")',  # a module
    'print("helper", double, total)',  # a helper defined in a functions cell
])
def test_metrics_name_only_values_a_step_computes(notebook_factory, last):
    """A metrics cell naming imports or helpers would not build (NB608): the
    printing cell stays in its step, and the tagged notebook builds clean."""
    path = notebook_factory(["import math\nfrom statistics import fmean as fit",
                             "def double(x):\n    return 2 * x",
                             "xs = [3.0, 1.0]", "total = double(fit(xs))", last])
    suggestions = suggest_notebook(load_notebook(path))
    assert "metrics" not in suggestions[-1].tags
    write_tags(path, {s.cell - 1: s.tags for s in suggestions})
    assert [p for p in build_plan(load_notebook(path)).problems if p.severity == ERROR] == []


def test_metric_naming_an_import_is_located_at_its_line(notebook_factory):
    """NB608 points at the metrics cell and line, never at "notebook"."""
    path = notebook_factory([
        ("import math", ["imports"]), ("total = 1.0", ["step:a"]),
        ("print(total)\nprint(math)", ["metrics"])])
    found = [p for p in build_plan(load_notebook(path)).problems if p.code == "NB608"]
    assert [(p.cell, p.line, p.column) for p in found] == [(3, 2, 1)]
    assert "module-level" in found[0].message and "remove `math`" in found[0].hint
