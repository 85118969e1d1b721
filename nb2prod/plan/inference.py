"""The inference path: the notebook's own statements between the frame it loaded and
the served model's input (`--target serve`, issue 22). Pure `ast`, nothing runs.

From the value the model was fitted on (`model_choice` records it), walk the step
statements backwards, following the *frame chain*: the names a statement computes
its frame from (a subscripted or method-called frame, a function's arguments,
operands). Names used as keys (`df[feature_cols]`, `columns=cats`) or as fitted
objects (`scaler.transform(X)`) are not followed: their training values are
frozen (taken from the training run). The walk keeps derived columns, date
parts, fillna, get_dummies, mappings, column selections and fitted transforms;
it leaves out what only training needs: the target column's statements, fitting,
and evaluation. A split (`X_train, X_test, ... = train_test_split(X, y)`)
continues through X. It stops at the loaded frame: a `pd.read_*`/`pd.DataFrame`
result, or any value its statement builds from no frame of the chain.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from nb2prod.plan import inference_batch as batch
from nb2prod.plan.inference_names import (
    base_name,
    bound_names,
    call_name,
    called_names,
    frame_reads,
    free_names,
    mutated_names,
    names,
)

SPLITS = frozenset({"train_test_split"})
FIT_METHODS = frozenset({"fit", "partial_fit"})
READERS = frozenset({"read_csv", "read_parquet", "read_json", "read_excel", "read_feather",
                     "read_sql", "read_table", "read_pickle", "read_orc", "read_sql_query"})
LOADERS = frozenset({"DataFrame", "read_csv", "read_parquet", "read_json", "read_excel",
                     "read_feather", "read_sql", "read_table", "read_pickle", "read_orc"})
TARGET_GETTERS = frozenset({"pop"})


@dataclass(frozen=True)
class PathStatement:
    cell: int
    line: int
    code: str  # the statement as written (ast.unparse)
    role: str  # batch.ROLES: "load", "derive", "split", "filter", "statistic", ...


@dataclass(frozen=True)
class InferencePath:
    """What the service runs before the model, and what it needs from training."""

    frame: str  # the loaded frame's name: requests are rows of it
    frame_cell: int
    frame_line: int
    load: tuple[PathStatement, ...]  # the statements that build the loaded frame
    statements: tuple[PathStatement, ...]  # frame -> model input, in notebook order
    result: str  # the name the last statement binds: the model's input
    target: str | None  # the target column (flows only into the fit's y)
    dropped: tuple[str, ...]  # columns the path drops by name
    frozen: tuple[str, ...]  # step values the path reads: taken from the training run
    params: tuple[str, ...]  # parameters the load and the path read
    imports: tuple[str, ...]  # module-level names they read (imports, helpers): from pipeline
    train_rows: tuple[str, ...]  # names whose index are the training rows (fit's X chain)
    heldout: str | None  # what the notebook passes to the model's predict (an expression)
    heldout_rows: tuple[str, ...]  # names whose index are the held-out rows
    origin: str  # "loaded" or "tag"
    renumbered: bool = False  # a statement renumbers rows: held-out rows cannot be found
    trained_on: str = ""  # what the notebook passes to fit as X (an expression)

    @property
    def run_values(self) -> tuple[str, ...]:
        """Names of the run's values the proof reads (the inputs the notebook computed)."""
        return tuple(sorted(free_names([e for e in (self.heldout, self.trained_on) if e])))


@dataclass(frozen=True)
class _Stmt:
    cell: int
    node: ast.stmt


def step_statements(raw_steps) -> list[_Stmt]:
    """Top-level statements of every step cell, in notebook order (defs and imports
    are module level in the package)."""
    skip = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
    return [_Stmt(cell.cell.number, node) for _, cells in raw_steps for cell, _ in cells
            for node in cell.tree.body if not isinstance(node, skip)]


