"""Issue 26: a clean build is a promise. Every real notebook of `../shared/realworld`
and `../shared/corpus` that builds with exit 0, as it is and after `tag --write`, runs
its package (in a scratch copy of its folder, with its data) without a NameError,
UnboundLocalError, SyntaxError or ImportError that the notebook did not have.

The package may fail otherwise: a file the published tree lacks, a download, an API
today's libraries removed (test_realworld.py compares the printed lines of those
that run offline). When it fails with one of those four errors, the notebook is
executed too (nbclient, same folder): the test fails unless the notebook stops with
the same error. `NB2PROD_CLEAN_RUNS=all` adds the realworld notebooks that
test_realworld.py already runs in full (about 3 minutes more).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from nb2prod.cli import main
from tests.conftest import CORPUS, ROOT

pytestmark = pytest.mark.e2e

REALWORLD = ROOT.parent / "shared" / "realworld"
NOTEBOOKS = sorted(REALWORLD.rglob("*.ipynb")) + sorted(CORPUS.rglob("*.ipynb"))
ANALYSIS_ERRORS = ("NameError", "UnboundLocalError", "SyntaxError", "ImportError",
                   "ModuleNotFoundError")
"""What a build that said "0 errors" promised cannot happen, unless the notebook does it."""
FAILED = re.compile(r"failed: (\w+):|^(\w+(?:Error|Exception)):", re.MULTILINE)
TIMEOUT = 150  # seconds for a package, and per notebook cell


def scratch(notebook: Path, where: Path) -> Path:
    """The notebook and a copy of its data/ in a new folder (the shared tree is read-only)."""
    where.mkdir(parents=True)
    if (notebook.parent / "data").is_dir():
        shutil.copytree(notebook.parent / "data", where / "data")
        for path in [where / "data", *(where / "data").rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    copy = where / "notebook.ipynb"
    shutil.copyfile(notebook, copy)
    copy.chmod(0o644)
    return copy


def package_error(stderr: str) -> str:
    """The exception type a failed package run names ("" when none is named)."""
    found = FAILED.findall(stderr)
    return next((a or b for a, b in reversed(found)), "") if found else ""


def notebook_error(notebook: Path) -> str:
    """The exception type the notebook stops with when executed in its folder ("" if none)."""
    node = nbformat.read(notebook, as_version=4)
    client = NotebookClient(node, timeout=TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(notebook.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        return exc.ename
    except (CellTimeoutError, DeadKernelError) as exc:
        return type(exc).__name__
    return ""


def short(notebook: Path) -> str:
    return f"{notebook.parent.name}/{notebook.stem}"[:60]


def selected() -> list[Path]:
    if os.environ.get("NB2PROD_CLEAN_RUNS") == "all":
        return NOTEBOOKS
    from tests.e2e.test_realworld import CANNOT_RUN, recorded

    return [n for n in NOTEBOOKS if not n.is_relative_to(REALWORLD) or recorded(CANNOT_RUN, n)]


def test_the_visible_sets_are_present():
    assert len(NOTEBOOKS) >= 100


@pytest.mark.parametrize("phase", ["asis", "tagged"])
@pytest.mark.parametrize("notebook", selected(), ids=short)
def test_a_clean_build_runs_as_far_as_the_notebook(notebook, phase, tmp_path, capsys):
    copy = scratch(notebook, tmp_path / "nb")
    if phase == "tagged" and main(["tag", str(copy), "--write"]) != 0:
        pytest.skip("tag --write refused it (one line, tested elsewhere)")
    code = main(["build", str(copy), "-o", str(tmp_path / "out"), "--name", "pkg", "-q"])
    capsys.readouterr()
    if code != 0:
        return  # refused or errors at a cell: test_corpus.py checks those
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "out" / "src"), "MPLBACKEND": "Agg"}
    try:
        run = subprocess.run([sys.executable, "-m", "pkg"], cwd=copy.parent, env=env,
                             text=True, capture_output=True, check=False, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return  # a long computation, not an analysis error
    error = package_error(run.stderr) if run.returncode else ""
    if error not in ANALYSIS_ERRORS:
        return
    had = notebook_error(scratch(notebook, tmp_path / "executed"))
    assert had == error or {had, error} <= {"ImportError", "ModuleNotFoundError"}, (
        f"built clean, then the package failed with {error} (the notebook: "
        f"{had or 'no error'}):\n{run.stderr[-2000:]}")
