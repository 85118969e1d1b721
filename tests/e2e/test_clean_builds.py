"""Issue 26: a clean build means the package runs. Each minimal notebook of the issue
(tests/data/clean/, made by make_clean.py) builds with exit 0 and its package runs
as the notebook did, or fails where the notebook would, named at its cell and line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nb2prod.cli import main

pytestmark = pytest.mark.e2e

CLEAN = Path(__file__).resolve().parents[1] / "data" / "clean"

EXPECTED = {
    # name: (exit code of `python -m PKG`, stdout lines, a line stderr must contain)
    "except_deletes": (0, ["invalid literal for int() with base 10: 'x'", "done"], ""),
    "import_fallback": (0, ["45"], ""),
    "figures_per_cell": (0, ["1"], ""),  # one axes: cell 2 did not draw on cell 1's figure
    "code_in_strings": (0, ["42", "True"], ""),
    "main_guard": (0, ["ran"], ""),
    "fails_at_a_line": (1, [], "step `main` (notebook cell 2, line 4) failed: KeyError: 2"),
}


def test_every_notebook_has_an_expectation():
    assert sorted(p.stem for p in CLEAN.glob("*.ipynb")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_clean_build_runs(name, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["build", str(CLEAN / f"{name}.ipynb"), "-o", str(out), "--name", name]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().out
    env = {**os.environ, "PYTHONPATH": str(out / "src"), "MPLBACKEND": "Agg"}
    run = subprocess.run([sys.executable, "-m", name], cwd=tmp_path, env=env, text=True,
                         capture_output=True, check=False, timeout=300)
    code, lines, error = EXPECTED[name]
    assert run.returncode == code, run.stderr
    printed = [line for line in run.stdout.splitlines() if line and not line[0].isspace()]
    assert [line for line in printed if line in lines] == lines, run.stdout
    assert error in run.stderr and "Traceback" not in run.stderr
