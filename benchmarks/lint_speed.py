"""How fast is `nb2prod lint`? Ratios against a floor measured in the same run.

    python benchmarks/lint_speed.py [--repeat 5] [--large 600] [--generated 0]
                                    [--baseline CHECKOUT] [--keep DIR]

Builds two corpora of symbolic links in a temporary directory:

  shared     every notebook of ../shared/corpus and ../shared/realworld
  large      --large links (default 600) cycling through those, under new names
             (plus --generated notebooks shaped like the survey's generator,
             docs: ../shared/anchors/notebook-linters.md, section 4)

and times, each as one fresh process, interleaved (every case once, then
again, --repeat times; best of N, so a busy moment on a shared machine hits
all cases alike):

  floor      one process: json.load each file and ast.parse each code cell
             (%/! lines commented out; v3 worksheets read too)
  floor + ast.walk  the same, visiting every node of every tree once (doing
             nothing): with nb2prod lint's start-up, the lower bound of any
             linter written in Python, printed before the targets
  cold       `nb2prod lint DIR --no-cache` (text report, as the issue times it)
             with --jobs 1 (both corpora) and --jobs 2 (large)
  warm       `nb2prod lint DIR --jobs 1` after one untimed run filled the cache
  start-up   `python -c pass`, `nb2prod lint` on one small notebook, cold and
             warm, and the modules that run imports (typer, nbformat, jinja2: none)
  ruff       `ruff check --isolated --no-cache` (when installed)

CPU is user+sys of the process and its workers (getrusage of children):
steadier than wall time on a loaded machine, and what the targets are
judged by here. Targets (issue 16): cold --jobs 1 within 1.5x the floor,
cold --jobs 2 on the large corpus below the floor (wall: two processes
share the work). `--baseline CHECKOUT` runs the lint cases a second time
with that checkout's nb2prod first on PYTHONPATH (e.g. a `git worktree` of
an older commit), in the same interleaving. Every process gets one bytecode
cache folder (PYTHONPYCACHEPREFIX), filled by an untimed run: users run
compiled modules. Not a test: nothing is asserted.
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
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SOURCES = ("corpus", "realworld")

FLOOR = r"""
import ast, json, os, sys
for top in sys.argv[1:]:
    for folder, _, names in sorted(os.walk(top)):
        for name in sorted(names):
            if not name.endswith(".ipynb"):
                continue
            try:
                with open(os.path.join(folder, name), encoding="utf-8") as fh:
                    nb = json.load(fh)
            except ValueError:
                continue
            cells = nb.get("cells")
            if cells is None:
                cells = [c for ws in nb.get("worksheets", []) for c in ws.get("cells", [])]
            for cell in cells:
                if cell.get("cell_type") != "code":
                    continue
                src = cell.get("source", cell.get("input", ""))
                src = "".join(src) if isinstance(src, list) else src
                lines = ["#" + l if l.lstrip().startswith(("%", "!")) else l
                         for l in src.split("\n")]
                try:
                    ast.parse("\n".join(lines))
                except (SyntaxError, ValueError):
                    pass
