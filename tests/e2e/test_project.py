"""A folder of notebooks -> one package, installed and run where only the raw data is.

examples/shop: three untagged notebooks handing data on through parquet and CSV
files, the raw CSV in a subfolder (issue 23's check, and issue 24's data paths).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from nb2prod.cli import main
from tests.conftest import EXAMPLES, pip_install

pytestmark = pytest.mark.e2e

SHOP = EXAMPLES / "shop"
NOTEBOOKS = sorted(SHOP.glob("*.ipynb"))


def printed(notebook: Path) -> list[str]:
    """What the notebook printed (stdout streams), in order."""
    lines = []
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                lines += "".join(output["text"]).splitlines()
    return lines


def tree(folder: Path) -> dict[str, bytes]:
    """The generated files (pip's build folder and egg-info left out)."""
    files = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*"))
             if p.is_file()}
    return {name: p.read_bytes() for name, p in files.items()
            if not name.startswith("build/") and ".egg-info" not in name}


@pytest.fixture(scope="module")
def shop(tmp_path_factory, venv_factory):
    """The project built from its folder, installed in a fresh venv."""
    out = tmp_path_factory.mktemp("shop") / "shop"
    assert main(["build", str(SHOP), "-o", str(out), "--strict", "--quiet"]) == 0
    python = venv_factory("venv-shop")
    pip_install(python, out)
    return out, python


def test_the_folder_and_the_listed_notebooks_build_the_same_package(shop, tmp_path):
    out, _ = shop
    listed = tmp_path / "shop"
    assert main(["build", *map(str, NOTEBOOKS), "-o", str(listed), "--quiet"]) == 0
    assert tree(listed) == tree(out)


def test_run_where_only_the_raw_data_is_prints_what_the_notebooks_printed(shop, tmp_path):
    _, python = shop
    (tmp_path / "data").mkdir()
    shutil.copy(SHOP / "data" / "transactions.csv", tmp_path / "data")
    run = subprocess.run([str(python), "-m", "shop"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    expected = [line for nb in NOTEBOOKS for line in printed(nb)]
    assert len(expected) == 4 and run.stdout.splitlines() == expected
    assert "[1/3] ingest" in run.stderr and "[3/3] train" in run.stderr
    assert (tmp_path / "work" / "clean.parquet").is_file()  # made its folder, as by hand


def test_the_data_file_is_an_option_and_a_missing_one_says_which(shop, tmp_path):
    _, python = shop
    run = subprocess.run([str(python), "-m", "shop", "--transactions-path",
                          str(SHOP / "data" / "transactions.csv")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == printed(NOTEBOOKS[-1])[-1]
    missing = subprocess.run([str(python), "-m", "shop"], cwd=tmp_path / "work",
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "step `ingest` (01_ingest.ipynb cell 3, line 1) failed: FileNotFoundError" in \
        missing.stderr
    assert "pass --transactions-path FILE" in missing.stderr


def test_the_generated_tests_find_the_data_beside_the_notebooks(shop, tmp_path):
    out, python = shop
    run = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(out / "tests")], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0 and "1 passed" in run.stdout, run.stdout + run.stderr


def test_comments_and_report_point_at_each_notebooks_own_cells(shop):
    out, _ = shop
    pipeline = (out / "src" / "shop" / "pipeline.py").read_text()
    assert "    # 02_features.ipynb cell 4\n" in pipeline
    report = (out / "nb2prod-report.md").read_text()
    assert "`work/clean.parquet`: written by `ingest` (01_ingest.ipynb cell 5), read by " \
           "`features` (02_features.ipynb cell 4)" in report
    assert "`--transactions-path`: `data/transactions.csv` (01_ingest.ipynb cell 3)" in report
    assert "docker run --rm -v \"$PWD:/data\" shop" in (out / "Dockerfile").read_text()


def test_verify_runs_the_notebooks_in_order_and_leaves_their_folder_alone(tmp_path, capsys):
    before = sorted(p.relative_to(SHOP) for p in SHOP.rglob("*"))
    assert main(["verify", str(SHOP)]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "match" in out
    assert sorted(p.relative_to(SHOP) for p in SHOP.rglob("*")) == before


def test_kubeflow_spans_the_notebooks_and_needs_a_volume_for_their_files(
        tmp_path, capsys, venv_factory):
    out = tmp_path / "kfp"
    assert main(["build", str(SHOP), "-o", str(out), "--target", "kubeflow"]) == 1
    assert "2 file(s) pass between steps" in capsys.readouterr().err and not out.exists()
    assert main(["build", str(SHOP), "-o", str(out), "--target", "kubeflow", "--volume",
                 "/mnt/work", "--quiet"]) == 0
    pipeline = (out / "src" / "shop" / "kubeflow.py").read_text()
    for step in ("ingest", "features_step", "train"):
        assert f"shop.pipeline.{step}" in pipeline
    python = venv_factory("venv-shop-kfp")
    pip_install(python, out)
    run = tmp_path / "run"
    (run / "data").mkdir(parents=True)
    shutil.copy(SHOP / "data" / "transactions.csv", run / "data")
    env = {**os.environ, "TMPDIR": str(run)}  # run-local's volume and outputs: the test's
    local = subprocess.run([str(python), "-m", "shop.kubeflow", "run-local", "--metrics-out",
                            "kfp.json"], cwd=run, capture_output=True, text=True, timeout=600,
                           env=env)
    assert local.returncode == 0, local.stdout[-2000:] + local.stderr[-2000:]
    accuracy = float(printed(NOTEBOOKS[-1])[-1].split()[-1])
    assert round(json.loads((run / "kfp.json").read_text())["accuracy"], 3) == accuracy
