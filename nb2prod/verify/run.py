"""`verify`: run the notebook and the package built from it, compare what they compute.

The package is built into a temporary directory by the core build
(`nb2prod.build`, as `nb2prod build` does: plan, refusals, render, write). The notebook runs top to bottom in an
ipykernel through nbclient, with `skip` cells left out and parameter overrides
injected papermill-style right after the `parameters` cell. The package runs in
a fresh interpreter as `python -m PKG --PARAM V --metrics-out FILE`. Both sides
capture the same names (the metrics, or the last step's outputs when there is no
metrics cell) with the same encoder (`encode_value`), so the comparison sees
type, dtype, shape and values on both sides alike. nbclient is imported lazily:
`build` and `lint` must not need it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nb2prod.errors import UserError
from nb2prod.places import origin
from nb2prod.plan.records import Param, Plan
from nb2prod.problems import ERROR
from nb2prod.verify.values import (  # noqa: F401  (re-exported: verify's public API)
    CAPTURE_SOURCE,
    Tolerance,
    capture_code,
    compare,
    dump_values,
    encode_value,
    how_compared,
    numbers_close,
    unchecked_reason,
)

MATCH, DIFFERS, MISSING = "match", "differs", "missing"
NONDETERMINISTIC, UNCHECKED = "nondeterministic", "unchecked"
FAILING = (DIFFERS, MISSING, NONDETERMINISTIC)
KERNEL = "python3"  # its spec says `python`, which jupyter_client runs as sys.executable
MISSING_DEPS = "verify needs the optional dependencies: pip install 'nb2prod[verify]'"
NOTHING_TO_COMPARE = ("nothing to compare (no metrics cell, no step outputs): "
                      "checked only that both sides run")
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colours in ipykernel tracebacks
SEED_HINT = "set a seed (random.seed, np.random.default_rng(seed), random_state=seed)"


@dataclass(frozen=True)
class VerifyOptions:
    notebook: Path  # or a project.Project: several notebooks run in order
    params: tuple[str, ...] = ()  # NAME=VALUE, as typed
    tolerance: Tolerance = field(default_factory=Tolerance)
    timeout: int = 600  # seconds per notebook cell, and for the whole package run
    runs: int = 1
    name: str | None = None
    progress: Callable[[str], None] | None = None  # told what starts; the CLI's terminal


@dataclass(frozen=True)
class Row:
    name: str
    notebook: object  # encoded value of the first run, None when missing
    package: object
    verdict: str
    detail: str = ""
    compared: str = ""  # how: "exactly", "within rtol/atol", "get_params() and ..."


@dataclass(frozen=True)
class Outcome:
    notebook: str
    package: str
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()
    build_errors: int = 0  # the package leaves out what they name: never a pass

    @property
    def exit_code(self) -> int:
        failing = self.build_errors or any(r.verdict in FAILING for r in self.rows)
        return 1 if failing else 0


class RunFailure(UserError):
    """One side could not run: the notebook cell and its error, or the package's stderr."""

    def __init__(self, side: str, message: str, *, cell: int | None = None,
                 detail: str = "", path: Path | str | None = None) -> None:
        super().__init__(f"the {side} could not run: {message}", path=path, cell=cell,
                         exit_code=2)
        self.side = side
        self.detail = detail


# --- parameters -------------------------------------------------------------------------

BOOL_WORDS = {"true": True, "yes": True, "on": True, "1": True,
              "false": False, "no": False, "off": False, "0": False}


def _json_of(kind: type):
    def parse(text: str):
        value = json.loads(text)
        if not isinstance(value, kind):
            raise TypeError(f"expected a JSON {kind.__name__}")
        return value
    return parse


def _bool(text: str) -> bool:
    try:
        return BOOL_WORDS[text.strip().lower()]
    except KeyError:
        raise ValueError("expected true or false") from None


COERCE = {
    "int": int, "float": float, "str": str, "bool": _bool,
    "list": _json_of(list), "dict": _json_of(dict),
    "str | None": lambda text: None if text in ("None", "null") else text,
}
"""Param.type_name -> parser of the text after `=`; the generated CLI parses alike."""


def parse_overrides(raw: tuple[str, ...], params: tuple[Param, ...]) -> tuple[tuple[Param, object], ...]:
    """`NAME=VALUE` strings -> (Param, typed value); the CLI spelling `n-customers` works too."""
    by_name = {p.name: p for p in params} | {p.cli.lstrip("-"): p for p in params}
    overrides: dict[str, tuple[Param, object]] = {}
    for item in raw:
        key, sep, text = item.partition("=")
        if not sep:
            raise UserError(f"--param {item!r}: expected NAME=VALUE")
        param = by_name.get(key.strip())
        if param is None:
            known = ", ".join(p.name for p in params) or "none (no parameters cell)"
            raise UserError(f"--param {key!r}: the notebook has no such parameter; known: {known}")
        if param.file:  # the notebook reads its literal: both sides must read one file
            raise UserError(f"--param {key!r}: a data file the notebook reads by its path "
                            f"({param.file}); verify runs both sides on that file")
        try:
            value = COERCE.get(param.type_name, str)(text)
        except (ValueError, TypeError) as exc:
            raise UserError(f"--param {item!r}: not a valid {param.type_name} ({exc})") from None
        overrides[param.name] = (param, value)
    return tuple(overrides.values())


