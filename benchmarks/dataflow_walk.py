"""How fast is the dataflow walk alone? CPU per corpus pass, against `ast.parse`.

    python benchmarks/dataflow_walk.py [--repeat 7] [--rounds 3] [--baseline CHECKOUT]

Reads the Python of every parsed code cell of ../shared/corpus and
../shared/realworld (IPython syntax split off, as `lint` does), parses each
once, then times, best of --repeat passes over all cells in each of --rounds
processes per checkout:

  parse      `ast.parse` of every cell (the floor's share of the work)
  flow       `analyze_cell(tree)` of every cell (what `build` runs)
  flow+facts `analyze_cell_with_facts(tree, source)` (what `lint` runs)
  nodes      `ast.walk` counts the nodes once (not timed), for the per-node cost

`--baseline CHECKOUT` runs the same passes with that checkout's nb2prod first
on sys.path, its processes interleaved with this checkout's: both rows come
from one run.
CPU is `time.process_time`; the garbage collector is frozen around the timed
passes (the trees are kept alive, as `lint` keeps them). Not a test.
"""

from __future__ import annotations

import argparse
import ast
import gc
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def cell_sources() -> list[str]:
    """The Python of every code cell that parses, in corpus order."""
    from nb2prod.analysis.analyze import analyze
    from nb2prod.errors import UserError
    from nb2prod.notebook import load_notebook

    sources = []
    for folder in ("corpus", "realworld"):
        for path in sorted((SHARED / folder).rglob("*.ipynb")):
            try:
                notebook = load_notebook(path, validate=False)
            except UserError:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sources += [c.code.python for c in analyze(notebook).cells if c.tree]
    return sources


def best_cpu(run, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return min(times)


def measure(sources: list[str], repeat: int) -> dict[str, float]:
    from nb2prod.analysis.dataflow import analyze_cell
    from nb2prod.analysis.facts import analyze_cell_with_facts

    trees = [ast.parse(s) for s in sources]
    pairs = list(zip(trees, sources))
    gc.collect()
    gc.freeze()
    try:
        return {
            "parse": best_cpu(lambda: [ast.parse(s) for s in sources], repeat),
            "flow": best_cpu(lambda: [analyze_cell(t) for t in trees], repeat),
            "flow+facts": best_cpu(
                lambda: [analyze_cell_with_facts(t, s) for t, s in pairs], repeat),
            "nodes": sum(1 for t in trees for _ in ast.walk(t)),
            "cells": len(trees),
        }
    finally:
        gc.unfreeze()


def child(checkout: Path, listing: Path, repeat: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run([sys.executable, "-P", __file__, "--sources", str(listing), "--repeat",
                          str(repeat)], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3, help="processes per checkout")
    parser.add_argument("--baseline", type=Path, help="a checkout of nb2prod to compare with")
    parser.add_argument("--sources", type=Path, help=argparse.SUPPRESS)  # the child's input
    args = parser.parse_args(argv)
    if args.sources:  # one measuring process: print its numbers as JSON
        print(json.dumps(measure(json.loads(args.sources.read_text()), args.repeat)))
        return 0
    checkouts = {"this checkout": REPO}
    if args.baseline:
        checkouts["baseline"] = args.baseline.resolve()
    listing = Path(os.environ.get("TMPDIR", "/tmp")) / f"dataflow-walk-{os.getpid()}.json"
    listing.write_text(json.dumps(cell_sources()))
    results: dict[str, dict[str, float]] = {}
    try:
        for _ in range(args.rounds):  # interleaved: a busy moment hits both alike
            for label, checkout in checkouts.items():
                found = child(checkout, listing, args.repeat)
                best = results.setdefault(label, found)
                for key, value in found.items():
                    best[key] = min(best[key], value)
    finally:
        listing.unlink()
    first = results["this checkout"]
    print(f"{first['cells']} cells, {first['nodes']} nodes; CPU ms, best of "
          f"{args.rounds} processes x {args.repeat} passes, interleaved")
    print(f"{'':<14} {'parse':>7} {'flow':>7} {'flow+facts':>10} {'x parse':>8} {'ns/node':>8}")
    for label, r in results.items():
        print(f"{label:<14} {1000 * r['parse']:>7.1f} {1000 * r['flow']:>7.1f} "
              f"{1000 * r['flow+facts']:>10.1f} {r['flow+facts'] / r['parse']:>8.2f} "
              f"{1e9 * r['flow+facts'] / r['nodes']:>8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
