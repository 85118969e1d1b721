"""`--target kubeflow` end to end: build the examples, install them into a fresh venv,
compile the KFP pipeline, and run it on KFP's own local runner (offline).

The venv sees this interpreter's packages (pandas, scikit-learn, kfp) through
tests.conftest.fresh_venv; the generated package itself is installed into it.
`run-local` must reproduce `python -m PKG` to 1e-9, also with a parameter override.
"""

from __future__ import annotations

import json
import math
import os
import subprocess

import pytest
import yaml

from nb2prod.cli import main
from nb2prod.notebook import load_notebook
from nb2prod.plan.build import build_plan
from tests.conftest import EXAMPLES, pip_install

pytestmark = pytest.mark.e2e

OVERRIDES = {"churn": ["--n-customers", "400", "--n-estimators", "20"],
             "kale_iris": ["--c", "0.05", "--test-size", "0.4"],
             "pricing": ["--discount", "0.3", "--clip", "1.5"]}  # helpers read globals
"""Per example: a parameter override that changes the metrics."""


@pytest.fixture(scope="module")
def installed(tmp_path_factory, venv_factory):
    """import name -> (python of a fresh venv with the package installed, output dir)."""
    python = venv_factory("kubeflow")
    out = tmp_path_factory.mktemp("kubeflow")
    result = {}
    for name in OVERRIDES:
        assert main(["build", str(EXAMPLES / f"{name}.ipynb"), "-o", str(out / name),
                     "--target", "kubeflow", "-q"]) == 0
        pip_install(python, out / name)
        result[name] = (python, out / name)
    return result


def run(python, *args, cwd):
    # run-local keeps its outputs in a temporary folder (it prints where): the test's own
    env = {**os.environ, "TMPDIR": str(cwd)}
    done = subprocess.run([str(python), *args], check=False, capture_output=True, text=True,
                          cwd=cwd, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.mark.parametrize("name", list(OVERRIDES))
def test_compile_gives_one_task_per_step_and_the_dataflow_edges(installed, name, tmp_path):
    python, _ = installed[name]
    run(python, "-m", f"{name}.kubeflow", "compile", "pipeline.yaml", cwd=tmp_path)
    spec = yaml.safe_load((tmp_path / "pipeline.yaml").read_text())
    tasks = spec["root"]["dag"]["tasks"]
    plan = build_plan(load_notebook(EXAMPLES / f"{name}.ipynb"))
    kfp_name = {s.function: s.function.replace("_", "-") for s in plan.steps}
    assert set(tasks) == set(kfp_name.values())
    for step in plan.steps:
        wanted = {kfp_name[f] for f, _ in step.edges} | {kfp_name[f] for f in step.after}
        assert set(tasks[kfp_name[step.function]].get("dependentTasks", [])) == wanted
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert {p.name for p in plan.params} == set(params)
    for executor in spec["deploymentSpec"]["executors"].values():
        assert "pip install" not in " ".join(executor["container"]["command"])


def metrics_of(python, name, cwd, *args) -> tuple[dict, dict]:
    """(run-local metrics, `python -m PKG` metrics) for the same arguments."""
    run(python, "-m", f"{name}.kubeflow", "run-local", *args, "--metrics-out", "kfp.json",
        cwd=cwd)
    run(python, "-m", name, *args, "--metrics-out", "direct.json", cwd=cwd)
    return (json.loads((cwd / "kfp.json").read_text()),
            json.loads((cwd / "direct.json").read_text()))


def assert_close(got: dict, want: dict) -> None:
    assert list(got) == list(want)
    for key, value in want.items():
        assert math.isclose(got[key], value, rel_tol=0, abs_tol=1e-9), (key, got[key], value)


@pytest.mark.parametrize("name", list(OVERRIDES))
def test_run_local_reproduces_the_package_metrics(installed, name, tmp_path):
    python, _ = installed[name]
    assert_close(*metrics_of(python, name, tmp_path))


@pytest.mark.parametrize("name", list(OVERRIDES))
def test_parameter_override_reaches_the_computation(installed, name, tmp_path):
    python, _ = installed[name]
    run(python, "-m", name, "--metrics-out", "default.json", cwd=tmp_path)
    default = json.loads((tmp_path / "default.json").read_text())
    got, want = metrics_of(python, name, tmp_path, *OVERRIDES[name])
    assert_close(got, want)
    assert got != default


def test_run_local_prints_a_line_per_task_and_each_warning_once(installed, tmp_path):
    """KFP's local runner prints every task's executor log (its inputs as JSON, each
    artifact) in colour to stdout, and its warnings once per task: run-local shows a line
    per task on stderr, each warning once, no ANSI off a terminal; stdout is the metrics."""
    python, _ = installed["kale_iris"]
    done = run(python, "-m", "kale_iris.kubeflow", "run-local", cwd=tmp_path)
    err = done.stderr.splitlines()
    assert "\x1b" not in done.stdout + done.stderr
    tasks = [line.split(" in ")[0] for line in err if line.startswith("task ")]
    assert tasks == ["task load-data: SUCCESS", "task train: SUCCESS", "task evaluate: SUCCESS"]
    assert any(line.startswith("pipeline kale-iris: SUCCESS in ") and line.endswith("(3 tasks)")
               for line in err)
    warned = [line for line in err if line.startswith("warning: ")]
    assert len(warned) == len(set(warned)) and "KFP Executor" not in done.stderr
    assert all("Task '" not in line for line in warned)  # about every task, not the first
    assert len(done.stdout.splitlines()) == 2  # accuracy, f1_macro: nothing else
    verbose = run(python, "-m", "kale_iris.kubeflow", "run-local", "--verbose", cwd=tmp_path)
    assert "KFP Executor" in verbose.stderr and "Task 'train' finished with status SUCCESS" \
        in verbose.stderr
    assert "\x1b" not in verbose.stderr and verbose.stdout == done.stdout


def test_a_failing_task_is_named_with_its_error_in_one_line_and_no_traceback(installed,
                                                                            tmp_path):
    python, _ = installed["kale_iris"]
    done = subprocess.run([str(python), "-m", "kale_iris.kubeflow", "run-local", "--c", "-1"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600,
                          env={**os.environ, "TMPDIR": str(tmp_path)})
    assert done.returncode == 1
    err = done.stderr.splitlines()
    assert "task train: FAILURE in " in done.stderr and "its last output lines:" in done.stderr
    assert "InvalidParameterError: The 'C' parameter" in done.stderr  # the task's own error
    assert err[-1].startswith("python -m kale_iris.kubeflow run-local: error: Pipeline "
                              "'kale-iris' finished with status FAILURE. Inner task failed: "
                              "'train' (outputs kept in ")
    assert "kfp_local.py" not in done.stderr and "\x1b" not in done.stderr
