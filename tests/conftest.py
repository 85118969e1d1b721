"""Shared test helpers: paths, notebook factories, fresh virtual environments."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

# Lint's result cache goes to a throw-away folder (inherited by subprocesses),
# never into the checkout.
# The process that makes it (pytest itself, not an xdist worker, which inherits it)
# removes it at exit.
if "NB2PROD_CACHE_DIR" not in os.environ:
    os.environ["NB2PROD_CACHE_DIR"] = tempfile.mkdtemp(prefix="nb2prod-test-cache-")
    atexit.register(shutil.rmtree, os.environ["NB2PROD_CACHE_DIR"], ignore_errors=True)

# Golden trees hold generated tests and conftest.py files: data, never collected.
collect_ignore = ["data"]


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/data/build/*/expected/ from a fresh build")


ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CORPUS = ROOT.parent / "shared" / "corpus"


def make_notebook(path: Path, cells: list, metadata: dict | None = None) -> Path:
    """Write a v4.5 notebook. A cell is source text, or (source, tags), or a dict."""
    raw_cells = []
    for i, cell in enumerate(cells):
        if isinstance(cell, dict):
            raw = {"id": f"c{i}", "metadata": {}, **cell}
        else:
            source, tags = (cell, []) if isinstance(cell, str) else cell
            raw = {"id": f"c{i}", "cell_type": "code", "metadata": {"tags": list(tags)},
                   "source": source, "outputs": [], "execution_count": None}
        raw_cells.append(raw)
    notebook = {
        "cells": raw_cells,
        "metadata": metadata if metadata is not None else {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    return path


@pytest.fixture
def notebook_factory(tmp_path):
    def factory(cells, name="nb.ipynb", metadata=None):
        return make_notebook(tmp_path / name, cells, metadata)
    return factory


def fresh_venv(where: Path) -> Path:
    """A new virtual environment that also sees the packages of this interpreter.

    A `.pth` file points at this interpreter's site-packages, so heavy
    dependencies (pandas, scikit-learn) are not downloaded again, while
    everything `pip install` puts into the venv is isolated in it. This works
    whether the tests run in a venv (CI) or a system interpreter.
    """
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    python = where / "bin" / "python"
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True)
    parents = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site.stdout.strip(), "_nb2prod_parent.pth").write_text("\n".join(sorted(parents)) + "\n")
    return python


def pip_install(python: Path, target: Path) -> None:
    """Install a generated package; its dependencies must already be satisfied."""
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-build-isolation",
                    str(target)], check=True)


@pytest.fixture(scope="session")
def venv_factory(tmp_path_factory):
    def factory(name: str) -> Path:
        return fresh_venv(tmp_path_factory.mktemp(name) / "venv")
    return factory


def edit_source(path: Path, text: str) -> None:
    """Write a module's new text as an editor would, seconds later: Python reuses a
    cached .pyc while the file's size and whole-second mtime are unchanged, so an edit
    of the same size within the second of the last import would run the old code."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    later = max(before, path.stat().st_mtime_ns) + 2_000_000_000
    os.utime(path, ns=(later, later))