def package_args(overrides: tuple[tuple[Param, object], ...]) -> list[str]:
    """The generated `__main__` options for the overrides (argparse spelling)."""
    args: list[str] = []
    for param, value in overrides:
        if param.type_name == "bool":
            args.append(param.cli if value else "--no-" + param.cli.lstrip("-"))
        elif value is None:
            if param.default != "None":
                raise UserError(f"--param {param.name}=None cannot be passed to the package CLI")
        elif param.type_name in ("list", "dict"):
            args += [param.cli, json.dumps(value)]
        else:
            args += [param.cli, str(value)]
    return args


def classify(name: str, notebook_runs: list[dict], package_runs: list[dict],
             tol: Tolerance) -> Row:
    """One verdict: missing, nondeterministic (changes between runs of a side), match..."""
    first_nb = notebook_runs[0].get(name)
    first_pkg = package_runs[0].get(name)
    absent = [side for side, runs in (("notebook", notebook_runs), ("package", package_runs))
              if name not in runs[0]]
    if absent:
        return Row(name, first_nb, first_pkg, MISSING, f"not produced by the {' and '.join(absent)}")
    for side, runs in (("notebook", notebook_runs), ("package", package_runs)):
        for again in runs[1:]:
            change = MISSING if name not in again else compare(runs[0][name], again[name], tol)
            if change:
                return Row(name, first_nb, first_pkg, NONDETERMINISTIC,
                           f"the {side} gives a different value on another run ({change}); "
                           f"{SEED_HINT}")
    difference = compare(first_nb, first_pkg, tol)
    compared = how_compared(first_nb)
    if difference:
        return Row(name, first_nb, first_pkg, DIFFERS, difference, compared)
    reason = unchecked_reason(first_nb)
    if reason:
        return Row(name, first_nb, first_pkg, UNCHECKED, reason, "not compared")
    return Row(name, first_nb, first_pkg, MATCH, compared=compared)


# --- running both sides -----------------------------------------------------------------

def run_verify(options: VerifyOptions) -> Outcome:
    """Build, run both sides `options.runs` times, compare; RunFailure when a side fails.
    The package is built by the core build, so whatever `build` refuses, verify refuses."""
    from nb2prod.build import BuildOptions, build
    from nb2prod.project import load_source, source_folder

    if options.runs < 1:
        raise UserError("--runs must be at least 1")
    cwd = source_folder(options.notebook)
    with tempfile.TemporaryDirectory(prefix="nb2prod-verify-") as tmp:
        root = Path(tmp)
        plan = build(options.notebook, BuildOptions(name=options.name,
                                                    output=root / "build")).plan
        overrides = parse_overrides(options.params, plan.params)
        names = plan.metrics or plan.results
        notebook = load_source(options.notebook)
        tell = options.progress or (lambda text: None)
        runs = []
        for i in range(options.runs):
            tell(f"built {plan.dist_name}; running the notebook and the package"
                 + (f" (run {i + 1} of {options.runs})" if options.runs > 1 else ""))
            runs.append(_run_both(plan, notebook, overrides, names, root / f"run{i}", cwd,
                                  options))
    nb_runs, pkg_runs = [r[0] for r in runs], [r[1] for r in runs]
    rows = tuple(classify(n, nb_runs, pkg_runs, options.tolerance) for n in names)
    notes = () if names else (NOTHING_TO_COMPARE,)
    errors = plan.count(ERROR)
    if errors:
        notes += ((f"the build reported {errors} error(s): the package leaves out what they "
                  "name, so it cannot pass; see `nb2prod plan`"),)
    return Outcome(str(options.notebook), plan.import_name, rows, notes, errors)


def _run_both(plan, notebook, overrides, names, work: Path, cwd: Path,
              options: VerifyOptions) -> tuple[dict, dict]:
    """The package runs in its own process while the kernel runs the notebook."""
    work.mkdir()
    src = work.parent / "build" / "src"
    # each side in its own scratch copy of the notebook's folder: what one writes (files
    # a later step or notebook reads) is not what the other reads, and the user's
    # folder gets no new files
    nb_cwd, pkg_cwd = scratch_copy(cwd, work / "notebook-cwd"), scratch_copy(cwd, work / "package-cwd")
    process = start_package(plan, src, package_args(overrides), names, work, pkg_cwd)
    try:
        nb_values = run_notebook(notebook, overrides, names, work, nb_cwd, options.timeout)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return nb_values, finish_package(process, plan, work, options.timeout)


SCRATCH_SKIPPED = frozenset(["__pycache__", "node_modules", "venv"])
"""Folders a scratch copy leaves out, with every hidden one (.git, .venv, checkpoints)."""


