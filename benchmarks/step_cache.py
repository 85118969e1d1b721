"""How much does the generated package's step cache save, and cost?

    python benchmarks/step_cache.py [--repeat 3] [--n-customers N] [--keep DIR]
                                    [--baseline SRC]

Builds examples/churn.ipynb into a temporary directory and runs it as
`python -m churn --log-format json` (PYTHONPATH=src, this interpreter), each a
fresh process. Times are the sum of the steps' `seconds` in the JSON log (the
issue's measure: process start-up aside), best of --repeat:

  plain      no --cache
  cold       --cache on an empty directory (each repeat a new one): runs and stores
  warm       --cache again, nothing changed: every step should load
  late       --cache with a changed late parameter (--n-estimators): only `train`
             and `evaluate` should run

The process wall time and CPU time (user + system) of the same run are printed
too (imports, start-up). The cold run's own cache time (`cache_seconds` of its
records: hashing, encoding, writing) against its step code time is printed too:
immune to noise between runs.

--baseline SRC also builds the package with the nb2prod source tree at SRC (e.g.
`git archive main | tar -x -C SRC`) and runs both, case by case in the same
loop, so that the two are compared under the same load.
Prints the numbers, the ratios, and how many steps ran (cached: false) per case; and
two medians over the rounds, steadier than best-of on a shared machine: cold over plain
pair by pair (the two run back to back), and the cache share of each cold run.
Targets (issue 15): warm >= 20x less than cold; late re-runs only the steps
downstream of the parameter; cold within 10% of plain. Not a test: nothing is
asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "examples" / "churn.ipynb"


def build(out: Path, source: Path | None = None) -> None:
    env = {**os.environ, "PYTHONPATH": str(source)} if source else None
    subprocess.run([sys.executable, "-m", "nb2prod", "build", str(NOTEBOOK), "-o", str(out),
                    "--name", "churn", "-q"], check=True, env=env, cwd=source)


def run(out: Path, *args: str) -> tuple[list[dict], float, float]:
    """One run: the `end` records of its JSON log, its wall and CPU time (user + system)."""
    env = {**os.environ, "PYTHONPATH": str(out / "src")}
    start, cpu = time.perf_counter(), _cpu()
    done = subprocess.run([sys.executable, "-m", "churn", "--log-format", "json", *args],
                          capture_output=True, text=True, env=env, cwd=out, check=True)
    process = (time.perf_counter() - start, _cpu() - cpu)
    records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    return [r for r in records if r.get("event") == "end"], *process


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def seconds(records: list[dict]) -> float:
    return sum(r["seconds"] for r in records)


def ran(records: list[dict]) -> list[str]:
    return [r["step"] for r in records if not r["cached"]]


CASES = ("plain", "cold", "warm", "late")


Runs = dict[tuple[str, str], list[tuple[float, float]]]
"""Per (build, case), every run's (steps' seconds, cache_seconds), in run order."""


def measure(outs: dict[str, Path], work: Path, repeat: int,
            size: list[str]) -> tuple[dict[str, dict[str, tuple]], Runs]:
    """Per build (`this`, `baseline`), per case: the best run's numbers; and every run's."""
    best: dict[str, dict[str, tuple]] = {name: {} for name in outs}
    every: Runs = {}

    def keep(name: str, case: str, *args: str) -> None:
        records, process, cpu = run(outs[name], *size, *args)
        total, cache = seconds(records), sum(r["cache_seconds"] for r in records)
        every.setdefault((name, case), []).append((total, cache))
        if case not in best[name] or total < best[name][case][0]:
            best[name][case] = (total, ran(records), len(records), process, cpu, cache)

    for i in range(repeat):
        for case in CASES:  # each case for both builds back to back: the same load
            for name in outs:
                cache = str(work / f"cache-{name}-{i}")
                args = {"plain": (), "cold": ("--cache", cache), "warm": ("--cache", cache),
                        "late": ("--cache", cache, "--n-estimators", str(61 + i))}[case]
                keep(name, case, *args)
    return best, every


def report(name: str, best: dict[str, tuple], every: Runs) -> None:
    print(f"{name}:")
    for case, (total, names, count, process, cpu, _) in best.items():
        print(f"  {case:6} {total:8.4f} s in steps, {process:6.2f} s process "
              f"({cpu:5.2f} s CPU)   ran {len(names)}/{count}: {', '.join(names) or '-'}")
    plain, cold, warm = best["plain"][0], best["cold"][0], best["warm"][0]
    print(f"  warm speed-up      {cold / warm:8.1f}x  (target >= 20x)")
    share = best["cold"][5]
    print(f"  cold overhead      {100 * (cold - plain) / plain:+8.1f}%  (target < 10%; "
          "cold vs plain runs, noisy on a shared machine)")
    print(f"  cache share        {100 * share / (cold - share):8.1f}%  (of the cold run's step "
          "time: hashing and storing, `cache_seconds` in the same run)")
    pairs = zip(every[name, "plain"], every[name, "cold"])  # back to back, round by round
    ratios = statistics.median(c / p - 1 for (p, _), (c, _) in pairs)
    shares = statistics.median(k / (c - k) for c, k in every[name, "cold"])
    print(f"  medians            {100 * ratios:+8.1f}% cold over plain, pair by pair; "
          f"{100 * shares:.1f}% cache share")
    print(f"  late re-ran        {len(best['late'][1])} steps (target: train, evaluate)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--n-customers", type=int, help="default: the notebook's")
    parser.add_argument("--keep", type=Path, help="build and cache here instead of a temp dir")
    parser.add_argument("--baseline", type=Path, metavar="SRC",
                        help="also measure the package nb2prod at SRC builds, in the same loop")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="step-cache-bench-"))
    size = ["--n-customers", str(args.n_customers)] if args.n_customers else []
    outs = {"this": work / "churn"}
    try:
        build(outs["this"])
        if args.baseline:
            outs["baseline"] = work / "baseline" / "churn"
            build(outs["baseline"], args.baseline.resolve())
        best, every = measure(outs, work, args.repeat, size)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"churn example{' ' + ' '.join(size) if size else ''}, best of {args.repeat}; "
          "seconds = sum of the steps' `seconds` in the JSON log")
    for name, cases in best.items():
        report(name, cases, every)
    return 0


if __name__ == "__main__":
    sys.exit(main())
