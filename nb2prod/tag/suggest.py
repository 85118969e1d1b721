"""Propose tags for an untagged notebook: `nb2prod tag NB --suggest`.

Pure: a `NotebookAnalysis` in, one `Suggestion` per code cell out. The aim is
that `tag --write` followed by `build` needs no hand editing, so every rule
here only proposes what `plan/build.py`/`plan/steps.py` will accept as is:

- a cell's *shape* (imports only, definitions only, asserts only, literal
  assignments, printed names, display only, other code) is decided locally,
  from a table of predicates tried in order;
- a walk over the notebook then turns shapes into tags, using what it has
  seen so far: the latest markdown heading names the next step, a literal
  cell is a parameters cell only before the first step, and without section
  headings steps are split where a cell starts producing new values.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass

from nb2prod import naming
from nb2prod.analysis.analyze import BUILTIN_NAMES, CellAnalysis, NotebookAnalysis, analyze
from nb2prod.notebook import Notebook
from nb2prod.plan.codegen import DISPLAY_METHODS, computes_inside
from nb2prod.plan.metrics import metric_name
from nb2prod.plan.params import literal_assignment
from nb2prod.tag import hazards


@dataclass(frozen=True)
class Suggestion:
    cell: int  # 1-based cell number, as Jupyter shows it
    first_line: str
    tags: tuple[str, ...]  # () = leave the cell untagged (it continues the step above)
    why: str


@dataclass(frozen=True)
class Shape:
    """What a code cell is made of, judged from that cell alone."""

    kind: str  # one of the SHAPES keys, or "broken" / "code"
    names: tuple[str, ...] = ()  # defined (definitions, literals) or reported (prints)
    forms: frozenset[str] = frozenset()  # for "prints": how each name is reported


METRIC_FORMS = frozenset(["plain", "bare", "formatted"])  # metrics.metric_name kinds
"""Report lines `plan/metrics.py` reads as metrics: `print(name)`, a bare `name`, and
a formatted `print(f"r2 = {r2:.4f}")`; the generated CLI re-runs these lines,
so the package prints exactly what the notebook printed."""

DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
MODULE_SHAPES = frozenset(["imports", "definitions", "literals"])
"""Shapes whose names may end up at module level; other cells compute step values."""
PLOT_ROOTS = frozenset(["plt", "sns", "px", "alt"])
"""Conventional aliases of plotting modules: a cell calling only these draws."""
PARAM_TYPES = (bool, int, float, str, list, dict, tuple, type(None))
"""Literal types plan/params.py accepts as parameter defaults (no sets, bytes, complex)."""
MAX_STEP_NAME = 32
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")


def suggest_notebook(notebook: Notebook) -> tuple[Suggestion, ...]:
    return suggest(analyze(notebook))


def suggest(analysis: NotebookAnalysis) -> tuple[Suggestion, ...]:
    """One suggestion per code cell, in notebook order."""
    return tuple(_Walk(analysis).run())


# -- shapes: what one cell is made of -----------------------------------------


def _only(tree: ast.Module, test: Callable[[ast.stmt], bool]) -> bool:
    return bool(tree.body) and all(test(node) for node in tree.body)


def _is_import(node: ast.stmt) -> bool:
    return isinstance(node, (ast.Import, ast.ImportFrom))


def _is_declaration(node: ast.stmt) -> bool:
    """What plan/build.py keeps at module level: defs, classes, imports, UPPER constants."""
    if isinstance(node, DEFINITIONS):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return isinstance(node.value.value, str)  # a docstring-like comment string
    return isinstance(node, ast.Assign) and all(
        isinstance(t, ast.Name) and t.id.isupper() for t in node.targets)


def _literal_target(node: ast.stmt) -> str | None:
    """`name = literal` of a parameter type (what plan/params.py turns into a parameter)."""
    found = literal_assignment(node)
    return found[0] if found and isinstance(found[1], PARAM_TYPES) else None


def _report(node: ast.stmt) -> tuple[str, str] | None:
    """(name, kind) when the statement only reports one name's value (metrics.py)."""
    return metric_name(node)


