"""Untagged notebook -> `tag --write` -> `build` -> install -> run: same printed lines.

The first five minutes of issue 8: no hand editing between the commands, the
package prints what the notebook printed, and the notebook's diff is tags only.
"""

from __future__ import annotations

import difflib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from nb2prod.cli import main

pytestmark = pytest.mark.e2e

UNTAGGED = Path(__file__).resolve().parents[1] / "data" / "untagged"
TAG_LINE = re.compile(r'^\s*("metadata": \{|"tags": \[\]?,?|"[\w:\-]+",?|\],?|\},?)$')


def printed_lines(notebook: Path) -> list[str]:
    """stdout lines of the cells the tags keep (a `skip` cell only displays)."""
    lines = []
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if "skip" in cell.get("metadata", {}).get("tags", []):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                lines += "".join(output["text"]).splitlines()
    return lines


def non_tag_changes(before: str, after: str) -> list[str]:
    diff = [d for d in difflib.ndiff(before.splitlines(), after.splitlines())
            if d[:2] in ("- ", "+ ")]
    return [d for d in diff if not TAG_LINE.match(d[2:])
            and d[2:].strip() != '"metadata": {},']


@pytest.mark.parametrize("name", sorted(p.name for p in UNTAGGED.glob("*.ipynb")))
def test_tag_build_run_reproduces_the_notebook(name, tmp_path, venv_factory, capsys):
    notebook = tmp_path / name
    shutil.copy(UNTAGGED / name, notebook)
    original = notebook.read_text(encoding="utf-8")

    assert main(["tag", str(notebook), "--write"]) == 0
    tagged = notebook.read_text(encoding="utf-8")
    assert non_tag_changes(original, tagged) == []
    out_dir = tmp_path / "pkg"
    assert main(["build", str(notebook), "-o", str(out_dir), "--strict"]) == 0
    report = capsys.readouterr().out
    assert "0 error(s), 0 warning(s)" in report

    python = venv_factory(f"venv-{notebook.stem}")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-build-isolation",
                    "--no-deps", str(out_dir)], check=True)
    package = notebook.stem.replace("-", "_")
    run = subprocess.run([str(python), "-m", package], capture_output=True, text=True,
                         cwd=tmp_path, check=False, timeout=300)
    assert run.returncode == 0, run.stderr
    expected = printed_lines(notebook)
    assert expected, "the fixture should print something"
    missing = [line for line in expected if line not in run.stdout.splitlines()]
    assert missing == [], f"package output:\n{run.stdout}"
