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
