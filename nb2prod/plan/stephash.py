"""Build-time code hashes of steps: a step's cells plus everything module-level it uses.

The hash is what the generated runtime keys its step cache on (with the input
values and the environment), and what the Kubeflow target passes to each task
so KFP's own cache sees a code change. It covers the step's code and, found
from the ast, every module-level statement that binds a name the step reads:
helper functions and classes, constants and imports, transitively (a helper
calling a helper). Editing a helper therefore changes the hash of exactly the
steps that reach it. Pure: text in, hex digest out.
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Iterable

HASH_LENGTH = 16
"""Hex digits kept: short enough for a Kubernetes label value, ample for a cache key."""


def module_bindings(sources: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Name -> the sources of the top-level statements that bind it (helpers, imports)."""
    bindings: dict[str, list[str]] = {}
    for source in sources:
        if not source.strip():
            continue
        tree = ast.parse(source)
        for node in tree.body:
            text = ast.get_source_segment(source, node) or ast.dump(node)
            for name in _bound(node):
                bindings.setdefault(name, []).append(text)
    return {name: tuple(texts) for name, texts in bindings.items()}


def step_hash(code: str, signature: tuple[str, ...], bindings: dict[str, tuple[str, ...]]) -> str:
    """Digest of a step's code, its inputs/outputs and the module code it reaches."""
    reached: dict[str, None] = {}
    pending = sorted(_loaded(code))
    while pending:
        name = pending.pop()
        if name in reached or name not in bindings:
            continue
        reached[name] = None
        for text in bindings[name]:
            pending.extend(sorted(_loaded(text) - set(reached)))
    module = sorted({text for name in reached for text in bindings[name]})
    payload = json.dumps({"code": code, "signature": list(signature), "module": module})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def _loaded(code: str) -> set[str]:
    if not code.strip():
        return set()
    return {node.id for node in ast.walk(ast.parse(code))
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store)}


def _bound(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [alias.asname or alias.name.split(".")[0] for alias in node.names
                if alias.name != "*"]
    targets = node.targets if isinstance(node, ast.Assign) else (
        [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
    return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