def find_path(raw_steps, model: str, fit_cell: int, fit_line: int,
              step_values: set[str], params: set[str],
              serve_input: str | None = None) -> InferencePath | None:
    """The inference path into the X `model` is fitted on at (fit_cell, fit_line) (a
    name or an expression); None when no loaded frame is reached. A `serve-input` tag (or
    `serve_input`, the config's frame name) chooses the frame requests are rows of."""
    stmts = step_statements(raw_steps)
    end = next((i for i, s in enumerate(stmts)
                if s.cell == fit_cell and s.node.lineno <= fit_line <= s.node.end_lineno), None)
    trained_on = _fit_x(stmts[end].node) if end is not None else None
    if trained_on is None:
        return None
    final = None  # `model.fit(scaler.transform(X_train), y)`: the input is an expression
    x = getattr(trained_on, "id", None)
    if x is None:
        x = MODEL_INPUT
        final = PathStatement(fit_cell, fit_line, f"{x} = {ast.unparse(trained_on)}",
                              batch.role(ast.parse(f"{x} = {ast.unparse(trained_on)}").body[0]))
    target = _target(stmts, end)
    tagged = {c.cell.number: c.tags.serve_input for _, cells in raw_steps for c, _ in cells
              if c.tags.serve_input is not None}
    chooser = _chooser(stmts, tagged, serve_input)
    need, keys = frame_reads(ast.Expr(trained_on))
    walk = _walk(stmts, end, need, target, chooser)
    if walk is None:
        return None
    path, frozen, load_at, frame, train_rows = walk
    frozen |= keys - need
    origin = "loaded" if chooser(load_at, {frame}) is None else \
        "tag" if tagged else "config"
    start = stmts[load_at]
    heldout, heldout_rows = _heldout(stmts, end, model)
    dropped = tuple(dict.fromkeys(c for i in path for c in _dropped_columns(stmts[i].node)))
    building = _building(stmts, path, load_at) if origin == "loaded" else [load_at]
    statements = tuple(_record(stmts[i], batch.role(stmts[i].node)) for i in path
                       if i not in building) + ((final,) if final else ())
    load = tuple(_record(stmts[i], "load") for i in load_slice(stmts, building))
    free = free_names([_as_run(s) for s in statements]) - {frame}
    free_load = free_names([s.code for s in load])
    frozen = (frozen | free) & step_values
    return InferencePath(
        frame=frame, frame_cell=start.cell, frame_line=start.node.lineno, load=load,
        statements=statements, result=x, target=target, dropped=dropped,
        frozen=tuple(sorted(frozen)),
        params=tuple(sorted((free | free_load) & params)),
        imports=tuple(sorted((free | free_load) - step_values - params)),
        train_rows=tuple(n for n in train_rows if n in step_values), heldout=heldout,
        heldout_rows=heldout_rows, origin=origin,
        renumbered=any(batch.renumbers(s.code) for s in statements),
        trained_on=ast.unparse(trained_on))


MODEL_INPUT = "model_input"
"""The generated name of the model's input when the notebook passes an expression."""


def _fit_x(node: ast.stmt) -> ast.expr | None:
    """X of the fit statement: `m.fit(X, y)`, `m = Est().fit(X=..., y)`."""
    call = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
    if not isinstance(call, ast.Call):
        return None
    return call.args[0] if call.args else next(
        (k.value for k in call.keywords if k.arg in ("X", "x")), None)


def _building(stmts, path: list[int], load_at: int) -> list[int]:
    """The load and, when it builds the frame rather than reading it (`pd.DataFrame`,
    a helper), the statements after it in the same cell that change the frame: they
    finish the data (the target column, injected gaps), they are not feature code."""
    if call_name(stmts[load_at].node.value) in READERS:
        return [load_at]
    cell, frame = stmts[load_at].cell, bound_names(stmts[load_at].node)
    last = max(path)
    return [i for i in range(load_at, last + 1) if stmts[i].cell == cell and (
        bound_names(stmts[i].node) | mutated_names(stmts[i].node)) & frame]


def _as_run(stmt: PathStatement) -> str:
    """The statement as the features function runs it, for the names it reads."""
    if stmt.role != "split":
        return stmt.code
    return "\n".join(f"{bound} = {source}"
                     for bound, source in split_bindings(ast.parse(stmt.code).body[0]))


def _record(stmt: _Stmt, role: str) -> PathStatement:
    return PathStatement(stmt.cell, stmt.node.lineno, ast.unparse(stmt.node), role)


