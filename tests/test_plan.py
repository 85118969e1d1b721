"""Planning: which cell goes where, what each step takes and returns, and what
is reported, for every tag vocabulary."""

from __future__ import annotations

import json

import pytest

from nb2prod.notebook import load_notebook
from nb2prod.plan.build import build_plan


@pytest.fixture
def plan_of(notebook_factory):
    def make(cells):
        return build_plan(load_notebook(notebook_factory(cells)))
    return make


def steps(plan):
    return {s.function: (s.inputs, s.outputs) for s in plan.steps}


def codes(plan):
    return [(p.code, p.cell, p.line) for p in plan.problems]


def test_native_vocabulary(plan_of):
    plan = plan_of([
        ("import math", ["imports"]),
        ("def half(x):\n    return x / 2", ["functions"]),
        ("n = 4\nrate: float = 1\nname = 'a'\nflag = True\nitems = [1, 2]", ["parameters"]),
        ("values = [half(i) for i in range(n)]", ["step:load"]),
        ("total = math.fsum(values) * rate", ["step:sum"]),
        ("print(total)", ["metrics"]),
        ("assert total > 0", ["test"]),
        ("values", ["skip"]),
    ])
    assert steps(plan) == {"load": (("n",), ("values",)), "sum": (("values", "rate"), ("total",))}
    assert [(p.name, p.type_name, p.default) for p in plan.params] == [
        ("n", "int", "4"), ("rate", "float", "1.0"), ("name", "str", '"a"'),
        ("flag", "bool", "True"), ("items", "list", "[1, 2]")]
    assert plan.metrics == ("total",) and plan.skipped == (8,)
    assert [t.reads for t in plan.tests] == [("total",)]
    assert plan.imports == ("import math",) and plan.exports == ("half",)


def test_kale_vocabulary_v1_and_v2(plan_of):
    plan = plan_of([
        ("import random", ["imports"]),
        ("seed = 1", ["pipeline-parameters"]),
        ("random.seed(seed)\nxs = [random.random() for _ in range(3)]", ["block:gen"]),
        ("best = max(xs)", ["step:pick", "prev:gen"]),
        ("print(best)", ["pipeline-metrics"]),
    ])
    assert steps(plan) == {"gen": (("seed",), ("xs",)), "pick": (("xs",), ("best",))}
    assert plan.steps[1].after == ("gen",)
    assert plan.metrics == ("best",)


def test_papermill_parameters_and_injected_cell(plan_of):
    plan = plan_of([("alpha = 0.5", ["parameters"]), ("alpha = 0.9", ["injected-parameters"]),
                    ("print(alpha * 2)", [])])
    assert [p.default for p in plan.params] == ["0.5"]
    assert plan.skipped == (2,)
    assert steps(plan) == {"main": (("alpha",), ())}


def test_nbdev_exports_and_assert_tests(plan_of):
    plan = plan_of([
        "#| default_exp core",
        "#| export\ndef double(x):\n    return 2 * x",
        "#| exporti\ndef _helper():\n    return 1",
        "#| hide\nimport doctest",
        "sample = double(4)",
        "assert sample == 8",
        "assert double(1) == 2",
    ])
    assert plan.steps == () and plan.exports == ("double",)
    assert [t.name for t in plan.tests] == ["test_cell_6", "test_cell_7"]
    assert [b.cell for b in plan.tests[0].setup] == [5]
    assert plan.tests[1].setup == ()
    assert "from nb.pipeline import double" in plan.test_imports


def test_untagged_notebook_is_one_step(plan_of):
    plan = plan_of(["import os", "x = 1", "print(x + 1)"])
    assert [s.function for s in plan.steps] == ["main"]
    assert "NB610" in [c for c, *_ in codes(plan)]
    assert plan.imports == ("import os  # noqa: F401",)


def test_untagged_cells_continue_the_step_above(plan_of):
    plan = plan_of([("a = 1", ["step:one"]), "b = a + 1", ("c = b * 2", ["step:two"]),
                    "print(c)"])
    assert [s.cells for s in plan.steps] == [(1, 2), (3, 4)]
    assert steps(plan)["two"] == (("b",), ("c",))  # no metrics: the last step's values


def test_undefined_and_later_defined_names_are_located(plan_of):
    plan = plan_of([("x = 1", ["step:a"]), ("\ny = x + ghost", ["step:b"]),
                    ("print(late)", ["step:c"]), ("late = 2", ["step:d"])])
    found = codes(plan)
    assert ("NB201", 2, 2) in found
    assert ("NB203", 3, 1) in found


def test_mutation_makes_a_step_an_output(plan_of):
    plan = plan_of([("df = {'a': 1}", ["step:load"]), ("df['b'] = 2", ["step:enrich"]),
                    ("print(df)", ["step:show"])])
    assert steps(plan) == {"load": ((), ("df",)), "enrich": (("df",), ("df",)),
                           "show": (("df",), ())}
    assert plan.steps[2].after == ("enrich",)


