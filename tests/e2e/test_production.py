"""Production runs (issue 15), on generated packages installed in a fresh venv: the
step cache (second run all cached, a changed parameter or an edited helper re-runs
exactly the steps it should), resume after a failure or a kill, the JSON log,
secrets that reach the step and appear nowhere, and a lock that installs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from nb2prod.cli import main
from tests.conftest import EXAMPLES, ROOT, edit_source, make_notebook, pip_install

pytestmark = pytest.mark.e2e

VOCAB = ROOT / "tests" / "data" / "vocab"
SECRET = "tok-9f8e7d6c5b4a3210-Zy"
ENV = {**os.environ, "MPLBACKEND": "Agg"}

HELPERS = '''def clean(values):
    return [v for v in values if v is not None]


def weight():
    return 2


def score(values):
    return sum(values) * weight()'''

STEPS_NB = [
    ("import os", ["imports"]),
    (HELPERS, ["functions"]),
    ("data = [1, 2, None, 4]\noffset = 1", ["parameters"]),
    ("values = clean(data)\nprint('values', len(values))", ["step:load"]),
    ("n = len(values) + offset", ["step:count"]),
    (("if os.environ.get('BREAK_SCORE'):\n    raise RuntimeError('broken on purpose')\n"
      "if os.environ.get('SLOW_SCORE'):\n    import time\n    time.sleep(60)\n"
      "total = score(values)"), ["step:score"]),
    ("report = f'{n}:{total}'", ["step:report"]),
    ("print(n)\nprint(total)\nprint(report)", ["metrics"]),
]

SECRET_NB = [
    ("import os", ["imports"]),
    ("size = 3", ["parameters"]),
    ("token_length = len(os.environ['API_TOKEN']) + size * 0", [
        "step:fetch", "secret:api-credentials:token:API_TOKEN", "label:team:ml",
        "annotation:example.com/owner:ml-team"]),
    ("doubled = token_length * 2", ["step:double"]),
    ("print(doubled)", ["metrics"]),
]


def run(python: Path, package: str, cwd: Path, *args: str, env: dict | None = None,
        check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([str(python), "-m", package, "--log-format", "json", *args],
                          capture_output=True, text=True, cwd=cwd, env=env or ENV)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def ends(done: subprocess.CompletedProcess) -> list[dict]:
    records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    return [r for r in records if r["event"] == "end"]


def ran(done: subprocess.CompletedProcess) -> list[str]:
    return [r["step"] for r in ends(done) if not r["cached"]]


@pytest.fixture(scope="module")
def venv(venv_factory):
    return venv_factory("production")


@pytest.fixture(scope="module")
def churn(venv, tmp_path_factory):
    out = tmp_path_factory.mktemp("churn") / "churn"
    assert main(["build", str(EXAMPLES / "churn.ipynb"), "-o", str(out), "--name", "churn",
                 "-q"]) == 0
    pip_install(venv, out)
    return out


@pytest.fixture(scope="module")
def steps_pkg(venv, tmp_path_factory):
    """An editable install: rebuilding the notebook changes the installed package."""
    work = tmp_path_factory.mktemp("steps")
    notebook = make_notebook(work / "steps.ipynb", STEPS_NB)
    out = work / "steps"
    assert main(["build", str(notebook), "-o", str(out), "-q"]) == 0
    subprocess.run([str(venv), "-m", "pip", "install", "-q", "--no-build-isolation", "-e",
                    str(out)], check=True)
    return notebook, out


def test_second_cached_run_loads_every_step(venv, churn, tmp_path):
    cache = tmp_path / "cache"
    first = run(venv, "churn", tmp_path, "--cache", str(cache))
    second = run(venv, "churn", tmp_path, "--cache", str(cache))
    steps = ["load_data", "features", "split", "train", "evaluate"]
    assert [r["step"] for r in ends(first)] == steps and ran(first) == steps
    assert [r["step"] for r in ends(second)] == steps and ran(second) == []
    assert second.stdout == first.stdout  # what the steps printed is printed again
    assert second.stdout == run(venv, "churn", tmp_path).stdout  # as without a cache
    for record in ends(first):
        assert isinstance(record["seconds"], float) and record["outputs"]
    assert ends(first)[0]["outputs"] == {"df": "DataFrame(1000, 7)"}
    formats = {json.loads(p.read_text())["outputs"][n]["format"]
               for p in cache.glob("*.json") for n in json.loads(p.read_text())["outputs"]}
    assert {"parquet", "pickle", "json"} <= formats  # the forest: pickle (protocol 5)
    assert all(r["stored"] for r in ends(first))


def test_changed_parameter_reruns_exactly_the_downstream_steps(venv, churn, tmp_path):
    cache = str(tmp_path / "cache")
    run(venv, "churn", tmp_path, "--cache", cache)
    cached, plain = tmp_path / "cached.json", tmp_path / "plain.json"
    assert ran(run(venv, "churn", tmp_path, "--cache", cache, "--n-estimators", "20",
                   "--metrics-out", str(cached))) == ["train", "evaluate"]
    # the frames and series read back from the cache feed the steps that run exactly
    run(venv, "churn", tmp_path, "--n-estimators", "20", "--metrics-out", str(plain))
    assert json.loads(cached.read_text()) == json.loads(plain.read_text())
    assert ran(run(venv, "churn", tmp_path, "--cache", cache, "--test-size", "0.3")) == [
        "split", "train", "evaluate"]
    assert ran(run(venv, "churn", tmp_path, "--cache", cache)) == []  # the first entries stay


def test_text_log_is_a_line_per_step_and_stdout_is_the_notebooks(venv, churn, tmp_path):
    done = subprocess.run([str(venv), "-m", "churn"], capture_output=True, text=True,
                          cwd=tmp_path, env=ENV, check=True)
    lines = done.stderr.splitlines()
    assert len(lines) == 5 and lines[0].startswith("churn: [1/5] load_data ")
    assert "churn:" not in done.stdout and done.stdout.splitlines()[0].startswith("customers:")


def test_edited_helper_reruns_its_callers_only(venv, steps_pkg, tmp_path):
    notebook, out = steps_pkg
    cache = str(tmp_path / "cache")
    assert ran(run(venv, "steps", tmp_path, "--cache", cache)) == [
        "load", "count", "score", "report"]
    assert ran(run(venv, "steps", tmp_path, "--cache", cache, "--offset", "5")) == [
        "count", "report"]
    edited = [(HELPERS.replace("return 2", "return 3"), ["functions"]) if c[1] == ["functions"]
              else c for c in STEPS_NB]
    try:
        make_notebook(notebook, edited)
        assert main(["build", str(notebook), "-o", str(out), "-q"]) == 0
        done = run(venv, "steps", tmp_path, "--cache", cache)
        # score() calls weight(): `score` re-runs; its new total changes `report`
        assert ran(done) == ["score", "report"]
        assert done.stdout.splitlines()[-2] == "21"
    finally:
        make_notebook(notebook, STEPS_NB)
        assert main(["build", str(notebook), "-o", str(out), "-q"]) == 0


def test_hand_edited_generated_helper_reruns_its_callers_only(venv, steps_pkg, tmp_path):
    """The package is code people edit: an edit to a helper in the generated pipeline.py,
    not in the notebook, re-runs the steps that reach it, as a notebook edit does."""
    _, out = steps_pkg
    pipeline = out / "src" / "steps" / "pipeline.py"
    original = pipeline.read_text()
    cache = str(tmp_path / "cache")
    run(venv, "steps", tmp_path, "--cache", cache)
    try:
        assert "    return 2\n" in original
        edit_source(pipeline, original.replace("    return 2\n", "    return 4\n"))
        done = run(venv, "steps", tmp_path, "--cache", cache)
        assert ran(done) == ["score", "report"]  # score() calls weight(); report reads total
        assert done.stdout.splitlines()[-2] == "28"
        edit_source(pipeline, original.replace("def clean(values):\n",
                                             "def clean(values):  # reviewed\n"))
        # only `load` calls clean(); its outputs are the same, so later steps load
        assert ran(run(venv, "steps", tmp_path, "--cache", cache)) == ["load"]
    finally:
        edit_source(pipeline, original)
    assert ran(run(venv, "steps", tmp_path, "--cache", cache)) == []  # the first entries stay


def test_failing_step_is_one_line_and_resume_starts_there(venv, steps_pkg, tmp_path):
    cache = str(tmp_path / "cache")
    failed = run(venv, "steps", tmp_path, "--cache", cache, "--offset", "2",
                 env={**ENV, "BREAK_SCORE": "1"}, check=False)
    assert failed.returncode == 1
    message = [line for line in failed.stderr.splitlines() if not line.startswith("{")]
    assert message == [("steps: step `score` (notebook cell 6, line 2) failed: RuntimeError: broken "
                        "on purpose")]
    assert "Traceback" not in failed.stderr
    resumed = run(venv, "steps", tmp_path, "--cache", cache, "--resume")  # its parameters
    assert [r["cached"] for r in ends(resumed)] == [True, True, False, False]
    assert resumed.stdout.splitlines()[-3:] == ["5", "14", "5:14"]  # offset 2 from the state
    debug = run(venv, "steps", tmp_path, "--debug", env={**ENV, "BREAK_SCORE": "1"},
                check=False)
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_killed_run_resumes_at_the_step_it_was_in(venv, steps_pkg, tmp_path):
    cache = str(tmp_path / "cache")
    process = subprocess.Popen(
        [str(venv), "-m", "steps", "--log-format", "json", "--cache", cache], cwd=tmp_path,
        env={**ENV, "SLOW_SCORE": "1"}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)
    for line in process.stderr:
        if '"start"' in line and '"score"' in line:
            break
    process.send_signal(signal.SIGKILL)
    process.wait()
    state = json.loads((tmp_path / "cache" / "state.jsonl").read_text().splitlines()[-1])
    assert (state["status"], state["step"]) == ("running", "score")
    resumed = run(venv, "steps", tmp_path, "--cache", cache, "--resume")
    assert ran(resumed) == ["score", "report"]
    assert "resuming at step score" in resumed.stderr


def test_from_and_only_step(venv, steps_pkg, tmp_path):
    cache = str(tmp_path / "cache")
    run(venv, "steps", tmp_path, "--cache", cache)
    assert ran(run(venv, "steps", tmp_path, "--cache", cache, "--from-step", "score")) == [
        "score", "report"]
    only = run(venv, "steps", tmp_path, "--cache", cache, "--only-step", "count")
    assert [(r["step"], r["cached"]) for r in ends(only)] == [("load", True), ("count", False)]
    assert only.stdout == "values 3\n"  # no metrics: the run stopped after `count`
    bad = run(venv, "steps", tmp_path, "--only-step", "count", check=False)
    assert bad.returncode == 2 and "--cache" in bad.stderr


@pytest.fixture(scope="module")
def secret_pkg(venv, tmp_path_factory):
    work = tmp_path_factory.mktemp("secret")
    notebook = make_notebook(work / "secretive.ipynb", SECRET_NB)
    out = work / "secretive"
    assert main(["build", str(notebook), "-o", str(out), "-q", "--target", "kubeflow"]) == 0
    pip_install(venv, out)
    return out


def test_secret_reaches_the_step_and_is_written_nowhere(venv, secret_pkg, tmp_path):
    cache = tmp_path / "cache"
    env = {**ENV, "API_TOKEN": SECRET}
    metrics = tmp_path / "metrics.json"
    done = run(venv, "secretive", tmp_path, "--cache", str(cache), "--metrics-out",
               str(metrics), env=env)
    assert done.stdout == f"{2 * len(SECRET)}\n"
    again = run(venv, "secretive", tmp_path, "--cache", str(cache), env=env)
    assert ran(again) == []
    yaml = tmp_path / "pipeline.yaml"
    subprocess.run([str(venv), "-m", "secretive.kubeflow", "compile", str(yaml)], check=True,
                   cwd=tmp_path, env=env, capture_output=True)
    compiled = yaml.read_text()
    assert "secretAsEnv" in compiled and "API_TOKEN" in compiled and "api-credentials" in compiled
    assert "team: ml" in compiled and "example.com/owner: ml-team" in compiled
    job = (secret_pkg / "deploy" / "job.yaml").read_text()
    assert "secretKeyRef" in job and "name: \"api-credentials\"" in job
    texts = [done.stdout, done.stderr, again.stderr, compiled]
    files = [*secret_pkg.rglob("*"), *cache.rglob("*"), metrics]
    texts += [p.read_text(errors="replace") for p in files if p.is_file()]
    assert all(SECRET not in text for text in texts)


def test_missing_secret_is_one_line_naming_variable_and_step(venv, secret_pkg, tmp_path):
    env = {k: v for k, v in ENV.items() if k != "API_TOKEN"}
    done = subprocess.run([str(venv), "-m", "secretive"], capture_output=True, text=True,
                          cwd=tmp_path, env=env)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [(
        "secretive: step `fetch` (notebook cell 3) failed: environment variable API_TOKEN is "
        "not set (a `secret:` tag of this step)")]


def test_lock_pins_this_environment_and_installs(venv, churn):
    lock = (churn / "requirements.lock").read_text()
    pins = dict(line.split("==") for line in lock.splitlines() if "==" in line)
    from importlib.metadata import version

    assert pins["scikit-learn"] == version("scikit-learn") and "scipy" in pins
    assert f'"scikit-learn>={".".join(version("scikit-learn").split(".")[:2])},<' in (
        churn / "pyproject.toml").read_text()
    report = json.loads((churn / "nb2prod-report.json").read_text())
    assert {"import": "sklearn", "distribution": "scikit-learn",
            "version": version("scikit-learn")} in report["environment"]["imports"]
    # the fresh venv sees this interpreter's packages: the exact versions are all there
    done = subprocess.run([str(venv), "-m", "pip", "install", "--no-index", "-r",
                           str(churn / "requirements.lock")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Requirement already satisfied: scikit-learn==" in done.stdout


def test_unresolved_import_is_a_located_warning(tmp_path, capsys):
    notebook = make_notebook(tmp_path / "missing.ipynb", [
        ("import numpy\nimport not_installed_anywhere", ["imports"]),
        ("x = numpy.zeros(2)", ["step:a"])])
    assert main(["build", str(notebook), "-o", str(tmp_path / "out"), "-q"]) == 0
    err = capsys.readouterr().out
    assert "cell 1:2:1: NB623" in err and "not_installed_anywhere" in err
    pyproject = (tmp_path / "out" / "pyproject.toml").read_text()
    assert '"not_installed_anywhere",' in pyproject and '"numpy>=' in pyproject


@pytest.mark.parametrize("name", ["kale_diamond", "sklearn_custom", "text_features",
                                  "csv_roundtrip"])
def test_vocabulary_notebooks_rerun_from_the_cache(venv, name, tmp_path):
    out = tmp_path / name
    assert main(["build", str(VOCAB / f"{name}.ipynb"), "-o", str(out), "-q"]) == 0
    pip_install(venv, out)
    cache = str(tmp_path / "cache")
    first, second = (run(venv, name, tmp_path, "--cache", cache) for _ in range(2))
    assert second.stdout == first.stdout
    # every step stored by the first run is loaded by the second; the others (they write
    # files, or hold values no format writes, e.g. a lambda in an estimator) run again
    unstored = [r["step"] for r in ends(first) if not r["stored"]]
    assert ran(second) == unstored
    writers = [line for line in (out / "src" / name / "pipeline.py").read_text().splitlines()
               if "it writes files" in line]
    assert len(unstored) >= len(writers)
