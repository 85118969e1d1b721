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


SHAPES = {
    "1_clean.ipynb": [
        "%matplotlib inline\nimport os\nimport pandas as pd\nimport matplotlib.pyplot as plt",
        ("RAW = os.path.join('data', 'raw', 'customers.csv')\n"
         "PROCESSED = os.path.join('data', 'processed')"),
        "def fix(df):\n    return df.dropna()",
        "df = fix(pd.read_csv(RAW))\nprint(f'rows: {len(df)}')\ndf.head()",
        "df['band'] = pd.cut(df['age'], [0, 30, 50, 100], labels=['young', 'mid', 'old'])",
        "df.to_parquet(os.path.join(PROCESSED, 'customers.parquet'))\nprint('saved')",
        "df['income'].hist()\nplt.savefig('reports/figures/income.png')",
    ],
    "2_model.ipynb": [
        "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression",
        "def fix(df):\n    return df.fillna(0)",
        ("df = fix(pd.read_parquet('data/processed/customers.parquet'))\n"
         "X = pd.get_dummies(df[['age', 'income', 'city']])\nprint(X.shape)"),
        ("clf = LogisticRegression(max_iter=500).fit(X, df['bought'])\n"
         "print('score', round(clf.score(X, df['bought']), 4))"),
    ],
}
"""Shapes the shop does not have: paths through names (`os.path.join`), folders the
notebooks never make, one helper name with two bodies, a magic, a figure saved."""


def test_paths_through_names_and_folders_nobody_makes(tmp_path, venv_factory):
    import nbclient
    import nbformat
    import numpy as np
    import pandas as pd

    from tests.conftest import make_notebook

    project = tmp_path / "proj"
    (project / "data" / "raw").mkdir(parents=True)
    rng = np.random.default_rng(1)
    pd.DataFrame({"age": rng.integers(18, 80, 300), "income": rng.normal(50, 9, 300),
                  "city": rng.choice(["a", "b"], 300), "bought": rng.integers(0, 2, 300)}
                 ).to_csv(project / "data" / "raw" / "customers.csv", index=False)
    expected = []
    for folder in ("data/processed", "reports/figures"):  # the author's machine had them
        (project / folder).mkdir(parents=True)
    for name, cells in SHAPES.items():
        notebook = nbformat.read(make_notebook(project / name, cells), as_version=4)
        nbclient.NotebookClient(notebook, kernel_name="python3",
                                resources={"metadata": {"path": str(project)}}).execute()
        expected += [line for cell in notebook.cells for out in cell.get("outputs", [])
                     if out.get("name") == "stdout" for line in out["text"].splitlines()]
    assert main(["verify", str(project)]) == 0  # in the project as its author has it
    for folder in ("data/processed", "reports"):
        shutil.rmtree(project / folder)
    out = tmp_path / "pkg"
    assert main(["build", str(project), "-o", str(out), "--name", "shapes", "--quiet"]) == 0
    python = venv_factory("venv-shapes")
    pip_install(python, out)
    run_dir = tmp_path / "run"
    shutil.copytree(project / "data", run_dir / "data")
    run = subprocess.run([str(python), "-m", "shapes"], cwd=run_dir, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == expected
    assert (run_dir / "reports" / "figures" / "income.png").is_file()
    help_text = subprocess.run([str(python), "-m", "shapes", "--help"], capture_output=True,
                               text=True, timeout=60).stdout
    assert "--customers-path FILE" in help_text and "--customers-path-2" not in help_text
