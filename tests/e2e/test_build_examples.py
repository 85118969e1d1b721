"""Every example builds, installs into a fresh venv, passes its generated tests,
and reproduces the metrics of the notebook executed top to bottom by nbclient."""

from __future__ import annotations

import json
import subprocess

import nbformat
import pytest
from nbclient import NotebookClient

from nb2prod.cli import main
from tests.conftest import EXAMPLES, pip_install

pytestmark = pytest.mark.e2e

TAGGED = ["churn", "sales_etl", "kale_iris", "pricing"]


def executed_metric_lines(path, overrides: str = "") -> list[str]:
    """Run the notebook (with `overrides` appended to its parameters cell) and
    return the lines its metrics cell printed."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        if overrides and {"parameters", "pipeline-parameters"} & set(tags):
            cell.source += "\n" + overrides
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    for cell in notebook.cells:
        if {"metrics", "pipeline-metrics"} & set(cell.metadata.get("tags", [])):
            return "".join(o.get("text", "") for o in cell.outputs
                           if o.output_type == "stream").splitlines()
    raise AssertionError("no metrics cell")


@pytest.fixture(scope="module")
def installed(tmp_path_factory, venv_factory):
    """name -> (python of a fresh venv with the package installed, output dir)."""
    python = venv_factory("examples")
    out = tmp_path_factory.mktemp("built")
    result = {}
    for name in TAGGED + ["nbdev_textutils"]:
        assert main(["build", str(EXAMPLES / f"{name}.ipynb"), "-o", str(out / name),
                     "-q"]) == 0
        pip_install(python, out / name)
        result[name] = (python, out / name)
    return result


@pytest.mark.parametrize("name", TAGGED + ["nbdev_textutils"])
def test_generated_tests_pass(installed, name):
    python, out = installed[name]
    run = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(out / "tests")], capture_output=True, text=True, cwd=out)
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" in run.stdout


def run_package(python, name, tmp_path, *args) -> dict:
    metrics = tmp_path / f"{name}.json"
    run = subprocess.run([str(python), "-m", name, *args, "--metrics-out", str(metrics)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    return json.loads(metrics.read_text())


@pytest.mark.parametrize("name", TAGGED)
def test_metrics_match_executed_notebook(installed, name, tmp_path):
    python, _ = installed[name]
    metrics = run_package(python, name, tmp_path)
    printed = executed_metric_lines(EXAMPLES / f"{name}.ipynb")
    assert len(printed) == len(metrics)
    for (key, value), text in zip(metrics.items(), printed):
        if isinstance(value, (int, float)):
            assert value == pytest.approx(float(text), rel=1e-9, abs=1e-12), key
        else:
            assert str(value) == text, key


def test_parameter_override_reaches_the_computation(installed, tmp_path):
    python, _ = installed["churn"]
    default = run_package(python, "churn", tmp_path)
    smaller = run_package(python, "churn", tmp_path, "--n-customers", "400", "--seed", "3")
    assert smaller != default
    printed = executed_metric_lines(EXAMPLES / "churn.ipynb", "n_customers = 400\nseed = 3")
    assert [pytest.approx(float(t), rel=1e-9) for t in printed] == list(smaller.values())


def test_override_reaches_helpers_reading_globals(installed, tmp_path):
    """pricing's helpers read `discount`, `clip` (parameters) and the fitted
    statistics as globals: an override reaches them in the CLI and in-process."""
    python, _ = installed["pricing"]
    default = run_package(python, "pricing", tmp_path)
    changed = run_package(python, "pricing", tmp_path, "--discount", "0.3", "--clip", "1.5")
    assert changed != default
    printed = executed_metric_lines(EXAMPLES / "pricing.ipynb", "discount = 0.3\nclip = 1.5")
    assert [pytest.approx(float(t), rel=1e-9) for t in printed] == list(changed.values())
    code = ("import json; from pricing.pipeline import Params, run; "
            "print(json.dumps(run(Params(discount=0.3, clip=1.5))))")
    run = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(run.stdout.splitlines()[-1]) == changed


def test_help_lists_parameters_with_defaults(installed):
    python, _ = installed["churn"]
    run = subprocess.run([str(python), "-m", "churn", "--help"], capture_output=True,
                         text=True, check=True)
    for option in ("--n-customers", "--test-size", "--seed", "--n-estimators", "--metrics-out"):
        assert option in run.stdout
    assert "1000" in run.stdout


@pytest.mark.parametrize("name", TAGGED)
def test_help_imports_none_of_the_notebooks_libraries(installed, name):
    """`--help` answers from `__main__`'s data: pipeline.py (pandas, scikit-learn) is
    imported only when a run starts (benchmarks/help_speed.py measures the gain)."""
    python, _ = installed[name]
    run = subprocess.run([str(python), "-X", "importtime", "-m", name, "--help"],
                         capture_output=True, text=True, check=True)
    modules = {line.rsplit("|", 1)[1].strip() for line in run.stderr.splitlines()
               if line.startswith("import time:") and line.count("|") == 2}
    assert f"{name}._runtime.cli" in modules
    assert not {f"{name}.pipeline", "pandas", "sklearn", "numpy"} & modules
