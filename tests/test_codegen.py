"""Code generation fixes found by building real-world-style notebooks
(tests/data/vocab): each test pins one bug that broke build, install, the
generated tests, lint or the reproduced values."""

from __future__ import annotations

import ast
import subprocess

import pytest

from nb2prod.notebook import load_notebook
from nb2prod.plan.build import build_plan
from nb2prod.plan.codegen import mark_unused_locals
from nb2prod.render.templates import render
from tests.tools import RUFF


@pytest.fixture
def plan_of(notebook_factory):
    def make(cells):
        return build_plan(load_notebook(notebook_factory(cells)))
    return make


def codes(plan):
    return [p.code for p in plan.problems]


def run_pipeline(plan, tmp_path, monkeypatch):
    """Render the package, import its pipeline and test module from `tmp_path`."""
    files = render(plan)
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    namespace: dict = {}
    exec(compile(files[f"src/{plan.import_name}/pipeline.py"], "pipeline.py", "exec"), namespace)
    return files, namespace


# F841 only for plain bindings; tuple unpacking is RUF059; loop and
# comprehension targets and `_` names are never flagged, so a noqa there is
# itself a finding (RUF100).
def test_unused_locals_get_the_rule_ruff_reports():
    code = ("fig, ax = make()\nvals = [w for w, _ in pairs]\nfor i in x:\n    pass\n"
            "tmp = 1\nwith open(p) as fh:\n    pass\ntry:\n    pass\nexcept E as err:\n    pass")
    marked = mark_unused_locals(code, {"fig", "w", "_", "i", "vals", "tmp", "fh", "err"}).split("\n")
    assert marked[0] == "fig, ax = make()  # noqa: RUF059"
    assert marked[1] == "vals = [w for w, _ in pairs]  # noqa: F841"
    assert marked[2] == "for i in x:"
    assert marked[4].endswith("# noqa: F841") and marked[5].endswith("# noqa: F841")
    assert marked[9].endswith("# noqa: F841")


def test_no_noqa_comment_inside_a_multiline_string():
    code = 'text = """a\nb"""'
    assert mark_unused_locals(code, {"text"}) == code


def test_step_with_unpacking_and_comprehensions_lints_clean(plan_of, tmp_path):
    plan = plan_of([
        ("import os", ["imports"]),
        (("fig, ax = os.path.split('a/b')\nn = len([w for w, _ in [(1, 2)]])\n"
          "try:\n    pass\nexcept ValueError as err:\n    pass"), ["step:a"]),
        ("print(n)", ["metrics"]),
    ])
    out = tmp_path / "out"  # not tmp_path: ruff would lint the notebook there too
    for path, text in render(plan).items():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text(text)
    run = subprocess.run([*RUFF, "check", "--no-cache", "--isolated", "."], cwd=out,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout


# A test cell that imports what it uses must not also get a module-level import
# (F401 unused + F811 redefinition in the generated tests).
def test_names_a_test_imports_itself_are_not_imported_again(plan_of):
    plan = plan_of([
        ("import numpy as np", ["imports"]),
        ("x = np.arange(3)", ["step:a"]),
        ("import numpy as np\nassert np.all(x >= 0)", ["test"]),
    ])
    assert plan.test_imports == ()


def test_module_imports_a_test_uses_without_importing_are_kept(plan_of):
    plan = plan_of([
        ("import numpy as np", ["imports"]),
        ("x = np.arange(3)", ["step:a"]),
        ("assert np.all(x >= 0)", ["test"]),
    ])
    assert plan.test_imports == ("import numpy as np",)


# A metrics cell that also computes (`best = ...` before the prints) used to fail
# the build with NB608 errors; its computation is now a step run before metrics.
def test_metrics_cell_that_computes_gets_a_step(plan_of, tmp_path, monkeypatch):
    plan = plan_of([
        ("n = 4", ["parameters"]),
        ("values = list(range(n))", ["step:load"]),
        (("best = max(values)\nmean = sum(values) / len(values)\nprint(f'best {best}')\n"
          "print(mean)\nfor v in values:\n    print(v)"), ["metrics"]),
    ])
    assert "NB608" not in codes(plan)
    assert plan.metrics == ("best", "mean")
    assert [s.function for s in plan.steps] == ["load", "metrics"]
    assert plan.steps[1].inputs == ("values",)
    assert "print(f'best {best}')" not in plan.steps[1].blocks[0].code
    _, pipeline = run_pipeline(plan, tmp_path, monkeypatch)
    assert pipeline["run"](pipeline["Params"](n=6)) == {"best": 5, "mean": 2.5}


def test_print_of_several_names_reports_each(plan_of):
    plan = plan_of([
        ("acc = 0.5\nf1 = 0.25\nscores = [1]", ["step:a"]),
        ("print('acc', acc, 'f1', f1)\nprint(f'{acc=} {f1=}')\nprint(scores)", ["metrics"]),
    ])
    assert plan.metrics == ("acc", "f1", "scores")
    assert "NB608" not in codes(plan)


def test_print_mixing_names_and_expressions_is_not_a_metric_line(plan_of):
    plan = plan_of([
        ("acc = 0.5\nscores = [1]", ["step:a"]),
        ("print(f'{acc} {len(scores)}')", ["metrics"]),
    ])
    assert "len" not in plan.metrics
    assert "NB608" not in codes(plan)  # it runs in the metrics step instead


# A test cell between steps saw the value a LATER step rebinds (documented
# limit); now run_steps keeps the value as it was at the test's place.
def test_test_cell_sees_the_value_at_its_place(plan_of, tmp_path, monkeypatch):
    plan = plan_of([
        ("n = 3", ["parameters"]),
        ("items = list(range(n))", ["step:make"]),
        ("assert len(items) == n", ["test"]),
        ("items = items[1:]\ntotal = sum(items)", ["step:trim"]),
        ("print(total)", ["metrics"]),
    ])
    (test,) = plan.tests
    assert dict(test.inputs) == {"items": "items_after_make", "n": "n"}
    files, pipeline = run_pipeline(plan, tmp_path, monkeypatch)
    values = pipeline["run_steps"](pipeline["Params"]())
    assert values["items_after_make"] == [0, 1, 2] and values["items"] == [1, 2]
    assert 'items = values["items_after_make"]' in files["tests/test_pipeline.py"]
    ast.parse(files["tests/test_pipeline.py"])


def test_test_cell_after_the_last_rebinding_reads_the_final_value(plan_of):
    plan = plan_of([
        ("items = [1]", ["step:make"]),
        ("items = items + [2]", ["step:grow"]),
        ("assert items == [1, 2]", ["test"]),
    ])
    assert plan.tests[0].inputs == (("items", "items"),)
    assert plan.snapshots == ()
