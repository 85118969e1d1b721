"""How fast is the generated service? Against a hand-written FastAPI app, same run.

    python benchmarks/serve_load.py [--requests 400] [--seconds 20] [--keep DIR]

Builds examples/churn.ipynb with `--target serve` into a temporary directory,
trains it with `python -m churn --model-out` (the package on PYTHONPATH, not
installed), then starts two servers on 127.0.0.1, one at a time, each a single
uvicorn process:

  generated   `python -m churn.serve --model DIR` (validation, access log, KServe v1)
  minimal     a hand-written FastAPI app around the same model file: a pydantic
              body `instances: list[list[float]]`, a DataFrame, predict and
              predict_proba, uvicorn's own access log (written below)

and sends, over keep-alive HTTP connections from threads, single-row and
100-row requests at concurrency 1 and 16: at most --requests requests or
--seconds seconds per case, in three rounds alternating between the two servers
(both up all along), each after a short warm-up. Prints p50/p99 latency,
throughput, the server's CPU time per request (from /proc: steadier than wall
time when other work shares the machine), and the ratios generated/minimal
(targets: throughput >= 0.9x, p99 <= 1.2x). First, the same two handlers
in-process (no HTTP): CPU per request, the steadiest comparison of the work. Loopback only; bounded; not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ((1, 1), (1, 16), (100, 1), (100, 16))
"""(rows per request, concurrent connections)."""
WARMUP = 10  # requests per round, not timed in the latencies
ROUNDS = 3

MINIMAL_APP = '''
import io, json, os
import pandas as pd
import skops.io as sio
from fastapi import FastAPI
from pydantic import BaseModel

MODEL_DIR = os.environ["MODEL_DIR"]
card = json.load(open(os.path.join(MODEL_DIR, "model.json")))
data = open(os.path.join(MODEL_DIR, card["artifact"]["file"]), "rb").read()
model = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
COLUMNS = [c["name"] for c in card["input_schema"]["columns"]]
app = FastAPI()


class Body(BaseModel):
    instances: list[list[float]]


@app.post("/v1/models/churn:predict")
def predict(body: Body):
    x = pd.DataFrame(body.instances, columns=COLUMNS)
    return {"predictions": model.predict(x).tolist(),
            "probabilities": model.predict_proba(x).tolist()}


@app.get("/readyz")
def readyz():
    return {"ready": True}
'''


IN_PROCESS = '''
import json, sys, time
import pandas as pd
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from types import SimpleNamespace
from churn import model_io, serve
from churn._runtime import serve_app
model, card = model_io.load_model(sys.argv[1])
state = SimpleNamespace(model=model, proba=True, service=serve.SERVICE)
schema = card["input_schema"]
columns = [c["name"] for c in schema["columns"]]
rows = json.loads(sys.argv[2])


class Body(BaseModel):
    instances: list[list[float]]


def generated(body):  # what serve_app.predict does, minus HTTP and the micro-batcher
    batch = model_io.to_batch(json.loads(body), schema)
    return serve_app.SafeJSON(serve_app.predictions(state, batch)).body


def minimal(body):
    x = pd.DataFrame(Body.model_validate_json(body).instances, columns=columns)
    return JSONResponse(jsonable_encoder({"predictions": model.predict(x).tolist(),
                                          "probabilities": model.predict_proba(x).tolist()})).body


def cpu_ms(handler, body, n=10):
    start = time.process_time()
    for _ in range(n):
        handler(body)
    return (time.process_time() - start) / n * 1000


for size in (1, 100):
    body = json.dumps({"instances": rows[:size]}).encode()
    for name, handler in (("generated", generated), ("minimal", minimal)):
        best = min(cpu_ms(handler, body) for _ in range(5))
        print(json.dumps({"rows": size, "app": name, "cpu_ms": best}))
'''
"""The two handlers' work without HTTP (parse, validate, predict, serialize): CPU ms per
request, best of 5 x 10, one process. The steadiest comparison on a loaded machine."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="per case, at most")
    parser.add_argument("--seconds", type=float, default=20.0, help="per case, at most")
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="nb2prod-serve-load-"))
    try:
        env, model, rows = prepare(work)
        in_process(env, model, rows)
        report(measure(servers(work, model), env, work, rows, args.requests, args.seconds))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def prepare(work: Path) -> tuple[dict, Path, list]:
    out, model = work / "churn", work / "model"
    run([sys.executable, "-m", "nb2prod", "build", str(ROOT / "examples" / "churn.ipynb"),
         "-o", str(out), "--target", "serve", "-q", "--force"])
    env = {**os.environ, "PYTHONPATH": f"{out / 'src'}{os.pathsep}{work}",
           "MODEL_DIR": str(model)}
    run([sys.executable, "-m", "churn", "--model-out", str(model)], env=env)
    for name in ("features.json", "features.state.json", "features.skops",
                 "contract.json"):  # the model's own input, as fitted: raw rows are
        (model / name).unlink()  # benchmarks/serve_raw.py
    probe = ("from churn.pipeline import Params, run_steps; "
             "print(run_steps(Params())['X_train'].head(100).to_json(orient='values'))")
    rows = json.loads(run([sys.executable, "-c", probe], env=env).splitlines()[-1])
    (work / "minimal_app.py").write_text(MINIMAL_APP)
    return env, model, rows


