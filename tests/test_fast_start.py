"""Long work shows progress, short work is fast (issue 24 item 5).

`python -m PKG --help` of a generated package answers from `__main__.py`'s plain
data, without importing `pipeline.py` and the notebook's libraries; the run
itself is unchanged. Each test builds a real package and runs it.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import subprocess
import sys

import pytest

from nb2prod.cli import main as nb2prod

PARAMETERS = """\
n = 3
rate = 0.5
label = "run"
flag = True
tags = ["a", "b"]
options = {"k": 1}
maybe = None
limit = 1e999
pair = (1, 2)
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """A package whose parameters have every kind, whose steps import numpy."""
    from tests.conftest import make_notebook

    where = tmp_path_factory.mktemp("kinds")
    notebook = make_notebook(where / "kinds.ipynb", [
        ("import numpy as np", ["imports"]),
        (PARAMETERS, ["parameters"]),
        ("total = float(np.sum([n, rate, len(tags), len(options), flag]))", ["step:add"]),
        ("print(total)", ["metrics"]),
    ])
    out = where / "pkg"
    assert nb2prod(["build", str(notebook), "-o", str(out), "-q"]) == 0
    return out


def _run(package, *args, importtime=False):
    env = {**os.environ, "PYTHONPATH": str(package / "src")}
    flags = ["-X", "importtime"] if importtime else []
    return subprocess.run([sys.executable, *flags, "-m", "kinds", *args], capture_output=True,
                          text=True, cwd=package, env=env, timeout=120)


def imported(stderr: str) -> set[str]:
    """The modules `-X importtime` says were imported."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines()
            if line.startswith("import time:") and line.count("|") == 2}


@pytest.mark.parametrize("args", [("--help",), ("--n", "three"), ("--only-step", "nope")])
def test_help_and_usage_errors_import_no_notebook_library(package, args):
    run = _run(package, *args, importtime=True)
    assert run.returncode == (0 if args == ("--help",) else 2), run.stderr
    modules = imported(run.stderr)
    assert "kinds._runtime.cli" in modules  # the measurement sees the package's imports
    assert not {"kinds.pipeline", "numpy"} & modules


def test_a_run_still_imports_and_runs_the_pipeline(package):
    run = _run(package, "--n", "4", "--no-flag", "--tags", '["x"]', importtime=True)
    assert run.returncode == 0, run.stderr
    assert {"kinds.pipeline", "numpy"} <= imported(run.stderr)
    assert run.stdout.strip() == str(4 + 0.5 + 1 + 1 + 0)


def test_the_options_defaults_are_the_notebooks(package, monkeypatch):
    """`__main__`'s options carry the parameters' defaults as data; they must be
    exactly `Params()`'s, for every kind of literal (`--help` shows them)."""
    monkeypatch.syspath_prepend(str(package / "src"))
    main = importlib.import_module("kinds.__main__")
    params = importlib.import_module("kinds.pipeline").Params()
    defaults = {option.name: option.default for option in main.PARAMS}
    assert defaults == dataclasses.asdict(params)
    assert json.dumps(defaults["tags"]) == '["a", "b"]' and defaults["limit"] == float("inf")
    assert main.STEP_NAMES == tuple(spec.name for spec in main.load_pipeline().steps.values())
    help_text = " ".join(_run(package, "--help").stdout.split())
    for shown in ("(default: 3)", "(default: ['a', 'b'])", "(default: {'k': 1})",
                  "(default: None)", "(default: inf)", "(default: [1, 2])", "--flag, --no-flag"):
        assert shown in help_text


def test_the_package_names_load_on_first_use(package):
    """`import kinds` no longer imports the pipeline; its names still resolve."""
    code = ("import sys, kinds; assert 'kinds.pipeline' not in sys.modules; "
            "from kinds import Params, run; print(run(Params(n=1))['total'])")
    env = {**os.environ, "PYTHONPATH": str(package / "src")}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert float(run.stdout.split()[-1]) == 1 + 0.5 + 2 + 1 + 1
    missing = subprocess.run([sys.executable, "-c", "import kinds; kinds.nope"],
                             capture_output=True, text=True, env=env, timeout=120)
    assert "AttributeError: module 'kinds' has no attribute 'nope'" in missing.stderr


def test_a_step_changing_a_list_parameter_leaves_the_default_alone(package, monkeypatch):
    monkeypatch.syspath_prepend(str(package / "src"))
    main = importlib.import_module("kinds.__main__")
    cli = importlib.import_module("kinds._runtime.cli")  # the package's vendored copy
    first = cli.parse(main.COMMAND, [])
    first.tags.append("changed")
    assert cli.parse(main.COMMAND, []).tags == ["a", "b"]
