"""What a statement reads and writes, for the inference path (`inference.py`). Pure `ast`.

`bound_names` (rebound as a whole), `mutated_names` (changed in place),
`called_names` (a method called on it: a generator drawn from), `frame_reads`
(the frames a statement computes from, and the names it uses as keys or fitted
objects), `free_names` (what generated code must bind).
"""

from __future__ import annotations

import ast
import builtins

FITTED_METHODS = frozenset({"transform", "predict", "predict_proba", "decision_function",
                            "fit_transform", "inverse_transform", "score_samples"})
"""Methods called on a fitted object: the object's training value is frozen."""

MUTATORS = frozenset({"append", "extend", "insert", "update", "pop", "clear", "setdefault",
                      "remove", "sort", "add", "discard", "shuffle", "fit", "partial_fit"})
"""Methods that change their receiver when called as a statement (`df.head()` does not)."""
BUILTINS = frozenset(dir(builtins))


def call_name(expr: ast.expr) -> str | None:
    if not isinstance(expr, ast.Call):
        return None
    func = expr.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def bound_names(node: ast.stmt) -> set[str]:
    """Names a statement rebinds as a whole (`x = ...`, `a, b = ...`, `for x in`)."""
    targets = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
        targets = [node.target]
    names = set()
    for t in targets:
        for sub in ast.walk(t):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.add(sub.id)
    for inner in ast.walk(node):  # nested blocks (if/for/with bodies) bind too
        if inner is not node and isinstance(inner, ast.stmt):
            names |= bound_names(inner)
    return names


def mutated_names(node: ast.stmt) -> set[str]:
    """Names a statement changes in place: `df['x'] = ...`, `df.x = ...`,
    `df.fillna(0, inplace=True)`, `df.pop('y')`, `del df['x']`."""
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Subscript, ast.Attribute)) and isinstance(
                sub.ctx, (ast.Store, ast.Del)):
            base = base_name(sub)
            if base:
                names.add(base)
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and (
                sub.func.attr in ("pop", "update", "insert") or any(
                    k.arg == "inplace" for k in sub.keywords)):
            base = base_name(sub.func.value)
            if base:
                names.add(base)
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and \
            isinstance(node.value.func, ast.Attribute) and node.value.func.attr in MUTATORS:
        base = base_name(node.value.func.value)
        if base:
            names.add(base)
    return names


def called_names(node: ast.stmt) -> set[str]:
    """Names a method is called on (`rng.normal(...)`): a generator drawn from changes."""
    return {b for sub in ast.walk(node) if isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Attribute) and (b := base_name(sub.func.value))}


def base_name(expr: ast.expr) -> str | None:
    while isinstance(expr, (ast.Subscript, ast.Attribute)):
        expr = expr.value
    return expr.id if isinstance(expr, ast.Name) else None


def frame_reads(node: ast.stmt) -> tuple[set[str], set[str]]:
    """(chain names, key names) a statement reads: see the module docstring."""
    chain, keys = set(), set()

    def visit(expr, on_chain: bool) -> None:
        if isinstance(expr, ast.Name):
            if isinstance(expr.ctx, ast.Load):
                (chain if on_chain else keys).add(expr.id)
            return
        if isinstance(expr, ast.Subscript):
            visit(expr.value, on_chain)
            visit(expr.slice, False)
            return
        if isinstance(expr, ast.Call):
            func = expr.func
            fitted = isinstance(func, ast.Attribute) and func.attr in FITTED_METHODS
            if isinstance(func, ast.Attribute):
                visit(func.value, on_chain and not fitted)
            else:
                visit(func, False)
            for arg in expr.args:
                visit(arg, on_chain)
            for kw in expr.keywords:
                visit(kw.value, False)
            return
        if isinstance(expr, ast.keyword):
            visit(expr.value, False)
            return
        for child in ast.iter_child_nodes(expr):
            visit(child, on_chain)

    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.expr) and not (
                isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store)):
            visit(child, True)
        elif isinstance(child, ast.stmt):
            sub_chain, sub_keys = frame_reads(child)
            chain |= sub_chain
            keys |= sub_keys
    _drop_comprehension_names(node, chain, keys)
    return chain, keys


def _drop_comprehension_names(node, chain: set[str], keys: set[str]) -> None:
    for sub in ast.walk(node):
        if isinstance(sub, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            for gen in sub.generators:
                for t in ast.walk(gen.target):
                    if isinstance(t, ast.Name):
                        chain.discard(t.id)
                        keys.discard(t.id)
        elif isinstance(sub, ast.Lambda):
            for a in sub.args.args:
                chain.discard(a.arg)
                keys.discard(a.arg)


def names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def free_names(codes: list[str]) -> set[str]:
    """Names the statements read and do not bind themselves (nor are builtins)."""
    bound, read = set(), set()
    for code in codes:
        for node in ast.parse(code).body:
            local = {a.arg for a in ast.walk(node) if isinstance(a, ast.arg)} | {
                n.id for c in ast.walk(node) if isinstance(c, ast.comprehension)
                for n in ast.walk(c.target) if isinstance(n, ast.Name)}
            read |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                     and isinstance(n.ctx, ast.Load)} - bound - local
            bound |= bound_names(node)
    return read - BUILTINS - bound
