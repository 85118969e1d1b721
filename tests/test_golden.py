"""Golden build trees: every case in tests/data/build/ is built and compared byte for byte.

A case is a folder with one notebook, optional `args` (extra build arguments,
one per line) and `expected/`, the tree `nb2prod build` generates. Refresh
with `pytest tests/test_golden.py --update-golden` (never silently).

The vendored runtime (`src/PKG/_runtime/`) is not stored: the test checks that
it is nb2prod/runtime/ verbatim, and leaves its files out of the stored tree
and of the stored manifest, so a change to the runtime changes no golden tree.
"""

from __future__ import annotations

import difflib
import json
import shutil
from pathlib import Path

import pytest

from nb2prod.cli import main
from tests.conftest import ROOT

CASES = ROOT / "tests" / "data" / "build"
ENVIRONMENT = CASES / "environment.json"
"""A recorded environment (the probe's output): dependencies pin the same versions on
every machine, so the trees stay byte-identical."""


RUNTIME = ROOT / "nb2prod" / "runtime"
MANIFEST = ".nb2prod/manifest.json"


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def is_runtime(path: str) -> bool:
    return path.startswith("src/") and path.split("/")[2:3] == ["_runtime"]


def without_runtime(files: dict[str, bytes]) -> dict[str, bytes]:
    """The tree as stored: no vendored runtime files, in the tree or in its manifest."""
    kept = {path: data for path, data in files.items() if not is_runtime(path)}
    if MANIFEST in kept:
        manifest = json.loads(kept[MANIFEST])
        manifest["files"] = {p: h for p, h in manifest["files"].items() if not is_runtime(p)}
        kept[MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return kept


def check_runtime(files: dict[str, bytes]) -> None:
    """The package's `_runtime/` is nb2prod/runtime/, file for file, byte for byte."""
    vendored = {path.rpartition("/")[2]: data for path, data in files.items()
                if is_runtime(path)}
    ours = {p.name: p.read_bytes() for p in sorted(RUNTIME.glob("*.py"))}
    assert vendored == ours, "src/PKG/_runtime/ is not nb2prod/runtime/ verbatim"


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
    built = tree(out)
    check_runtime(built)
    got = without_runtime(built)
    if request.config.getoption("--update-golden"):
        shutil.rmtree(expected, ignore_errors=True)
        for path, data in got.items():
            (expected / path).parent.mkdir(parents=True, exist_ok=True)
            (expected / path).write_bytes(data)
        return
    want = tree(expected)
    assert sorted(got) == sorted(want), "the built files differ from expected/"
    changed = [path for path in want if want[path] != got[path]]
    assert not changed, first_difference(changed[0], want[changed[0]], got[changed[0]])