def test_later_step_sees_the_latest_definition(plan_of):
    plan = plan_of([("x = 1", ["step:a"]), ("x = 10", ["step:b"]), ("print(x)", ["step:c"])])
    assert steps(plan)["a"] == ((), ())
    assert plan.steps[2].after == ("b",)


def test_independent_steps_have_no_edge(plan_of):
    plan = plan_of([("a = 1", ["step:left"]), ("b = 2", ["step:right"]),
                    ("print(a + b)", ["step:join"])])
    assert plan.steps[1].after == ()
    assert set(plan.steps[2].after) == {"left", "right"}


def test_unknown_after_and_tags_are_reported(plan_of):
    plan = plan_of([("a = 1", ["step:one", "after:nowhere", "stpe:x"])])
    found = [c for c, *_ in codes(plan)]
    assert "NB611" in found and "NB606" in found


def test_ipython_decisions_are_reported(plan_of):
    plan = plan_of([("%matplotlib inline\n!pip install requests==2.0\n!ls\nx = 1",
                     ["step:a"]), ("%%time\ny = x", ["step:b"]), ("%%bash\necho hi", [])])
    found = {(c, cell, line) for c, cell, line in codes(plan)}
    assert {("NB602", 1, 1), ("NB604", 1, 2), ("NB601", 1, 3), ("NB603", 2, 1),
            ("NB601", 3, 1)} <= found
    assert "requests==2.0" in plan.dependencies


def test_display_only_expressions_are_dropped_and_listed(plan_of):
    plan = plan_of([("x = [3, 1]\nx.sort()\nx", ["step:a"]), ("print(x)\nlen(x)", ["step:b"])])
    code = plan.steps[0].blocks[0].code
    assert code == "x = [3, 1]\nx.sort()"
    assert "len(x)" in plan.steps[1].blocks[0].code  # a call may have effects: kept
    assert ("NB605", 1, 3) in codes(plan)


def test_non_literal_parameters_are_reported(plan_of):
    plan = plan_of([("import os\nroot = os.getcwd()\nn = 2", ["parameters"]),
                    ("print(n)", ["step:a"])])
    assert [p.name for p in plan.params] == ["n"]
    assert ("NB607", 1, 2) in codes(plan)


def test_module_code_reading_a_step_value_at_import_is_an_error(plan_of):
    plan = plan_of([("def f():\n    return 2\nlimit = data * 2", ["functions"]),
                    ("data = 1\nprint(f())", ["step:a"])])
    assert ("NB614", 1, 3) in codes(plan)


def test_metrics_golden_values_come_from_outputs(notebook_factory):
    path = notebook_factory([
        ("a = 0.5\nb = 'x'", ["step:s"]),
        {"cell_type": "code", "metadata": {"tags": ["metrics"]}, "execution_count": 2,
         "source": "print(a)\nprint(b)",
         "outputs": [{"output_type": "stream", "name": "stdout", "text": ["0.5\n", "x\n"]}]},
    ])
    plan = build_plan(load_notebook(path))
    assert plan.golden == (("a", "0.5"), ("b", "x"))


def test_dependencies_are_mapped_and_stdlib_skipped(plan_of):
    imports = ("import os\nimport sklearn.linear_model\nfrom yaml import safe_load\n"
               "import cv2, numpy as np")
    plan = plan_of([(imports, ["imports"]), ("x = 1", ["step:a"])])
    assert plan.dependencies == ("numpy", "opencv-python", "PyYAML", "scikit-learn")


def test_unused_locals_are_marked_for_lint(plan_of):
    plan = plan_of([("tmp = 1\nkeep = 2", ["step:a"]), ("print(keep)", ["step:b"])])
    assert plan.steps[0].unused == ("tmp",)
    assert "tmp = 1  # noqa: F841" in plan.steps[0].blocks[0].code


def test_skipped_cells_do_not_report_their_code(plan_of):
    plan = plan_of([("!pip install -r requirements.txt\nx = (", ["skip"]), ("y = 1", ["step:a"])])
    assert [c for c, *_ in codes(plan)] == ["NB612"]


def test_ipython_names_global_writes_and_reserved_names(plan_of):
    plan = plan_of([("def run():\n    return 1", ["functions"]),
                    ("x = 1\ndisplay(x)\nprint(get_ipython())", ["step:a"]),
                    ("def bump():\n    global x\n    x = 2", ["step:b"])])
    found = codes(plan)
    assert ("NB613", 2, 3) in found and ("NB619", 1, None) in found
    assert ("NB613", 2, 2) not in found  # display(x) was dropped, not converted
    assert ("NB609", 3, 3) in found
    assert "display(x)" not in plan.steps[0].blocks[0].code  # dropped, listed as NB605


