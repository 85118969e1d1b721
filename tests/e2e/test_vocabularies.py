"""Tagged notebooks in every vocabulary, written the way different data scientists
write them (tests/data/vocab/make_vocab.py), build into packages that install,
pass their generated tests, lint clean, and reproduce the values the notebook
itself computes (executed by nbclient) — with default parameters and with one
parameter overridden on both sides."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from nb2prod.cli import main
from tests.conftest import ROOT, pip_install
from tests.tools import RUFF

pytestmark = pytest.mark.e2e

VOCAB = ROOT / "tests" / "data" / "vocab"

# notebook -> (parameter override as Python source, the same as CLI arguments)
NOTEBOOKS = {
    "closures_and_classes": ("n_orders = 120", ["--n-orders", "120"]),
    "inplace_and_plots": ("clip_at = 1.0", ["--clip-at", "1.0"]),
    "odd_steps": ("noise = 1.2", ["--noise", "1.2"]),
    "csv_roundtrip": ("seed = 9", ["--seed", "9"]),
    "papermill_report": ("alpha = 25.0", ["--alpha", "25"]),
    "kale_diamond": ("WINDOW = 9", ["--window", "9"]),
    "kale_blocks": ("n_clusters = 4", ["--n-clusters", "4"]),
    "nbdev_stats": (None, []),
    "sklearn_custom": ("C = 0.01", ["--c", "0.01"]),
    "timeseries_loops": ("trend = 2.0", ["--trend", "2.0"]),
    "text_features": ("min_len = 4", ["--min-len", "4"]),
    "config_dataclass": ("shuffle = False", ["--no-shuffle"]),
}
UNCONVERTIBLE = {"shell_step": "!wc -l frame.csv"}  # notebook -> construct the report names

ENV = {**os.environ, "MPLBACKEND": "Agg"}

TO_JSONABLE = '''
def _nb2prod_jsonable(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _nb2prod_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nb2prod_jsonable(v) for v in value]
    for method in ("tolist", "to_dict"):
        if hasattr(value, method):
            return _nb2prod_jsonable(getattr(value, method)())
    return repr(value)
'''


def notebook_values(name: str, names: list[str], override: str | None, cwd: Path) -> dict:
    """Execute the notebook (override injected after its parameters cell) and
    return the JSON form of `names` as the notebook computed them."""
    notebook = nbformat.read(VOCAB / f"{name}.ipynb", as_version=4)
    # papermill's injected-parameters are one run's overrides, not defaults (as `verify`)
    notebook.cells = [c for c in notebook.cells
                      if "injected-parameters" not in c.metadata.get("tags", [])]
    if override:
        at = next(i for i, c in enumerate(notebook.cells)
                  if {"parameters", "pipeline-parameters"} & set(c.metadata.get("tags", [])))
        notebook.cells.insert(at + 1, nbformat.v4.new_code_cell(override))
    dump = cwd / "notebook.json"
    notebook.cells.append(nbformat.v4.new_code_cell(
        TO_JSONABLE + "import json as _json\n"
        f"_json.dump({{_n: _nb2prod_jsonable(globals()[_n]) for _n in {names!r}}}, "
        f"open({str(dump)!r}, 'w'))"))
    cwd.mkdir(parents=True, exist_ok=True)
    old = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    try:
        NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=False,
                       resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        if old is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = old
    return json.loads(dump.read_text())


def assert_same(package: dict, notebook: dict) -> None:
    assert package.keys() == notebook.keys()
    for key, value in package.items():
        _same(value, notebook[key], key)


def _same(a, b, where):
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        assert a == b, where
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12), where
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, str) and " at 0x" in a:  # an object's repr: its identity differs
        assert a.split(" at 0x")[0] == b.split(" at 0x")[0], where
    else:
        assert a == b, where


@pytest.fixture(scope="module")
def built(tmp_path_factory, venv_factory):
    """Every convertible notebook built and installed into ONE fresh venv."""
    out = tmp_path_factory.mktemp("vocab")
    python = venv_factory("vocab")
    for name in NOTEBOOKS:
        code = main(["build", str(VOCAB / f"{name}.ipynb"), "-o", str(out / name), "-q"])
        assert code == 0, name
        pip_install(python, out / name)
    return python, out


def test_every_notebook_installs(built):
    python, _ = built
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format", "json"],
                            capture_output=True, text=True, check=True).stdout
    names = {p["name"] for p in json.loads(listed)}
    assert {n.replace("_", "-") for n in NOTEBOOKS} <= names


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_generated_tests_pass(built, name):
    python, out = built
    run = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(out / name / "tests")], capture_output=True, text=True,
                         cwd=out / name, env=ENV)
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" in run.stdout


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_generated_code_is_lint_clean(built, name):
    _, out = built
    run = subprocess.run([*RUFF, "check", "--no-cache", "--isolated", "."], cwd=out / name,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout


def run_package(python, name: str, cwd: Path, args: list[str]) -> dict:
    cwd.mkdir(parents=True, exist_ok=True)
    metrics = cwd / "metrics.json"
    run = subprocess.run([str(python), "-m", name, *args, "--metrics-out", str(metrics)],
                         capture_output=True, text=True, cwd=cwd, env=ENV)
    assert run.returncode == 0, run.stderr
    return json.loads(metrics.read_text())


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_metrics_and_override_match_the_notebook(built, name, tmp_path):
    python, _ = built
    override, args = NOTEBOOKS[name]
    package = run_package(python, name, tmp_path / "package", [])
    if not package:
        assert name == "nbdev_stats"  # a library: nothing to run
        return
    assert_same(package, notebook_values(name, list(package), None, tmp_path / "notebook"))
    changed = run_package(python, name, tmp_path / "package2", args)
    assert changed != package, "the override did not reach the computation"
    assert_same(changed, notebook_values(name, list(changed), override, tmp_path / "nb2"))


@pytest.mark.parametrize("name", UNCONVERTIBLE)
def test_unconvertible_construct_is_reported(name, tmp_path, capsys):
    code = main(["build", str(VOCAB / f"{name}.ipynb"), "-o", str(tmp_path / name)])
    assert code == 1
    report = (tmp_path / name / "nb2prod-report.md").read_text()
    assert UNCONVERTIBLE[name] in report and "NB601" in report
