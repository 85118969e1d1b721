"""Step cache (issue 15), on generated packages installed in a fresh venv: files read
through a path made of parameters are in the step's key (change the file, the step
runs again; leave it, the step loads), a path known only at run time turns the
step's cache off with a log line, and an entry that cannot be written is a
warning (the run succeeds; the next run runs that step again)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from nb2prod.cli import main
from tests.conftest import EXAMPLES, make_notebook, pip_install

pytestmark = pytest.mark.e2e

PATHS_NB = [
    ("import os\nfrom pathlib import Path\n\nimport pandas as pd", ["imports"]),
    ("data_path = 'data.csv'\ndata_dir = 'inputs'\nscale = 2", ["parameters"]),
    ("raw = pd.read_csv(data_path)\nprint('rows', len(raw))", ["step:load"]),
    ("note_file = Path(data_dir) / 'note.txt'\nnote = note_file.read_text().strip()",
     ["step:note"]),
    (("with open(os.path.join(data_dir, note + '.csv')) as f:\n"
      "    lines = f.read().splitlines()"), ["step:listing"]),
    ("total = int(raw['x'].sum()) * scale + len(lines)", ["step:total"]),
    ("print(total)", ["metrics"]),
]


def run(python: Path, package: str, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([str(python), "-m", package, "--log-format", "json", *args],
                          capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    assert done.returncode == 0, done.stderr
    return done


def records(done: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]


def ran(done: subprocess.CompletedProcess) -> list[str]:
    return [r["step"] for r in records(done) if r["event"] == "end" and not r["cached"]]


def warnings(done: subprocess.CompletedProcess) -> list[str]:
    return [r["message"] for r in records(done) if r["event"] == "message"]


@pytest.fixture(scope="module")
def venv(venv_factory):
    return venv_factory("cache-paths")


@pytest.fixture(scope="module")
def paths_pkg(venv, tmp_path_factory):
    work = tmp_path_factory.mktemp("paths")
    out = work / "paths"
    assert main(["build", str(make_notebook(work / "paths.ipynb", PATHS_NB)), "-o", str(out),
                 "-q"]) == 0
    pip_install(venv, out)
    return out


def test_a_file_read_through_a_parameter_is_in_the_key(venv, paths_pkg, tmp_path):
    (tmp_path / "inputs").mkdir()
    (tmp_path / "data.csv").write_text("x\n1\n2\n")
    (tmp_path / "inputs" / "note.txt").write_text("days\n")
    (tmp_path / "inputs" / "days.csv").write_text("mon\ntue\n")
    (tmp_path / "inputs" / "weeks.csv").write_text("w1\n")
    cache = str(tmp_path / "cache")
    first = run(venv, "paths", tmp_path, "--cache", cache)
    assert ran(first) == ["load", "note", "listing", "total"] and first.stdout.endswith("8\n")
    second = run(venv, "paths", tmp_path, "--cache", cache)
    # `listing` reads a path made of an earlier step's value: it runs every time, saying why
    assert ran(second) == ["listing"] and second.stdout == first.stdout
    assert ("step listing: not cached: it reads a file through a path known only when it "
            "runs (`open(os.path.join(data_dir, note + '.csv'))`, notebook cell 5)"
            ) in warnings(second)
    (tmp_path / "data.csv").write_text("x\n1\n5\n")  # `pd.read_csv(data_path)`
    third = run(venv, "paths", tmp_path, "--cache", cache)
    assert ran(third) == ["load", "listing", "total"] and third.stdout.endswith("14\n")
    (tmp_path / "inputs" / "note.txt").write_text("weeks\n")  # `Path(data_dir) / ...`
    fourth = run(venv, "paths", tmp_path, "--cache", cache)
    assert ran(fourth) == ["note", "listing", "total"] and fourth.stdout.endswith("13\n")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "note.txt").write_text("weeks\n")
    (tmp_path / "other" / "weeks.csv").write_text("w1\n")
    moved = run(venv, "paths", tmp_path, "--cache", cache, "--data-dir", "other")
    # a new parameter value: `note` runs; it reads the same text, so `total` loads
    assert ran(moved) == ["note", "listing"]
    assert ran(run(venv, "paths", tmp_path, "--cache", cache)) == ["listing"]


@pytest.fixture(scope="module")
def churn(venv, tmp_path_factory):
    out = tmp_path_factory.mktemp("churn") / "churn"
    assert main(["build", str(EXAMPLES / "churn.ipynb"), "-o", str(out), "--name", "churn",
                 "-q"]) == 0
    pip_install(venv, out)
    return out


def test_an_entry_that_cannot_be_written_is_a_warning(venv, churn, tmp_path):
    cache = tmp_path / "cache"
    plain = run(venv, "churn", tmp_path)
    run(venv, "churn", tmp_path, "--cache", str(cache))
    (entry,) = cache.glob("split-*.json")
    for file in cache.glob(entry.stem + "*"):
        file.unlink()
    entry.mkdir()  # a folder in the way of split's entry
    first = run(venv, "churn", tmp_path, "--cache", str(cache))
    assert first.stdout == plain.stdout  # the run succeeds, its metrics as without a cache
    (warning,) = [w for w in warnings(first) if "could not be stored" in w]
    assert warning.startswith("step split: its outputs could not be stored (")
    assert warning.endswith("); not cached")
    assert [r["stored"] for r in records(first) if r["event"] == "end"] == [
        True, True, False, True, True]
    # the steps after split load: their keys are made from the bytes split's outputs
    # encode to, whether a file holds them or not
    assert ran(first) == ["split"]
    entry.rmdir()
    second = run(venv, "churn", tmp_path, "--cache", str(cache))
    assert ran(second) == ["split"] and second.stdout == plain.stdout
    assert ran(run(venv, "churn", tmp_path, "--cache", str(cache))) == []
