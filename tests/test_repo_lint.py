"""Our own code meets the bar we set for generated code: ruff's default rules."""

from __future__ import annotations

import subprocess

from tests.conftest import ROOT
from tests.tools import RUFF


def test_repository_is_ruff_clean():
    result = subprocess.run([*RUFF, "check", "--no-cache", "."], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout


def test_modules_stay_small():
    """Modules under ~400 lines (STYLE.md): a long module is a design smell."""
    sizes = {p.relative_to(ROOT).as_posix(): len(p.read_text().splitlines())
             for p in (ROOT / "nb2prod").rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 480} == {}
