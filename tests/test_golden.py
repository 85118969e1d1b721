"""Golden build trees: every case in tests/data/build/ is built and compared byte for byte.

A case is a folder with one notebook, optional `args` (extra build arguments,
one per line) and `expected/`, the tree `nb2prod build` generates. Refresh
with `pytest tests/test_golden.py --update-golden` (never silently).
"""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from nb2prod.cli import main
from tests.conftest import ROOT

CASES = ROOT / "tests" / "data" / "build"
ENVIRONMENT = CASES / "environment.json"
"""A recorded environment (the probe's output): dependencies pin the same versions on
every machine, so the trees stay byte-identical."""


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def first_difference(path: str, want: bytes, got: bytes) -> str:
    lines = difflib.unified_diff(want.decode(errors="replace").splitlines(),
                                 got.decode(errors="replace").splitlines(),
                                 f"expected/{path}", f"built/{path}", lineterm="", n=2)
    return "\n".join(list(lines)[:40])


@pytest.mark.parametrize("case", sorted(p for p in CASES.iterdir() if p.is_dir()),
                         ids=lambda p: p.name)
def test_build_matches_the_golden_tree(case: Path, tmp_path, request, capsys):
    (notebook,) = case.glob("*.ipynb")
    args = (case / "args").read_text().split() if (case / "args").exists() else []
    out = tmp_path / "out"
    assert main(["build", str(notebook), "-o", str(out), "--quiet", "--python",
                 str(ENVIRONMENT), *args]) in (0, 1)
    expected = case / "expected"
    if request.config.getoption("--update-golden"):
        shutil.rmtree(expected, ignore_errors=True)
        shutil.copytree(out, expected)
        return
    want, got = tree(expected), tree(out)
    assert sorted(got) == sorted(want), "the built files differ from expected/"
    changed = [path for path in want if want[path] != got[path]]
    assert not changed, first_difference(changed[0], want[changed[0]], got[changed[0]])
