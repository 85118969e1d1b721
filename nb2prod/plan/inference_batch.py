"""Statements of the inference path whose result for a row depends on other rows.

Found statically, by the calls a statement makes (tables below):
- statistics (`mean`, `median`, `std`, `quantile`, `min`/`max`, `value_counts`, ...)
  and category sets (`get_dummies`, `astype('category')`, the bins `cut(x, N)` and
  `qcut` compute) are frozen: computed once from the training frame and recorded with
  the model (`inference_code.py`);
- row filters (`dropna`, `drop_duplicates`, a boolean mask, `query`, `sample`) run
  when the state is fitted and not on requests: a request row is always answered;
- windows and row order (`rolling`, `shift`, `diff`, `cumsum`, `rank`, group
  transforms) cannot be computed from one row:
  NB626, located, and the serving files are not written.
"""

from __future__ import annotations

import ast

from nb2prod.problems import Problem, make_problem

WINDOWS = frozenset({"rolling", "expanding", "ewm", "shift", "diff", "cumsum", "cumprod",
                     "cummax", "cummin", "rank", "pct_change", "transform",
                     "interpolate", "ffill", "bfill", "cumcount"})
"""Methods whose value for a row depends on the rows around it."""
STATISTICS = frozenset({"mean", "median", "std", "var", "quantile", "min", "max", "sum",
                        "count", "nunique", "value_counts", "mode", "sem", "skew", "prod",
                        "unique", "idxmax", "idxmin", "describe"})
"""Reductions over the rows: their training value is recorded (frozen)."""
CATEGORY_SETS = frozenset({"get_dummies"})
FILTERS = frozenset({"dropna", "drop_duplicates", "query", "sample", "head", "tail",
                     "nlargest", "nsmallest"})
ROW_AXIS = ("columns", 1)
KEEP_ROWS = frozenset({"reset_index", "copy", "sort_index", "sort_values"})
"""Methods after a filter that keep its rows: the statement is still a filter."""
REINDEX = ("reset_index", "ignore_index")
"""Renumbering rows: the held-out rows can no longer be found in the loaded frame."""


def call_name(expr: ast.AST) -> str | None:
    if not isinstance(expr, ast.Call):
        return None
    func = expr.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def is_row_wise(call: ast.Call) -> bool:
    """`df[cols].max(axis=1)`: one value per row, not a statistic."""
    return any(k.arg == "axis" and isinstance(k.value, ast.Constant)
               and k.value.value in ROW_AXIS for k in call.keywords)


def is_statistic(node: ast.AST) -> bool:
    return call_name(node) in STATISTICS and not is_row_wise(node)


def is_category_cast(node: ast.AST) -> bool:
    """`x.astype('category')` (also `{'col': 'category'}`)."""
    return call_name(node) == "astype" and any(
        isinstance(c, ast.Constant) and c.value == "category"
        for a in node.args for c in ast.walk(a))


def window_call(node: ast.stmt) -> ast.Call | None:
    """The first call in `node` that needs other rows than the row itself."""
    for sub in ast.walk(node):
        name = call_name(sub)
        if name == "transform" and not _after_groupby(sub):
            continue  # `scaler.transform(X)`: a fitted transformer, row by row
        if name in WINDOWS and not is_row_wise(sub):
            return sub
    return None


def _after_groupby(call: ast.Call) -> bool:
    return any(call_name(s) == "groupby" for s in ast.walk(call.func))


def data_bins(node: ast.AST) -> bool:
    """`pd.qcut(x, 4)`, `pd.cut(x, 5)`: bins whose edges come from the data (a list of
    edges, `pd.cut(x, [0, 18, 65])`, is row by row)."""
    name = call_name(node)
    if name not in ("cut", "qcut"):
        return False
    bins = node.args[1] if len(node.args) > 1 else next(
        (k.value for k in node.keywords if k.arg in ("bins", "q")), None)
    return name == "qcut" or not isinstance(bins, (ast.List, ast.Tuple))


def is_filter(node: ast.stmt) -> bool:
    """`df = df.dropna()`, `df = df[df.x > 0]`, `df = df.loc[mask]`: rows left out."""
    if not isinstance(node, ast.Assign):
        return False
    value = node.value
    while call_name(value) in KEEP_ROWS:  # `df[mask].reset_index(drop=True)`
        value = value.func.value
    if call_name(value) in FILTERS:
        return True
    if isinstance(value, ast.Subscript):
        key = value.slice
        if isinstance(value.value, ast.Attribute) and value.value.attr == "loc" and \
                isinstance(key, ast.Tuple):
            key = key.elts[0]
        return isinstance(key, (ast.Compare, ast.BoolOp, ast.UnaryOp)) or (
            isinstance(key, ast.BinOp) and isinstance(key.op, (ast.BitAnd, ast.BitOr)))
    return False


def renumbers(code: str) -> bool:
    return any(word in code for word in REINDEX)


def role(node: ast.stmt, is_load: bool = False) -> str:
    """What a path statement is, for `plan` and for the generated code."""
    if is_load:
        return "load"
    if window_call(node) is not None:
        return "window"
    if is_filter(node):
        return "filter"
    if call_name(getattr(node, "value", None)) == "train_test_split":
        return "split"
    subs = list(ast.walk(node))
    if any(call_name(s) in CATEGORY_SETS or is_category_cast(s) or data_bins(s) for s in subs):
        return "categories"
    if any(is_statistic(s) for s in subs):
        return "statistic"
    if any(call_name(s) in ("transform", "fit_transform") for s in subs):
        return "transform"
    return "derive"


def window_problems(path, cell_ids: dict[int, str | None]) -> tuple[Problem, ...]:
    """NB626 per path statement that needs other rows (the serving files are not written)."""
    problems = []
    for stmt in path.statements if path else ():
        if stmt.role != "window":
            continue
        call = window_call(ast.parse(stmt.code).body[0])
        what = call_name(call)
        problems.append(make_problem(
            "NB626", f"`{what}(...)` on the way to the model's input needs other rows than "
            f"the one requested: `{stmt.code.splitlines()[0][:80]}`; not served",
            stmt.cell, stmt.line, cell_id=cell_ids.get(stmt.cell)))
    return tuple(problems)
