"""Is `nb2prod build` linear in the size of a cell? CPU of a build, small cell against large.

    python benchmarks/build_scaling.py [--small 2000] [--large 20000] [--mb 5] [--rounds 3]

Writes one-cell notebooks of simple statements (`x123 = 123 + 1`, every name
new, so the step has as many values as lines) of --small and --large lines,
and one of about --mb megabytes, and builds each with `python -m nb2prod build
-o TMP -q` in a fresh process. The figure is the child's CPU time (user +
system, `resource.getrusage`), best of --rounds: on the shared 2-core machine
wall-clock time swings with the other processes, CPU time does not. Prints
each size's CPU and the large/small ratio; linear is a ratio near
large/small (10 by default), and issue 25 asks for under 10x. A build that
fails prints its last error line. Not a test (timing assertions would be
flaky): tests/test_hostile_fuzz.py builds a 20,000-line cell, bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cell_source(lines: int) -> str:
    return "".join(f"x{i} = {i} + 1\n" for i in range(lines))


def lines_for_megabytes(megabytes: float) -> int:
    per_line = len(cell_source(1000)) / 1000
    return int(megabytes * 1e6 / per_line)


def write_notebook(path: Path, source: str) -> Path:
    cell = {"cell_type": "code", "execution_count": None, "id": "big", "metadata": {},
            "outputs": [], "source": source}
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook = {"cells": [cell], "metadata": {"kernelspec": kernel},
                "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(notebook), encoding="utf-8")
    return path


def build_cpu(notebook: Path, out: Path) -> tuple[float, str]:
    """CPU seconds of one `nb2prod build` in a child process, and its last error line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "nb2prod", "build", str(notebook), "-o",
                           str(out), "-q", "--force"], capture_output=True, text=True, env=env,
                          check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    error = "" if done.returncode in (0, 1) else (done.stderr.strip().splitlines() or ["?"])[-1]
    return cpu, error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--large", type=int, default=20000)
    parser.add_argument("--mb", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    sizes = {"small": args.small, "large": args.large, "mb": lines_for_megabytes(args.mb)}
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        books = {k: write_notebook(folder / f"{k}.ipynb", cell_source(n))
                 for k, n in sizes.items()}
        for label, notebook in books.items():
            rounds = args.rounds if label != "mb" else 1
            for _ in range(rounds):
                cpu, error = build_cpu(notebook, folder / f"out-{label}")
                if error:
                    print(f"{label}: build failed: {error}")
                    return 1
                best[label] = min(best.get(label, cpu), cpu)
            size = notebook.stat().st_size / 1e6
            print(f"{label:>5}: {sizes[label]:>7} lines ({size:.2f} MB notebook): "
                  f"{best[label]:.2f} s CPU (best of {rounds})")
    ratio = best["large"] / best["small"]
    print(f"large/small: {ratio:.1f}x for {args.large / args.small:.0f}x the lines "
          f"(issue 25: under 10x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
