"""Helpers that read parameters and step values as globals (helperglobals.py)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from nb2prod.notebook import load_notebook
from nb2prod.plan.build import build_plan
from nb2prod.problems import ERROR
from nb2prod.render.templates import render
from tests.tools import RUFF

HELPERS = ("def scaled(x):\n    return x * scale\n\n"
           "def shifted(x):\n    return scaled(x) + offset\n\n"
           "class Scaler:\n    def apply(self, x):\n        return x * scale\n\n"
           "twice = lambda x: 2 * scaled(x)")


@pytest.fixture
def plan_of(notebook_factory):
    def make(cells):
        return build_plan(load_notebook(notebook_factory(cells)))
    return make


def errors(plan):
    return [(p.code, p.cell, p.line, p.column) for p in plan.problems if p.severity == ERROR]


def pipeline(plan, tmp_path):
    """The generated pipeline module, rendered and executed from `tmp_path`."""
    files = render(plan)
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    run = subprocess.run([*RUFF, "check", "--no-cache", "--isolated", "src"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout
    # Imported from the package, not executed alone: pipeline.py imports its runtime.
    package = plan.import_name
    for module in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
        del sys.modules[module]
    sys.path.insert(0, str(tmp_path / "src"))
    try:
        module = importlib.import_module(f"{package}.pipeline")
    finally:
        sys.path.remove(str(tmp_path / "src"))
    return vars(module), files[f"src/{package}/pipeline.py"]


def notebook(scale: float, n: int) -> float:
    """What the notebook computes, run as the kernel would, with these parameters."""
    namespace = {"scale": scale, "n": n}
    exec(HELPERS, namespace)
    exec("xs = list(range(n))\noffset = sum(scaled(x) for x in xs)\n"
         "total = sum(shifted(x) + Scaler().apply(x) + twice(x) for x in xs)", namespace)
    return namespace["total"]


CELLS = [("import math", ["imports"]), (HELPERS, ["functions"]),
         ("scale = 2.0\nn = 4", ["parameters"]),
         ("xs = list(range(n))\noffset = sum(scaled(x) for x in xs)", ["step:prepare"]),
         ("total = sum(shifted(x) + Scaler().apply(x) + twice(x) for x in xs)", ["step:use"]),
         ("print(total)", ["metrics"])]


def test_helpers_read_parameters_and_step_values(plan_of, tmp_path):
    plan = plan_of(CELLS)
    assert errors(plan) == []
    prepare, use = plan.steps
    assert prepare.global_names == ("offset",) and prepare.bound_globals == ("scale",)
    assert set(use.bound_globals) == {"scale", "offset"}  # inputs, so pods receive them
    assert {"scale", "offset"} <= set(use.inputs)
    namespace, source = pipeline(plan, tmp_path)
    assert "global offset" in source and "scale: float = 2.0" in source
    params = namespace["Params"]
    for scale, n in ((2.0, 4), (5.0, 4), (0.5, 7)):
        got = namespace["run"](params(scale=scale, n=n))["total"]
        assert got == pytest.approx(notebook(scale, n), rel=1e-12)
    assert notebook(5.0, 4) != notebook(2.0, 4)  # the override matters


def test_each_step_binds_what_its_helpers_read_in_a_pod(plan_of, tmp_path):
    """A step called alone (a Kubeflow pod) binds the globals from its arguments."""
    namespace, _ = pipeline(plan_of(CELLS), tmp_path)
    total = namespace["use"](xs=[1, 2], offset=10.0, scale=3.0)
    namespace["scale"], namespace["offset"] = 0, 0  # as in a fresh pod: nothing left over
    assert namespace["use"](xs=[1, 2], offset=10.0, scale=3.0) == total
    assert total == sum(3.0 * x + 10.0 + 3.0 * x + 2 * 3.0 * x for x in (1, 2))


def test_each_call_sees_the_latest_of_several_bindings(plan_of, tmp_path):
    """Two steps bind `base`; each calls `f` after its own binding: faithful."""
    plan = plan_of([("def f(x):\n    return x + base", ["functions"]),
                    ("base = 1\na = f(1)", ["step:one"]),
                    ("c = f(0)", ["step:between"]),
                    ("base = 10\nb = f(a)", ["step:two"]),
                    ("print(a, b, c)", ["metrics"])])
    assert errors(plan) == []
    one, between, two = plan.steps
    assert one.global_names == two.global_names == ("base",)
    assert between.bound_globals == ("base",)  # from step one, as the notebook saw it
    namespace, _ = pipeline(plan, tmp_path)
    assert namespace["run"]() == {"a": 2, "b": 12, "c": 1}
    namespace["base"] = None  # a fresh pod: the step binds what it receives
    assert namespace["between"](base=1) == 1


def test_call_before_a_rebinding_in_the_same_step_is_refused(plan_of):
    plan = plan_of([("def f(x):\n    return x + base", ["functions"]),
                    ("base = 1\na = f(1)", ["step:one"]),
                    ("b = f(a)\nbase = 2", ["step:two"])])
    [problem] = [p for p in plan.problems if p.severity == ERROR]
    assert (problem.code, problem.cell, problem.line) == ("NB614", 1, 2)
    assert "step `two` binds again and calls `f`" in problem.message
    assert "pass `base` to `f` as an argument" in problem.hint


def test_helper_called_before_its_global_is_bound_is_refused(plan_of):
    plan = plan_of([("def f(x):\n    return x + base", ["functions"]),
                    ("a = f(1)", ["step:one"]), ("base = 2\nb = a", ["step:two"])])
    assert ("NB614", 1, 2, 16) in errors(plan)
    assert any("binds only after step `one` calls `f`" in p.message for p in plan.problems)


def test_parameter_rebound_by_a_step_is_refused(plan_of):
    plan = plan_of([("def f(x):\n    return x * k", ["functions"]), ("k = 2", ["parameters"]),
                    ("k = k + 1\ny = f(1)", ["step:one"])])
    assert ("NB614", 1, 2, 16) in errors(plan)


def test_import_time_reads_stay_refused(plan_of):
    plan = plan_of([("k = 2", ["parameters"]),
                    ("def f(x, factor=k):\n    return x * factor", ["functions"]),
                    ("y = f(1)", ["step:one"])])
    assert ("NB201", 2, 1, 17) in errors(plan)


def test_undefined_name_in_a_helper_is_still_reported(plan_of):
    plan = plan_of([("def f(x):\n    return x * nowhere", ["functions"]),
                    ("y = f(1)", ["step:one"])])
    assert ("NB201", 1, 2, 16) in errors(plan)
