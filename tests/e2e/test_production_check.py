"""Issue 15's "How we will check it", end to end, on a notebook of our own that is not
an example: tests/data/production/orders.ipynb (a parameter, helpers called by late
steps, a `secret:` tag, five steps, a CSV input this test writes).

(a) the generated requirements.lock installs in a clean venv (no parent site-packages:
    everything comes from the lock) and the package prints what nbclient's run of the
    notebook printed, and what this test computes from the CSV;
(b) a second `--cache` run loads every step;
(c) a changed parameter re-runs exactly the steps downstream of it;
(d) an edited helper (in the notebook, rebuilt; or by hand in the generated
    pipeline.py) re-runs exactly the steps that call it, through other helpers too;
(e) a run SIGKILLed inside a step, rerun with `--cache` or `--resume`, runs from that
    step on and loads the earlier ones;
(f) the secret set in the environment reaches its step (the output depends on it) and
    its value is in no generated file, log line, stdout, metrics, cache file or
    `verify` output.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from unittest import mock

import nbformat
import pytest
from nbclient import NotebookClient

from nb2prod.cli import main
from tests.conftest import ROOT, edit_source

pytestmark = pytest.mark.e2e

NOTEBOOK = ROOT / "tests" / "data" / "production" / "orders.ipynb"
SECRET = "prc-5e4d3c2b1a09f8e7-Qx7"  # 23 characters: price tier 1 + 23 % 3 = 3
OTHER_SECRET = "prc-0a1b2c3d4e5f6a7b-Rw"  # 22 characters: tier 2
ROWS = [(1, 1, 4.5), (2, 3, 2.0), (3, 5, 1.5), (4, 2, 7.25), (5, 8, 0.5), (6, 4, 3.0)]
STEPS = ["load", "filter", "price", "total", "report"]
ENV = {**{k: v for k, v in os.environ.items() if k != "PRICING_TOKEN"},
       "PRICING_TOKEN": SECRET}


def expected(token: str = SECRET, min_quantity: int = 2, rate: float = 0.1,
             large: float = 20) -> str:
    """What the notebook prints, computed here from ROWS."""
    kept = [(q, p) for _, q, p in ROWS if q >= min_quantity]
    tier = 1 + len(token) % 3
    amounts = [q * p * tier for q, p in kept]
    sizes = {"large": sum(a >= large for a in amounts), "small": sum(a < large for a in amounts)}
    revenue = round(float(sum(amounts)) * (1 - rate), 2)
    return f"orders read: {len(ROWS)}\norders kept: {len(kept)}\n{revenue}\n{sizes}\n"


def run(python: Path, cwd: Path, *args: str, env: dict | None = None
        ) -> subprocess.CompletedProcess:
    done = subprocess.run([str(python), "-m", "orders", "--log-format", "json", *args],
                          capture_output=True, text=True, cwd=cwd, env=env or ENV)
    assert done.returncode == 0, done.stderr
    return done


def ends(done) -> list[dict]:
    records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    return [r for r in records if r["event"] == "end"]


def ran(done) -> list[str]:
    return [r["step"] for r in ends(done) if not r["cached"]]


def build(notebook: Path, out: Path) -> None:
    with mock.patch.dict(os.environ, {"PRICING_TOKEN": SECRET}):
        assert main(["build", str(notebook), "-o", str(out), "-q", "--target", "kubeflow",
                     "--python", sys.executable]) == 0


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, Path]:
    """(work dir holding orders.csv and the notebook, the built package)."""
    work = tmp_path_factory.mktemp("orders")
    lines = ["order,quantity,unit_price", *(",".join(map(str, row)) for row in ROWS)]
    (work / "orders.csv").write_text("\n".join(lines) + "\n")
    shutil.copy(NOTEBOOK, work / "orders.ipynb")  # verify runs it next to its CSV
    build(work / "orders.ipynb", work / "out")
    return work, work / "out"


@pytest.fixture(scope="module")
def python(project, tmp_path_factory) -> Path:
    """A venv that sees nothing of this interpreter: the lock, then the package
    (editable, so a rebuild changes what is installed)."""
    _, out = project
    where = tmp_path_factory.mktemp("clean") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    python = where / "bin" / "python"
    for args in (["-r", str(out / "requirements.lock")], ["--no-deps", "-e", str(out)]):
        subprocess.run([str(python), "-m", "pip", "install", "-q",
                        "--disable-pip-version-check", *args], check=True)
    return python


def notebook_stdout(work: Path) -> str:
    notebook = nbformat.read(work / "orders.ipynb", as_version=4)
    with mock.patch.dict(os.environ, {"PRICING_TOKEN": SECRET}):
        NotebookClient(notebook, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(work)}}).execute()
    return "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code"
                   for o in c.outputs if o.output_type == "stream")


def test_a_lock_installs_alone_and_the_package_reproduces_the_notebook(project, python):
    work, out = project
    pins = [line for line in (out / "requirements.lock").read_text().splitlines()
            if "==" in line]
    assert any(p.startswith("pandas==") for p in pins)
    frozen = subprocess.run([str(python), "-m", "pip", "freeze"], capture_output=True,
                            text=True, check=True).stdout.splitlines()
    assert set(pins) <= set(frozen)  # the exact versions, installed from the lock alone
    for module in ("nb2prod", "sklearn", "pyarrow"):  # installed where this test runs
        isolated = subprocess.run([str(python), "-c", f"import {module}"], cwd=work,
                                  capture_output=True)
        assert isolated.returncode != 0, f"{module} leaks into the clean venv"
    done = run(python, work)
    assert done.stdout == notebook_stdout(work) == expected()


def test_second_cached_run_loads_every_step(project, python, tmp_path):
    work, _ = project
    cache = str(tmp_path / "cache")
    first, second = (run(python, work, "--cache", cache) for _ in range(2))
    assert ran(first) == STEPS and all(r["stored"] for r in ends(first))
    assert [(r["step"], r["cached"]) for r in ends(second)] == [(s, True) for s in STEPS]
    assert second.stdout == first.stdout == expected()


def test_changed_parameter_reruns_exactly_its_downstream_steps(project, python, tmp_path):
    work, _ = project
    cache = str(tmp_path / "cache")
    run(python, work, "--cache", cache)
    done = run(python, work, "--cache", cache, "--rate", "0.25")
    assert ran(done) == ["total"]  # only `total` reads rate; `report` does not
    assert done.stdout == expected(rate=0.25)
    done = run(python, work, "--cache", cache, "--min-quantity", "3")
    assert ran(done) == ["filter", "price", "total", "report"]
    assert done.stdout == expected(min_quantity=3)
    assert ran(run(python, work, "--cache", cache)) == []  # the first entries stay


def test_edited_helper_reruns_exactly_its_callers(project, python, tmp_path):
    work, out = project
    cache = str(tmp_path / "cache")
    run(python, work, "--cache", cache)
    notebook = json.loads(NOTEBOOK.read_text())
    (functions,) = [c for c in notebook["cells"] if "functions" in c["metadata"].get("tags", [])]
    source = "".join(functions["source"])
    assert "amount >= 20" in source
    functions["source"] = source.replace("amount >= 20", "amount >= 12")
    edited = work / "edited" / "orders.ipynb"
    edited.parent.mkdir()
    edited.write_text(json.dumps(notebook))
    try:
        build(edited, out)
        done = run(python, work, "--cache", cache)
        # band() is called by summarize(), which only `report` calls
        assert ran(done) == ["report"] and done.stdout == expected(large=12)
    finally:
        build(work / "orders.ipynb", out)
    assert ran(run(python, work, "--cache", cache)) == []
    pipeline = out / "src" / "orders" / "pipeline.py"
    original = pipeline.read_text()
    assert "    return round(total * (1 - rate), 2)\n" in original
    try:  # by hand, in the generated package: discounted() is `total`'s only
        edit_source(pipeline, original.replace("round(total * (1 - rate), 2)",
                                               "round(total * (1 - rate), 1)"))
        assert ran(run(python, work, "--cache", cache)) == ["total"]
    finally:
        edit_source(pipeline, original)


@pytest.mark.parametrize("rerun", [(), ("--resume",)], ids=["cache", "resume"])
def test_killed_run_reruns_from_the_killed_step(project, python, tmp_path, rerun):
    work, _ = project
    cache = str(tmp_path / "cache")
    process = subprocess.Popen(
        [str(python), "-m", "orders", "--log-format", "json", "--cache", cache], cwd=work,
        env={**ENV, "ORDERS_GATE": str(tmp_path / "never")}, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stderr:  # `total` waits for a gate file that never comes
            record = json.loads(line) if line.startswith("{") else {}
            if (record.get("event"), record.get("step")) == ("start", "total"):
                break
        else:
            raise AssertionError("the run ended before step `total` started")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    state = json.loads((tmp_path / "cache" / "state.jsonl").read_text().splitlines()[-1])
    assert (state["status"], state["step"]) == ("running", "total")
    done = run(python, work, "--cache", cache, *rerun)
    assert [(r["step"], r["cached"]) for r in ends(done)] == [
        ("load", True), ("filter", True), ("price", True), ("total", False),
        ("report", False)]
    assert done.stdout == expected()
    if rerun:
        assert "resuming at step total" in done.stderr


def test_secret_reaches_its_step_and_is_written_nowhere(project, python, tmp_path):
    work, out = project
    assert run(python, work, env={**ENV, "PRICING_TOKEN": OTHER_SECRET}).stdout == \
        expected(OTHER_SECRET) != expected(SECRET)  # the step's output depends on it
    cache, metrics = tmp_path / "cache", tmp_path / "metrics.json"
    outputs = [run(python, work, "--cache", str(cache), "--metrics-out", str(metrics)),
               run(python, work, "--cache", str(cache))]
    text_log = subprocess.run([str(python), "-m", "orders", "--log-level", "debug"],
                              capture_output=True, text=True, cwd=work, env=ENV, check=True)
    assert len(text_log.stderr.splitlines()) >= 2 * len(STEPS)  # start and end lines
    assert json.loads(metrics.read_text())["revenue"] == float(expected().split("\n")[2])
    verify = [subprocess.run([sys.executable, "-m", "nb2prod", "verify",
                              str(work / "orders.ipynb"), *fmt], capture_output=True,
                             text=True, cwd=work, env=ENV) for fmt in ([], ["--format", "json"])]
    assert all(v.returncode == 0 for v in verify), verify[0].stdout + verify[0].stderr
    assert "revenue" in verify[0].stdout
    job = (out / "deploy" / "job.yaml").read_text()
    assert 'name: "PRICING_TOKEN"' in job and 'name: "pricing-api"' in job
    report = json.loads((out / "nb2prod-report.json").read_text())
    assert not [p for p in report["problems"] if p["code"] == "NB625"]  # read where used
    texts = [p.stdout + p.stderr for p in [*outputs, text_log, *verify]]
    files = [p for p in [*out.rglob("*"), *cache.rglob("*"), metrics] if p.is_file()]
    assert len(list(cache.glob("*.json"))) == len(STEPS)
    texts += [p.read_bytes().decode("latin-1") for p in files]
    assert not [t for t in texts if SECRET in t]
