"""The Plan: the full, immutable description of the package to generate.

`plan` prints it, `build` renders it, the report is derived from it. A leaf:
these records import no other plan module; `build.py` assembles them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nb2prod import __version__
from nb2prod.analysis.analyze import CellAnalysis
from nb2prod.problems import Problem


@dataclass(frozen=True)
class PlanOptions:
    name: str | None = None  # package name; default from the notebook file name
    python_version: str = "3.11"
    model: str | None = None  # `[tool.nb2prod] model`: the served value (--target serve)
    serve_input: str | None = None  # `[tool.nb2prod] serve_input`: the frame requests are rows of
    environment: object | None = None  # plan.environment.Environment to pin dependencies from
    data_params: tuple = ()  # Param per file read and never written (data_paths.py)


@dataclass(frozen=True)
class ModelChoice:
    """The served model (`--target serve`), chosen by `model_choice.py`."""

    name: str
    key: str  # key of the model in run_steps' values
    x: str | None  # the value it was fitted on (None: not a plain name)
    x_key: str | None  # key of X in run_steps' values
    function: str  # the step that fits (or defines) it
    cell: int
    line: int
    origin: str  # "fit" (the only or last fitted value), "tag" or "config"
    candidates: tuple[str, ...]  # every fitted value, in notebook order


@dataclass(frozen=True)
class Block:
    """Code kept from one cell."""

    cell: int  # 1-based cell number
    cell_id: str | None
    code: str
    line: int = 1  # the cell line `code` starts at (`# cell N, line L` markers inside it)

    def cell_line(self, line: int) -> int:
        """The notebook cell line of line `line` (1-based) of `code`: counted from the
        block's first line, or from the `# cell N, line L` marker above it."""
        lines = self.code.split("\n")[:line]
        for index in range(len(lines) - 1, -1, -1):
            marker = lines[index].strip()
            if marker.startswith(f"# cell {self.cell}, line "):
                return int(marker.rsplit(" ", 1)[1]) + line - index - 2
        return self.line + line - 1


@dataclass(frozen=True)
class Param:
    name: str
    cli: str  # --n-customers
    type_name: str  # int, float, str, bool, list, dict, or "str | None"
    default: str  # Python source of the default value
    cell: int
    line: int
    file: str = ""  # a data path option: the file the notebook read by this literal


@dataclass(frozen=True)
class HelperGlobal:
    """A notebook global helper functions read: a module global of the package."""
    name: str
    annotation: str  # `float` for a parameter, `typing.Any` for a step value
    default: str  # the parameter's default, or None until its step runs
    source: str  # "params" or the step function that binds it


@dataclass(frozen=True)
class Secret:
    name: str  # the Kubernetes Secret
    key: str  # the key inside it
    env: str  # the environment variable the step reads


@dataclass(frozen=True)
class StepSettings:
    """A step's setting tags (`retry:3`, `limit:cpu:2`, `secret:S:K:ENV`, ...), parsed and
    checked by plan/settings.py: every value here is valid, so no target can fail on it."""

    retry: int | None = None  # None: not set (a plain run retries 0 times)
    cache: bool | None = None  # None: not set (cached)
    secrets: tuple[Secret, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()  # pod labels, sorted by key
    annotations: tuple[tuple[str, str], ...] = ()
    cpu: str | None = None  # Kubernetes quantities, as written
    memory: str | None = None
    accelerator: str | None = None  # e.g. nvidia.com/gpu
    accelerator_count: int | None = None
    image: str | None = None
    ignored: tuple[str, ...] = ()  # settings no target reads (`timeout:`, `report:`), as tagged


NO_SETTINGS = StepSettings()


@dataclass(frozen=True)
class Step:
    name: str
    function: str
    blocks: tuple[Block, ...]
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    after: tuple[str, ...] = ()  # step names this step depends on
    edges: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (from step, names that flow)
    settings: StepSettings = NO_SETTINGS
    unused: tuple[str, ...] = ()  # names bound but used nowhere: marked `noqa: F841`
    global_names: tuple[str, ...] = ()  # helper-read globals the step binds: `global x`
    bound_globals: tuple[str, ...] = ()  # helper-read globals it receives and binds first
    code_hash: str = ""  # stephash.step_hash: the step's code and the module code it reaches

    @property
    def cells(self) -> tuple[int, ...]:
        return tuple(b.cell for b in self.blocks)

    @property
    def reads_main_name(self) -> bool:
        """Whether its code reads `__name__`: the notebook's cells ran as `__main__`, so
        `if __name__ == "__main__":` ran there and must run in the step too."""
        import ast

        return any("__name__" in b.code and any(
            isinstance(n, ast.Name) and n.id == "__name__" and isinstance(n.ctx, ast.Load)
            for n in ast.walk(ast.parse(b.code))) for b in self.blocks)


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
    model: ModelChoice | None = None  # the served value (--target serve); model_choice.py
    model_notes: tuple[Problem, ...] = ()  # NB621/NB622, reported when serving is asked for
    predict_cell: int | None = None  # the cell tagged `predict` that defines predict()
    inference: object | None = None  # inference.InferencePath: raw rows -> the model's input
    helper_globals: tuple[HelperGlobal, ...] = ()  # globals helper functions read
    close_figures: bool = False  # end each step cell as Jupyter's inline backend does
    resolved: tuple = ()  # dependencies.Resolved per third-party import (with an environment)
    lock: tuple[tuple[str, str], ...] = ()  # (distribution, exact version): the closure
    environment: str = ""  # Python version of the environment read, "" when none was
    nb2prod_version: str = __version__
    version: str = "0.1.0"
    parts: tuple = ()  # notebook.Part per notebook, when several were read as one
    file_flows: tuple = ()  # file_flows.FileFlow: files a step writes and a later one reads
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
    settings: StepSettings = NO_SETTINGS  # the settings of the cell that starts the step
