"""Does a change pay? CPU of one whole `nb2prod` command under several checkouts.

    python benchmarks/checkout_cpu.py CHECKOUT[,CHECKOUT...] [--repeat 15] -- lint DIR --no-cache

Each checkout is put first on PYTHONPATH of a fresh `python -m nb2prod ...`
process; the checkouts take turns (every one once, then again, --repeat
times), so a busy moment on a shared machine hits them alike. One untimed
run each fills a shared bytecode cache first (users run compiled modules).
CPU is user+sys of the child (getrusage), steadier than wall time on a loaded
machine. Prints the median and the minimum per checkout and the median's
ratio to the first checkout's: the number an optimisation in shared code must
beat by 5% to stay (DESIGN.md, issue 21). Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile


def cpu_ms(argv: list[str], env: dict[str, str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return 1000 * (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", help="comma-separated folders holding nb2prod/")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="after --: the nb2prod arguments")
    args = parser.parse_args()
    command = [a for a in args.command if a != "--"]
    checkouts = args.checkouts.split(",")
    times: dict[str, list[float]] = {c: [] for c in checkouts}
    with tempfile.TemporaryDirectory() as cache:
        envs = {c: {**os.environ, "PYTHONPATH": c, "PYTHONPYCACHEPREFIX": cache}
                for c in checkouts}
        argv = [sys.executable, "-m", "nb2prod", *command]
        for checkout in checkouts:
            cpu_ms(argv, envs[checkout])
        for _ in range(args.repeat):
            for checkout in checkouts:
                times[checkout].append(cpu_ms(argv, envs[checkout]))
    first = statistics.median(times[checkouts[0]])
    for checkout in checkouts:
        median = statistics.median(times[checkout])
        print(f"{checkout:40s} median {median:8.1f} ms  min {min(times[checkout]):8.1f} ms"
              f"  x{median / first:.3f}")


if __name__ == "__main__":
    main()
