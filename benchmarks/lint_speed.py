"""How fast is `nb2prod lint`? Ratios against baselines measured in the same run.

    python benchmarks/lint_speed.py [--generated 200] [--repeat 3] [--keep DIR]

Builds a corpus in a temporary directory: every readable notebook of
../shared/corpus plus generated notebooks shaped like the survey's generator
(docs: ../shared/anchors/notebook-linters.md, section 4: 30 code cells, an
absolute path, shuffled execution counts, a 50 KB image in every 10th).
Then times, each as one fresh process on the whole corpus, best of N:

  floor      json.load + ast.parse of every code cell (%/! lines commented)
  cold       `nb2prod lint --no-cache --jobs 1`, and `--jobs 2`
  warm       the same without --no-cache, after one untimed run filled the cache
             (a fresh cache folder per case, via NB2PROD_CACHE_DIR)
  ruff       `ruff check --isolated`, without and with its cache (when installed;
             --isolated: the repository's ruff config excludes notebooks)
  nbqa       `nbqa pyflakes` (when installed)

and prints, per case, wall and CPU seconds (user+sys of the process and its
workers, read with getrusage: steadier than wall time on a shared machine),
ms per notebook, and the ratios to the floor measured in the same run.
Targets: --jobs 1 within 1.5x the floor, --jobs 2 faster than the floor.
Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_CORPUS = REPO.parent / "shared" / "corpus"

FLOOR = r"""
import ast, json, sys
from pathlib import Path
for path in Path(sys.argv[1]).rglob("*.ipynb"):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        lines = ["#" + l if l.lstrip().startswith(("%", "!")) else l for l in src.split("\n")]
        try:
            ast.parse("\n".join(lines))
        except SyntaxError:
            pass
