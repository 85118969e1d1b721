"""Helpers that read notebook globals: `def scaled(x): return x * scale`.

In the notebook, `scale` is a global of the kernel: the parameters cell or a
step's cell binds it, and the helper reads whatever value it has when it is
called. The package keeps that reading (the helper's code is not rewritten):
`scale` stays a module global of `pipeline.py`, and each step that calls the
helper (directly or through other helpers) binds it first —

- a value the step binds itself: the step declares it `global`, so its cells
  bind the module global exactly as the notebook's cells did;
- a parameter or an earlier step's value: it becomes an input of the step
  (so Kubeflow pods receive it too) and the step binds it before its code.

That is faithful when the dataflow proves which value every call sees: each
call sees the latest binding before its step (the parameters, or any number
of steps, each declaring the name `global`). Otherwise the read is refused
(NB614) at the helper's line, with the fix: pass the value to the helper as
an argument — when a step rebinds a parameter, reads the value and binds it
again, calls the helper before binding it again, or when nothing binds it
before a call.
Reads at the module level itself (decorators, defaults, class bodies, code in
the cell) run at import time and stay refused.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
from dataclasses import dataclass, field

from nb2prod.analysis.analyze import BUILTIN_NAMES, IPYTHON_NAMES, CellAnalysis
from nb2prod.analysis.dataflow import NameUse, analyze_cell
from nb2prod.analysis.lazy import helper_of, lazy_spans
from nb2prod.analysis.tags import IMPORTS, STEP
from nb2prod.plan.records import HelperGlobal
from nb2prod.problems import Problem, make_problem


@dataclass(frozen=True)
class Read:
    helper: str  # the module-level function or class whose body reads `name`
    name: str
    cell: CellAnalysis
    use: NameUse


@dataclass(frozen=True)
class HelperReads:
    """Which globals each helper reads when called, directly or through others."""
    direct: tuple[Read, ...] = ()
    calls: dict[str, set[str]] = field(default_factory=dict)  # helper -> helpers it calls

    def names(self, helper: str) -> set[str]:
        """Every global `helper` reads when called, through the helpers it calls too."""
        seen, todo, found = set(), [helper], set()
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            found |= {r.name for r in self.direct if r.helper == current}
            todo.extend(self.calls.get(current, ()))
        return found

    def first_read(self, helper: str, name: str) -> Read:
        """The read of `name` reached from `helper` (its own, or a callee's)."""
        own = [r for r in self.direct if r.name == name and r.helper == helper]
        return own[0] if own else next(r for r in self.direct if r.name == name)


def helper_uses(cell: CellAnalysis) -> list[tuple[str, NameUse]]:
    """(helper, read) for every free name each helper body reads: each top-level
    statement is analysed on its own, so two helpers reading one name both count."""
    found = []
    for node in cell.tree.body if cell.tree is not None else ():
        spans = lazy_spans(ast.Module(body=[node], type_ignores=[]))
        if spans:
            flow = analyze_cell(ast.Module(body=[node], type_ignores=[]))
            found.extend((h, use) for use in flow.reads if (h := helper_of(use, spans)))
    return found


def eager_uses(cell: CellAnalysis) -> list[NameUse]:
    """Reads that run when the module is imported (everything but helper bodies)."""
    if cell.tree is None or cell.flow is None:
        return []
    spans = lazy_spans(cell.tree)
    eager = [u for u in cell.flow.reads if helper_of(u, spans) is None]
    seen = {u.name for u in eager}
    lazy_first = {u.name for u in cell.flow.reads} - seen
    if lazy_first:  # flow.reads has first uses only: look for later import-time reads
        stripped = _without_bodies(cell.tree)
        eager += [u for u in analyze_cell(stripped).reads if u.name in lazy_first]
    return eager


def _without_bodies(tree: ast.Module) -> ast.Module:
    """The cell with helper bodies emptied: what runs at import time."""
    tree = copy.deepcopy(tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.body = [ast.Pass()]
        elif isinstance(node, ast.Lambda):
            node.body = ast.Constant(None)
    return tree


def collect(cells: list[CellAnalysis], module_names: set[str], values: set[str]) -> HelperReads:
    """Reads of `values` (parameters, step values) inside helper bodies, and which
    helpers call which (`module_names` holds the helpers' own names)."""
    direct: list[Read] = []
    calls: dict[str, set[str]] = {}
    for cell in cells:
        for helper, use in helper_uses(cell):
            if use.name in module_names:
                calls.setdefault(helper, set()).add(use.name)
            elif use.name in values:
                direct.append(Read(helper, use.name, cell, use))
    return HelperReads(tuple(direct), calls)


@dataclass(frozen=True)
class GlobalsPlan:
    """Per step unit (by position): globals it declares, globals it receives and binds."""
    declared: dict[int, tuple[str, ...]]
    bound: dict[int, tuple[str, ...]]
    sources: dict[str, int | None]  # global -> step unit binding it, None for a parameter
    problems: tuple[Problem, ...]
    written: frozenset[str] = frozenset()  # names functions assign through `global`


def plan_globals(reads: HelperReads, step_units, param_names: set[str]) -> GlobalsPlan:
    """Each step that binds a helper-read global declares it `global`; each step
    that calls the helper and does not bind it receives the latest binding as
    an input. Refused where the value a call sees is not fixed by step order."""
    places = _binding_places(reads, step_units, param_names)
    problems: dict[tuple[str, str], Problem] = {}
    for name, where in places.items():
        read = next(r for r in reads.direct if r.name == name)
        if None in where and len(where) > 1:
            problems[(read.helper, name)] = _refusal(
                read, f"which {_places(where, step_units)} bind: a step rebinds a parameter")
        for index in (i for i in where if i is not None and i != where[0]):
            if name in _reads(step_units[index]):
                problems.setdefault((read.helper, name), _refusal(
                    read, f"which step `{step_units[index].name}` reads and binds again: "
                    "which value a call sees depends on the order inside that step"))
    bound: dict[int, list[str]] = {}
    for index, unit in enumerate(step_units):
        for helper in sorted(_reads(unit)):
            for name in sorted(reads.names(helper)):
                earlier = [i for i in places[name] if i is None or i < index]
                read = reads.first_read(helper, name)
                if index in places[name] and earlier and _calls_first(unit, helper, name):
                    problems.setdefault((read.helper, name), _refusal(
                        read, f"which step `{unit.name}` binds again and calls `{helper}`: "
                        "which value a call sees depends on the order inside that step"))
                elif index not in places[name] and not earlier:
                    first = step_units[places[name][0]].name
                    problems.setdefault((read.helper, name), _refusal(
                        read, f"which step `{first}` binds only after step `{unit.name}` "
                        f"calls `{helper}`"))
                elif index not in places[name]:
                    bound.setdefault(index, []).append(name)
    refused = {name for _, name in problems}
    declared: dict[int, list[str]] = {}
    for name, where in places.items():
        for index in where if name not in refused else ():
            if index is not None:
                declared.setdefault(index, []).append(name)
    return GlobalsPlan(
        {i: tuple(dict.fromkeys(v)) for i, v in declared.items()},
        {i: tuple(n for n in dict.fromkeys(v) if n not in refused) for i, v in bound.items()},
        {n: w[0] for n, w in places.items() if w and n not in refused},
        tuple(problems.values()))


def _calls_first(unit, helper: str, name: str) -> bool:
    """Whether the step may call `helper` before it binds `name` (then a pod,
    which has no earlier step's binding, would see another value)."""
    for cell in unit.cells:
        if cell.tree is None or cell.flow is None:
            continue
        binds = [n.lineno for n in ast.walk(cell.tree) if isinstance(n, ast.Name)
                 and n.id == name and isinstance(n.ctx, ast.Store)]
        calls = [u.line for u in cell.flow.reads if u.name == helper]
        if calls and (not binds or min(calls) <= min(binds)):
            return True
        if binds:
            return False
    return False


def _reads(unit) -> set[str]:
    return {u.name for c in unit.cells if c.flow for u in c.flow.reads}


def _binding_places(reads: HelperReads, step_units, param_names) -> dict[str, list]:
    """Global -> where it is bound: None for the parameters, else step unit positions."""
    places: dict[str, list] = {}
    for read in reads.direct:
        if read.name in places:
            continue
        where = [None] if read.name in param_names else []
        where += [i for i, unit in enumerate(step_units)
                  if any(c.flow and read.name in c.flow.defines for c in unit.cells)]
        places[read.name] = where
    return places


def _places(where: list, step_units) -> str:
    names = [("the parameters" if i is None else f"step `{step_units[i].name}`") for i in where]
    return " and ".join(names)


def _refusal(read: Read, why: str) -> Problem:
    return make_problem(
        "NB614", f"`{read.helper}` reads the global `{read.name}`, {why}",
        read.cell.cell.number, read.use.line, read.use.column, read.cell.cell.cell_id,
        hint=f"pass `{read.name}` to `{read.helper}` as an argument, at each call")


def module_problems(cell: CellAnalysis, known: set[str], values: set[str],
                    step_names: set[str], ipython_names: set[str]) -> list[Problem]:
    """Reads module-level code cannot make: at import time, any name no import or
    helper binds; inside helper bodies, names bound nowhere (values are bound by
    the steps, see the module docstring)."""
    found = [u for u in eager_uses(cell) if u.name not in known]
    found += [u for _, u in helper_uses(cell) if u.name not in known and u.name not in values]
    problems = []
    for use in sorted(set(found), key=lambda u: (u.line, u.column)):
        code = "NB614" if use.name in step_names else (
            "NB613" if use.name in ipython_names else "NB201")
        what = ("a step value, read when the module is imported" if code == "NB614"
                else "not defined at module level")
        problems.append(make_problem(
            code, f"`{use.name}` is read by module-level code but is {what}",
            cell.cell.number, use.line, use.column, cell.cell.cell_id))
    return problems


def helper_problems(module_names: set[str], units, params) -> list[Problem]:
    """Module-level code may only read module-level names at import time; helper
    bodies may read parameters and step values too (see the module docstring)."""
    step_names = {n for u in units if u.role == STEP for c in u.cells if c.flow
                  for n in c.flow.defines}
    values = (step_names | {p.name for p in params}) - module_names
    known = module_names | BUILTIN_NAMES
    return [p for u in units if u.role == IMPORTS for c in u.cells
            for p in module_problems(c, known, values, step_names, IPYTHON_NAMES)]


def globals_plan(module_names: set[str], units, step_units, params) -> GlobalsPlan:
    names = {p.name for p in params}
    values = ({n for u in step_units for c in u.cells if c.flow for n in c.flow.defines}
              | names) - module_names
    reads = collect([c for u in units if u.role == IMPORTS for c in u.cells],
                    module_names, values)
    return with_global_writes(plan_globals(reads, step_units, names), units, step_units, names)


def with_global_writes(plan: GlobalsPlan, units, step_units, param_names) -> GlobalsPlan:
    """Names a function assigns through `global x`, and module-level helpers or
    constants a step binds again, live in the module, as in the notebook: every
    step that uses one declares it `global` and none receives it as an argument
    (in-process; NB609 warns that pods do not share a `global` write)."""
    helpers = {n for unit in units if unit.role == IMPORTS for c in unit.cells if c.flow
               for n in set(c.flow.defines) - set(c.flow.imports)}
    rebound = helpers & {n for u in step_units for c in u.cells if c.flow
                         for n in c.flow.defines}
    written = {u.name for unit in units for c in unit.cells if c.flow
               for u in c.flow.global_writes} - param_names
    if not written | rebound:
        return plan
    declared = {i: list(v) for i, v in plan.declared.items()}
    sources = dict(plan.sources)
    for index, unit in enumerate(step_units):
        used = {n for c in unit.cells if c.flow
                for n in (*c.flow.defines, *c.flow.mutates, *(u.name for u in c.flow.reads))}
        for name in sorted(used & (written | rebound)):
            declared.setdefault(index, []).append(name)
            if name not in helpers:  # a helper's own definition is the module's value
                sources.setdefault(name, index)
    written |= rebound
    bound = {i: tuple(n for n in v if n not in written) for i, v in plan.bound.items()}
    return dataclasses.replace(
        plan, declared={i: tuple(dict.fromkeys(v)) for i, v in declared.items()},
        bound=bound, sources=sources, written=frozenset(written))


def records(gplan: GlobalsPlan, steps, params) -> tuple[HelperGlobal, ...]:
    """The module globals of the package, in the order helpers first read them."""
    by_name = {p.name: p for p in params}
    return tuple(
        HelperGlobal(name, by_name[name].type_name, by_name[name].default, "params")
        if source is None else HelperGlobal(name, "typing.Any", "None", steps[source].function)
        for name, source in gplan.sources.items())