def in_process(env: dict, model: Path, rows: list) -> None:
    out = run([sys.executable, "-c", IN_PROCESS, str(model), json.dumps(rows)], env=env)
    found = {(r["rows"], r["app"]): r["cpu_ms"] for r in map(json.loads, out.splitlines())}
    print("in-process handler CPU per request (ms, best of 5 x 10):")
    for size in (1, 100):
        gen, ref = found[size, "generated"], found[size, "minimal"]
        print(f"  {size:>3} row(s): generated {gen:.2f}  minimal {ref:.2f}  ratio {gen / ref:.2f}")


def servers(work: Path, model: Path) -> dict[str, list[str]]:
    return {
        "generated": [sys.executable, "-m", "churn.serve", "--model", str(model),
                      "--host", "127.0.0.1", "--port", "{port}", "--log-level", "info"],
        "minimal": [sys.executable, "-m", "uvicorn", "minimal_app:app", "--host",
                    "127.0.0.1", "--port", "{port}", "--log-level", "info"],
    }


def run(command: list[str], env: dict | None = None) -> str:
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600,
                          cwd=ROOT, check=False)
    if done.returncode:
        sys.exit(f"failed: {' '.join(command)}\n{done.stderr[-2000:]}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(commands, env, work, rows, max_requests, seconds) -> dict:
    """Both servers up; per case, ROUNDS alternating rounds each (the machine's load
    drifts: alternating spreads it over both)."""
    ports = {name: free_port() for name in commands}
    with tempfile.TemporaryFile() as log:  # both servers log every request
        procs = [subprocess.Popen([c.replace("{port}", str(ports[name])) for c in command],
                                  env=env, cwd=work, stdout=log, stderr=log)
                 for name, command in commands.items()]
        try:
            for proc, port in zip(procs, ports.values()):
                wait_ready(port, proc)
            results: dict = {name: {} for name in commands}
            for case in CASES:
                rounds: dict = {name: [] for name in commands}
                for _ in range(ROUNDS):
                    for (name, port), proc in zip(ports.items(), procs):
                        before = cpu_seconds(proc.pid)
                        rps, latencies = load(port, rows, *case, max_requests // ROUNDS,
                                              seconds / ROUNDS)
                        cpu = (cpu_seconds(proc.pid) - before) / (len(latencies) + WARMUP)
                        rounds[name].append((rps, latencies, cpu))
                for name in commands:
                    results[name][case] = pooled(rounds[name])
            return results
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=30)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pooled(rounds: list[tuple[float, list[float], float]]) -> dict:
    """Median throughput and server CPU per request of the rounds; latency
    percentiles over all their requests."""
    timed = sorted(t for _, latencies, _ in rounds for t in latencies)
    return {"n": len(timed), "rps": statistics.median(r for r, _, _ in rounds),
            "cpu": statistics.median(c for _, _, c in rounds) * 1000,
            "p50": statistics.median(timed) * 1000,
            "p99": timed[min(len(timed) - 1, int(len(timed) * 0.99))] * 1000}


def wait_ready(port: int, proc, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("server exited before it was ready")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)  # also while /readyz says 503: the model is loading
    sys.exit("server not ready in time")


def load(port, rows, size, concurrency, max_requests, seconds) -> tuple[float, list[float]]:
    body = json.dumps({"instances": rows[:size]}).encode()
    path = "/v1/models/churn:predict"
    latencies: list[float] = []
    lock = threading.Lock()
    budget = [WARMUP + max_requests]
    stop_at = time.monotonic() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop_at:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            start = time.perf_counter()
            conn.request("POST", path, body, {"content-type": "application/json"})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"status {response.status}")
            with lock:
                latencies.append(time.perf_counter() - start)
        conn.close()

    began = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    return len(latencies) / elapsed, latencies[WARMUP:] or latencies


def report(results: dict) -> None:
    gen, ref = results["generated"], results["minimal"]
    print(f"{'rows':>4} {'conc':>4} | {'generated rps':>13} {'p50':>7} {'p99':>7} {'cpu':>6} | "
          f"{'minimal rps':>11} {'p50':>7} {'p99':>7} {'cpu':>6} | {'rps x':>6} {'p99 x':>6} "
          f"{'cpu x':>6}")
    for case in CASES:
        g, m = gen[case], ref[case]
        print(f"{case[0]:>4} {case[1]:>4} | {g['rps']:>13.1f} {g['p50']:>7.2f} {g['p99']:>7.2f} "
              f"{g['cpu']:>6.2f} | {m['rps']:>11.1f} {m['p50']:>7.2f} {m['p99']:>7.2f} "
              f"{m['cpu']:>6.2f} | {g['rps'] / m['rps']:>6.2f} {g['p99'] / m['p99']:>6.2f} "
              f"{g['cpu'] / m['cpu']:>6.2f}")
    print("latency and server CPU per request in ms; targets: rps x >= 0.90, p99 x <= 1.20 "
          "(cpu x: the same comparison, steadier on a shared machine)")


if __name__ == "__main__":
    sys.exit(main())
