"""Read paths for the step cache key (plan/read_paths.py): which reads a package can hash
before a step runs (paths made of parameters), which it cannot (the step is not
cached), and which are no path at all."""

from __future__ import annotations

import subprocess

import pytest

from nb2prod.cli import main
from nb2prod.plan.read_paths import ReadPaths, read_paths
from nb2prod.plan.records import Block, Step
from tests.conftest import make_notebook
from tests.tools import RUFF

PARAMS = frozenset(["data_path", "data_dir", "name", "unused"])


def paths(code: str, inputs=("data_path", "data_dir", "name", "rows")) -> ReadPaths:
    step = Step("s", "s", (Block(3, None, code),), inputs=tuple(inputs))
    return read_paths(step, PARAMS)


@pytest.mark.parametrize(("code", "expected"), [
    ("df = pd.read_csv(data_path)", "data_path"),
    ("df = pd.read_parquet(path=data_path)", "data_path"),
    ("df = pd.read_csv(f'{data_dir}/{name}.csv')", "f'{data_dir}/{name}.csv'"),
    ("df = pd.read_csv(os.path.join(data_dir, 'x.csv'))", "os.path.join(data_dir, 'x.csv')"),
    ("text = (Path(data_dir) / 'x.txt').read_text()", "Path(data_dir) / 'x.txt'"),
    ("p = Path(data_dir) / name\ntext = p.read_text()", "Path(data_dir) / name"),
    ("with open(data_dir + '/x.json') as f:\n    cfg = json.load(f)", "data_dir + '/x.json'"),
    ("a = np.load('{}/a.npy'.format(data_dir))", "'{}/a.npy'.format(data_dir)"),
    ("m = joblib.load(Path(data_dir).joinpath(name))", "Path(data_dir).joinpath(name)"),
])
def test_paths_made_of_parameters_are_expressions_of_them(code, expected):
    found = paths(code)
    assert found.paths == (expected,) and not found.unknown
    assert set(found.params) <= PARAMS
    assert found.function().startswith("lambda ") and found.function().endswith(",)")  # a tuple


def test_the_function_lists_the_parameters_it_needs():
    found = paths("a = pd.read_csv(data_path)\nb = pd.read_csv(f'{data_dir}/b.csv')")
    assert found.function() == (
        "lambda data_dir, data_path, **_: (data_path, f'{data_dir}/b.csv')")


@pytest.mark.parametrize("code", [
    "df = pd.read_csv('data.csv')",  # literal: file_flows' reads
    "df = pd.read_csv(io.StringIO(text))",  # in memory
    "with open(data_path) as f:\n    cfg = json.load(f)",  # the open() is the read
    "f = open(data_path)\ncfg = pickle.load(f)",
    "df.to_csv(data_path)",  # a write: the step is not cached at all
    "x = rows + 1",
])
def test_literals_buffers_open_files_and_writes_add_no_path(code):
    found = paths(code)
    assert not found.unknown
    assert found.paths in ((), ("data_path",))


@pytest.mark.parametrize(("code", "shown"), [
    ("df = pd.read_csv(rows)", "pd.read_csv(rows)"),  # an earlier step's value
    ("df = pd.read_csv(cfg.path)", "pd.read_csv(cfg.path)"),
    ("for p in files:\n    df = pd.read_csv(p)", "pd.read_csv(p)"),
    ("data_path = data_path + '.bak'\ndf = pd.read_csv(data_path)", "pd.read_csv(data_path)"),
    ("p = data_dir\np = p + '/x'\ndf = pd.read_csv(p)", "pd.read_csv(p)"),
    ("df = pd.read_csv(choose(data_dir))", "pd.read_csv(choose(data_dir))"),
    ("df = pd.read_csv(unused)", "pd.read_csv(unused)"),  # a parameter it does not receive
])
def test_other_paths_are_known_only_at_run_time(code, shown):
    found = paths(code)
    assert found.paths == ()
    assert found.unknown == (f"it reads a file through a path known only when it runs "
                             f"(`{shown}`, notebook cell 3)")


def test_a_local_is_used_only_after_its_assignment():
    found = paths("df = pd.read_csv(p)\np = data_path")
    assert found.unknown and not found.paths


def test_a_built_package_carries_the_paths_ruff_clean_and_the_same_each_time(tmp_path):
    notebook = make_notebook(tmp_path / "reads.ipynb", [
        ("import os\nfrom pathlib import Path\n\nimport pandas as pd", ["imports"]),
        ("data_dir = 'inputs'\nname = 'x'", ["parameters"]),
        ("df = pd.read_csv(os.path.join(data_dir, f'{name}.csv'))", ["step:load"]),
        ("rows = len(df)\nextra = (Path(data_dir) / str(rows)).read_text()", ["step:more"]),
        ("print(len(extra))", ["metrics"]),
    ])
    built = []
    for out in (tmp_path / "a", tmp_path / "b"):
        assert main(["build", str(notebook), "-o", str(out), "-q"]) == 0
        built.append((out / "src" / "reads" / "pipeline.py").read_text())
    assert built[0] == built[1]
    assert ("        paths=lambda data_dir, name, **_: (os.path.join(data_dir, f'{name}.csv'),),"
            in built[0].splitlines())
    assert ("        uncached=\"it reads a file through a path known only when it runs "
            "(`(Path(data_dir) / str(rows)).read_text()`, notebook cell 4)\","
            in built[0].splitlines())
    lint = subprocess.run([*RUFF, "check", "--no-cache", "."], cwd=tmp_path / "a",
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout
