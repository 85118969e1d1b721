"""Which values a step visibly binds to a scalar (pure, `ast` only).

`x = float(...)`, `n = len(...)`, a literal: a target (Kubeflow) can pass those
between steps as typed parameters, knowing the type check cannot fail at run
time; every other value is an ARTIFACT, passed as a file.
"""

from __future__ import annotations

import ast

from nb2prod.plan.records import Step

ARTIFACT = "artifact"  # a value of unknown type: passed between pods as a file
SCALAR_CALLS = {"float": "float", "int": "int", "str": "str", "bool": "bool", "len": "int"}


def value_types(step: Step) -> dict[str, str]:
    """Names this step binds to a visibly scalar value, with their KFP type."""
    seen: dict[str, set[str]] = {}
    for block in step.blocks:
        try:
            tree = ast.parse(block.code)
        except SyntaxError:
            continue
        for node in _statements(tree):
            for name, kind in _bindings(node):
                seen.setdefault(name, set()).add(kind)
    return {name: kinds.pop() for name, kinds in seen.items()
            if len(kinds) == 1 and ARTIFACT not in kinds}


def _statements(tree: ast.AST):
    """Every node outside nested function and class bodies (their names are local)."""
    stack = list(ast.iter_child_nodes(tree))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                 ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


def _bindings(node: ast.AST) -> list[tuple[str, str]]:
    if isinstance(node, ast.Assign):
        kind = _scalar_kind(node.value)
        return [(t.id, kind if isinstance(t, ast.Name) else ARTIFACT)
                for target in node.targets for t in _names(target)]
    if isinstance(node, ast.AnnAssign) and node.value is not None:
        return [(t.id, _scalar_kind(node.value)) for t in _names(node.target)]
    binds = []
    if isinstance(node, (ast.AugAssign, ast.For, ast.AsyncFor, ast.comprehension)):
        binds = _names(node.target)
    elif isinstance(node, ast.withitem) and node.optional_vars is not None:
        binds = _names(node.optional_vars)
    elif isinstance(node, ast.NamedExpr):
        binds = _names(node.target)
    return [(t.id, ARTIFACT) for t in binds]


def _names(target: ast.AST) -> list[ast.Name]:
    if isinstance(target, ast.Name):
        return [target]
    if isinstance(target, (ast.Tuple, ast.List)):
        # Unpacked values: the element types are unknown.
        return [ast.Name(n.id) for elt in target.elts for n in _names(elt)]
    if isinstance(target, ast.Starred):
        return _names(target.value)
    return []


def _scalar_kind(value: ast.expr) -> str:
    if isinstance(value, ast.Constant) and type(value.value) in (int, float, str, bool):
        return type(value.value).__name__
    if isinstance(value, ast.JoinedStr):
        return "str"
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        return SCALAR_CALLS.get(value.func.id, ARTIFACT)
    return ARTIFACT
