"""Serving under load: the generated service against a hand-written app and BentoML, same run.

    python benchmarks/serve_scale.py [--seconds 6] [--rounds 3] [--keep DIR]

Builds examples/churn.ipynb with `--target serve`, trains it (`--model-out`), and
starts three servers of the same model on loopback, each answering raw churn
rows through the notebook's feature code (the package's own `inference.features`)
and the forest:

  generated  `python -m churn.serve` with its defaults: micro-batching on, one
             worker per CPU this process may use
  minimal    a hand-written single-process FastAPI app: a pydantic body, a
             DataFrame, features, predict and predict_proba per request
  bentoml    BentoML serving the same code with its adaptive batching
             (`batchable=True`), as many workers as the generated service; BentoML
             is installed into its own virtual environment (--bentoml-venv), never
             into nb2prod's

Clients send one-row requests over keep-alive connections from threads, 1 and 16
at a time, for --seconds per round; --rounds rounds alternate between the servers
(the machine's load drifts: alternating spreads it over all three). Prints
throughput, p50 and p99 per server and the ratios the targets are stated in:
at 16 clients generated/minimal throughput >= 3 and p99 <= 0.5, generated/bentoml
throughput >= 1; at 1 client generated/minimal p50 <= 1.15. Not a test: nothing
is asserted. Bounded: every server is stopped at the end.
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
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_load import ROOT, free_port, run, wait_ready

CONCURRENCY = (1, 16)

MINIMAL_APP = '''
import os
import pandas as pd
from fastapi import FastAPI
from pydantic import BaseModel
from churn import inference, model_io

MODEL_DIR = os.environ["MODEL_DIR"]
model, card = model_io.load_model(MODEL_DIR)
state, _ = inference.load_state(MODEL_DIR)
app = FastAPI()


class Body(BaseModel):
    instances: list[dict]


@app.post("/v1/models/churn:predict")
def predict(body: Body):
    x = inference.features(pd.DataFrame(body.instances), state)
    return {"predictions": model.predict(x).tolist(),
            "probabilities": model.predict_proba(x).tolist()}


@app.get("/readyz")
def readyz():
    return {"ready": True}
'''

BENTO_SERVICE = '''
import os
import bentoml
import pandas as pd


@bentoml.service(workers=int(os.environ["BENCH_WORKERS"]))
class Churn:
    def __init__(self) -> None:
        from churn import inference, model_io

        self.inference = inference
        self.model, _ = model_io.load_model(os.environ["MODEL_DIR"])
        self.state, _ = inference.load_state(os.environ["MODEL_DIR"])

    @bentoml.api(batchable=True, max_batch_size=256, max_latency_ms=1000)
    def predict(self, instances: list[dict]) -> list[dict]:
        x = self.inference.features(pd.DataFrame(instances), self.state)
        return [{"prediction": p, "probabilities": q} for p, q in
                zip(self.model.predict(x).tolist(), self.model.predict_proba(x).tolist())]
'''


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="per server, case and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it")
    parser.add_argument("--bentoml-venv", type=Path,
                        default=Path(tempfile.gettempdir()) / "nb2prod-bench-bentoml",
                        help="BentoML's own virtual environment (made when missing)")
    parser.add_argument("--no-bentoml", action="store_true", help="compare with the app only")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="nb2prod-serve-scale-"))
    try:
        env, rows = prepare(work)
        workers = str(len(os.sched_getaffinity(0)))
        commands = {
            "generated": ([sys.executable, "-m", "churn.serve", "--model", str(work / "model"),
                           "--port", "{port}", "--log-level", "warning"], env),
            "minimal": ([sys.executable, "-m", "uvicorn", "minimal_app:app", "--port", "{port}",
                         "--log-level", "warning"], env),
        }
        if not args.no_bentoml:
            python = bentoml_python(args.bentoml_venv)
            commands["bentoml"] = ([str(python), "-m", "bentoml", "serve", "bento_service:Churn",
                                    "--port", "{port}"], {**env, "BENCH_WORKERS": workers})
        report(measure(commands, work, rows, args.seconds, args.rounds))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def prepare(work: Path) -> tuple[dict, list[dict]]:
    out = work / "churn"
    run([sys.executable, "-m", "nb2prod", "build", str(ROOT / "examples" / "churn.ipynb"),
         "-o", str(out), "--target", "serve", "-q", "--force"])
    env = {**os.environ, "PYTHONPATH": f"{out / 'src'}{os.pathsep}{work}",
           "MODEL_DIR": str(work / "model")}
    run([sys.executable, "-m", "churn", "--model-out", str(work / "model")], env=env)
    probe = ("from churn import inference; from churn.pipeline import Params; "
             "raw = inference.load(Params()).drop(columns=[inference.TARGET], errors='ignore'); "
             "print(raw.head(200).to_json(orient='records'))")
    rows = json.loads(run([sys.executable, "-c", probe], env=env).splitlines()[-1])
    (work / "minimal_app.py").write_text(MINIMAL_APP)
    (work / "bento_service.py").write_text(BENTO_SERVICE)
    return env, rows


def bentoml_python(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"installing BentoML into {venv} (once) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "bentoml", "pandas",
                        "scikit-learn", "skops", "pyarrow"], check=True)
    return python


def measure(commands: dict, work: Path, rows: list[dict], seconds: float,
            rounds: int) -> dict:
    ports = {name: free_port() for name in commands}
    paths = {"generated": "/v1/models/churn:predict", "minimal": "/v1/models/churn:predict",
             "bentoml": "/predict"}
    with tempfile.TemporaryFile() as log:
        procs = [subprocess.Popen([c.replace("{port}", str(ports[name])) for c in command],
                                  env=env, cwd=work, stdout=log, stderr=log)
                 for name, (command, env) in commands.items()]
        try:
            for proc, port in zip(procs, ports.values()):
                wait_ready(port, proc)
            results: dict = {name: {} for name in commands}
            for concurrency in CONCURRENCY:
                seen: dict = {name: [] for name in commands}
                for _ in range(rounds):
                    for name, port in ports.items():
                        seen[name].append(load(port, paths[name], rows, concurrency, seconds))
                for name in commands:
                    results[name][concurrency] = pooled(seen[name])
            return results
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=60)


def load(port: int, path: str, rows: list[dict], concurrency: int,
         seconds: float) -> tuple[float, list[float]]:
    """(requests per second, latencies) of one-row requests from `concurrency` threads."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for i in range(offset, 10**9, concurrency):
            if time.monotonic() >= stop_at:
                break
            body = json.dumps({"instances": [rows[i % len(rows)]]}).encode()
            start = time.perf_counter()
            conn.request("POST", path, body, {"content-type": "application/json"})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"port {port}: status {response.status}")
            with lock:
                latencies.append(time.perf_counter() - start)
        conn.close()

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.perf_counter() - began), latencies


