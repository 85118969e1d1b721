"""`--target serve` end to end, over real HTTP on loopback.

Build churn (a RandomForest on a DataFrame) and loans (a Pipeline on raw columns,
a text column among them, with the notebook's own `predict`) with `--target
serve`, install each with its serve extra into a fresh venv, train with
`--model-out`, start `python -m PKG.serve` as a subprocess on a free port, and
compare what the server answers with what the model predicts in-process. Then
bad input, and a tampered artifact, which the server refuses to start with.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from nb2prod.cli import main
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.e2e

NAMES = ("churn", "loans")

IN_PROCESS = """
import json, sys
from {name} import model_io
from {name}.pipeline import Params, run_steps
values = run_steps(Params())
fitted, x = model_io.fitted(values)
rows = values.get("X_test", x).head(30)
loaded, card = model_io.load_model(sys.argv[1])
predict = getattr(__import__("{name}.pipeline", fromlist=["predict"]), "predict", None)
inference = __import__("{name}.inference", fromlist=["features"])
contract, inputs = None, rows
if inference.features is not None:  # requests are raw rows of the loaded frame
    state, contract = inference.load_state(sys.argv[1])
    raw = inference.load(Params()).drop(columns=[inference.TARGET], errors="ignore")
    rows = raw.loc[rows.index]
    inputs = inference.features(rows.copy(), state)
def answer(model):
    if predict is not None:
        return {{"predictions": model_io.jsonable(predict(model, inputs))}}
    return {{"predictions": model_io.jsonable(model.predict(inputs)),
             "probabilities": model_io.jsonable(model.predict_proba(inputs))}}
assert answer(loaded) == answer(fitted), "the saved model predicts differently"
print(json.dumps({{"rows": json.loads(rows.to_json(orient="values", double_precision=15)),
                  "records": json.loads(rows.to_json(orient="records", double_precision=15)),
                  "expected": answer(loaded), "card": card, "contract": contract}}))
"""
"""Run in the venv: the rows of the notebook's test split (raw, when the package runs the
notebook's feature code) and what the model predicts."""


