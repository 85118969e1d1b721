"""A split never changes the output: for every notebook, the package built after
`nb2prod tag --write` prints exactly what the package built from the untagged
notebook (one step) prints.

Notebooks: tests/data/untagged*, tests/data/vocab with their tags stripped, and
the shared real-world and corpus notebooks. A notebook whose untagged package
does not run here (it needs the network, a database, a missing data file) says
nothing about splits and is skipped with the reason; one whose untagged build
exits 1 too. Lines that differ between three runs of the untagged package
itself (timings, unseeded randomness) are not compared.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from nb2prod.cli import main
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

SHARED = ROOT.parent / "shared"
RUN_TIMEOUT = 300


def _notebooks() -> list[tuple[str, Path, bool]]:
    """(id, notebook, strip tags) for every notebook of the sets."""
    found = []
    data = ROOT / "tests" / "data"
    for folder in ("untagged", "untagged2", "vocab"):
        found += [(f"{folder}/{p.name}", p, folder == "vocab")
                  for p in sorted((data / folder).glob("*.ipynb"))]
    for folder in ("realworld", "corpus"):
        found += [(str(p.relative_to(SHARED)), p, True)
                  for p in sorted((SHARED / folder).rglob("*.ipynb"))
                  if ".ipynb_checkpoints" not in p.parts]
    return found


NOTEBOOKS = _notebooks()


@dataclass(frozen=True)
class Run:
    code: int
    stdout: list[str]
    stderr: str


def copy_notebook(source: Path, where: Path, strip_tags: bool) -> Path:
    """The notebook and its folder's data (small files), into `where`."""
    where.mkdir(parents=True)
    for item in source.parent.iterdir():
        if item.is_dir() and item.name in ("data", "datasets") and _size(item) < 20_000_000:
            shutil.copytree(item, where / item.name)  # read as data/x.csv or ../data/x.csv
            shutil.copytree(item, where.parent / item.name, dirs_exist_ok=True)
        elif item.is_file() and item.suffix != ".ipynb" and item.stat().st_size < 5_000_000:
            shutil.copy(item, where / item.name)
    notebook = json.loads(source.read_text(encoding="utf-8"))
    if strip_tags:
        for cell in notebook.get("cells", []):
            cell.get("metadata", {}).pop("tags", None)
    target = where / "nb.ipynb"
    target.write_text(json.dumps(notebook), encoding="utf-8")
    return target


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def build_and_run(notebook: Path, out: Path) -> tuple[int, Run | None]:
    code = main(["build", str(notebook), "-o", str(out), "--name", "pkg", "-q"])
    if code != 0:
        return code, None
    env = {**os.environ, "PYTHONPATH": str(out / "src"), "MPLBACKEND": "Agg"}
    try:
        done = subprocess.run([sys.executable, "-m", "pkg"], cwd=notebook.parent, env=env,
                              capture_output=True, text=True, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        return code, Run(-1, [], "timeout")
    return code, Run(done.returncode, done.stdout.splitlines(), done.stderr[-2000:])


def stable(runs: list[Run]) -> set[int]:
    """Line numbers on which every run of the same package agrees."""
    return {i for i, lines in enumerate(zip(*(r.stdout for r in runs)))
            if len(set(lines)) == 1}


@pytest.mark.parametrize("notebook, strip", [(p, s) for _, p, s in NOTEBOOKS],
                         ids=[i for i, _, _ in NOTEBOOKS])
def test_tagged_package_prints_what_the_untagged_one_prints(notebook, strip, tmp_path):
    plain = copy_notebook(notebook, tmp_path / "plain", strip)
    code, untagged = build_and_run(plain, tmp_path / "out_plain")
    if code != 0:
        pytest.skip(f"the untagged notebook does not build (exit {code})")
    if untagged.code != 0:
        pytest.skip("the untagged package does not run here: "
                    + (untagged.stderr.strip().splitlines() or ["?"])[-1][:150])
    tagged_nb = copy_notebook(notebook, tmp_path / "tagged", strip)
    assert main(["tag", str(tagged_nb), "--write"]) == 0
    code, tagged = build_and_run(tagged_nb, tmp_path / "out_tagged")
    assert code == 0, "tag --write turned a buildable notebook into one that does not build"
    assert tagged.code == 0, tagged.stderr
    if tagged.stdout != untagged.stdout:  # unseeded randomness? two more untagged runs
        again = [build_and_run(plain, tmp_path / f"out_plain_{n}")[1] for n in (2, 3)]
        keep = stable([untagged, *again])
        assert len(tagged.stdout) == len(untagged.stdout), _diff(untagged, tagged)
        assert [line for i, line in enumerate(tagged.stdout) if i in keep] == [
            line for i, line in enumerate(untagged.stdout) if i in keep], _diff(untagged, tagged)


def _diff(want: Run, got: Run) -> str:
    import difflib

    return "\n".join(difflib.unified_diff(want.stdout, got.stdout, "untagged", "tagged",
                                          lineterm="", n=1))[:3000]
