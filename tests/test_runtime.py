"""The package runtime (`nb2prod/runtime/`), imported directly: runner, hooks, journal,
command line; and its vendoring: every package carries it verbatim, `build --check`
names an outdated copy, a rebuild refreshes it."""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import json
import os
import sys
import textwrap

import pytest

import nb2prod
from nb2prod.cli import main as nb2prod_main
from nb2prod.render.vendor import RUNTIME, runtime_drift
from nb2prod.runtime import RUNTIME_VERSION
from nb2prod.runtime.runner import Runner, StepFailed, StepSpec, resolved
from nb2prod.runtime.state import STATE, read_state
from tests.conftest import EXAMPLES

PIPELINE = '''
def load(n):
    # cell 2
    return list(range(n))


def total(numbers):
    # cell 3
    print("summing")
    return sum(numbers)


def broken(numbers):
    # cell 4
    x = 1
    raise ValueError("no luck")
'''

STEPS = {
    "load": StepSpec("load", "load", (2,), ("n",), ("numbers",), "h1"),
    "total": StepSpec("total", "total", (3,), ("numbers",), ("result",), "h2"),
    "broken": StepSpec("broken", "broken", (4,), ("numbers",), (), "h3"),
}


@pytest.fixture
def pipeline(tmp_path):
    """A module of step functions from a real file (the runner reads their source)."""
    path = tmp_path / "toy_pipeline.py"
    path.write_text(textwrap.dedent(PIPELINE), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("toy_pipeline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["toy_pipeline"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["toy_pipeline"]


class Recorder:
    def __init__(self):
        self.calls = []

    def before_step(self, step, inputs):
        self.calls.append(("before", step.name, dict(inputs)))

    def after_step(self, step, inputs, outputs, seconds):
        assert seconds >= 0
        self.calls.append(("after", step.name, dict(inputs), dict(outputs)))


def run(pipeline, runner, n=4):
    numbers = runner.call("load", pipeline.load, n)
    return resolved({"result": runner.call("total", pipeline.total, numbers)})["result"]


def test_hooks_see_each_step_run_with_its_inputs_and_outputs(pipeline):
    recorder = Recorder()
    assert run(pipeline, Runner(STEPS, hooks=(recorder, object()))) == 6
    assert recorder.calls == [
        ("before", "load", {"n": 4}), ("after", "load", {"n": 4}, {"numbers": [0, 1, 2, 3]}),
        ("before", "total", {"numbers": [0, 1, 2, 3]}),
        ("after", "total", {"numbers": [0, 1, 2, 3]}, {"result": 6})]


def test_hooks_are_not_called_for_a_step_loaded_from_the_cache(pipeline, tmp_path, capsys):
    run(pipeline, Runner(STEPS, cache=tmp_path / "c"))
    recorder = Recorder()
    assert run(pipeline, Runner(STEPS, cache=tmp_path / "c", hooks=(recorder,))) == 6
    assert recorder.calls == []
    assert capsys.readouterr().out == "summing\nsumming\n"  # printed again on the hit


def test_a_failing_step_names_its_cell(pipeline):
    with pytest.raises(StepFailed, match=r"step `broken` \(notebook cell 4, line 2\) failed: "
                                         r"ValueError: no luck"):
        Runner(STEPS).call("broken", pipeline.broken, [1])


@pytest.mark.parametrize("last", [b"{}", b"[1]", b"\xff\xfe not utf-8", b'{"status": "runn',
                                  b'{"status": ["x"], "params": {}}', b"[" * 100000,
                                  b'{"status": "failed", "params": 3}'])
def test_a_damaged_last_journal_line_is_skipped(tmp_path, last):
    good = {"status": "failed", "step": "train", "params": {"seed": 3}}
    (tmp_path / STATE).write_bytes(json.dumps(good).encode() + b"\n" + last + b"\n")
    assert read_state(tmp_path) == good


def test_a_journal_without_a_state_is_no_earlier_run(tmp_path):
    (tmp_path / STATE).write_bytes(b"{}\n[1]\n\xff\n")
    assert read_state(tmp_path) is None
    assert read_state(tmp_path / "missing") is None


def test_the_runtime_version_is_nb2prods():
    assert RUNTIME_VERSION == nb2prod.__version__


LAZY = {"numpy", "pandas", "pyarrow", "sklearn", "skops", "joblib", "uvicorn",
        "prometheus_client"}
"""What the runtime may import inside a function: a value's own library, or the serve
extra's (skops, joblib, uvicorn, prometheus_client) when a model is saved, loaded or
served."""
SERVE_EXTRA = {"serve_app.py": {"fastapi", "starlette"}, "responses.py": {"fastapi"}}
"""Modules only the serve extra imports: FastAPI reads their handlers' annotations, so
its names are module globals."""


def _imported(node) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name.partition(".")[0] for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0:
        return [node.module.partition(".")[0]]
    return []


def test_the_runtime_imports_only_the_standard_library_and_itself():
    """It is vendored into packages that depend on nothing of nb2prod: at module level the
    standard library and its own modules (relative imports), in functions a value's own
    library, never nb2prod."""
    allowed = set(sys.stdlib_module_names) | {"__future__"}
    for path in sorted(RUNTIME.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = [n for node in tree.body for n in _imported(node)]
        extra = SERVE_EXTRA.get(path.name, set())
        assert set(top) <= allowed | extra, f"{path.name} imports {sorted(set(top) - allowed)}"
        anywhere = {n for node in ast.walk(tree) for n in _imported(node)}
        assert anywhere <= allowed | LAZY | extra, f"{path.name} imports {anywhere - allowed}"


@pytest.fixture(scope="module")
def churn(tmp_path_factory):
    out = tmp_path_factory.mktemp("vendor") / "churn"
    assert nb2prod_main(["build", str(EXAMPLES / "churn.ipynb"), "-o", str(out), "-q"]) == 0
    return out


def test_a_fresh_build_carries_the_runtime_verbatim(churn):
    vendored = {p.name: p.read_bytes() for p in (churn / "src/churn/_runtime").glob("*.py")}
    assert vendored == {p.name: p.read_bytes() for p in RUNTIME.glob("*.py")}
    assert runtime_drift(churn, "churn") is None


def _age(out, text=b"# an older runtime\n"):
    """Make the package's runtime look like an older nb2prod's: files and manifest."""
    path = out / "src/churn/_runtime/runner.py"
    path.write_bytes(path.read_bytes() + text)
    init = out / "src/churn/_runtime/__init__.py"
    init.write_bytes(init.read_bytes().replace(RUNTIME_VERSION.encode(), b"0.0.1"))
    manifest = json.loads((out / ".nb2prod/manifest.json").read_text())
    for name in ("runner.py", "__init__.py"):
        manifest["files"][f"src/churn/_runtime/{name}"] = __import__("hashlib").sha256(
            (out / "src/churn/_runtime" / name).read_bytes()).hexdigest()
    (out / ".nb2prod/manifest.json").write_text(json.dumps(manifest))


def test_check_names_an_older_runtime_in_one_line_and_a_rebuild_refreshes_it(
        churn, tmp_path, capsys):
    out = tmp_path / "churn"
    import shutil

    shutil.copytree(churn, out)
    _age(out)
    (out / "src/churn/notes.py").write_text("# mine\n")  # a file of the user's
    capsys.readouterr()
    assert nb2prod_main(["build", str(EXAMPLES / "churn.ipynb"), "-o", str(out),
                         "--check"]) == 1
    lines = capsys.readouterr().out.splitlines()
    runtime_lines = [line for line in lines if "_runtime" in line]
    assert len(runtime_lines) == 1, lines
    assert f"the vendored runtime (0.0.1) is older than this nb2prod's ({RUNTIME_VERSION})" \
           " in 2 file(s): __init__.py, runner.py" in runtime_lines[0]
    assert nb2prod_main(["build", str(EXAMPLES / "churn.ipynb"), "-o", str(out), "-q"]) == 0
    assert runtime_drift(out, "churn") is None
    assert (out / "src/churn/notes.py").read_text() == "# mine\n"
    assert nb2prod_main(["build", str(EXAMPLES / "churn.ipynb"), "-o", str(out),
                         "--check"]) == 0


def test_the_runtime_passes_ruff_as_the_packages_it_lands_in():
    """Generated packages are checked with ruff's defaults (88 columns for I001): the
    vendored copy must pass them too, not only this repository's settings."""
    import subprocess

    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated",
                           str(RUNTIME)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


SECRET = "s3cr3t/Tok+en=42&x"


def test_every_form_of_a_secret_is_redacted(monkeypatch):
    import base64
    from urllib.parse import quote

    from nb2prod.runtime.redact import Secrets

    other = 'pa"ss\\wörd'
    monkeypatch.setenv("API_TOKEN", SECRET)
    monkeypatch.setenv("DB_PASSWORD", other)
    secrets = Secrets.from_environment(["API_TOKEN", "DB_PASSWORD", "UNSET_VARIABLE"])
    forms = [SECRET, quote(SECRET, safe=""), other, json.dumps(other)[1:-1],
             repr(other)[1:-1], base64.b64encode(SECRET.encode()).decode()]
    for form in forms:
        assert secrets.redact(f"GET /?key={form} failed") == "GET /?key=*** failed", form
    assert Secrets.from_environment(["UNSET_VARIABLE"]).redact("a b") == "a b"


@pytest.mark.parametrize("shape", ["bytes", "str in an object", "frame column",
                                   "frame column name", "numpy strings", "tuple in a dict"])
def test_a_secret_is_found_in_the_bytes_a_format_writes(monkeypatch, shape):
    import numpy as np
    import pandas as pd

    from nb2prod.runtime.formats import encode
    from nb2prod.runtime.redact import Secrets

    monkeypatch.setenv("API_TOKEN", SECRET)
    value = {"bytes": SECRET.encode(), "str in an object": _Holder(SECRET), "frame column": pd.DataFrame({"k": [SECRET, "b"]}),
             "frame column name": pd.DataFrame({SECRET: [1]}),
             "numpy strings": np.array([SECRET]), "tuple in a dict": {"a": [("x", SECRET)]},
             }[shape]
    secrets = Secrets.from_environment(["API_TOKEN"])
    assert secrets.in_bytes(encode(value).data)
    assert not secrets.in_bytes(encode({"a": [("x", "harmless")]}).data)


class _Holder:
    def __init__(self, token):
        self.token = token


def test_a_failure_message_never_shows_a_secret(pipeline, monkeypatch):
    monkeypatch.setenv("API_TOKEN", SECRET)
    steps = {"leak": StepSpec("leak", "leak", (5,), (), (), "h", secrets=("API_TOKEN",))}

    def leak():
        raise ConnectionError(f"https://api.example.com/?key={os.environ['API_TOKEN']}")

    with pytest.raises(StepFailed) as failed:
        Runner(steps).call("leak", leak)
    assert str(failed.value).endswith("ConnectionError: https://api.example.com/?key=***")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_log_line_never_shows_a_secret(monkeypatch, capsys, fmt):
    """Whatever logs through the package's logger, a step's own code too."""
    import logging

    from nb2prod.runtime.logs import configure_logging
    from nb2prod.runtime.redact import Secrets

    monkeypatch.setenv("API_TOKEN", SECRET)
    configure_logging("toy_secretive", fmt, "info",
                      redact=lambda text: Secrets.from_environment(["API_TOKEN"]).redact(text))
    logging.getLogger("toy_secretive").warning("calling with %s", SECRET)
    err = capsys.readouterr().err
    assert "calling with ***" in err and SECRET not in err


def test_the_command_line_runs_the_steps_with_the_packages_hooks(pipeline, tmp_path, capsys):
    """`cli.main` as a generated `__main__` calls it: options, the run, metrics, hooks."""
    from nb2prod.runtime import cli

    @dataclasses.dataclass(frozen=True)
    class Params:
        n: int = 4

    def run_steps(params, runner, names=None):
        numbers = runner.call("load", pipeline.load, params.n)
        return resolved({"result": runner.call("total", pipeline.total, numbers)}, names)

    recorder = Recorder()
    command = cli.Command(
        package="toy", dist="toy", description="a toy",
        pipeline=lambda: cli.Pipeline(STEPS, Params, run_steps, ("result",)),
        step_names=tuple(spec.name for spec in STEPS.values()),
        options=(cli.Option("--n", "n", "int", 1, 4),),
        print_metrics=lambda metrics: print("result is", metrics["result"]), hooks=(recorder,))
    out = tmp_path / "m.json"
    assert cli.main(command, ["--n", "5", "--metrics-out", str(out)]) == 0
    assert capsys.readouterr().out == "summing\nresult is 10\n"
    assert json.loads(out.read_text()) == {"result": 10}
    assert [call[:2] for call in recorder.calls] == [
        ("before", "load"), ("after", "load"), ("before", "total"), ("after", "total")]
    with pytest.raises(SystemExit) as usage:
        cli.main(command, ["--n", "five"])
    assert usage.value.code == 2


def test_help_and_usage_errors_never_load_the_pipeline(capsys):
    """`--help`, a bad value, an unknown step: answered from the Command's data, before
    the pipeline (and the notebook's libraries it imports) is loaded."""
    from nb2prod.runtime import cli

    loaded = []

    def load():
        loaded.append(True)
        raise AssertionError("the pipeline was imported")

    command = cli.Command(
        package="toy", dist="toy", description="a toy", pipeline=load,
        step_names=("load", "total"),
        options=(cli.Option("--n", "n", "int", 1, 4), cli.Option("--tags", "tags", "json", 1, ["a"]),
                 cli.Option("--fast", "fast", "bool", 2, False)))
    for argv in (["--help"], ["--n", "five"], ["--from-step", "nope", "--cache", "c"],
                 ["--resume"], ["--tags", "[1"]):
        with pytest.raises(SystemExit):
            cli.main(command, argv)
    assert not loaded
    out = " ".join(capsys.readouterr().out.split())
    assert "--n N parameter `n` from notebook cell 1 (default: 4)" in out
    assert "(default: ['a'])" in out and "(default: False)" in out
    assert "{load,total}" not in out  # choices shown as the metavar STEP