def _chooser(stmts, tagged: dict[int, str], configured: str | None):
    """(statement index, names it writes that the walk needs) -> the chosen input frame's
    name when that statement finishes it, else None."""
    def choose(i: int, hit: set[str]) -> str | None:
        wanted = tagged.get(stmts[i].cell, None if tagged else configured)
        if wanted == "":  # a bare tag: the frame its cell computes
            return min(hit)
        return wanted if wanted in hit else None
    return choose


def _walk(stmts, end, need, target, chooser=lambda i, hit: None):
    """Backwards from statement `end`: (path indexes in order, frozen names, index of
    the load, the loaded frame's name, names on the fit's X chain up to the split)."""
    need = set(need)
    path, frozen, chain_names = [], set(), list(need)
    in_split = False
    for i in range(end - 1, -1, -1):
        node = stmts[i].node
        written = bound_names(node) | mutated_names(node)
        hit = written & need
        if not hit or _fits_only(node) or _target_only(node, target):
            continue
        chosen = chooser(i, hit)
        if chosen is not None:  # a `serve-input` frame: requests are its rows
            path.append(i)
            rows = tuple(dict.fromkeys(chain_names)) if in_split else ()
            return sorted(path), frozen - need, i, chosen, rows
        split = _split_source(node)
        if split is not None:
            path.append(i)
            chain, keys = frame_reads(ast.Expr(split))
            need = (need - hit) | chain
            frozen |= keys - chain
            in_split = True
            continue
        chain, keys = frame_reads(node)
        if not in_split:
            chain_names.extend(sorted(chain))
        rebinds = bound_names(node) & hit
        need = (need - rebinds) | chain
        frozen |= keys - chain
        path.append(i)
        if _is_load(node, chain):  # no split: every row trained the model
            rows = tuple(dict.fromkeys(chain_names)) if in_split else ()
            return sorted(path), frozen - need, i, min(hit), rows
    return None


def _target(stmts, end) -> str | None:
    """The column the fit's `y` is: `NAME.fit(X, y)` -> back through a split -> `df['c']`."""
    fit = stmts[end].node
    call = fit.value if isinstance(fit, (ast.Expr, ast.Assign)) else None
    if not isinstance(call, ast.Call) or len(call.args) < 2:
        return None
    if not isinstance(call.args[1], ast.Name):
        return _column_of(call.args[1])
    want = call.args[1].id
    for i in range(end - 1, -1, -1):
        node = stmts[i].node
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Tuple) and \
                call_name(node.value) in SPLITS:
            names = [e.id if isinstance(e, ast.Name) else None for e in node.targets[0].elts]
            if want in names and len(node.value.args) >= 2:
                y = node.value.args[1]
                if not isinstance(y, ast.Name):
                    return _column_of(y)
                want = y.id
        elif isinstance(node, ast.Assign) and [want] == [
                t.id for t in node.targets if isinstance(t, ast.Name)]:
            column = _column_of(node.value)
            if column:
                return column
    return None


def _column_of(expr: ast.expr) -> str | None:
    """`df['c']`, `df.c`, `df.pop('c')` -> 'c'."""
    if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant) and \
            isinstance(expr.slice.value, str):
        return expr.slice.value
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and \
            expr.func.attr in TARGET_GETTERS and expr.args and \
            isinstance(expr.args[0], ast.Constant):
        return str(expr.args[0].value)
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        return expr.attr
    return None


def _target_only(node: ast.stmt, target: str | None) -> bool:
    """`df['churn'] = ...` or `y = df.pop('churn')`: only training needs it."""
    if target is None:
        return False
    if isinstance(node, ast.Assign) and all(
            isinstance(t, ast.Subscript) and _column_of(t) == target for t in node.targets):
        return True
    return isinstance(node, ast.Assign) and _column_of(node.value) == target and \
        isinstance(node.value, ast.Call)


def _fits_only(node: ast.stmt) -> bool:
    """`scaler.fit(X)`: changes the fitted object, not the frame (frozen from training)."""
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and \
        isinstance(node.value.func, ast.Attribute) and node.value.func.attr in FIT_METHODS


