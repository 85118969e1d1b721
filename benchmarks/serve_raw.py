"""Raw rows (issue 22): the generated service and scorer against hand-written ones.

    python benchmarks/serve_raw.py [--rows 1000000] [--requests 300] [--keep DIR]

Builds tests/data/infer/orders.ipynb with `--target serve` into a temporary
directory and trains it (`python -m orders --model-out`, the package on
PYTHONPATH). Then, same run, same model and feature state:

  service   the generated handler (contract check, the notebook's feature code,
            predict, predict_proba) against a hand-written one doing the same feature
            code by hand (pydantic rows, to_datetime, fillna, get_dummies aligned to
            the training columns, the scaler): CPU per request in-process (best of 5),
            then over HTTP, each server alone: p50/p99 and throughput of sequential
            1-row requests on one keep-alive connection.
  scoring   `python -m orders.score` against a hand-written pandas script (read the
            CSV, the same features, predict, write) on a CSV of --rows rows, and the
            scorer's peak memory (max RSS) on it and on a file 10x smaller.

Targets (issue 22): service latency and throughput within 1.3x of hand-written;
scoring >= 0.8x the hand-written rows per second; peak memory on the large file
<= 1.3x that on the small one. Loopback only; not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_load import free_port, wait_ready

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "infer"

BY_HAND = '''
import io, json, os
import numpy as np
import pandas as pd
import skops.io as sio

MODEL_DIR = os.environ["MODEL_DIR"]
card = json.load(open(os.path.join(MODEL_DIR, "model.json")))
data = open(os.path.join(MODEL_DIR, card["artifact"]["file"]), "rb").read()
model = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
# the training state as the generated run saved it (JSON + skops, read checked)
from orders._runtime.raw_rows import load_state
saved = load_state(MODEL_DIR)[0].saved()
SCALER = saved["values"]["scaler"]
MEDIAN = saved["recorded"]["4:5:1"]
COLUMNS = saved["recorded"]["4:7:1"]["columns"]
CATEGORIES = saved["recorded"]["4:7:1"]["categories"]


def features(df):
    df["signup_date"] = pd.to_datetime(df["signup_date"])
    df["signup_month"] = df["signup_date"].dt.month
    df["signup_dow"] = df["signup_date"].dt.day_of_week
    df["region"] = df["region"].fillna("unknown")
    df["spend"] = df["spend"].fillna(MEDIAN)
    df["spend_per_visit"] = df["spend"] / (df["visits"] + 1)
    for column, values in CATEGORIES.items():
        df[column] = pd.Categorical(df[column], categories=values)
    df = pd.get_dummies(df, columns=["region", "plan"], dtype=int, drop_first=True)
    df = df.reindex(columns=COLUMNS, fill_value=0)
    return SCALER.transform(df.drop(columns=["order_id", "signup_date", "churned"],
                                    errors="ignore"))
'''
"""The feature code written by hand, with the training state the generated run saved."""

HAND_APP = BY_HAND + '''
from fastapi import FastAPI
from pydantic import BaseModel


class Row(BaseModel):
    order_id: int | None = None
    signup_date: str
    region: str | None
    plan: str
    spend: float | None
    visits: int


class Body(BaseModel):
    instances: list[Row]


app = FastAPI()


@app.post("/v1/models/orders:predict")
def predict(body: Body):
    x = features(pd.DataFrame([r.model_dump() for r in body.instances]))
    return {"predictions": model.predict(x).tolist(),
            "probabilities": model.predict_proba(x).tolist()}


@app.get("/readyz")
def readyz():
    return {"ready": True}
'''

HAND_SCORE = BY_HAND + '''
import sys
frame = pd.read_csv(sys.argv[1])
x = features(frame.copy())
frame["prediction"] = model.predict(x)
for label, column in zip(model.classes_, model.predict_proba(x).T):
    frame[f"probability_{label}"] = column
frame.to_csv(sys.argv[2], index=False)
'''

IN_PROCESS = '''
import json, sys, time
from types import SimpleNamespace
from fastapi.responses import JSONResponse
from orders import inference, model_io, serve
from orders._runtime import contract, serve_app
from orders._runtime.raw_rows import raw_frame
import hand_app
model, card = model_io.load_model(sys.argv[1])
features, rules = inference.load_state(sys.argv[1])
state = SimpleNamespace(model=model, proba=True, features=features, contract=rules,
                        out_of_range=contract.Ranges(), service=serve.SERVICE)
rows = json.loads(open(sys.argv[2]).read())


def generated(body):  # what serve_app.predict does, minus HTTP and the micro-batcher
    batch = raw_frame(json.loads(body), state.contract, state.out_of_range)
    return serve_app.SafeJSON(serve_app.predictions(state, batch)).body  # features inside


def by_hand(body):
    return JSONResponse(hand_app.predict(hand_app.Body.model_validate_json(body))).body


def cpu_ms(handler, body, n=20):
    start = time.process_time()
    for _ in range(n):
        handler(body)
    return (time.process_time() - start) / n * 1000


for size in (1, 100):
    body = json.dumps({"instances": rows[:size]}).encode()
    assert json.loads(generated(body))["predictions"] == json.loads(by_hand(body))["predictions"]
    for name, handler in (("generated", generated), ("by hand", by_hand)):
        print(json.dumps({"rows": size, "app": name,
                          "cpu_ms": min(cpu_ms(handler, body) for _ in range(5))}))
'''


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the large file")
    parser.add_argument("--requests", type=int, default=300, help="HTTP requests per server")
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="nb2prod-serve-raw-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        env, model = prepare(work)
        service(env, work, model, args.requests)
        scoring(env, work, model, args.rows)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def prepare(work: Path) -> tuple[dict, Path]:
    out, model = work / "orders", work / "model"
    shutil.copy(DATA / "orders.csv", work / "orders.csv")
    run([sys.executable, "-m", "nb2prod", "build", str(DATA / "orders.ipynb"), "-o", str(out),
         "--target", "serve", "-q", "--force"], cwd=ROOT)
    env = {**os.environ, "PYTHONPATH": f"{out / 'src'}{os.pathsep}{work}",
           "MODEL_DIR": str(model)}
    run([sys.executable, "-m", "orders", "--model-out", str(model)], env=env, cwd=work)
    (work / "hand_app.py").write_text(HAND_APP)
    (work / "hand_score.py").write_text(HAND_SCORE)
    rows = "import pandas as pd; pd.read_csv('orders.csv').drop(columns=['churned'])" \
        ".head(100).to_json('rows.json', orient='records', double_precision=15)"
    run([sys.executable, "-c", rows], env=env, cwd=work)
    return env, model


def service(env: dict, work: Path, model: Path, requests: int) -> None:
    out = run([sys.executable, "-c", IN_PROCESS, str(model), "rows.json"], env=env, cwd=work)
    found = {(r["rows"], r["app"]): r["cpu_ms"] for r in map(json.loads, out.splitlines())}
    print("service, in-process CPU per request (ms, best of 5 x 20):")
    for size in (1, 100):
        gen, ref = found[size, "generated"], found[size, "by hand"]
        print(f"  {size:>3} row(s): generated {gen:.2f}  by hand {ref:.2f}  ratio {gen / ref:.2f}")
    row = json.loads((work / "rows.json").read_text())[0]
    body = json.dumps({"instances": [row]}).encode()
    servers = {"generated": [sys.executable, "-m", "orders.serve", "--model", str(model),
                             "--port", "{port}", "--log-level", "warning",
                             "--workers", "1"],  # one process, as the hand-written one
               "by hand": [sys.executable, "-m", "uvicorn", "hand_app:app", "--port",
                           "{port}", "--log-level", "warning"]}
    results = {name: http_latency(command, env, work, body, requests)
               for name, command in servers.items()}
    print("service over HTTP, sequential 1-row requests (ms):")
    for name, (rps, p50, p99) in results.items():
        print(f"  {name:>9}: {rps:7.1f} req/s  p50 {p50:6.2f}  p99 {p99:6.2f}")
    (g, g50, g99), (h, h50, h99) = results["generated"], results["by hand"]
    print(f"  ratios generated/by hand: throughput {g / h:.2f}, p50 {g50 / h50:.2f}, "
          f"p99 {g99 / h99:.2f} (target: throughput >= 0.77, latency <= 1.30)")


def http_latency(command: list[str], env: dict, work: Path, body: bytes,
                 requests: int) -> tuple[float, float, float]:
    port = free_port()
    proc = subprocess.Popen([c.replace("{port}", str(port)) for c in command], env=env,
                            cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, proc)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies = []
        began = time.perf_counter()
        for i in range(requests + 20):
            start = time.perf_counter()
            conn.request("POST", "/v1/models/orders:predict", body,
                         {"content-type": "application/json"})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                sys.exit(f"status {response.status}")
            if i == 19:
                began = time.perf_counter()  # the first 20: warm-up
            elif i > 19:
                latencies.append(time.perf_counter() - start)
        elapsed = time.perf_counter() - began
        latencies.sort()
        return (len(latencies) / elapsed, statistics.median(latencies) * 1000,
                latencies[int(len(latencies) * 0.99)] * 1000)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def scoring(env: dict, work: Path, model: Path, rows: int) -> None:
    for n in (rows, rows // 10):
        make = ("import numpy as np, pandas as pd; d = pd.read_csv('orders.csv')"
                ".drop(columns=['churned']); rng = np.random.default_rng(0); "
                f"big = d.sample({n}, replace=True, random_state=0).reset_index(drop=True); "
                f"big['order_id'] = np.arange({n}); big.to_csv('big{n}.csv', index=False)")
        run([sys.executable, "-c", make], env=env, cwd=work)
    large, small = f"big{rows}.csv", f"big{rows // 10}.csv"
    generated = [sys.executable, "-m", "orders.score", "--model", str(model), large,
                 "--output", "scored.csv"]
    by_hand = [sys.executable, "hand_score.py", large, "scored_by_hand.csv"]
    times = {"generated": [], "by hand": []}
    for _ in range(2):  # alternating rounds: the machine's load changes
        for name, command in (("generated", generated), ("by hand", by_hand)):
            times[name].append(timed(command, env, work)[0])
    gen, ref = min(times["generated"]), min(times["by hand"])
    print(f"scoring {rows:,} rows (best of 2): generated {rows / gen:,.0f} rows/s, by hand "
          f"{rows / ref:,.0f} rows/s, ratio {ref / gen:.2f} (target >= 0.80)")
    _, big_rss = timed(generated, env, work)
    _, small_rss = timed([*generated[:5], small, "--output", "scored_small.csv"], env, work)
    print(f"scorer peak memory: {big_rss / 1024:,.0f} MiB on {rows:,} rows, "
          f"{small_rss / 1024:,.0f} MiB on {rows // 10:,}: ratio {big_rss / small_rss:.2f} "
          "(target <= 1.30)")


def timed(command: list[str], env: dict, work: Path) -> tuple[float, int]:
    """(wall seconds, max RSS in KiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, cwd=work, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"failed: {' '.join(command)}\n{proc.stderr.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss


def run(command: list[str], env: dict | None = None, cwd: Path = ROOT) -> str:
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800,
                          cwd=cwd, check=False)
    if done.returncode:
        sys.exit(f"failed: {' '.join(command)}\n{done.stderr[-2000:]}")
    return done.stdout


if __name__ == "__main__":
    sys.exit(main())
