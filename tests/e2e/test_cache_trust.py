"""A damaged or tampered step cache never gives a wrong answer, and secrets leak nowhere
(issue 25, items 2 and 3), on generated packages installed in a fresh venv: swapped and
copied entries re-run the step, damaged entries and journals are misses or one line, a
secret in an exception, a log or a step output of any shape is neither printed nor
stored."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from nb2prod.cli import main
from tests.conftest import EXAMPLES, make_notebook, pip_install

pytestmark = pytest.mark.e2e

SECRET = "s3cr3t/Tok+en=42&x"  # URL-quoting changes it: the quoted form must go too
ENV = {**os.environ, "MPLBACKEND": "Agg"}

SMALL_NB = [
    ("n = 4\nfactor = 2", ["parameters"]),
    ("numbers = list(range(n))", ["step:load"]),
    ("total = sum(numbers) * factor\nprint('summed')", ["step:add"]),
    ("print(total)", ["metrics"]),
]

SECRET_NB = [
    ("import logging\nimport os\n\nimport numpy as np\nimport pandas as pd", ["imports"]),
    ("class Client:\n    def __init__(self, token):\n        self.token = token", ["functions"]),
    ("shape = 'plain'", ["parameters"]),
    (("token = os.environ['API_TOKEN']\n"
     "if shape == 'fail':\n"
     "    raise ConnectionError(f'https://api.example.com/v1?key={token} refused')\n"
     "if shape == 'log':\n"
     "    logging.getLogger('secretive').warning('calling with %s', token)\n"
     "held = {'bytes': token.encode(), 'object': Client(token),\n"
     "        'frame': pd.DataFrame({'k': [token]}), 'array': np.array([token]),\n"
     "        'nested': {'a': [('x', token)]}}.get(shape, 3)\n"
     "size = len(token)"), ["step:fetch", "secret:api:token:API_TOKEN"]),
    ("doubled = size * 2 + 0 * (held is None)", ["step:double"]),
    ("print(doubled)", ["metrics"]),
]


@pytest.fixture(scope="module")
def venv(venv_factory, tmp_path_factory):
    """A venv with three packages installed: churn, a small one and a secretive one."""
    python = venv_factory("cache-trust")
    work = tmp_path_factory.mktemp("cache-trust")
    builds = [(EXAMPLES / "churn.ipynb", "churn"),
              (make_notebook(work / "small.ipynb", SMALL_NB), "small"),
              (make_notebook(work / "secretive.ipynb", SECRET_NB), "secretive")]
    for notebook, name in builds:
        assert main(["build", str(notebook), "-o", str(work / name), "-q"]) == 0
        pip_install(python, work / name)
    return python


def run(python: Path, package: str, cwd: Path, *args: str, env: dict | None = None,
        code: int = 0) -> subprocess.CompletedProcess:
    done = subprocess.run([str(python), "-m", package, *args], capture_output=True, text=True,
                          cwd=cwd, env=env or ENV)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr or "--debug" in args, done.stderr
    return done


def entries(cache: Path, step: str) -> list[Path]:
    return sorted(cache.glob(f"{step}-" + "?" * 32 + ".json"))


def test_swapped_entries_of_runs_with_other_parameters_rerun_the_step(venv, tmp_path):
    cache, runs = tmp_path / "cache", {}
    for trees in ("10", "20"):
        out = tmp_path / f"metrics-{trees}.json"
        run(venv, "churn", tmp_path, "--cache", str(cache), "--n-estimators", trees,
            "--metrics-out", str(out))
        runs[trees] = json.loads(out.read_text())
    assert runs["10"] != runs["20"]
    for step in ("train", "evaluate"):  # each run's entry under the other run's key
        first, second = entries(cache, step)
        texts = first.read_bytes(), second.read_bytes()
        first.write_bytes(texts[1])
        second.write_bytes(texts[0])
    for trees in ("10", "20"):
        out = tmp_path / f"again-{trees}.json"
        done = run(venv, "churn", tmp_path, "--cache", str(cache), "--n-estimators", trees,
                   "--metrics-out", str(out), "--log-format", "json")
        assert json.loads(out.read_text()) == runs[trees]
        ran = [r["step"] for r in map(json.loads, done.stderr.splitlines())
               if r.get("event") == "end" and not r["cached"]]
        assert ran == ["train", "evaluate"]


def test_an_entry_copied_over_another_steps_reruns_that_step(venv, tmp_path):
    cache = tmp_path / "cache"
    first = run(venv, "small", tmp_path, "--cache", str(cache))
    (add,) = entries(cache, "add")
    shutil.copyfile(entries(cache, "load")[0], add)
    again = run(venv, "small", tmp_path, "--cache", str(cache))
    assert again.stdout == first.stdout == "summed\n12\n"
    assert "damaged or not this step's; running the step" in again.stderr


DAMAGED = {
    "a list": b"[]",
    "an empty object": b"{}",
    "not UTF-8": b"\xff\xfe{",
    "truncated": None,
    "deeply nested": b"[" * 100000 + b"]" * 100000,
    "outputs not an object": b'{"step": "add", "key": "K", "outputs": 5, "printed": "",'
                             b' "summaries": {}}',
    "printed not text": b'{"step": "add", "key": "K", "outputs": {}, "printed": 5,'
                        b' "summaries": {}}',
    "a file outside the cache": b'{"step": "add", "key": "K", "outputs": {"total": '
                                b'{"format": "pickle", "sha256": "0", "file": "../x.pkl"}},'
                                b' "printed": "", "summaries": {}}',
    "an unknown format": b'{"step": "add", "key": "K", "outputs": {"total": {"format": '
                        b'["json"], "sha256": "0", "text": "1"}}, "printed": "",'
                        b' "summaries": {}}',
}


@pytest.mark.parametrize("damage", DAMAGED)
def test_a_damaged_entry_of_any_shape_is_a_miss(venv, tmp_path, damage):
    cache = tmp_path / "cache"
    run(venv, "small", tmp_path, "--cache", str(cache))
    (entry,) = entries(cache, "add")
    key = entry.stem.partition("-")[2]
    data = DAMAGED[damage]
    entry.write_bytes(entry.read_bytes()[:30] if data is None else data.replace(b'"K"',
                                                                              f'"{key}"'.encode()))
    again = run(venv, "small", tmp_path, "--cache", str(cache))
    assert again.stdout == "summed\n12\n"


@pytest.mark.parametrize("last", [b"{}", b"[1]", b"\xff\xfe", b'{"status": "fail'])
def test_resume_with_a_damaged_journal_is_never_a_traceback(venv, tmp_path, last):
    cache = tmp_path / "cache"
    run(venv, "small", tmp_path, "--cache", str(cache), "--factor", "3")
    with open(cache / "state.jsonl", "ab") as journal:
        journal.write(last + b"\n")
    again = run(venv, "small", tmp_path, "--cache", str(cache), "--resume")
    assert again.stdout == "summed\n18\n"  # the parameters of the run it resumes
    (cache / "state.jsonl").write_bytes(last + b"\n")
    alone = run(venv, "small", tmp_path, "--cache", str(cache), "--resume", code=2)
    assert alone.stderr.strip().splitlines()[-1].endswith(f"--resume: no earlier run in {cache}")


def _secret_env() -> dict:
    return {**ENV, "API_TOKEN": SECRET}


def _forms() -> list[str]:
    from urllib.parse import quote

    return [SECRET, quote(SECRET, safe=""), json.dumps(SECRET)[1:-1]]


@pytest.mark.parametrize("flags", [(), ("--log-format", "json")])
def test_a_secret_a_step_logs_is_redacted(venv, tmp_path, flags):
    done = run(venv, "secretive", tmp_path, "--shape", "log", *flags, env=_secret_env())
    assert "calling with ***" in done.stderr
    assert not any(form in done.stderr + done.stdout for form in _forms())


@pytest.mark.parametrize("flags", [(), ("--log-format", "json"), ("--debug",)])
def test_a_secret_in_an_exception_is_redacted_everywhere(venv, tmp_path, flags):
    done = run(venv, "secretive", tmp_path, "--shape", "fail", "--cache",
               str(tmp_path / "cache"), *flags, env=_secret_env(), code=1)
    assert "ConnectionError: https://api.example.com/v1?key=*** refused" in done.stderr
    assert not any(form in done.stderr + done.stdout for form in _forms())


@pytest.mark.parametrize("shape", ["bytes", "object", "frame", "array", "nested"])
def test_an_output_holding_a_secret_in_any_shape_is_never_stored(venv, tmp_path, shape):
    cache = tmp_path / "cache"
    done = run(venv, "secretive", tmp_path, "--shape", shape, "--cache", str(cache),
               env=_secret_env())
    assert done.stdout == f"{2 * len(SECRET)}\n"
    assert "step fetch: output held holds a secret's value; not cached" in done.stderr
    stored = b"".join(p.read_bytes() for p in cache.rglob("*") if p.is_file())
    assert not any(form.encode() in stored for form in _forms())
    assert not any(SECRET.encode(codec) in stored for codec in ("utf-16-le", "utf-32-le"))


def test_an_output_without_the_secret_is_stored(venv, tmp_path):
    """The check is not a blanket refusal: the same step with a plain output caches."""
    cache = tmp_path / "cache"
    run(venv, "secretive", tmp_path, "--shape", "plain", "--cache", str(cache),
        env=_secret_env())
    again = run(venv, "secretive", tmp_path, "--shape", "plain", "--cache", str(cache),
                "--log-format", "json", env=_secret_env())
    records = [json.loads(line) for line in again.stderr.splitlines()]
    assert [r["cached"] for r in records if r.get("event") == "end"] == [True, True]


def test_resume_refuses_a_damaged_parameter_in_one_line(venv, tmp_path):
    cache = tmp_path / "cache"
    run(venv, "small", tmp_path, "--cache", str(cache))
    state = {"status": "failed", "step": "add", "params": {"n": "four", "factor": 2}}
    (cache / "state.jsonl").write_text(json.dumps(state) + "\n")
    done = run(venv, "small", tmp_path, "--cache", str(cache), "--resume", code=2)
    assert done.stderr.splitlines()[-1].endswith(
        f"--resume: parameter n of the last run in {cache} is damaged; run without --resume")
