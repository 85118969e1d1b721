"""Which of a step's values it can return, and which the last step reports.

A step function ends with `return a, b`: a name not bound on every path
through the step's code raises UnboundLocalError there, although the notebook
never failed (Python deletes `e` at the end of `except ValueError as e:`; a
name bound only in an `except ImportError:` branch is unbound on the other
path). `definitely_bound` follows the step's statements the way the compiler
decides which names are assigned: both branches of an `if`, every handler of
a `try` (a handler may start before the body bound anything), names deleted by
`del` and at the end of `except ... as name`. Loops are taken to run at least
once, as they did in the notebook (the dataflow analysis assumes the same).

Without a metrics cell the last step reports its plain data (`last_step_values`):
names every binding of which, at the top level of a cell, computes a number, a
string, a container display or an aggregate (`len`, `sum`, `.mean()`,
`accuracy_score`, `grid.best_score_`), never a figure, a module, a function, a
loop variable or a frame read from a file.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from nb2prod.plan.records import Block, Step
from nb2prod.problems import Problem, make_problem

Bound = frozenset[str] | None
"""Names bound after a statement; None when it never falls through (`raise`, `return`)."""


def _meet(states: Iterable[Bound]) -> Bound:
    """Names bound after whichever branch ran: bound on every branch that falls through."""
    result: Bound = None
    for state in states:
        if state is not None:
            result = state if result is None else result & state
    return result


def _stored(node: ast.AST) -> set[str]:
    """Names a simple statement binds: its targets and walrus targets, not the
    variables of comprehensions or lambdas (their own scope)."""
    found, stack = set(), [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Name) and isinstance(current.ctx, ast.Store):
            found.add(current.id)
        elif isinstance(current, ast.NamedExpr):
            found.add(current.target.id)
            stack.append(current.value)
            continue
        if isinstance(current, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                                ast.GeneratorExp)):
            stack.extend(n for n in ast.walk(current) if isinstance(n, ast.NamedExpr))
            continue
        stack.extend(ast.iter_child_nodes(current))
    return found


def _imported(node: ast.Import | ast.ImportFrom) -> set[str]:
    return {a.asname or a.name.split(".")[0] for a in node.names if a.name != "*"}


def _sequence(statements: list[ast.stmt], bound: Bound) -> Bound:
    for statement in statements:
        if bound is None:
            return None
        bound = _statement(statement, bound)
    return bound


def _try(node, bound: frozenset[str]) -> Bound:
    body = _sequence(node.body, bound)
    ran = _sequence(node.orelse, body)
    handlers = []
    for handler in node.handlers:
        start = bound | {handler.name} if handler.name else bound
        after = _sequence(handler.body, start)
        handlers.append(after - {handler.name} if after is not None and handler.name
                        else after)  # Python deletes the name when the handler ends
    return _sequence(node.finalbody, _meet([ran, *handlers]))


def _loop(node, bound: frozenset[str]) -> Bound:
    start = bound | (_stored(node.target) if not isinstance(node, ast.While) else set())
    body = _sequence(node.body, start)
    return _sequence(node.orelse, start if body is None else body)


def _match(node: ast.Match, bound: frozenset[str]) -> Bound:
    cases = [_sequence(c.body, bound | _stored(c.pattern) | {
        n.name for n in ast.walk(c.pattern) if isinstance(n, (ast.MatchAs, ast.MatchStar))
        and n.name} | {n.rest for n in ast.walk(c.pattern)
                       if isinstance(n, ast.MatchMapping) and n.rest}) for c in node.cases]
    last = node.cases[-1] if node.cases else None
    total = last is not None and last.guard is None and isinstance(
        last.pattern, ast.MatchAs) and last.pattern.pattern is None
    return _meet(cases if total else [*cases, bound])


_COMPOUND = {
    ast.If: lambda n, b: _meet([_sequence(n.body, b), _sequence(n.orelse, b)]),
    ast.For: _loop, ast.AsyncFor: _loop, ast.While: _loop,
    ast.Try: _try, getattr(ast, "TryStar", ast.Try): _try,
    ast.With: lambda n, b: _sequence(n.body, b | _stored(ast.Tuple(
        [i.optional_vars for i in n.items if i.optional_vars], ast.Load()))),
    ast.AsyncWith: lambda n, b: _sequence(n.body, b | _stored(ast.Tuple(
        [i.optional_vars for i in n.items if i.optional_vars], ast.Load()))),
    ast.Match: _match,
    ast.Raise: lambda n, b: None, ast.Return: lambda n, b: None,
    ast.Delete: lambda n, b: b - {t.id for t in n.targets if isinstance(t, ast.Name)},
    ast.Import: lambda n, b: b | _imported(n), ast.ImportFrom: lambda n, b: b | _imported(n),
    ast.FunctionDef: lambda n, b: b | {n.name}, ast.AsyncFunctionDef: lambda n, b: b | {n.name},
    ast.ClassDef: lambda n, b: b | {n.name},
    ast.Global: lambda n, b: b | set(n.names), ast.Nonlocal: lambda n, b: b | set(n.names),
}
"""Statement kind -> (statement, names bound before) -> names bound after. `break` and
`continue` fall through: loops are assumed to run, as in the notebook."""


def _statement(node: ast.stmt, bound: frozenset[str]) -> Bound:
    rule = _COMPOUND.get(type(node))
    return rule(node, bound) if rule else bound | _stored(node)


def _trees(blocks: tuple[Block, ...]) -> list[tuple[Block, ast.Module]]:
    return [(b, ast.parse(b.code)) for b in blocks if b.code.strip()]


def definitely_bound(blocks: tuple[Block, ...], entry: Iterable[str] = ()) -> Bound:
    """Names bound on every path through the blocks, in order, starting with `entry`
    (the step's arguments and globals)."""
    bound: Bound = frozenset(entry)
    for _, tree in _trees(blocks):
        bound = _sequence(tree.body, bound)
    return bound


def unbound_outputs(step: Step) -> list[Problem]:
    """A warning per output a path through the step leaves unbound, at the last top-level
    statement that binds it: the step's `return` would raise UnboundLocalError there."""
    bound = definitely_bound(step.blocks, (*step.inputs, *step.global_names))
    if bound is None:
        return []
    problems = []
    for name in step.outputs:
        if name in bound:
            continue
        where = [(b, s) for b, tree in _trees(step.blocks) for s in tree.body
                 if name in _binds_anywhere(s)]
        block, statement = where[-1] if where else (step.blocks[0], None)
        problems.append(make_problem(
            "NB627", f"`{name}` is not bound on every path through this statement (a "
            "branch that does not bind it, or `del`/`except ... as` unbinding it): step "
            f"`{step.name}` cannot return it for later cells when that path runs",
            block.cell, statement.lineno if statement else None,
            statement.col_offset + 1 if statement else None, block.cell_id))
    return problems


def _binds_anywhere(node: ast.stmt) -> set[str]:
    names = _stored(node)
    for sub in ast.walk(node):
        if isinstance(sub, ast.ExceptHandler) and sub.name:
            names.add(sub.name)
        elif isinstance(sub, ast.Delete):
            names.update(t.id for t in sub.targets if isinstance(t, ast.Name))
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            names.update(_imported(sub))
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(sub.name)
    return names


# --- the last step's plain data -----------------------------------------------------------

DATA_CALLS = frozenset([
    # builtins that return numbers, strings or containers
    "len", "sum", "min", "max", "round", "abs", "float", "int", "str", "bool", "sorted",
    "list", "dict", "tuple", "set", "repr", "format", "divmod", "pow",
    # aggregates and conversions of numpy, pandas and math
    "mean", "median", "std", "var", "count", "nunique", "quantile", "corr", "cov",
    "describe", "value_counts", "item", "tolist", "to_dict", "score", "agg", "aggregate",
    "idxmax", "idxmin", "argmax", "argmin", "sqrt", "log", "log10", "exp", "floor", "ceil",
    "average", "percentile", "prod", "cumsum", "unique", "nanmean", "nanstd", "dot",
    "isclose", "allclose", "mode", "skew", "kurt", "sem", "size",
])
"""Callee names (function or method) whose result is plain data."""
DATA_SUFFIXES = ("_score", "_error", "_loss", "_ratio")  # sklearn.metrics and friends
DATA_ATTRIBUTES = frozenset(["shape", "size", "ndim", "dtype", "dtypes", "columns"])


def _callee(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(
        func, ast.Attribute) else ""


def _is_data(node: ast.expr, data: set[str]) -> bool:
    """Whether an expression computes plain data, knowing which names already hold data."""
    if isinstance(node, (ast.Constant, ast.JoinedStr, ast.BinOp, ast.UnaryOp, ast.BoolOp,
                         ast.Compare, ast.List, ast.Dict, ast.Set, ast.ListComp,
                         ast.DictComp, ast.SetComp)):
        return True
    if isinstance(node, ast.Tuple):
        return all(_is_data(e, data) for e in node.elts)
    if isinstance(node, ast.Name):
        return node.id in data
    if isinstance(node, ast.Subscript):
        return _is_data(node.value, data)
    if isinstance(node, ast.Attribute):
        fitted = node.attr.endswith("_") and not node.attr.startswith("_")
        return fitted or node.attr in DATA_ATTRIBUTES or _is_data(node.value, data)
    if isinstance(node, ast.Call):
        name = _callee(node)
        return name in DATA_CALLS or name.endswith(DATA_SUFFIXES)
    return False


def _assignments(statement: ast.stmt, data: set[str]) -> tuple[set[str], set[str]]:
    """(names only ever assigned plain data in the statement, every other name it binds);
    `total += value` in a loop keeps `total = 0` a number."""
    good, bad = set(), set()
    for node in _nodes(statement):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            names = _stored(node)
            known = data | good
            ok = node.value is not None and not any(
                isinstance(n, ast.NamedExpr) for n in ast.walk(node.value)) and (
                _is_data(node.value, known) or isinstance(node, ast.AugAssign)
                and _is_data(node.target, known))  # `total += x` keeps a number a number
            (good if ok else bad).update(names)
    everything = _binds_anywhere(statement)
    return good - bad, everything - (good - bad)


def _nodes(statement: ast.stmt):
    """The statement and every statement inside it, not inside functions or classes."""
    stack = [statement]
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stack.extend(n for n in ast.iter_child_nodes(node) if isinstance(n, ast.stmt))
            stack.extend(h for n in ast.iter_child_nodes(node)
                         if isinstance(n, ast.ExceptHandler) for h in n.body)
            stack.extend(s for n in ast.iter_child_nodes(node)
                         if isinstance(n, ast.match_case) for s in n.body)


def plain_data(blocks: tuple[Block, ...]) -> set[str]:
    """Names whose every binding in the blocks is an assignment of plain data."""
    data: set[str] = set()
    for _, tree in _trees(blocks):
        for statement in tree.body:
            good, bad = _assignments(statement, data)
            data = (data | good) - bad
    return data


def last_step_results(step: Step, provider: dict[str, str]) -> list[str]:
    """What run_steps returns of the last step without a metrics cell, for `verify` and
    callers of run_steps: its public values bound on every path, not the functions,
    classes, modules and loop variables it binds (a loop may run zero times with other
    parameters)."""
    bound = definitely_bound(step.blocks, (*step.inputs, *step.global_names)) or frozenset()
    excluded, in_loops, elsewhere = set(), set(), set()
    for _, tree in _trees(step.blocks):
        for statement in tree.body:  # bound only by top-level loops: maybe zero iterations
            loop = isinstance(statement, (ast.For, ast.AsyncFor, ast.While))
            (in_loops if loop else elsewhere).update(_binds_anywhere(statement))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                excluded.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                excluded |= _imported(node)
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                excluded |= _stored(node.target)
    excluded |= in_loops - elsewhere
    return [n for n, p in provider.items() if p == step.function and not n.startswith("_")
            and n in bound and n not in excluded]


def last_step_values(step: Step, provider: dict[str, str]) -> list[str]:
    """What the last step reports (run(), --metrics-out) without a metrics cell: its
    public plain data bound on every path (module docstring)."""
    data = plain_data(step.blocks)
    return [n for n in last_step_results(step, provider) if n in data]
