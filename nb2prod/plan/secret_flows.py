"""Secret values passed between steps (NB625), found in the steps' code with `ast`.

A step tagged `secret:SECRET:KEY:ENV` reads the variable ENV. When a name bound
from that value (`token = os.environ["ENV"]`, `headers = {"auth": token}`,
`client = Client(key=token)`) is one of the step's outputs, the value is passed
on like any output: in Kubeflow as an artifact in the pipeline root, locally
through the step cache. The fix is to read the variable in the step that uses it.

Which names a step outputs, and who reads them, is the plan's (`Step.outputs`,
`Step.edges`, `Plan.results`); this module only follows the secret's value
through each step's statements, in order:

- a source is `os.environ["ENV"]`, `os.environ.get("ENV")` or `os.getenv("ENV")`
  (any import spelling) of an ENV some `secret:` tag names, or a call of a
  function whose body reads one;
- a value computed from a tainted one is tainted, except through `SAFE_CALLS`
  and comparisons (`len(token)` reveals nothing of it) and through calls named
  like `READERS` (`pd.read_sql(query, engine)` returns the data the credential
  fetched, not the credential); a method call with a tainted argument taints
  its receiver (`headers.update(key=token)`);
- an input that an earlier step passed on tainted is tainted.

Plain rebinding at a cell's top level clears a name; anything else (a branch,
a loop) only adds. Used by `build`/`plan` (`with_secret_flow_problems`) and by
`lint` for notebooks with `secret:` tags. Pure.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from nb2prod.plan.records import Plan, Step
from nb2prod.problems import Problem, in_order, make_problem

SAFE_CALLS = frozenset(["len", "bool", "isinstance", "hasattr", "type", "id", "hash"])
"""Builtins whose result tells nothing of the value they are given."""
READERS = ("read", "scan", "fetch", "download", "query", "execute", "json")
"""Callee name prefixes (`read_sql`, `obj.read()`, `cursor.fetchall()`, `response.json()`):
what they return is data fetched with the credential, not the credential."""


@dataclass(frozen=True)
class Taint:
    env: str  # the secret variable the value comes from
    cell: int  # where the name was bound from it
    line: int
    column: int


@dataclass(frozen=True)
class _Env:
    """How the notebook spells the environment: the names bound to os, os.environ and
    os.getenv, the secret variables, and the functions whose body reads one."""

    os_names: frozenset[str]
    environ_names: frozenset[str]
    getenv_names: frozenset[str]
    secrets: frozenset[str]
    functions: tuple[tuple[str, str], ...] = ()  # (function, the variable it reads)


def secret_envs(steps: Iterable[Step]) -> dict[str, frozenset[str]]:
    """Step function -> the variables its `secret:` tags name."""
    return {step.function: frozenset(s.env for s in step.settings.secrets) for step in steps}


def secret_flow_problems(plan: Plan, trees: dict[int, tuple[ast.Module, str | None]]
                         ) -> list[Problem]:
    """NB625 per output holding a secret's value, at the statement that bound it.
    `trees`: cell number -> (its syntax tree, with notebook line numbers; its cell id)."""
    envs = secret_envs(plan.steps)
    secrets = frozenset().union(*envs.values()) if envs else frozenset()
    if not secrets:
        return []
    env = _spelling([t for t, _ in trees.values()], secrets)
    readers = _readers(plan)
    passed: dict[tuple[str, str], Taint] = {}  # (step function, name) -> taint passed on
    problems = []
    for step in plan.steps:
        tainted = {name: passed[(source, name)] for source, names in step.edges
                   for name in names if (source, name) in passed}
        for cell in dict.fromkeys(step.cells):
            if cell in trees:
                _follow(trees[cell][0].body, cell, env, tainted, top=True)
        for name in step.outputs:
            if name not in tainted:
                continue
            taint = passed[(step.function, name)] = tainted[name]
            where = ", ".join(dict.fromkeys(readers.get((step.function, name), ()))) or \
                "run_steps' results"
            problems.append(make_problem(
                "NB625", f"`{name}` holds the value of secret variable `{taint.env}` and is "
                f"passed from step `{step.name}` to {where}: it would be stored with the "
                "step's outputs (Kubeflow artifacts, the step cache)",
                taint.cell, taint.line, taint.column, trees[taint.cell][1]))
    return problems


def with_secret_flow_problems(plan: Plan, analysis) -> Plan:
    """`plan` with NB625 added to its problems, in the plan's problem order."""
    trees = {c.cell.number: (c.tree, c.cell.cell_id) for c in analysis.code_cells
             if c.tree is not None}
    added = secret_flow_problems(plan, trees)
    if not added:
        return plan
    return replace(plan, problems=in_order([*plan.problems, *added]))


