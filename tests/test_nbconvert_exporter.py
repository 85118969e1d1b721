"""`jupyter nbconvert --to nb2prod`: the exporter class, the CLI, the entry point."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from nb2prod.nbconvert_exporter import ZIP_DATE, Nb2prodExporter
from nb2prod.plan.build import make_plan
from nb2prod.render.templates import render
from nb2prod.render.write import MANIFEST

ROOT = Path(__file__).resolve().parent.parent
CHURN = ROOT / "examples" / "churn.ipynb"


def unzip(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info).decode("utf-8") for info in archive.infolist()}


def test_exporter_gives_the_same_package_as_build_as_a_zip():
    data, resources = Nb2prodExporter().from_filename(str(CHURN))
    assert resources["output_extension"] == ".zip"
    files = unzip(data)
    expected = render(make_plan(CHURN, None))
    assert {path: files[path] for path in expected} == expected  # byte for byte
    assert set(files) == set(expected) | {MANIFEST}
    assert "src/churn/pipeline.py" in files and "tests/test_pipeline.py" in files


def test_zip_is_deterministic():
    first, _ = Nb2prodExporter().from_filename(str(CHURN))
    second, _ = Nb2prodExporter().from_filename(str(CHURN))
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {ZIP_DATE}


def test_unsaved_edits_in_the_notebook_node_win():
    """JupyterLab sends the notebook as it is in the browser, not as on disk."""
    nb = nbformat.read(CHURN, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("extra_value = 42", metadata={"tags": ["skip"]}))
    resources = {"metadata": {"name": "churn", "path": str(CHURN.parent)}}
    data, _ = Nb2prodExporter().from_notebook_node(nb, resources)
    report = unzip(data)["nb2prod-report.md"]
    skipped = [c + 1 for c, cell in enumerate(nb.cells) if "skip" in cell.metadata.get("tags", [])]
    assert f"## Skipped cells\n\nCells {', '.join(map(str, skipped))}: left out" in report


def test_config_options_reach_the_build():
    exporter = Nb2prodExporter(package_name="customer-churn", ci=["github"])
    files = unzip(exporter.from_filename(str(CHURN))[0])
    assert "src/customer_churn/pipeline.py" in files
    assert ".github/workflows/ci.yml" in files


def test_exporter_is_listed_for_jupyterlab():
    assert Nb2prodExporter.export_from_notebook == "nb2prod"
    assert Nb2prodExporter.output_mimetype == "application/zip"
    assert Nb2prodExporter().file_extension == ".zip"


def run_nbconvert(python: str, to: str, out: Path, env: dict | None = None):
    return subprocess.run(
        [python, "-m", "nbconvert", "--to", to, str(CHURN), "--output-dir", str(out)],
        check=False, capture_output=True, text=True, cwd=out.parent, env=env, timeout=300)


def test_jupyter_nbconvert_with_the_exporter_class(tmp_path):
    """The command line path, without installing: nbconvert also takes a class path."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = run_nbconvert(sys.executable, "nb2prod.nbconvert_exporter.Nb2prodExporter",
                        tmp_path / "out", env)
    assert run.returncode == 0, run.stderr
    files = unzip((tmp_path / "out" / "churn.zip").read_bytes())
    assert "src/churn/pipeline.py" in files


@pytest.mark.e2e
def test_jupyter_nbconvert_to_nb2prod_after_install(tmp_path, venv_factory):
    """The entry point, as users get it: nb2prod installed from a wheel into a venv."""
    python = venv_factory("nbconvert")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(ROOT)],
                   check=True, cwd=tmp_path)
    run = run_nbconvert(str(python), "nb2prod", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    files = unzip((tmp_path / "out" / "churn.zip").read_bytes())
    assert {"pyproject.toml", "src/churn/pipeline.py", "src/churn/__main__.py",
            "tests/test_pipeline.py", "Dockerfile"} <= set(files)
