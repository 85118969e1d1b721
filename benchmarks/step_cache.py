"""How much does the generated package's step cache save, and cost?

    python benchmarks/step_cache.py [--repeat 3] [--n-customers N] [--keep DIR]

Builds examples/churn.ipynb into a temporary directory and runs it as
`python -m churn --log-format json` (PYTHONPATH=src, this interpreter), each a
fresh process. Times are the sum of the steps' `seconds` in the JSON log (the
issue's measure: process start-up aside), best of --repeat:

  plain      no --cache
  cold       --cache on an empty directory (each repeat a new one): runs and stores
  warm       --cache again, nothing changed: every step should load
  late       --cache with a changed late parameter (--n-estimators): only `train`
             and `evaluate` should run

The process wall time of the same run is printed too (imports, start-up). The cold run's own cache time (`cache_seconds` of its records: hashing, writing)
against its step code time is printed too: immune to noise between runs.
Prints the numbers, the ratios, and how many steps ran (cached: false) per case.
Targets (issue 15): warm >= 20x less than cold; late re-runs only the steps
downstream of the parameter; cold within 10% of plain. Not a test: nothing is
asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "examples" / "churn.ipynb"


def build(out: Path) -> None:
    subprocess.run([sys.executable, "-m", "nb2prod", "build", str(NOTEBOOK), "-o", str(out),
                    "--name", "churn", "-q"], check=True)


WALL: dict[str, float] = {}


def run(out: Path, *args: str) -> list[dict]:
    """One run; the `end` records of its JSON log. Its wall time goes to WALL[args]."""
    env = {**os.environ, "PYTHONPATH": str(out / "src")}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "churn", "--log-format", "json", *args],
                          capture_output=True, text=True, env=env, cwd=out, check=True)
    WALL[" ".join(args)] = time.perf_counter() - start
    records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    return [r for r in records if r.get("event") == "end"]


def wall(*args: str) -> float:
    return WALL[" ".join(args)]


def seconds(records: list[dict]) -> float:
    return sum(r["seconds"] for r in records)


def ran(records: list[dict]) -> list[str]:
    return [r["step"] for r in records if not r["cached"]]


def measure(out: Path, work: Path, repeat: int, size: list[str]) -> dict[str, tuple]:
    best: dict[str, tuple] = {}

    def keep(case: str, *args: str) -> None:
        records = run(out, *size, *args)
        if case not in best or seconds(records) < best[case][0]:
            best[case] = (seconds(records), ran(records), len(records), wall(*size, *args),
                          sum(r["cache_seconds"] for r in records))

    for i in range(repeat):
        cache = str(work / f"cache-{i}")
        keep("plain")
        keep("cold", "--cache", cache)
        keep("warm", "--cache", cache)
        keep("late", "--cache", cache, "--n-estimators", str(61 + i))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--n-customers", type=int, help="default: the notebook's")
    parser.add_argument("--keep", type=Path, help="build and cache here instead of a temp dir")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="step-cache-bench-"))
    size = ["--n-customers", str(args.n_customers)] if args.n_customers else []
    try:
        build(work / "churn")
        best = measure(work / "churn", work, args.repeat, size)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"churn example{' ' + ' '.join(size) if size else ''}, best of {args.repeat}; "
          "seconds = sum of the steps' `seconds` in the JSON log")
    for case, (total, steps, count, process, _) in best.items():
        print(f"  {case:6} {total:8.4f} s in steps, {process:6.2f} s process   "
              f"ran {len(steps)}/{count}: {', '.join(steps) or '-'}")
    plain, cold, warm = best["plain"][0], best["cold"][0], best["warm"][0]
    print(f"  warm speed-up      {cold / warm:8.1f}x  (target >= 20x)")
    share = best["cold"][4]
    print(f"  cold overhead      {100 * (cold - plain) / plain:+8.1f}%  (target < 10%; "
          "cold vs plain runs, noisy on a shared machine)")
    print(f"  cache share        {100 * share / (cold - share):8.1f}%  (of the cold run's step "
          "time: hashing and storing, `cache_seconds` in the same run)")
    print(f"  late re-ran        {len(best['late'][1])} steps (target: train, evaluate)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
