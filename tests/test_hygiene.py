"""The tree names no machine and no package host, and runs as a fresh user runs it."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from nb2prod.cli import main
from tests.conftest import ROOT
from tests.tools import extra_tool

# Paths of one particular machine, and hosts of package indexes and mirrors.
# Placeholder users in lint's own examples (`/home/alice`) are what NB302 flags.
MACHINE_PATH = re.compile(r"/work/|/root/|/(home|Users)/(?!alice\b|user\b)[A-Za-z]|/opt/(py[p]i|wheels)")
# Spelled so that this file does not contain what it looks for (`file:` + three
# slashes, an index path ending in "simple"): the same matches, no self-match.
PACKAGE_HOST = re.compile(r"py[p]i\.org|python[h]osted\.org|deb[i]an\.org|npm[j]s\.(org|com)|"
                          r"file:/{3}|[/]simple/?\b")


def tracked_files():
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    this = (ROOT / "tests" / "test_hygiene.py").resolve()
    return [ROOT / name for name in listed
            if name and (ROOT / name).is_file() and (ROOT / name).resolve() != this]


def test_no_tracked_file_names_a_machine_path_or_a_package_host():
    found = []
    for path in tracked_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if MACHINE_PATH.search(line) or PACKAGE_HOST.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert found == []


def test_the_patterns_catch_what_they_are_for():
    assert MACHINE_PATH.search("CORPUS = Path('" + "/work" + "/shared/corpus')")
    assert MACHINE_PATH.search("in /ro" + "ot/.pyenv/versions")
    assert not MACHINE_PATH.search("pd.read_csv('/home/alice/sales.csv')")
    assert PACKAGE_HOST.search("Looking in indexes: https://py" + "pi.org/sim" + "ple")
    assert PACKAGE_HOST.search("mirror=http://deb.deb" + "ian.org/debian/")
    assert PACKAGE_HOST.search("file:" + "///opt/index")
    assert PACKAGE_HOST.search("--index-url http://host/" + "simple/")


def test_python_dash_m_is_the_same_cli():
    module = subprocess.run([sys.executable, "-m", "nb2prod", "--help"], capture_output=True,
                            text=True, check=False)
    script = subprocess.run([extra_tool("nb2prod"), "--help"], capture_output=True, text=True,
                            check=False)
    assert module.returncode == script.returncode == 0, module.stderr
    assert module.stdout == script.stdout
    assert "Usage: nb2prod" in module.stdout


SURROGATE = "s = '\ud800'\nprint(len(s))"


def test_a_lone_surrogate_is_a_located_problem_and_the_rest_converts(notebook_factory, tmp_path,
                                                                     capsys):
    path = notebook_factory(["x = 1", SURROGATE, "y = x + 1\nprint(y)"])
    out = tmp_path / "out"
    assert main(["build", str(path), "-o", str(out)]) == 1
    printed = capsys.readouterr()
    assert "nb.ipynb:cell 2:1:6: NB002" in printed.out + printed.err
    assert "Traceback" not in printed.err
    pipeline = (out / "src" / "nb" / "pipeline.py").read_text(encoding="utf-8")
    assert "y = x + 1" in pipeline and "print(len(s))" not in pipeline
    report = json.loads((out / "nb2prod-report.json").read_text(encoding="utf-8"))
    assert [(p["code"], p["cell"]) for p in report["problems"] if p["severity"] == "error"] == [
        ("NB002", 2)]


def test_lint_locates_a_lone_surrogate_at_its_cell(notebook_factory, capsys):
    path = notebook_factory(["x = 1", SURROGATE])
    assert main(["lint", str(path), "--no-cache"]) == 1
    out = capsys.readouterr().out
    assert "nb.ipynb:cell 2:1:6: NB002" in out
    assert "NB001" not in out
