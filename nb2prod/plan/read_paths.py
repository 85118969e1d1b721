"""Files a step reads through a path that is not a literal, for the step cache key.

`pd.read_csv("data.csv")` is a literal path (file_flows.py finds those). A path
made of the step's parameters — `pd.read_csv(data_path)`, `open(f"{data_dir}/x.csv")`,
`os.path.join(data_dir, name)`, `Path(data_dir) / "x.csv"`, or a local assigned
once from such an expression — can be computed before the step runs: the
package hashes the file it names then. Any other path (an attribute, a loop
variable, a function's result) is known only once the step runs: the step is
not cached, and its run says why. Pure: `ast` only, nothing is evaluated.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass

from nb2prod.plan.file_flows import CALLS, PATH_KEYWORDS, PATH_METHODS, READ, call_argument
from nb2prod.plan.records import Step

PATH_FUNCTIONS = frozenset([
    "os.path.join", "posixpath.join", "os.path.expanduser", "os.path.abspath", "os.fspath",
    "Path", "pathlib.Path", "PurePath", "pathlib.PurePath", "PosixPath", "str",
])
"""Calls a path may be built with from parameters and literals."""
PATH_METHOD_CALLS = frozenset(["joinpath", "with_suffix", "with_name", "expanduser", "format"])
"""`receiver.method(...)` calls a path may be built with (`"{}/x.csv".format(d)` too)."""
IN_MEMORY = frozenset(["StringIO", "BytesIO", "io.StringIO", "io.BytesIO"])


@dataclass(frozen=True)
class ReadPaths:
    paths: tuple[str, ...] = ()  # Python expressions of the parameters in `params`
    params: tuple[str, ...] = ()  # the parameters they are made of
    unknown: str = ""  # the first read through a path known only at run time, if any

    def function(self) -> str:
        """`lambda data_dir, **_: (os.path.join(data_dir, "x.csv"),)` (runtime.StepSpec.paths)."""
        items = ", ".join(self.paths) + ("," if len(self.paths) == 1 else "")
        return f"lambda {', '.join((*self.params, '**_'))}: ({items})"


NO_PATHS = ReadPaths()


def read_paths(step: Step, params: frozenset[str]) -> ReadPaths:
    """The step's non-literal read paths: as expressions of its parameters, or unknown."""
    trees = [(block.cell, _parse(block.code)) for block in step.blocks]
    locals_ = _single_assignments(trees)
    usable = frozenset(params & set(step.inputs)) - _stored_names(trees)
    paths: dict[str, None] = {}
    names: set[str] = set()
    for order, (cell, tree) in enumerate(trees):
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            node = _path_argument(call)
            if node is None or _not_a_path(node, trees):
                continue
            built = _expression(node, usable, locals_, (order, call.lineno), names)
            if built is None:
                return ReadPaths(unknown=f"it reads a file through a path known only when it "
                                 f"runs (`{_short(call)}`, notebook cell {cell})")
            paths[ast.unparse(built)] = None
    return ReadPaths(tuple(sorted(paths)), tuple(sorted(names))) if paths else NO_PATHS


def _parse(code: str) -> ast.Module:
    try:
        return ast.parse(code)
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])


