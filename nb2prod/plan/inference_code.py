"""The inference path as Python: the body of the generated `features(frame, state)`
and `load(params)` (templates/inference.py.j2). Pure: syntax trees in, text out.

The notebook's statements are kept as written, with these rewrites, each so the
same code fits the state on the training frame and then answers requests:
- a statistic becomes `state.statistic(KEY, lambda: <it>)` (recorded when fitting,
  read back when serving); `pd.get_dummies(df, ...)` becomes `state.dummies(KEY,
  pd.get_dummies, df, ...)` (serving: the training categories, so one row gets the
  training columns, `drop_first` included); `pd.cut(x, N)`/`pd.qcut(x, q)` become
  `state.bins(KEY, pd.qcut, x, q)` (serving: `pd.cut` on the training edges);
  `astype('category')`
  becomes `state.categories(KEY, <it>)` (serving: the training categories);
- a row filter runs only when fitting (`if state.fitting:`): a request row is
  always answered;
- a split binds the X part to `state.rows(X)`: the training rows when fitting
  (so later statistics see what the notebook's did), every row when serving;
- `t.fit_transform(x)` becomes `t.transform(x)` (t is the notebook's fitted value),
  and `.drop(...)` ignores absent columns (a request has no target column).
KEY is `cell:line:n`, stable for the same notebook.
"""

from __future__ import annotations

import ast

from nb2prod.plan import inference_batch as batch
from nb2prod.plan.inference import split_bindings
from nb2prod.plan.inference_names import bound_names


class _Rewrite(ast.NodeTransformer):
    def __init__(self, cell: int, line: int) -> None:
        self.prefix = f"{cell}:{line}"
        self.count = 0

    def key(self) -> ast.Constant:
        self.count += 1
        return ast.Constant(f"{self.prefix}:{self.count}")

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if batch.is_statistic(node):  # outermost only: inner calls run when fitting
            return _state_call("statistic", self.key(), ast.Lambda(_no_args(), node))
        node = self.generic_visit(node)
        name = batch.call_name(node)
        if name in batch.CATEGORY_SETS and node.args:  # state.dummies(KEY, pd.get_dummies, df)
            return ast.Call(ast.Attribute(ast.Name("state", ast.Load()), "dummies", ast.Load()),
                            [self.key(), node.func, *node.args], node.keywords)
        if batch.is_category_cast(node):
            return _state_call("categories", self.key(), node)
        if batch.data_bins(node) and node.args and not any(
                k.arg == "retbins" for k in node.keywords):  # state.bins(KEY, pd.qcut, x, 4)
            return ast.Call(ast.Attribute(ast.Name("state", ast.Load()), "bins", ast.Load()),
                            [self.key(), node.func, *node.args], node.keywords)
        if name == "fit_transform":
            node.func.attr = "transform"
        if name == "drop" and not any(k.arg == "errors" for k in node.keywords):
            node.keywords.append(ast.keyword("errors", ast.Constant("ignore")))
        return node


def _no_args() -> ast.arguments:
    return ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])


def _state_call(method: str, *args: ast.expr) -> ast.Call:
    return ast.Call(ast.Attribute(ast.Name("state", ast.Load()), method, ast.Load()),
                    list(args), [])


def statement_code(code: str, role: str, cell: int, line: int) -> str:
    """One path statement as the generated function runs it."""
    node = ast.parse(code).body[0]
    if role == "split":
        return "\n".join(f"{bound} = state.rows({source})"
                         for bound, source in split_bindings(node))
    node = _Rewrite(cell, line).visit(node)
    ast.fix_missing_locations(node)
    text = ast.unparse(node)
    if role == "filter":
        return "if state.fitting:  # a row filter: requests are always answered\n" + \
            _indent(text)
    return text


def _indent(text: str) -> str:
    return "\n".join("    " + t if t else t for t in text.splitlines())


def features_body(path) -> str:
    """Statements of `features(frame, state)` after the frame is bound."""
    codes = [statement_code(s.code, s.role, s.cell, s.line) for s in path.statements]
    heads = [f"# cell {s.cell}, line {s.line} ({s.role})" for s in path.statements]
    return _join(heads, codes, path.result)


def load_body(path) -> str:
    """Statements of `load(params)`: what builds the loaded frame, from the parameters."""
    return _join([f"# cell {s.cell}, line {s.line}" for s in path.load],
                 [s.code for s in path.load], path.frame)


def _join(heads: list[str], codes: list[str], result: str) -> str:
    """The statements under their cell comments; a name bound and never read after
    (`X, y = ...` where only X is used) gets its targeted noqa, as step code does."""
    parts = []
    for k, (head, code) in enumerate(zip(heads, codes)):
        node = ast.parse(code).body[0]
        later = {n.id for c in codes[k + 1:] for n in ast.walk(ast.parse(c))
                 if isinstance(n, ast.Name)} | {result}
        unused = isinstance(node, ast.Assign) and bool(bound_names(node) - later)
        unpacks = isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Tuple) \
            and not isinstance(node.value, ast.Tuple)  # `a, b = (x, y)` is two assignments
        rule = "RUF059" if unpacks else "F841"
        lines = code.splitlines()
        if unused and len(lines) == 1:
            lines[0] += f"  # noqa: {rule}"
        parts += [head, *lines]
    return "\n".join(parts)