def scratch_copy(folder: Path, target: Path) -> Path:
    """`folder` again at `target`: its folders made anew, its files linked (nothing is
    copied: data may be large). A file the run creates lands in `target`; one it
    rewrites through a link is the user's file, as in a run by hand."""
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SCRATCH_SKIPPED and d[0] != ".")
        place = target / Path(here).relative_to(folder)
        place.mkdir(parents=True, exist_ok=True)
        for name in files:
            (place / name).symlink_to(Path(here, name).resolve())
    return target


def prepared_cells(notebook, overrides) -> list[tuple[int | None, str]]:
    """(cell number or None, source) to execute: skip cells out, overrides injected."""
    from nb2prod.analysis.tags import PARAMETERS, SKIP, read_tags

    cells: list[tuple[int | None, str]] = []
    injected = "\n".join(f"{p.name} = {v!r}" for p, v in overrides)
    for cell in notebook.code_cells:
        role = read_tags(cell.source, cell.tags).role
        if role == SKIP:
            continue
        cells.append((cell.number, cell.source))
        if role == PARAMETERS and injected:
            cells.append((None, "# Parameters injected by nb2prod verify\n" + injected))
            injected = ""
    return cells


def run_notebook(notebook, overrides, names, work: Path, cwd: Path, timeout: int) -> dict:
    nbclient, errors = _execution_modules()
    import nbformat

    out = work / "notebook.json"
    cells = prepared_cells(notebook, overrides) + [(None, capture_code(names, out))]
    node = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for _, s in cells])
    client = nbclient.NotebookClient(node, timeout=timeout, kernel_name=KERNEL,
                                     resources={"metadata": {"path": str(cwd)}})
    number = None
    log_path = work / "kernel.log"
    try:  # the kernel's own stderr (transport warnings, crashes) goes to a log, not ours
        with open(log_path, "w", encoding="utf-8") as log, \
                client.setup_kernel(env=_environment(), stderr=log):
            for index, cell in enumerate(node.cells):
                number = cells[index][0]
                client.execute_cell(cell, index)
    except errors.CellExecutionError as exc:
        path, number = origin(notebook.parts, notebook.path, number)
        raise RunFailure("notebook", f"{exc.ename}: {exc.evalue}", cell=number,
                         path=path, detail=ANSI.sub("", str(exc))) from None
    except (errors.CellTimeoutError, errors.DeadKernelError, RuntimeError, OSError) as exc:
        path, number = origin(notebook.parts, notebook.path, number)
        raise RunFailure("notebook", f"{type(exc).__name__}: {exc}".strip(), cell=number,
                         path=path, detail=_read(log_path)) from None
    return json.loads(out.read_text(encoding="utf-8"))


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def _execution_modules():
    try:
        import ipykernel  # noqa: F401  (the kernel nbclient starts)
        import nbclient
        import nbclient.exceptions
    except ImportError:
        raise UserError(MISSING_DEPS) from None
    return nbclient, nbclient.exceptions


def _environment() -> dict[str, str]:
    # headless plotting on both sides; silence debugpy's frozen-modules warning
    return {**os.environ, "MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


DRIVER = """\
import json, runpy, sys
sys.path.insert(0, {src!r})
capture = {{}}
exec({capture!r}, capture)
import {pkg}.pipeline as pipeline
seen = {{}}
original = pipeline.run_steps
def run_steps(params, runner=None, names=None):
    values = original(params, runner)
    seen.update(values)
    return values
pipeline.run_steps = run_steps
sys.argv = [{pkg!r}] + {argv!r}
try:
    runpy.run_module({pkg!r}, run_name="__main__", alter_sys=True)
except SystemExit as exc:
    if exc.code not in (0, None):
        raise
capture["dump_values"](seen, {names!r}, {out!r})
"""
"""`python -m PKG ARGS` plus a wrapper on run_steps that records every result, so the
last step's outputs can be compared when there are no metrics."""


def start_package(plan: Plan, src: Path, args: list[str], names, work: Path,
                  cwd: Path) -> subprocess.Popen:
    metrics_out = work / "metrics-out.json"
    code = DRIVER.format(src=str(src), capture=CAPTURE_SOURCE, pkg=plan.import_name,
                         argv=args + ["--metrics-out", str(metrics_out)], names=list(names),
                         out=str(work / "package.json"))
    with open(work / "package.log", "w", encoding="utf-8") as log:  # a file: no pipe to fill
        return subprocess.Popen([sys.executable, "-c", code], cwd=cwd, env=_environment(),
                                stdout=log, stderr=subprocess.STDOUT)


def finish_package(process: subprocess.Popen, plan: Plan, work: Path, timeout: int) -> dict:
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise RunFailure("package", f"`python -m {plan.import_name}` timed out after "
                         f"{timeout}s") from None
    log = (work / "package.log").read_text(encoding="utf-8", errors="replace")
    if code != 0:
        tail = "\n".join(log.rstrip().splitlines()[-15:])
        raise RunFailure("package", f"`python -m {plan.import_name}` exited {code}:\n{tail}",
                         detail=log)
    values = json.loads((work / "package.json").read_text(encoding="utf-8"))
    written = json.loads((work / "metrics-out.json").read_text(encoding="utf-8"))
    # a metric the CLI did not write to --metrics-out is missing for production users
    return {k: v for k, v in values.items() if k in written or k not in plan.metrics}