def _readers(plan: Plan) -> dict[tuple[str, str], list[str]]:
    """(step function, output) -> who reads it: later steps, the metrics, tests."""
    found: dict[tuple[str, str], list[str]] = {}
    for step in plan.steps:
        for source, names in step.edges:
            for name in names:
                found.setdefault((source, name), []).append(f"step `{step.name}`")
    provider = {n: s.function for s in plan.steps for n in s.outputs}
    tested = {n for t in plan.tests for n in t.reads}
    for name in plan.results:
        what = "the metrics" if name in plan.metrics else (
            "the tests" if name in tested else "run_steps' results")
        if name in provider:
            found.setdefault((provider[name], name), []).append(what)
    return found


def _spelling(trees: list[ast.Module], secrets: frozenset[str]) -> _Env:
    names: dict[str, set[str]] = {"os": set(), "os.environ": set(), "os.getenv": set()}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "os":
                        names["os"].add(alias.asname or "os")
            elif isinstance(node, ast.ImportFrom) and node.module == "os" and not node.level:
                for alias in node.names:
                    if f"os.{alias.name}" in names:
                        names[f"os.{alias.name}"].add(alias.asname or alias.name)
    env = _Env(frozenset(names["os"]), frozenset(names["os.environ"]),
               frozenset(names["os.getenv"]), secrets)
    defs = [n for t in trees for n in ast.walk(t)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    while True:  # functions reading a secret, directly or through one another
        known = dict(env.functions)
        reads = {d.name: _first_source(d, env) for d in defs if d.name not in known}
        more = {name: read for name, read in reads.items() if read is not None}
        if not more:
            return env
        env = replace(env, functions=tuple(sorted({**known, **more}.items())))


def _first_source(function: ast.AST, env: _Env) -> str | None:
    return next((read for s in function.body for n in ast.walk(s)
                 if (read := _source(n, env)) is not None), None)


def _follow(statements: list[ast.stmt], cell: int, env: _Env, tainted: dict[str, Taint],
            top: bool) -> None:
    """Update `tainted` over `statements` in order (function and class bodies are not
    run here: a function only taints the calls of it)."""
    for stmt in statements:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for walrus in (n for n in ast.walk(stmt) if isinstance(n, ast.NamedExpr)):
            _bind([walrus.target], _taint(walrus.value, env, tainted), stmt, cell, tainted,
                  False)
        value, targets = _assignment(stmt)
        if targets:
            _bind(targets, _taint(value, env, tainted), stmt, cell, tainted, top)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            _method_call(stmt.value, stmt, cell, env, tainted)
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            for block in _blocks(getattr(stmt, field, None)):
                _follow(block, cell, env, tainted, top=False)


def _assignment(stmt: ast.stmt) -> tuple[ast.expr | None, list[ast.expr]]:
    """(value, targets) of statements that bind names from a value."""
    if isinstance(stmt, ast.Assign):
        return stmt.value, stmt.targets
    if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) and stmt.value is not None:
        return stmt.value, [stmt.target]
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        return stmt.iter, [stmt.target]
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        pairs = [(i.context_expr, i.optional_vars) for i in stmt.items if i.optional_vars]
        if pairs:
            return ast.Tuple([p[0] for p in pairs], ast.Load()), [p[1] for p in pairs]
    return None, []