def _is_display(node: ast.stmt) -> bool:
    """An expression statement that only shows something (a value, a table, a plot)."""
    if not isinstance(node, ast.Expr):
        return False
    value = node.value
    if isinstance(value, (ast.Name, ast.Attribute, ast.Subscript, ast.Constant)):
        return True
    if not isinstance(value, ast.Call):
        return False
    if computes_inside(value):
        return False  # `plt.hist(np.random.randn(9))` draws from the generator: it runs
    func = value.func
    if isinstance(func, ast.Name):
        return func.id == "display"
    if not isinstance(func, ast.Attribute):
        return False
    root = func
    while isinstance(root, ast.Attribute):
        root = root.value
    plotting = isinstance(root, ast.Name) and root.id in PLOT_ROOTS and func.attr != "savefig"
    # Whole plotting cells are only looked at; `plot`/`hist` as a step's last
    # line are kept by build, which cannot know whether a savefig follows.
    return func.attr in DISPLAY_METHODS or func.attr in ("plot", "hist") or plotting


def _shape(cell: CellAnalysis) -> Shape:
    """The first matching entry of SHAPES, or "code"."""
    if cell.tree is None:
        return Shape("broken")
    if not cell.tree.body:
        refused = bool(cell.code and cell.code.refused)
        return Shape("code" if refused else "empty")
    for kind, test in SHAPES:
        shape = _describe(kind, cell) if _only(cell.tree, test) else None
        if shape is not None:
            return shape
    return Shape("code")


def _describe(kind: str, cell: CellAnalysis) -> Shape | None:
    if kind == "prints":
        reports = [_report(node) for node in cell.tree.body]
        return Shape(kind, tuple(dict.fromkeys(r[0] for r in reports)),
                     frozenset(r[1] for r in reports))
    if kind == "definitions" and not cell.flow.functions:
        return None  # only constants: a literals cell, judged next
    names = cell.flow.functions if kind == "definitions" else cell.flow.defines
    return Shape(kind, tuple(names))


SHAPES: tuple[tuple[str, Callable[[ast.stmt], bool]], ...] = (
    ("imports", _is_import),
    ("definitions", _is_declaration),
    ("asserts", lambda node: isinstance(node, ast.Assert)),
    ("literals", lambda node: _literal_target(node) is not None),
    ("prints", lambda node: _report(node) is not None),
    ("display", _is_display),
)
"""Cell shapes, tried in order; a cell matches when every statement passes."""


# -- names ------------------------------------------------------------------


def heading_text(markdown: str) -> str | None:
    """The first markdown heading of a cell, without its `#`s."""
    for line in markdown.splitlines():
        match = HEADING.match(line)
        if match:
            return match.group(1)
    return None


