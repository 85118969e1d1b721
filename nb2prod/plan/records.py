"""Notebook -> Plan: the full, immutable description of the package to generate.

`plan` prints it, `build` renders it, the report is derived from it. This
module decides which cell goes where (`assign_units`); `link.py` works out
each step's inputs and outputs from the dataflow.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from nb2prod import __version__
from nb2prod.analysis.analyze import CellAnalysis, NotebookAnalysis, analyze
from nb2prod.analysis.tags import EXPORT, FUNCTIONS, IMPORTS, METRICS, PARAMETERS, SKIP, STEP, TEST
from nb2prod.errors import UserError
from nb2prod.notebook import Notebook
from nb2prod.problems import Problem, make_problem


@dataclass(frozen=True)
class PlanOptions:
    name: str | None = None  # package name; default from the notebook file name
    python_version: str = "3.11"


@dataclass(frozen=True)
class Block:
    """Code kept from one cell."""

    cell: int  # 1-based cell number
    cell_id: str | None
    code: str


@dataclass(frozen=True)
class Param:
    name: str
    cli: str  # --n-customers
    type_name: str  # int, float, str, bool, list, dict, or "str | None"
    default: str  # Python source of the default value
    cell: int
    line: int


@dataclass(frozen=True)
class Step:
    name: str
    function: str
    blocks: tuple[Block, ...]
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    after: tuple[str, ...] = ()  # step names this step depends on
    edges: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (from step, names that flow)
    settings: tuple[tuple[str, str], ...] = ()
    unused: tuple[str, ...] = ()  # names bound but used nowhere: marked `noqa: F841`

    @property
    def cells(self) -> tuple[int, ...]:
        return tuple(b.cell for b in self.blocks)


@dataclass(frozen=True)
class TestCase:
    name: str
    cell: int
    code: str
    reads: tuple[str, ...]  # values taken from the pipeline run
    setup: tuple[Block, ...] = ()  # nbdev example cells the test needs
    keys: tuple[str, ...] = ()  # per read: its key in run_steps' values (a snapshot's key
    #                             when a later step rebinds the name); empty: the names

    @property
    def inputs(self) -> tuple[tuple[str, str], ...]:
        """(name, key in the values of run_steps) per value the test reads."""
        return tuple(zip(self.reads, self.keys or self.reads))


@dataclass(frozen=True)
class Plan:
    notebook_name: str
    notebook_sha256: str
    dist_name: str
    import_name: str
    python_version: str
    imports: tuple[str, ...]
    helpers: tuple[Block, ...]
    params: tuple[Param, ...]
    steps: tuple[Step, ...]
    metrics: tuple[str, ...]  # what run() returns: the metrics cell's, or the last step's values
    metrics_code: tuple[Block, ...]  # the metrics cell's print lines, re-run by the CLI
    results: tuple[str, ...]  # values run_steps returns (metrics, test inputs)
    golden: tuple[tuple[str, str], ...]  # metric name -> text the notebook printed
    tests: tuple[TestCase, ...]
    dependencies: tuple[str, ...]
    exports: tuple[str, ...]  # public names re-exported by the package
    export_module: str | None  # nbdev `#| default_exp a.b` -> module `b` re-exporting them
    problems: tuple[Problem, ...]
    skipped: tuple[int, ...]
    test_imports: tuple[str, ...] = ()  # import lines the generated tests need
    snapshots: tuple[tuple[str, str, str], ...] = ()  # (step function or "params", name,
    #   key): run_steps keeps `name` as it was after that step, for a test placed there
    nb2prod_version: str = __version__
    version: str = "0.1.0"
    extras: dict = field(default_factory=dict, compare=False)

    def count(self, severity: str) -> int:
        return sum(1 for p in self.problems if p.severity == severity)


@dataclass
class Unit:
    """A group of cells with one destination, while the plan is being assembled."""

    role: str  # STEP, IMPORTS (module level), PARAMETERS, METRICS, TEST, SKIP, "example"
    cells: list[CellAnalysis]
    name: str = ""
    after: tuple[str, ...] = ()
    settings: tuple[tuple[str, str], ...] = ()


MODULE_ROLES = (IMPORTS, FUNCTIONS, EXPORT)


def build_plan(notebook: Notebook, options: PlanOptions = PlanOptions()) -> Plan:
    if not notebook.code_cells:
        raise UserError("the notebook has no code cells: nothing to convert",
                        path=notebook.path, hint="add code cells; see `nb2prod rules NB616`")
    from nb2prod.plan.file_flows import with_file_flow_problems  # files passed between steps
    from nb2prod.plan.steps import assemble  # the second half of planning

    analysis = analyze(notebook)
    units, problems = assign_units(analysis)
    return with_file_flow_problems(assemble(notebook, analysis, units, problems, options))


def assign_units(analysis: NotebookAnalysis) -> tuple[list[Unit], list[Problem]]:
    """Decide where each code cell goes. Untagged cells continue the unit above."""
    problems: list[Problem] = []
    units: list[Unit] = []
    has_steps = any(c.tags.role == STEP for c in analysis.cells)
    nbdev = analysis.is_nbdev
    current: Unit | None = None
    last_step: Unit | None = None
    for cell in analysis.code_cells:
        role = cell.tags.role
        if role is None and nbdev:
            role = TEST if _has_assert(cell) else "example"
        # A skipped cell is not converted, so its code's problems do not count.
        problems.extend(_tag_problems(cell, code_problems=role != SKIP))
        if role == SKIP:
            problems.append(make_problem("NB612", "cell tagged skip was left out",
                                         cell.cell.number, cell_id=cell.cell.cell_id))
            units.append(Unit(SKIP, [cell]))
            continue
        if role == STEP:
            current = Unit(STEP, [cell], cell.tags.step, cell.tags.after, cell.tags.settings)
            if last_step and last_step.name == current.name and units[-1] is last_step:
                last_step.cells.append(cell)
                current = last_step
                continue
            units.append(current)
            last_step = current
        elif role == METRICS:
            # metrics.py imports this module, hence the late import
            from nb2prod.plan.metrics import split_metrics_cell, unnamed_prints

            computation, report = split_metrics_cell(cell)
            if computation is not None:  # the cell computes too: that part is a step
                last_step = Unit(STEP, [computation], "metrics")
                units.append(last_step)
                problems.extend(unnamed_prints(computation))
            current = Unit(METRICS, [report])
            units.append(current)
        elif role in MODULE_ROLES or role in (PARAMETERS, TEST, "example"):
            kind = IMPORTS if role in MODULE_ROLES else role
            current = Unit(kind, [cell])
            units.append(current)
        elif current is not None and current.role == IMPORTS and _declarations_only(cell):
            current.cells.append(cell)
        elif last_step is not None:
            last_step.cells.append(cell)
            current = last_step
        else:
            name = "setup" if has_steps else "main"
            current = last_step = Unit(STEP, [cell], name)
            units.append(current)
            if not has_steps and not nbdev:
                problems.append(make_problem("NB610", "no step tags: built as one step `main`",
                                             cell.cell.number, cell_id=cell.cell.cell_id))
    return units, problems


def _tag_problems(cell: CellAnalysis, code_problems: bool) -> list[Problem]:
    number, cell_id = cell.cell.number, cell.cell.cell_id
    problems = [make_problem("NB606", f"unknown tag `{tag}` ignored", number, cell_id=cell_id)
                for tag in cell.tags.unknown]
    if cell.tags.extra_roles:
        problems.append(make_problem(
            "NB615", f"tags {', '.join(cell.tags.extra_roles)} ignored: the cell is "
            f"`{cell.tags.role}`", number, cell_id=cell_id))
    return problems + list(cell.problems if code_problems else ())


def _has_assert(cell: CellAnalysis) -> bool:
    return cell.tree is not None and any(isinstance(s, ast.Assert) for s in cell.tree.body)


DECLARATIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _declarations_only(cell: CellAnalysis) -> bool:
    """An untagged cell after imports/functions stays module level only if it is
    made of imports, defs, classes and UPPER_CASE constants (run at import time)."""
    if cell.tree is None:
        return False
    for node in cell.tree.body:
        if isinstance(node, DECLARATIONS):
            continue
        if isinstance(node, ast.Assign) and all(
            isinstance(t, ast.Name) and t.id.isupper() for t in node.targets
        ):
            continue
        return False
    return bool(cell.tree.body)