def test_nbdev_default_exp_names_an_importable_module(plan_of):
    from nb2prod.render.templates import render

    plan = plan_of(["#| default_exp tools.text", "#| export\ndef shout(s):\n    return s.upper()",
                    "assert shout('a') == 'A'"])
    assert plan.export_module == "text"
    module = render(plan)["src/nb/text.py"]
    assert "from nb.pipeline import shout" in module and '__all__ = ["shout"]' in module


def test_metrics_cell_prints_of_expressions_are_noted(plan_of):
    plan = plan_of([("xs = [1, 2]", ["step:a"]), ("print(sum(xs))\nprint(xs)", ["metrics"])])
    assert plan.metrics == ("xs",)
    assert ("NB620", 2, 1) in codes(plan)


def test_semicolon_import_line_is_hoisted(plan_of):
    """`import warnings; warnings.filterwarnings(...)`: the import joins the module's
    import block (ruff I001), the call stays where it was."""
    plan = plan_of([("import warnings; warnings.filterwarnings('ignore')", ["imports"]),
                    ("import os; x = 1; import sys", ["step:a"]), ("print(x, os, sys)", [])])
    assert {"import warnings", "import os", "import sys"} <= set(plan.imports)
    assert plan.helpers[0].code == "warnings.filterwarnings('ignore')"
    assert plan.steps[0].blocks[0].code.splitlines()[0] == "x = 1"


def test_info_and_sample_as_last_line_are_kept(plan_of):
    plan = plan_of([("import pandas as pd\ndf = pd.DataFrame({'a': [1, 2]})\ndf.info()",
                     ["step:a"]), ("df.sample()", [])])
    code = "\n".join(b.code for b in plan.steps[0].blocks)
    assert "df.info()" in code and "df.sample()" in code


def test_helper_closure_over_a_later_cell_of_its_step(plan_of):
    """A def reading a name a later cell of the same step binds is a closure (no
    NB203); a default argument reads it now (NB203); another step: NB203."""
    plan = plan_of([("def f():\n    return X + 1", ["step:a"]), ("X = 1\nprint(f())", [])])
    assert [c for c in codes(plan) if c[0] == "NB203"] == []
    plan = plan_of([("def f(v=X):\n    return v", ["step:a"]), ("X = 1", [])])
    assert ("NB203", 1, 1) in codes(plan)
    plan = plan_of([("def f():\n    return X", ["step:a"]), ("X = 1", ["step:b"])])
    assert ("NB203", 1, 2) in codes(plan)


def test_loop_variables_are_not_reported_without_a_metrics_cell(plan_of):
    plan = plan_of([("total = 0\nfor day, value in [(1, 2)]:\n    total += value",
                     ["step:a"])])
    assert plan.metrics == ("total",)


def test_reserved_name_is_located_and_future_imports_are_fine(plan_of):
    plan = plan_of([("from __future__ import annotations\nimport typing", ["imports"]),
                    ("x = typing.cast(int, 1)", ["step:a"])])
    assert [c for c in codes(plan) if c[0] == "NB619"] == []
    plan = plan_of([("import math", ["imports"]), ("def run():\n    return 1", ["functions"]),
                    ("x = run()", ["step:a"])])
    assert ("NB619", 2, None) in codes(plan)


BAD_SETTING = [("n = 3", ["parameters"]),
               ("total = n * 2", ["step:compute", "retry:abc", "limit:cpu:2"]),
               ("print(total)", ["metrics"])]


def test_an_invalid_setting_is_located_the_same_in_plan_build_and_lint(
        notebook_factory, tmp_path, capsys):
    """The plan checks every setting tag: `plan`, `build` and `lint` report one NB617."""
    from nb2prod.cli import main

    path = notebook_factory(BAD_SETTING)
    (problem,) = [p for p in build_plan(load_notebook(path)).problems if p.code == "NB617"]
    assert (problem.cell, problem.severity) == (2, "error")
    message = "NB617 [error] tag `retry:abc`: `abc` is not a whole number"
    assert main(["plan", str(path)]) == 1
    assert f"{path}:cell 2: {message}" in capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["build", str(path), "-o", str(out), "--target", "kubeflow"]) == 1
    captured = capsys.readouterr()
    assert f"{path}:cell 2: {message}" in captured.out
    assert "a step setting is invalid; nothing written" in captured.err
    assert not out.exists()
    assert main(["lint", str(path), "--format", "json", "--no-cache"]) == 1
    (finding,) = [f for f in json.loads(capsys.readouterr().out) if f["code"] == "NB617"]
    assert (finding["cell"], finding["message"]) == (2, problem.message)