def step_name(text: str, taken: set[str]) -> str:
    """`## 2. Load *raw* data` -> `load_raw_data`, unique among `taken` (recorded)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [label](link) -> label
    text = re.sub(r"[*_`~<>]", " ", text)
    text = re.sub(r"^\s*(step\s*)?\d+(\.\d+)*[.):]?\s+", "", text, flags=re.IGNORECASE)
    phrase = re.split(r"\s*(?:[:;,(\[]|\s[-–—]\s)", text, maxsplit=1)[0]
    if len(naming.identifier(text)) > MAX_STEP_NAME and naming.identifier(phrase) != "step":
        text = phrase  # `Feature engineering: one-hot ...`: the heading's first phrase
    words = naming.identifier(text).lower().split("_")
    while len("_".join(words)) > MAX_STEP_NAME and len(words) > 1:
        words.pop()
    while len(words) > 1 and words[-1] in naming.DANGLING:  # never `train_model_and`
        words.pop()
    name = naming.identifier("_".join(words)) if words else "step"
    return naming.unique(name[:MAX_STEP_NAME], taken)


# -- the walk: shapes in context become tags ---------------------------------


class _Walk:
    """Walks the cells once, keeping what the decisions depend on."""

    def __init__(self, analysis: NotebookAnalysis) -> None:
        self.cells = analysis.cells
        self.shapes = {c.cell.index: _shape(c) for c in analysis.code_cells}
        code = [c.cell.index for c in analysis.code_cells]
        self.last_index = code[-1] if code else -1
        first_code = next((i for i in code if self.shapes[i].kind == "code"), len(self.cells))
        self.sections = any(heading_text(c.cell.source) for c in self.cells
                            if c.cell.kind == "markdown" and c.cell.index > first_code)
        self.taken = {n for c in analysis.code_cells if c.flow for n in c.flow.defines}
        self.helper_reads = {u.name for c in analysis.code_cells if c.flow
                             and self.shapes[c.cell.index].kind == "definitions"
                             for u in c.flow.reads}
        self.computed = {n for c in analysis.code_cells if c.flow
                         and self.shapes[c.cell.index].kind not in MODULE_SHAPES
                         for n in set(c.flow.defines) - set(c.flow.imports)}
        self.pending: set[str] = set()  # names the current step's helpers read, not yet bound
        self.heading: str | None = None
        self.step: str | None = None
        self.defined: set[str] = set()  # names bound by the cells walked so far
        self.module: set[str] = set()  # names bound at module level (imports, helpers)
        self.values: set[str] = set()  # values steps computed: what a metric may name
        code_cells = list(analysis.code_cells)
        self.binding = hazards.bindings(code_cells)  # name -> cells binding it
        self.twice = hazards.defined_twice(code_cells)
        self.closures: set[str] = set()  # globals read by functions the current step defines

    def run(self) -> list[Suggestion]:
        out = []
        for cell in self.cells:
            if cell.cell.kind == "markdown":
                self.heading = heading_text(cell.cell.source) or self.heading
            elif cell.is_code:
                tags, why = self.decide(cell, self.shapes[cell.cell.index])
                out.append(Suggestion(cell.cell.number, first_line(cell.cell.source),
                                      tags, why))
                self.defined.update(cell.flow.defines if cell.flow else ())
                self._track_values(cell, tags)
                if self.step is not None and not set(tags) & {"imports", "functions", "skip"}:
                    self.closures |= hazards.closure_reads(cell)
        return out

    def _track_values(self, cell: CellAnalysis, tags: tuple[str, ...]) -> None:
        """Values are what parameters and steps bind or change, minus imports, defs
        and classes; a later module-level rebinding takes the name back."""
        if cell.flow is None:
            return
        bound = set(cell.flow.defines)
        if not set(tags) & {"imports", "functions", "skip", "metrics"}:
            changed = bound | set(cell.flow.mutates)
            self.values |= changed - set(cell.flow.imports) - set(cell.flow.functions)
            self.values -= set(cell.flow.imports) | set(cell.flow.functions)
        else:
            self.values -= bound

    def decide(self, cell: CellAnalysis, shape: Shape) -> tuple[tuple[str, ...], str]:
        for decide in (self.special, self.module_level, self.reports):
            found = decide(cell, shape)
            if found:
                return found
        return self.step_cell(cell, shape)

    def special(self, cell: CellAnalysis, shape: Shape):
        if shape.kind == "broken":
            return (), "not valid Python: left untagged, build reports where"
        if shape.kind == "empty":
            return ("skip",), "nothing to run (empty, or IPython magics only)"
        if shape.kind == "asserts" and not hazards.assert_may_change(cell, self.module):
            return ("test",), "asserts only: becomes a pytest test of the package"
        if shape.kind == "asserts" and self.step is not None:
            return (), (f"asserts that call methods (they may change values): stay in step "
                        f"`{self.step}`")
        return None

    def module_level(self, cell: CellAnalysis, shape: Shape):
        if shape.kind == "imports":
            self.module.update(cell.flow.defines)
            return ("imports",), "imports only: module-level imports"
        if shape.kind == "definitions":
            reads = {u.name for u in cell.flow.reads}
            step_values = reads & (self.defined - self.module)
            late = reads & self.computed - self.defined - set(cell.flow.defines)
            self.pending |= late  # a helper reading values computed below: a step's closure
            if not step_values and not late and not set(cell.flow.defines) & self.twice:
                self.module.update(cell.flow.defines)
                return ("functions",), f"defines {_names(shape.names)}: module-level helpers"
        if shape.kind == "code" and self._module_setup(cell):
            self.module.update(cell.flow.defines)
            return ("imports",), ("imports plus module setup that reads only imported "
                                  "names: runs once at import")
        if shape.kind == "literals" and self.step is None:
            if self.helper_reads & set(shape.names) and not set(shape.names) & self.twice:
                self.module.update(shape.names)
                return ("functions",), (f"constants {_names(shape.names)} read by helper "
                                        "functions: kept at module level")
            return ("parameters",), (f"literal assignments before the first step: "
                                     f"{_names(shape.names)} become CLI options")
        return None

    def _module_setup(self, cell: CellAnalysis) -> bool:
        """Imports with setup like `pd.set_option(...)`: binds nothing but imports/defs."""
        flow = cell.flow
        if flow is None or not flow.imports or self.step is not None:
            return False  # after the first step, imports + code is exploration: a step
        own = set(flow.imports) | set(flow.functions)
        reads = {u.name for u in flow.reads} - BUILTIN_NAMES
        return set(flow.defines) <= own and reads <= self.module | own

    def reports(self, cell: CellAnalysis, shape: Shape):
        last = cell.cell.index == self.last_index
        if shape.kind == "prints" and last and self.step is not None:
            if shape.forms <= METRIC_FORMS and set(shape.names) <= self.values:
                return ("metrics",), (f"last cell reports {_names(shape.names)}: "
                                      "the package prints and returns them as metrics")
            if "bare" not in shape.forms:
                return (), (f"prints {_names(shape.names)} formatted: stays in step "
                            f"`{self.step}` so the package prints the same lines")
        if shape.kind == "display" or (shape.kind == "prints" and shape.forms == {"bare"}):
            return ("skip",), "display only: shows a value, computes nothing"
        return None

    def step_cell(self, cell: CellAnalysis, shape: Shape) -> tuple[tuple[str, ...], str]:
        waiting = sorted(self.pending - self.defined)
        if self.step is not None and waiting:
            return (), (f"continues step `{self.step}`: its helpers read {_names(waiting)}, "
                        "bound here")
        rebound = hazards.bound_from(self.closures, cell.cell.index, self.binding)
        if self.step is not None and rebound:
            return (), (f"continues step `{self.step}`: functions it defines read "
                        f"{_names(rebound)}, bound again here or below (split, they would "
                        "see the old value)")
        if self.step is None or self.heading is not None:
            source = f"section `{self.heading}`" if self.heading else "its first new value"
            name = step_name(self.heading, self.taken) if self.heading else self._flow_name(cell)
            return self._start(name, f"starts step `{name}`, named from {source}")
        if not self.sections and shape.kind != "definitions" and self._produces_new(cell):
            name = self._flow_name(cell)
            new = _names(self._new_values(cell))
            return self._start(name, f"new step at a dataflow boundary: reads earlier "
                                     f"values, produces {new}")
        return (), f"continues step `{self.step}`"

    def _start(self, name: str, why: str) -> tuple[tuple[str, ...], str]:
        self.step, self.heading, self.closures = name, None, set()
        return (f"step:{name}",), why

    def _produces_new(self, cell: CellAnalysis) -> bool:
        """Reads values earlier cells computed and binds names nothing bound before."""
        if cell.flow is None:
            return False
        computed = self.defined - self.module
        reads = {u.name for u in cell.flow.reads} - BUILTIN_NAMES
        return bool(reads & computed) and bool(self._new_values(cell))

    def _new_values(self, cell: CellAnalysis) -> list[str]:
        flow = cell.flow
        return [n for n in flow.defines if n not in self.defined and n not in flow.imports]

    def _flow_name(self, cell: CellAnalysis) -> str:
        new = [n for n in self._new_values(cell) if not n.startswith("_")] if cell.flow else []
        return step_name(f"make_{new[0]}" if new else "main", self.taken)


def _names(names) -> str:
    shown = ", ".join(names[:5])
    return shown + (f" (+{len(names) - 5})" if len(names) > 5 else "")


def first_line(source: str, width: int = 60) -> str:
    line = next((s.strip() for s in source.splitlines() if s.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"