"""

IMPORTS = ["import os", "import sys", "import json", "import numpy as np",
           "import pandas as pd", "import matplotlib.pyplot as plt", "from pathlib import Path",
           "import re", "import collections", "from typing import List, Dict"]


def _code_source(i: int, k: int, rng: random.Random) -> str:
    kind = k % 6
    if kind == 0:
        return "\n".join(rng.sample(IMPORTS, 3))
    if kind == 1:
        return (f"def transform_{i}(df, col='x'):\n    \"\"\"Transform step {i}.\"\"\"\n"
                f"    out = df.copy()\n    out[col] = out[col] * {i} + 1\n"
                "    if len(out) > 10:\n        out = out.head(10)\n    return out\n")
    if kind == 2:
        return (f"data_{i} = {{'x': list(range({i}, {i}+20)), 'y': [v**2 for v in range(20)]}}"
                f"\nresult_{i} = sum(data_{i}['y'])\nprint(result_{i})")
    if kind == 3:
        return (f"class Model{i}:\n    def __init__(self, alpha={i / 10}):\n"
                "        self.alpha = alpha\n    def fit(self, X, y):\n"
                "        self.coef_ = [self.alpha * x for x in X]\n        return self\n"
                "    def predict(self, X):\n        return [c * x for c, x in zip(self.coef_, X)]\n")
    if kind == 4:
        return (f"path = '/home/user/data/file_{i}.csv'\nunused_{i} = 3\nfor j in range(3):\n"
                f"    x = j * {i}\nx")
    return f"%matplotlib inline\nvalues = [random_value for random_value in range({i})]\nlen(values)"


def _cell(kind: str, source: str, **extra) -> dict:
    return {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True),
            **extra}


def generated_notebook(n: int, rng: random.Random, png: str) -> dict:
    cells = [_cell("markdown", f"# Notebook {n}\n\nAnalysis of dataset {n}.")]
    order = list(range(30))
    if n % 5 == 0:
        rng.shuffle(order)
    for k in range(30):
        i = order[k]
        outputs = []
        if k % 6 == 2:
            outputs = [{"output_type": "stream", "name": "stdout", "text": [f"{i * 123}\n"]}]
        elif k % 6 == 4:
            outputs = [{"output_type": "execute_result", "execution_count": i + 1,
                        "metadata": {}, "data": {"text/plain": [str(i)]}}]
        cells.append(_cell("code", _code_source(i, k, rng),
                           execution_count=i + 1 if k % 7 else None, outputs=outputs))
        if k % 5 == 4:
            cells.append(_cell("markdown", f"## Section {k // 5}\nSome *explanation* for {k}."))
    if n % 10 == 0:
        cells.append(_cell("code", "plt.plot([1,2,3])\nplt.show()", execution_count=99, outputs=[
            {"output_type": "display_data", "metadata": {},
             "data": {"image/png": png, "text/plain": ["<Figure size 640x480>"]}}]))
    if n % 17 == 0:
        cells.append(_cell("code", "", execution_count=None, outputs=[]))
    return {"cells": cells, "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python", "version": "3.11.7"}},
        "nbformat": 4, "nbformat_minor": 4}


def build_corpus(folder: Path, generated: int) -> tuple[int, int]:
    copied = 0
    for path in sorted(SHARED_CORPUS.rglob("*.ipynb")) if SHARED_CORPUS.is_dir() else []:
        try:
            if "cells" not in json.loads(path.read_text(encoding="utf-8")):
                continue  # the floor reads v4 only; keep the comparison fair
        except (ValueError, UnicodeDecodeError):
            continue
        target = folder / "shared" / path.relative_to(SHARED_CORPUS)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        copied += 1
    rng = random.Random(42)
    png = base64.b64encode(rng.randbytes(37_500)).decode()
    (folder / "generated").mkdir(parents=True, exist_ok=True)
    for n in range(generated):
        text = json.dumps(generated_notebook(n, rng, png), indent=1)
        (folder / "generated" / f"nb_{n:03d}.ipynb").write_text(text)
    return copied, generated


Case = tuple[str, list[str], dict[str, str], int]
"""name, command, extra environment, untimed runs before timing (to fill caches)."""


def commands(corpus: Path, caches: Path) -> list[Case]:
    lint = [sys.executable, "-m", "nb2prod.cli", "lint", str(corpus), "--format", "json"]
    found: list[Case] = [("floor (json+ast, 1 process)", [sys.executable, "-c", FLOOR,
                                                           str(corpus)], {}, 0)]
    for jobs in ("1", "2"):
        found.append((f"nb2prod --jobs {jobs} cold", [*lint, "--jobs", jobs, "--no-cache"],
                      {}, 0))
    for jobs in ("1", "2"):
        env = {"NB2PROD_CACHE_DIR": str(caches / f"jobs{jobs}")}
        found.append((f"nb2prod --jobs {jobs} warm", [*lint, "--jobs", jobs], env, 1))
    if shutil.which("ruff"):
        ruff = ["ruff", "check", "--isolated", "--exit-zero", "--quiet"]
        found.append(("ruff check --no-cache", [*ruff, "--no-cache", str(corpus)], {}, 0))
        found.append(("ruff check (cache warm)",
                      [*ruff, "--cache-dir", str(caches / "ruff"), str(corpus)], {}, 1))
    if shutil.which("nbqa") and _has_module("pyflakes"):
        found.append(("nbqa pyflakes", ["nbqa", "pyflakes", str(corpus)], {}, 0))
    return found


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def measure(argv: list[str], repeat: int, extra: dict[str, str] | None = None,
            warmup: int = 0) -> list[tuple[float, float]]:
    """(wall, cpu) seconds of each run; cpu is user+sys of the process and its children."""
    env = {**os.environ, "PYTHONPATH": str(REPO), **(extra or {})}
    for _ in range(warmup):
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                       cwd=REPO, check=False)
    runs = []
    for _ in range(repeat):
        before = _children_cpu()
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                       cwd=REPO, check=False)
        runs.append((time.perf_counter() - start, _children_cpu() - before))
    return runs


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--generated", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build the corpus here and keep it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as caches:
        corpus = args.keep or Path(tmp)
        copied, generated = build_corpus(corpus, args.generated)
        total = copied + generated
        size = sum(p.stat().st_size for p in corpus.rglob("*.ipynb")) / 1e6
        print(f"corpus: {copied} shared + {generated} generated = {total} notebooks, "
              f"{size:.1f} MB; {os.cpu_count()} cores; best and median of {args.repeat}")
        rows = [(name, measure(cmd, args.repeat, env, warmup))
                for name, cmd, env, warmup in commands(corpus, Path(caches))]
        one = next(corpus.rglob("*.ipynb"))
        lint_one = [sys.executable, "-m", "nb2prod.cli", "lint", str(one), "--format", "json",
                    "--jobs", "1"]
        startup = [("python -c pass", measure([sys.executable, "-c", "pass"], args.repeat)),
                   ("lint 1 notebook, cold", measure([*lint_one, "--no-cache"], args.repeat)),
                   ("lint 1 notebook, warm", measure(
                       lint_one, args.repeat, {"NB2PROD_CACHE_DIR": str(Path(caches) / "one")},
                       warmup=1))]
    floor_wall = min(w for w, _ in rows[0][1])
    floor_cpu = min(c for _, c in rows[0][1])
    print(f"{'case':<30} {'wall s':>7} {'median':>7} {'cpu s':>7} {'cpu ms/nb':>9} "
          f"{'wall x':>7} {'cpu x':>6}")
    for name, runs in rows:
        wall, cpu = min(w for w, _ in runs), min(c for _, c in runs)
        print(f"{name:<30} {wall:>7.3f} {statistics.median(w for w, _ in runs):>7.3f} "
              f"{cpu:>7.3f} {1000 * cpu / total:>9.2f} {wall / floor_wall:>7.2f} "
              f"{cpu / floor_cpu:>6.2f}")
    for name, runs in startup:
        print(f"startup: {name:<24} {min(w for w, _ in runs):.3f} s wall, "
              f"{min(c for _, c in runs):.3f} s cpu")
    print("ratios to the floor (best wall, best cpu):")
    for name, runs in rows[1:]:
        wall, cpu = min(w for w, _ in runs), min(c for _, c in runs)
        print(f"  {name}/floor: {wall / floor_wall:.2f}x wall, {cpu / floor_cpu:.2f}x cpu")
    best = {name: min(w for w, _ in runs) / floor_wall for name, runs in rows}
    print("targets (best wall):")
    for state in ("cold", "warm"):
        one, two = best[f"nb2prod --jobs 1 {state}"], best[f"nb2prod --jobs 2 {state}"]
        print(f"  {state}: --jobs 1 within 1.5x the floor: {one:.2f}x "
              f"{'met' if one <= 1.5 else 'NOT met'}; --jobs 2 faster than the floor: "
              f"{two:.2f}x {'met' if two < 1.0 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