"""

FLOOR_WALK = FLOOR.replace('ast.parse("\\n".join(lines))',
                           'for _ in ast.walk(ast.parse("\\n".join(lines))): pass')
"""The floor, plus one visit of every syntax node in Python (ast.walk, doing nothing):
the least a linter written in Python does on top of the floor, before any rule."""
assert FLOOR_WALK != FLOOR

SMALL = {"cells": [
    {"cell_type": "markdown", "metadata": {}, "source": "# Small"},
    {"cell_type": "code", "execution_count": 1, "metadata": {"tags": ["parameters"]},
     "outputs": [], "source": "import pandas as pd\nrows = 10"},
    {"cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": [],
     "source": "df = pd.DataFrame({'x': range(rows)})\ndf.describe()"}],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5}
"""The one small notebook of the start-up cases."""


@dataclass(frozen=True)
class Case:
    name: str
    argv: list[str]
    corpus: str = ""  # the floor of this corpus is its reference
    env: dict[str, str] = field(default_factory=dict)
    warmup: int = 0  # untimed runs first (to fill a cache)


def shared_notebooks() -> list[Path]:
    return [p for source in SOURCES if (SHARED / source).is_dir()
            for p in sorted((SHARED / source).rglob("*.ipynb"))]


def build_corpora(folder: Path, large: int, generated: int) -> dict[str, Path]:
    """`shared` and `large`, as symbolic links (nothing is copied)."""
    shared, big = folder / "shared", folder / "large"
    notebooks = shared_notebooks()
    for path in notebooks:
        link = shared / path.relative_to(SHARED)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(path)
    for n in range(large if notebooks else 0):
        source = notebooks[n % len(notebooks)]
        link = big / f"part{n // 100}" / f"nb{n:04d}_{source.name}"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(source)
    if generated:
        write_generated(big / "generated", generated)
    return {"shared": shared, "large": big}


def cases(corpora: dict[str, Path], work: Path, baseline: Path | None) -> list[Case]:
    """Every timed case, floors first (the ratios' denominators)."""
    found = [Case(f"floor {name}", [sys.executable, "-c", FLOOR, str(path)], name)
             for name, path in corpora.items()]
    found += [Case(f"floor + ast.walk {name}", [sys.executable, "-c", FLOOR_WALK, str(path)],
                   name) for name, path in corpora.items()]
    for label, env in (("", {}), (" [baseline]", {"PYTHONPATH": str(baseline)})):
        if label and baseline is None:
            continue
        for corpus, jobs in (("shared", 1), ("large", 1), ("large", 2)):
            found.append(Case(f"cold --jobs {jobs} {corpus}{label}",
                              [*_lint(corpora[corpus]), "--jobs", str(jobs), "--no-cache"],
                              corpus, env))
        found.append(Case(f"warm --jobs 1 shared{label}", [*_lint(corpora["shared"]), "-j1"],
                          "shared", {**env, "NB2PROD_CACHE_DIR": str(work / f"cache{label}")},
                          warmup=1))
    ruff = _ruff()
    if ruff:
        found.append(Case("ruff check --no-cache shared", [*ruff, "check", "--isolated",
                          "--exit-zero", "--quiet", "--no-cache", str(corpora["shared"])],
                          "shared"))
    return found


def startup_cases(work: Path, baseline: Path | None) -> list[Case]:
    small = work / "small.ipynb"
    small.write_text(json.dumps(SMALL, indent=1), encoding="utf-8")
    one = [*_lint(small), "-j1"]
    found = [Case("python -c pass", [sys.executable, "-c", "pass"])]
    for label, env in (("", {}), (" [baseline]", {"PYTHONPATH": str(baseline)})):
        if label and baseline is None:
            continue
        found += [Case(f"lint 1 small notebook, cold{label}", [*one, "--no-cache"], env=env),
                  Case(f"lint 1 small notebook, warm{label}", one, warmup=1, env={
                      **env, "NB2PROD_CACHE_DIR": str(work / f"cache-one{label}")}),
                  Case(f"nb2prod lint --help{label}",
                       [sys.executable, "-m", "nb2prod", "lint", "--help"], env=env)]
    return found


def _lint(path: Path) -> list[str]:
    return [sys.executable, "-m", "nb2prod", "lint", str(path)]  # the default text report


def _ruff() -> list[str] | None:
    beside = Path(sys.executable).with_name("ruff")
    found = str(beside) if beside.exists() else shutil.which("ruff")
    return [found] if found else None


def run_once(case: Case, env: dict[str, str]) -> tuple[float, float]:
    """(wall, cpu) seconds; cpu is user+sys of the process and its children. The working
    directory is the corpora's folder: `python -m` puts it first on sys.path, so it must
    not hold an nb2prod (the baseline's PYTHONPATH would lose to the checkout's)."""
    before = _children_cpu()
    start = time.perf_counter()
    subprocess.run(case.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**env, **case.env}, cwd=env["NB2PROD_BENCH_DIR"], check=False)
    return time.perf_counter() - start, _children_cpu() - before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(all_cases: list[Case], repeat: int, env: dict[str, str]) -> dict[str, list]:
    """Interleaved: each case once per round, `repeat` rounds."""
    for case in all_cases:
        for _ in range(case.warmup + 1):  # + 1: fills the bytecode cache
            run_once(case, env)
    runs: dict[str, list] = {case.name: [] for case in all_cases}
    for _ in range(repeat):
        for case in all_cases:
            runs[case.name].append(run_once(case, env))
    return runs


def imported_modules(small: Path, env: dict[str, str]) -> list[str]:
    """Top-level packages `nb2prod lint` imports on one small notebook (-X importtime)."""
    argv = [sys.executable, "-X", "importtime", *_lint(small)[1:], "--no-cache"]
    err = subprocess.run(argv, capture_output=True, text=True, env=env,
                         cwd=env["NB2PROD_BENCH_DIR"], check=False).stderr
    names = [line.split("|")[-1].strip() for line in err.splitlines()
             if line.startswith("import time:") and "|" in line]
    return [n for n in names if n and n != "imported package"]


def report(all_cases: list[Case], runs: dict[str, list], counts: dict[str, int]) -> None:
    floors = {c.corpus: runs[c.name] for c in all_cases if c.name == f"floor {c.corpus}"}
    print(f"{'case':<34} {'wall s':>7} {'median':>7} {'cpu s':>7} {'cpu ms/nb':>9} "
          f"{'wall x':>7} {'cpu x':>6}")
    for case in all_cases:
        wall, cpu = _best(runs[case.name])
        median = statistics.median(w for w, _ in runs[case.name])
        if case.corpus:
            floor_wall, floor_cpu = _best(floors[case.corpus])
            per = 1000 * cpu / counts[case.corpus]
            print(f"{case.name:<34} {wall:>7.3f} {median:>7.3f} {cpu:>7.3f} {per:>9.2f} "
                  f"{wall / floor_wall:>7.2f} {cpu / floor_cpu:>6.2f}")
        else:
            print(f"{case.name:<34} {wall:>7.3f} {median:>7.3f} {cpu:>7.3f}")


def targets(runs: dict[str, list]) -> None:
    start_up = _best(runs["lint 1 small notebook, cold"])[1] - _best(runs["python -c pass"])[1]
    print("lower bound of a linter in Python (the floor, one ast.walk of every tree, and "
          "nb2prod lint's start-up beyond `python -c pass`; no rule at all):")
    for corpus in ("shared", "large"):
        floor, walk = (_best(runs[f"{case} {corpus}"])[1] for case in ("floor", "floor + ast.walk"))
        print(f"  {corpus}: walk {walk / floor:.2f}x the floor's CPU, with start-up "
              f"{(walk + start_up) / floor:.2f}x")
    print("targets (issue 16):")
    for label in ("", " [baseline]"):
        one = runs.get(f"cold --jobs 1 shared{label}")
        if one is None:
            continue
        ratio = _best(one)[1] / _best(runs["floor shared"])[1]
        print(f"  cold --jobs 1 shared{label}: {ratio:.2f}x the floor's CPU "
              f"({'met' if ratio <= 1.5 else 'NOT met'}: within 1.5x)")
        large = _best(runs["floor large"])
        for jobs in (1, 2):
            wall, cpu = _best(runs[f"cold --jobs {jobs} large{label}"])
            print(f"  cold --jobs {jobs} large{label}: {cpu / large[1]:.2f}x CPU, "
                  f"{wall / large[0]:.2f}x wall"
                  + (f" ({'met' if wall < large[0] else 'NOT met'}: wall below the floor)"
                     if jobs == 2 else ""))


def _best(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return min(w for w, _ in runs), min(c for _, c in runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--large", type=int, default=600, help="links in the large corpus")
    parser.add_argument("--generated", type=int, default=0,
                        help="synthetic notebooks added to the large corpus")
    parser.add_argument("--baseline", type=Path, help="a checkout of nb2prod to compare with")
    parser.add_argument("--keep", type=Path, help="build the corpora here and keep them")
    args = parser.parse_args(argv)
    if not shared_notebooks():
        print("no notebooks in ../shared/corpus or ../shared/realworld", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(PYTHONPATH=str(REPO), PYTHONPYCACHEPREFIX=str(Path(tmp) / "pycache"),
                   NB2PROD_BENCH_DIR=str(work))
        corpora = build_corpora(work, args.large, args.generated)
        counts = {name: sum(1 for _ in path.rglob("*.ipynb")) for name, path in corpora.items()}
        print(f"corpora: shared {counts['shared']} notebooks, large {counts['large']}; "
              f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; best of {args.repeat}, "
              "interleaved")
        baseline = args.baseline.resolve() if args.baseline else None
        timed = cases(corpora, work, baseline)
        startup = startup_cases(work, baseline)
        runs = measure([*timed, *startup], args.repeat, env)
        modules = imported_modules(work / "small.ipynb", env)
    report(timed, runs, counts)
    report(startup, runs, counts)
    heavy = sorted({m.split(".")[0] for m in modules} & {"typer", "click", "nbformat",
                                                          "jinja2", "nbconvert", "rich"})
    print(f"lint 1 small notebook imports {len(modules)} modules; heavy: "
          f"{', '.join(heavy) or 'none'}")
    targets(runs)
    return 0


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
                "        self.coef_ = [self.alpha * x for x in X]\n        return self\n")
    if kind == 4:
        return (f"path = '/home/user/data/file_{i}.csv'\nunused_{i} = 3\nfor j in range(3):\n"
                f"    x = j * {i}\nx")
    return f"%matplotlib inline\nvalues = [random_value for random_value in range({i})]"


def write_generated(folder: Path, count: int) -> None:
    """`count` notebooks of 30 code cells; an image in every 10th, shuffled counts in every 5th."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(42)
    png = base64.b64encode(rng.randbytes(37_500)).decode()
    for n in range(count):
        order = list(range(30))
        if n % 5 == 0:
            rng.shuffle(order)
        cells = [{"cell_type": "markdown", "metadata": {}, "source": f"# Notebook {n}"}]
        for k, i in enumerate(order):
            outputs = [{"output_type": "stream", "name": "stdout", "text": [f"{i * 123}\n"]}
                       ] if k % 6 == 2 else []
            cells.append({"cell_type": "code", "metadata": {}, "outputs": outputs,
                          "execution_count": i + 1 if k % 7 else None,
                          "source": _code_source(i, k, rng)})
        if n % 10 == 0:
            cells.append({"cell_type": "code", "metadata": {}, "execution_count": 99,
                          "source": "plt.plot([1, 2, 3])", "outputs": [
                              {"output_type": "display_data", "metadata": {},
                               "data": {"image/png": png, "text/plain": ["<Figure>"]}}]})
        notebook = {**SMALL, "cells": cells}
        (folder / f"nb_{n:03d}.ipynb").write_text(json.dumps(notebook, indent=1))


if __name__ == "__main__":
    sys.exit(main())