def run(python, *args, cwd, ok=True):
    done = subprocess.run([str(python), *args], check=False, capture_output=True, text=True,
                          cwd=cwd, timeout=600)
    if ok:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory, venv_factory):
    """name -> (python, package dir, model dir, in-process answers)."""
    python = venv_factory("serve")
    out = tmp_path_factory.mktemp("serve")
    result = {}
    for name in NAMES:
        assert main(["build", str(EXAMPLES / f"{name}.ipynb"), "-o", str(out / name),
                     "--target", "serve", "-q"]) == 0
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-build-isolation",
                        f"{out / name}[serve]"], check=True)
        model = out / f"{name}-model"
        run(python, "-m", name, "--model-out", str(model), cwd=out)
        probe = run(python, "-c", IN_PROCESS.format(name=name), str(model), cwd=out)
        result[name] = (python, out / name, model, json.loads(probe.stdout.splitlines()[-1]))
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url, body=None, method=None):
    """(status, JSON) of a real HTTP request; bytes bodies are sent as they are."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def servers(installed, tmp_path_factory):
    """name -> base URL of a running server; stopped at the end."""
    started, urls = [], {}
    logs = tmp_path_factory.mktemp("logs")
    workers = {"churn": "2", "loans": "1"}  # both ways of running, micro-batching on
    for name, (python, _, model, _) in installed.items():
        port = free_port()
        log = open(logs / f"{name}.log", "w")  # noqa: SIM115 - closed below
        proc = subprocess.Popen([str(python), "-m", f"{name}.serve", "--model", str(model),
                                 "--host", "127.0.0.1", "--port", str(port),
                                 "--max-body-bytes", "200000", "--workers", workers[name]],
                                stdout=log, stderr=log)
        started.append((proc, log))
        urls[name] = f"http://127.0.0.1:{port}"
    try:
        for (proc, _), (name, url) in zip(started, urls.items()):
            _wait_ready(proc, url, logs / f"{name}.log")
            _wait_loaded(logs / f"{name}.log", int(workers[name]))
        yield urls, logs
    finally:
        for proc, log in started:
            proc.terminate()
            proc.wait(timeout=30)
            log.close()


def _wait_loaded(log, workers, timeout=120.0):
    """/readyz answers from whichever worker takes the connection: wait until every
    worker logged that its model is in, so no request meets one still loading."""
    deadline = time.monotonic() + timeout
    while log.read_text().count('"event": "model_loaded"') < workers:
        assert time.monotonic() < deadline, f"not every worker loaded: {log.read_text()}"
        time.sleep(0.2)


def _wait_ready(proc, url, log, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if request(f"{url}/readyz")[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"not ready in {timeout}s: {log.read_text()}")


@pytest.mark.parametrize("name", NAMES)
def test_the_server_predicts_what_the_model_predicts_in_process(installed, servers, name):
    urls, _ = servers
    _, _, _, probe = installed[name]
    predict = f"{urls[name]}/v1/models/{name}:predict"
    assert request(predict, {"instances": probe["rows"]}) == (200, probe["expected"])
    assert request(predict, {"instances": probe["records"]}) == (200, probe["expected"])


def test_a_burst_of_concurrent_requests_all_get_the_right_answer(installed, servers):
    from concurrent.futures import ThreadPoolExecutor

    urls, _ = servers
    _, _, _, probe = installed["churn"]
    predict = f"{urls['churn']}/v1/models/churn:predict"
    cases = [(probe["rows"][i:i + 3], i) for i in range(0, 30, 3)] * 8  # 80 requests

    def send(case):
        rows, start = case
        status, answer = request(predict, {"instances": rows})
        return status, answer["predictions"], start

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(send, cases))
    for status, predictions, start in results:
        assert status == 200
        assert predictions == probe["expected"]["predictions"][start:start + 3]


@pytest.mark.parametrize("name", NAMES)
def test_interleaved_requests_get_exactly_their_own_answers_and_bad_rows_fail_alone(
        installed, servers, name):
    """Concurrent requests of 1 to 5 rows, coalesced by the micro-batcher into shared
    model calls, each get what the model predicts for their rows alone; a request with a
    bad row gets its own 422 and takes nobody down."""
    from concurrent.futures import ThreadPoolExecutor

    urls, _ = servers
    _, _, _, probe = installed[name]
    predict = f"{urls[name]}/v1/models/{name}:predict"
    records, expected = probe["records"], probe["expected"]
    required = [c["name"] for c in (probe["contract"] or {}).get("columns", []) if c["required"]]
    field = required[0] if required else next(iter(records[0]))
    cases = []
    for i in range(96):
        start, size = (i * 7) % 25, 1 + i % 5
        rows = [dict(row) for row in records[start:start + size]]
        if i % 6 == 5:
            rows[-1][field] = {"a": 1}
        cases.append((rows, start, size, i % 6 == 5))

    def send(case):
        return request(predict, {"instances": case[0]})

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(send, cases))
    for (rows, start, size, bad), (status, answer) in zip(cases, answers):
        if bad:
            assert (status, answer["field"]) == (422, f"instances[{size - 1}].{field}")
            continue
        assert status == 200, answer
        assert answer == {key: values[start:start + size] for key, values in expected.items()}


def test_overload_gets_503_with_retry_after_and_a_missed_deadline_504(installed, tmp_path):
    """A full queue answers 503 at once with Retry-After; a request not answered within
    --timeout gets 504. The server stays up and answers the next request."""
    from concurrent.futures import ThreadPoolExecutor

    python, _, model, probe = installed["churn"]
    predict_path = "/v1/models/churn:predict"

    def start(*options):
        port = free_port()
        log = tmp_path / f"{port}.log"
        proc = subprocess.Popen([str(python), "-m", "churn.serve", "--model", str(model),
                                 "--port", str(port), "--workers", "1", *options],
                                stdout=log.open("w"), stderr=subprocess.STDOUT)
        _wait_ready(proc, f"http://127.0.0.1:{port}", log)
        return proc, f"http://127.0.0.1:{port}{predict_path}"

    def send(url, rows):
        req = urllib.request.Request(url, json.dumps({"instances": rows}).encode(),
                                     headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as response:
                return response.status, response.headers.get("Retry-After")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Retry-After")

    rows = probe["records"][:20]
    proc, url = start("--max-queue", "1")
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            seen = list(pool.map(lambda _: send(url, rows), range(64)))
        assert {status for status, _ in seen} <= {200, 503}
        assert (503, "1") in seen and (200, None) in seen
        assert send(url, rows[:1])[0] == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    proc, url = start("--timeout", "0.0005")
    try:
        assert send(url, rows)[0] == 504
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_pipeline_takes_raw_columns_and_the_notebook_predict_shapes_answers(installed):
    _, _, _, probe = installed["loans"]
    assert probe["card"]["model_type"] == "sklearn.pipeline.Pipeline"
    assert probe["card"]["artifact"]["format"] == "skops"
    columns = probe["card"]["input_schema"]["columns"]
    assert {"name": "purpose", "dtype": "str"} in columns or \
        {"name": "purpose", "dtype": "object"} in columns
    first = probe["expected"]["predictions"][0]
    assert set(first) == {"default", "probability"}


@pytest.mark.parametrize("name", NAMES)
def test_endpoints_and_the_card(installed, servers, name):
    urls, _ = servers
    _, _, _, probe = installed[name]
    url = urls[name]
    assert request(f"{url}/healthz") == (200, {"status": "alive"})
    assert request(f"{url}/v1/models/{name}") == (200, {"name": name, "ready": True})
    status, card = request(f"{url}/metadata")
    assert status == 200 and card["artifact"] == probe["card"]["artifact"]
    assert card["notebook"] == f"{name}.ipynb" and card["metrics"]
    assert set(card["library_versions"]) >= {"python", "numpy", "scikit-learn"}
    with urllib.request.urlopen(f"{url}/docs", timeout=30) as docs:
        assert docs.status == 200


@pytest.mark.parametrize("name", NAMES)
def test_bad_input_gets_a_4xx_naming_the_field(installed, servers, name):
    urls, logs = servers
    _, _, _, probe = installed[name]
    predict = f"{urls[name]}/v1/models/{name}:predict"
    row, record = probe["rows"][0], probe["records"][0]
    required = [c["name"] for c in (probe["contract"] or {}).get("columns", []) if c["required"]]
    first = required[0] if required else next(iter(record))
    over = 200_000 // len(json.dumps(row)) + 100  # just over --max-body-bytes: the server
    # answers 413 before reading the body, so a much larger body would break the pipe
    cases = [
        (b'{"instances": [', 400, "body"),
        ({"instances": []}, 422, "instances"),
        ({"instances": [row + row]}, 422, "instances[0]"),
        ({"instances": [{**record, "nope": 1}]}, 422, "instances[0].nope"),
        ({"instances": [{k: v for k, v in record.items() if k != first}]}, 422,
         f"instances[0].{first}"),
        ({"instances": [{**record, first: {"a": 1}}]}, 422, f"instances[0].{first}"),
        ({"instances": [row] * over}, 413, "body"),
    ]
    for body, status, field in cases:
        got, answer = request(predict, body)
        assert (got, answer["field"]) == (status, field), (body if len(str(body)) < 200
                                                           else field, answer)
        assert "Traceback" not in json.dumps(answer)
    # structured access logs: one JSON object per request, written once it is answered
    deadline = time.monotonic() + 10
    while True:
        lines = [json.loads(line) for line in (logs / f"{name}.log").read_text().splitlines()
                 if line.startswith('{"method"')]
        statuses = {entry["status"] for entry in lines}
        if statuses >= {200, 400, 413, 422} or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert statuses >= {200, 400, 413, 422}
    assert {"method", "path", "status", "ms", "client"} <= set(lines[-1])


def test_a_tampered_artifact_is_refused_with_one_line(installed, tmp_path):
    python, _, model, probe = installed["churn"]
    tampered = tmp_path / "model"
    shutil.copytree(model, tampered)
    artifact = tampered / probe["card"]["artifact"]["file"]
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artifact.write_bytes(bytes(data))
    done = run(python, "-m", "churn.serve", "--model", str(tampered), "--port",
               str(free_port()), cwd=tmp_path, ok=False)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "does not match model.json" in line and line.endswith("refusing to load")
    assert "Traceback" not in done.stderr
    # the console script is the same entry point
    script = python.parent / "churn-serve"
    assert subprocess.run([str(script), "--help"], capture_output=True).returncode == 0


def test_the_generated_serve_tests_pass(installed):
    for name in NAMES:
        python, package, _, _ = installed[name]
        done = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests",
                   cwd=package)
        assert " passed" in done.stdout and "skipped" not in done.stdout, done.stdout