def _split_source(node: ast.stmt) -> ast.expr | None:
    """`a, b, c, d = train_test_split(X, y)`: the X expression."""
    if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Tuple)
            and call_name(node.value) in SPLITS and node.value.args):
        return None
    return node.value.args[0]


def split_bindings(node: ast.stmt) -> list[tuple[str, str]]:
    """(X_train, X) of a split: the training part of the frame the path goes through."""
    source = _split_source(node)
    if source is None:
        return []
    first = node.targets[0].elts[0]  # (X_train, X_test, y_train, ...)
    return [(first.id, ast.unparse(source))] if isinstance(first, ast.Name) else []


def _is_load(node: ast.stmt, chain: set[str]) -> bool:
    if not isinstance(node, ast.Assign):
        return False
    return call_name(node.value) in LOADERS or not chain


def _dropped_columns(node: ast.stmt) -> list[str]:
    """String constants passed to `.drop(...)`: columns the path leaves out."""
    found = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and \
                sub.func.attr == "drop":
            for value in [*sub.args, *(k.value for k in sub.keywords if k.arg == "columns")]:
                found.extend(c.value for c in ast.walk(value)
                             if isinstance(c, ast.Constant) and isinstance(c.value, str))
    return found


def load_slice(stmts, building: list[int]) -> list[int]:
    """The statements that build the loaded frame: `building`, and every earlier
    statement that mentions a name they read (a generator drawn from before counts),
    to a fixed point. Prints are left out."""
    picked = set(building)
    mentioned = set().union(*(names(stmts[i].node) for i in building))
    changed = True
    while changed:
        changed = False
        for i in range(max(building) - 1, -1, -1):
            node = stmts[i].node
            if i in picked or _is_print(node):
                continue
            if (bound_names(node) | mutated_names(node) | called_names(node)) & mentioned:
                picked.add(i)
                mentioned |= names(node)
                changed = True
    return sorted(picked)


def _is_print(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and call_name(node.value) in ("print", "display")


def _heldout(stmts, end: int, model: str) -> tuple[str | None, tuple[str, ...]]:
    """The last `model.predict(X)` (or `.score(X, y)`) after the fit: X as code, and the
    frames it is computed from, back to a split (their index: the held-out rows)."""
    for i in range(len(stmts) - 1, end, -1):
        for sub in ast.walk(stmts[i].node):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and \
                    sub.func.attr in ("predict", "predict_proba", "score") and \
                    base_name(sub.func.value) == model and sub.args:
                chain, _ = frame_reads(ast.Expr(sub.args[0]))
                rows = [n for name in sorted(chain) for n in _chain_to_split(stmts, i, name)]
                if isinstance(sub.args[0], ast.Name):
                    rows = list(_chain_to_split(stmts, i, sub.args[0].id))
                return ast.unparse(sub.args[0]), tuple(dict.fromkeys(rows))
    return None, ()


def _chain_to_split(stmts, before: int, name: str) -> tuple[str, ...]:
    """`name` and the frames it was computed from, back to a split's output."""
    chain = [name]
    for i in range(before - 1, -1, -1):
        node = stmts[i].node
        if name not in bound_names(node):
            continue
        if _split_source(node) is not None:
            break
        reads, _ = frame_reads(node)
        if len(reads) != 1:
            break
        name = next(iter(reads))
        chain.append(name)
    return tuple(chain)


ORIGINS = {"loaded": "", "tag": ", tagged serve-input", "config": ", [tool.nb2prod] serve_input"}


def describe(path: InferencePath) -> list[str]:
    """`nb2prod plan`'s lines for the inference path."""
    lines = [(f"inference path: requests are rows of `{path.frame}` (cell {path.frame_cell}, "
             f"line {path.frame_line}{ORIGINS[path.origin]}) without the target "
             f"`{path.target or 'unknown'}`; "
             f"{len(path.statements)} statement(s) to `{path.result}`")]
    lines += [f"  cell {s.cell}, line {s.line} ({s.role}): {s.code.splitlines()[0][:70]}"
              for s in path.statements]
    if path.frozen:
        lines.append(f"  frozen from training: {', '.join(path.frozen)}")
    return lines