def _path_argument(call: ast.Call) -> ast.expr | None:
    """The path a reading call reads (file_flows' calls, with any argument), else None."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name == "open" and isinstance(func, ast.Name):
        mode = call_argument(call, 1, "mode")
        if isinstance(mode, ast.Constant) and any(c in str(mode.value) for c in "wax+"):
            return None
        return call_argument(call, 0, "file")
    if isinstance(func, ast.Attribute) and PATH_METHODS.get(name) == READ:
        return func.value
    if CALLS.get(name) == READ:
        return call.args[0] if call.args else next(
            (k.value for k in call.keywords if k.arg in PATH_KEYWORDS), None)
    return None


def _not_a_path(node: ast.expr, trees) -> bool:
    """A literal (file_flows' business), an open file, an in-memory buffer."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Call):
        return _dotted(node.func) in ("open", *IN_MEMORY) or (
            isinstance(node.func, ast.Attribute) and node.func.attr == "open")
    return isinstance(node, ast.Name) and node.id in _open_files(trees)


def _open_files(trees) -> set[str]:
    """Names bound to an open file or buffer: `with open(p) as f`, `f = io.StringIO(t)`."""
    found = set()
    for _, tree in trees:
        for node in ast.walk(tree):
            pairs = []
            if isinstance(node, (ast.With, ast.AsyncWith)):
                pairs = [(i.context_expr, i.optional_vars) for i in node.items]
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                pairs = [(node.value, node.targets[0])]
            for value, target in pairs:
                if isinstance(target, ast.Name) and _not_a_path(value, ()):
                    found.add(target.id)
    return found


def _stored_names(trees) -> frozenset[str]:
    return frozenset(n.id for _, tree in trees for n in ast.walk(tree)
                     if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))


def _single_assignments(trees) -> dict[str, tuple[tuple[int, int], ast.expr]]:
    """Names bound exactly once in the step, by a top-level `name = value`: where, what."""
    counts: dict[str, int] = {}
    for _, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                counts[node.id] = counts.get(node.id, 0) + 1
    found = {}
    for order, (_, tree) in enumerate(trees):
        for stmt in tree.body:
            if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                    and isinstance(stmt.targets[0], ast.Name)
                    and counts.get(stmt.targets[0].id) == 1):
                found[stmt.targets[0].id] = ((order, stmt.lineno), stmt.value)
    return found


def _expression(node: ast.expr, params: frozenset[str], locals_, where: tuple[int, int],
                names: set[str]) -> ast.expr | None:
    """`node` with locals replaced by their values, when it is made only of parameters,
    literals and path-building calls; else None."""
    def build(n: ast.expr, depth: int = 0) -> ast.expr | None:
        if depth > 20:
            return None
        if isinstance(n, ast.Constant):
            return n
        if isinstance(n, ast.Name):
            if n.id in params:
                names.add(n.id)
                return n
            if n.id in locals_ and locals_[n.id][0] < where:
                return build(copy.deepcopy(locals_[n.id][1]), depth + 1)
            return None
        if isinstance(n, ast.JoinedStr):
            parts = [build(v, depth + 1) for v in n.values]
            return None if None in parts else ast.JoinedStr(values=parts)
        if isinstance(n, ast.FormattedValue):
            value = build(n.value, depth + 1)
            spec = n.format_spec and build(n.format_spec, depth + 1)
            if value is None or (n.format_spec and spec is None):
                return None
            return ast.FormattedValue(value=value, conversion=n.conversion, format_spec=spec)
        if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Div, ast.Mod)):
            left, right = build(n.left, depth + 1), build(n.right, depth + 1)
            return None if left is None or right is None else ast.BinOp(left, n.op, right)
        if isinstance(n, ast.Call) and not n.keywords and _path_call(n):
            args = [build(a, depth + 1) for a in n.args]
            func = n.func
            if isinstance(func, ast.Attribute) and _dotted(func) not in PATH_FUNCTIONS:
                receiver = build(func.value, depth + 1)
                if receiver is None:
                    return None
                func = ast.Attribute(value=receiver, attr=func.attr, ctx=ast.Load())
            return None if None in args else ast.Call(func=func, args=args, keywords=[])
        return None

    return build(node)


def _path_call(call: ast.Call) -> bool:
    if _dotted(call.func) in PATH_FUNCTIONS:
        return True
    return isinstance(call.func, ast.Attribute) and call.func.attr in PATH_METHOD_CALLS


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


def _short(call: ast.Call) -> str:
    text = ast.unparse(call)
    return text if len(text) <= 60 else text[:57] + "..."