def pooled(rounds: list[tuple[float, list[float]]]) -> dict:
    timed = sorted(t for _, latencies in rounds for t in latencies)
    return {"rps": statistics.median(r for r, _ in rounds),
            "p50": statistics.median(timed) * 1000,
            "p99": timed[min(len(timed) - 1, int(len(timed) * 0.99))] * 1000}


def report(results: dict) -> None:
    names = list(results)
    print(f"{'clients':>7} | " + " | ".join(f"{n + ' rps':>14} {'p50':>7} {'p99':>7}"
                                             for n in names))
    for concurrency in CONCURRENCY:
        cells = [results[n][concurrency] for n in names]
        print(f"{concurrency:>7} | " + " | ".join(
            f"{c['rps']:>14.1f} {c['p50']:>7.2f} {c['p99']:>7.2f}" for c in cells))
    gen, ref = results["generated"], results["minimal"]
    print("ratios (latency in ms above):")
    print(f"  16 clients, generated/minimal throughput {gen[16]['rps'] / ref[16]['rps']:.2f} "
          "(target >= 3)")
    print(f"  16 clients, generated/minimal p99        {gen[16]['p99'] / ref[16]['p99']:.2f} "
          "(target <= 0.5)")
    if "bentoml" in results:
        bento = results["bentoml"]
        print(f"  16 clients, generated/bentoml throughput "
              f"{gen[16]['rps'] / bento[16]['rps']:.2f} (target >= 1)")
        print(f"   1 client,  generated/bentoml p50        {gen[1]['p50'] / bento[1]['p50']:.2f}")
    print(f"   1 client,  generated/minimal p50        {gen[1]['p50'] / ref[1]['p50']:.2f} "
          "(target <= 1.15)")


if __name__ == "__main__":
    sys.exit(main())
