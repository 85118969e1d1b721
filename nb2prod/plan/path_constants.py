"""Paths held by names: `OUT = "work/clean.parquet"` then `df.to_parquet(OUT)`.

Notebooks name their paths once and use the name; file_flows.py follows literal
paths only. This module knows a name's path when the notebook binds it exactly
once, at a cell's top level, to a path made of literals and other such names
(`f"{DATA}/raw.csv"`, `os.path.join(DATA, "raw.csv")`, `Path(DATA) / "x"`,
`DATA + "/x"`). Used for the folders a step writes into (they are made before it
runs). Pure, `ast` only: nothing is evaluated.
"""

from __future__ import annotations

import ast
import posixpath
from collections import Counter
from collections.abc import Iterable

from nb2prod.plan.file_flows import CALLS, PATH_KEYWORDS, WRITE

JOIN_CALLS = frozenset(["os.path.join", "posixpath.join", "Path", "pathlib.Path",
                        "PurePath", "PosixPath"])


def path_constants(codes: Iterable[str]) -> dict[str, str]:
    """Name -> path for names bound once, at top level, to a path `resolve` can make."""
    trees = [_parse(code) for code in codes]
    counts = Counter(target.id for tree in trees for node in ast.walk(tree)
                     if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign))
                     for target in _targets(node) if isinstance(target, ast.Name))
    found: dict[str, str] = {}
    for tree in trees:
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name) and counts[node.targets[0].id] == 1:
                value = resolve(node.value, found)
                if value:
                    found[node.targets[0].id] = value
    return found


def written_paths(code: str, constants: dict[str, str]) -> list[str]:
    """Paths the code writes through a call (`to_csv`, `np.save`, `joblib.dump`, `open(...,
    "w")`) whose path argument is a name or expression `resolve` knows."""
    found = []
    for call in (n for n in ast.walk(_parse(code)) if isinstance(n, ast.Call)):
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name == "open" and not _opens_for_writing(call):
            continue
        if name != "open" and CALLS.get(name) != WRITE:
            continue
        arguments = [*call.args, *(k.value for k in call.keywords if k.arg in PATH_KEYWORDS)]
        path = next((p for p in (resolve(a, constants) for a in arguments) if p), None)
        if path:
            found.append(posixpath.normpath(path))
    return found


def resolve(node: ast.expr, constants: dict[str, str]) -> str | None:
    """The path an expression of literals and known names makes, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value or None
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.JoinedStr):
        parts = [v.value if isinstance(v, ast.Constant) else
                 resolve(v.value, constants) if isinstance(v, ast.FormattedValue)
                 and v.format_spec is None and v.conversion == -1 else None
                 for v in node.values]
        return "".join(parts) if all(p is not None for p in parts) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Div)):
        left, right = resolve(node.left, constants), resolve(node.right, constants)
        if left is None or right is None:
            return None
        return left + right if isinstance(node.op, ast.Add) else f"{left}/{right}"
    if isinstance(node, ast.Call) and _dotted(node.func) in JOIN_CALLS and node.args \
            and not node.keywords:
        parts = [resolve(a, constants) for a in node.args]
        return posixpath.join(*parts) if all(parts) else None
    return None


def _opens_for_writing(call: ast.Call) -> bool:
    mode = call.args[1] if len(call.args) > 1 else next(
        (k.value for k in call.keywords if k.arg == "mode"), None)
    return isinstance(mode, ast.Constant) and any(c in str(mode.value) for c in "wax")


def _targets(node) -> list[ast.expr]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return [t for target in targets for t in ast.walk(target)]


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _parse(code: str) -> ast.Module:
    try:
        return ast.parse(code)
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])
