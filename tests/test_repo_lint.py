"""Our own code meets the bar we set for generated code: ruff's default rules."""

from __future__ import annotations

import shutil
import subprocess

from tests.conftest import ROOT


def test_repository_is_ruff_clean():
    ruff = shutil.which("ruff")
    assert ruff, "ruff is part of the test extra"
    result = subprocess.run([ruff, "check", "--no-cache", "."], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout


def test_modules_stay_small():
    """Modules under ~400 lines (STYLE.md): a long module is a design smell."""
    sizes = {p.name: len(p.read_text().splitlines()) for p in (ROOT / "nb2prod").rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 480} == {}