def _blocks(value) -> Iterator[list[ast.stmt]]:
    if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
        yield value
    elif isinstance(value, list):  # except handlers, match cases
        for item in value:
            yield item.body


def _bind(targets: list[ast.expr], taint: Taint | None, stmt: ast.stmt, cell: int,
          tainted: dict[str, Taint], clears: bool) -> None:
    for target in targets:
        plain = isinstance(target, ast.Name)
        for name in _target_names(target):
            if taint is not None:
                tainted[name] = Taint(taint.env, cell, stmt.lineno, stmt.col_offset + 1)
            elif clears and plain and not isinstance(stmt, ast.AugAssign):
                tainted.pop(name, None)


def _target_names(target: ast.expr) -> Iterator[str]:
    """Names bound or changed by an assignment target (`d["k"] = v` changes `d`)."""
    while isinstance(target, (ast.Subscript, ast.Attribute, ast.Starred)):
        target = target.value
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _target_names(element)


def _method_call(call: ast.Call, stmt: ast.stmt, cell: int, env: _Env,
                 tainted: dict[str, Taint]) -> None:
    """`headers.update(auth=token)`: the receiver now holds the value."""
    if not isinstance(call.func, ast.Attribute):
        return
    arguments = ast.Tuple([*call.args, *(k.value for k in call.keywords)], ast.Load())
    taint = _taint(arguments, env, tainted)
    if taint is not None:
        _bind([call.func.value], taint, stmt, cell, tainted, False)


def _taint(node: ast.expr | None, env: _Env, tainted: dict[str, Taint]) -> Taint | None:
    """The taint of an expression's value: its first source or tainted name."""
    if node is None or isinstance(node, ast.Compare):
        return None
    if isinstance(node, ast.Name):
        return tainted.get(node.id) if isinstance(node.ctx, ast.Load) else None
    source = _source(node, env)
    if source is not None:
        return Taint(source, 0, node.lineno, node.col_offset + 1)
    if isinstance(node, ast.Call) and _reveals_nothing(node.func):
        return None
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.expr):
            found = _taint(child, env, tainted)
            if found is not None:
                return found
        elif isinstance(child, (ast.comprehension, ast.keyword)):
            found = _taint(child.iter if isinstance(child, ast.comprehension) else child.value,
                           env, tainted)
            if found is not None:
                return found
    return None


def _reveals_nothing(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in SAFE_CALLS or func.id.startswith(READERS)
    return isinstance(func, ast.Attribute) and func.attr.startswith(READERS)


def _source(node: ast.AST, env: _Env) -> str | None:
    """The secret variable `node` reads, if it is a read of one (or a call of a function
    that reads one: its name stands for the variable)."""
    if isinstance(node, ast.Subscript) and _is(node.value, env.environ_names, env, "environ"):
        return _secret_key(node.slice, env)
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if isinstance(func, ast.Name):
        called = dict(env.functions).get(func.id)
        if called is not None:
            return called
    reader = (isinstance(func, ast.Attribute) and func.attr == "get"
              and _is(func.value, env.environ_names, env, "environ")) or \
        _is(func, env.getenv_names, env, "getenv")
    if reader and node.args:
        return _secret_key(node.args[0], env)
    return None


def _is(node: ast.expr, names: frozenset[str], env: _Env, attribute: str) -> bool:
    """`node` is `environ` (imported from os) or `os.environ` (any alias of os)."""
    if isinstance(node, ast.Name):
        return node.id in names
    return (isinstance(node, ast.Attribute) and node.attr == attribute
            and isinstance(node.value, ast.Name) and node.value.id in env.os_names)


def _secret_key(node: ast.expr, env: _Env) -> str | None:
    if isinstance(node, ast.Constant) and node.value in env.secrets:
        return node.value
    return None
