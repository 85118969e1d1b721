"""How much faster is `python -m PKG --help` than a start that imports the pipeline?

    python benchmarks/help_speed.py [NOTEBOOK ...] [--repeat 9]

Builds each notebook (default: the tagged examples) into a temporary folder,
then times, taking turns, two fresh processes per package:

- `help`: `python -m PKG --help`, as a user types it;
- `with pipeline`: the same `--help` after `import PKG.pipeline`, which is what
  every start cost before `__main__` carried its options as data (the
  notebook's libraries: pandas, scikit-learn, ...).

CPU is user+sys of the child (getrusage), steadier than wall time on a loaded
machine; one untimed run each fills a bytecode cache first (an installed
package runs compiled modules, whatever PYTHONDONTWRITEBYTECODE says here).
Prints the medians and their ratio per package. Not a test: nothing is
asserted (the tests check what is imported, never how long it takes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from checkout_cpu import cpu_ms  # a benchmark run as a script: its folder is on sys.path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = [ROOT / "examples" / f"{name}.ipynb"
            for name in ("churn", "pricing", "loans", "sales_etl", "kale_iris")]

WITH_PIPELINE = ("import runpy, sys; import {pkg}.pipeline; sys.argv = [{pkg!r}, '--help']; "
                 "runpy.run_module({pkg!r}, run_name='__main__', alter_sys=True)")


def build(notebook: Path, out: Path) -> str:
    """Build `notebook` into `out`; its import name."""
    subprocess.run([sys.executable, "-m", "nb2prod", "build", str(notebook), "-o", str(out),
                    "-q"], check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return next(p.parent.name for p in (out / "src").glob("*/__main__.py"))


def measure(pkg: str, src: Path, repeat: int, cache: str) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONPYCACHEPREFIX": cache}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package runs compiled modules
    variants = ([sys.executable, "-m", pkg, "--help"],
                [sys.executable, "-c", WITH_PIPELINE.format(pkg=pkg)])
    times: list[list[float]] = [[], []]
    for argv in variants:
        cpu_ms(argv, env)
    for _ in range(repeat):
        for i, argv in enumerate(variants):
            times[i].append(cpu_ms(argv, env))
    return statistics.median(times[0]), statistics.median(times[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, default=EXAMPLES)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        print(f"{'package':20s} {'help':>10s} {'with pipeline':>15s} {'ratio':>7s}")
        for i, notebook in enumerate(args.notebooks):
            out = Path(work, f"pkg{i}")
            pkg = build(notebook, out)
            fast, slow = measure(pkg, out / "src", args.repeat, str(Path(work, "pycache")))
            print(f"{pkg:20s} {fast:8.0f} ms {slow:12.0f} ms {fast / slow:7.3f}")


if __name__ == "__main__":
    main()
