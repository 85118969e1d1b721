"""Ten more untagged notebooks, written in different styles: tag, build, run.

Issue 8's acceptance path on notebooks nobody tagged by hand: `tag --write`
changes only tag lines, `build` succeeds, and the installed package prints
every line the notebook printed, in the same order. The fixtures come from
`tests/data/untagged2/make_untagged2.py`; all packages share one venv.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from nb2prod.cli import main
from tests.e2e.test_untagged import non_tag_changes, printed_lines
from tests.tools import RUFF

pytestmark = pytest.mark.e2e

UNTAGGED2 = Path(__file__).resolve().parents[1] / "data" / "untagged2"
TIMING = re.compile(r"wall time|cpu times|elapsed|\d\s*(ms|µs|sec|seconds)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def shared_python(venv_factory):
    return venv_factory("venv-untagged-more")


def in_order(expected: list[str], actual: list[str]) -> list[str]:
    """Expected lines not found in `actual` after the previous match (empty: all in order)."""
    missing, pos = [], 0
    for line in expected:
        try:
            pos = actual.index(line, pos) + 1
        except ValueError:
            missing.append(line)
    return missing


@pytest.mark.parametrize("name", sorted(p.name for p in UNTAGGED2.glob("*.ipynb")))
def test_untagged_notebook_reproduces_its_output(name, tmp_path, shared_python, capsys):
    notebook = tmp_path / name
    shutil.copy(UNTAGGED2 / name, notebook)
    original = notebook.read_text(encoding="utf-8")
    expected = [line for line in printed_lines(notebook) if not TIMING.search(line)]
    assert expected, "the fixture should print something"

    assert main(["tag", str(notebook), "--write"]) == 0
    assert non_tag_changes(original, notebook.read_text(encoding="utf-8")) == []
    out_dir = tmp_path / "pkg"
    code = main(["build", str(notebook), "-o", str(out_dir)])
    report = capsys.readouterr().out
    assert code == 0, report
    lint = subprocess.run([*RUFF, "check", "--isolated", str(out_dir / "src")],
                          capture_output=True, text=True, check=False)
    assert lint.returncode == 0, lint.stdout  # generated code stays lint-clean

    subprocess.run([str(shared_python), "-m", "pip", "install", "-q", "--no-build-isolation",
                    "--no-deps", str(out_dir)], check=True)
    package = notebook.stem.replace("-", "_")
    run = subprocess.run([str(shared_python), "-m", package], capture_output=True, text=True,
                         cwd=tmp_path, check=False, timeout=120)
    assert run.returncode == 0, run.stderr
    missing = in_order(expected, run.stdout.splitlines())
    assert missing == [], f"package output:\n{run.stdout}\nbuild report:\n{report}"
