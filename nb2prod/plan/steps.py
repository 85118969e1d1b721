"""Where a step's inputs and outputs are decided: linking units into steps.

Given the units `build.assign_units` chose, this module cuts each cell's code
(hoisting imports, dropping display-only expressions), takes the parameters
from `params.py`, and links steps: a step's inputs are the names it reads that
a parameter or an earlier step provides; its outputs are the names a later
step, a metric or a test reads from it.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from nb2prod import naming
from nb2prod.analysis.analyze import IPYTHON_NAMES, CellAnalysis, unresolved_names
from nb2prod.analysis.magics import DEPENDENCY
from nb2prod.analysis.tags import IMPORTS, METRICS, PARAMETERS, SKIP, STEP, TEST
from nb2prod.notebook import Notebook
from nb2prod.plan import codegen, model_choice, stephash
from nb2prod.plan import dependencies as deps
from nb2prod.plan import helper_globals as helperglobals
from nb2prod.plan import tests as testplan
from nb2prod.plan.metrics import metric_location, read_metrics
from nb2prod.plan.params import read_params
from nb2prod.plan.records import Block, Param, Plan, PlanOptions, Step, Unit
from nb2prod.problems import Problem, make_problem


class _Builder:
    """Accumulates what the plan needs while walking the units in order."""

    def __init__(self) -> None:
        self.imports: dict[str, None] = {}
        self.problems: list[Problem] = []
        self.module_names: set[str] = set()
        self.dropped: set[tuple[int, int]] = set()  # (cell, line) of dropped display code

    def body(self, cell: CellAnalysis, *, hoist: bool) -> str:
        body = codegen.split_body(cell.code.python, cell.tree, hoist_imports=hoist)
        for cut in body.imports:
            self.imports.setdefault(cut.text, None)
            self.module_names.update(_bound_by_import(cut.text))
        for cut in body.dropped:
            self.dropped.update((cell.cell.number, cut.line + i)
                                for i in range(cut.text.count("\n") + 1))
            self.problems.append(make_problem(
                "NB605", f"display-only `{cut.text.splitlines()[0]}` dropped",
                cell.cell.number, cut.line, 1, cell.cell.cell_id))
        return body.code


def _closure_reads(units: list[Unit]) -> set[tuple[str, int, int, int]]:
    """NB203 keys of reads that only a function body makes, of a name a later
    cell of the same step binds: inside the step function that is a closure,
    bound by the time the helper is called, as in the notebook."""
    found = set()
    for unit in units:
        for i, cell in enumerate(unit.cells):
            if cell.flow is None:
                continue
            later = {n for c in unit.cells[i + 1:] if c.flow for n in c.flow.defines}
            defs = [n for n in cell.tree.body
                    if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
            now = [s for s in cell.tree.body if s not in defs] + [
                x for d in defs for x in d.args.defaults + d.args.kw_defaults + d.decorator_list
                if x is not None]  # evaluated when the def runs, not when it is called
            eager = {n.id for s in now for n in ast.walk(s) if isinstance(n, ast.Name)}
            for use in cell.flow.reads:
                if use.name in later and use.name not in eager and any(
                        d.lineno <= use.line <= d.end_lineno for d in defs):
                    found.add(("NB203", cell.cell.number, use.line, use.column))
    return found


def assemble(notebook: Notebook, analysis, units: list[Unit], problems: list[Problem],
             options: PlanOptions) -> Plan:
    b = _Builder()
    b.problems.extend(problems)
    valid = [u for u in units if u.role != SKIP]
    helpers = [_block(c, b.body(c, hoist=True)) for u in valid if u.role == IMPORTS
               for c in u.cells if c.tree is not None]
    for u in valid:
        if u.role == IMPORTS:
            b.module_names.update(n for c in u.cells if c.flow for n in c.flow.defines)
    params, param_problems = read_params(
        [c for u in valid if u.role == PARAMETERS for c in u.cells])
    b.problems.extend(param_problems)
    step_units = [u for u in valid if u.role == STEP]
    raw_steps = [(u, [(c, b.body(c, hoist=True)) for c in u.cells if c.tree is not None])
                 for u in step_units]
    known = frozenset(b.module_names | {p.name for p in params})
    ordered = [c for u in valid if u.role in (STEP, TEST, "example") for c in u.cells]
    closures = _closure_reads(step_units)
    b.problems.extend(p for p in unresolved_names(ordered, known)
                      if (p.code, p.cell, p.line, p.column) not in closures)
    b.problems.extend(helperglobals.helper_problems(b.module_names, valid, params))
    gplan = helperglobals.globals_plan(b.module_names, valid, step_units, params)
    b.problems.extend(gplan.problems)
    b.problems.extend(_step_code_problems(b, ordered, [c for u in valid for c in u.cells]))
    metrics, golden, metrics_code, metric_problems = read_metrics(
        [c for u in valid if u.role == METRICS for c in u.cells])
    b.problems.extend(metric_problems)
    steps, provider, history = _link_steps(b, raw_steps, params, gplan)
    taken = set(b.module_names) | set(provider) | {s.function for s in steps} | naming.RESERVED
    tests, snapshots = testplan.plan_tests(lambda c: b.body(c, hoist=False), valid, provider,
                                           history, taken)
    served = model_choice.choose(raw_steps, [s.function for s in steps], provider, history,
                                 taken, options.model, options.serve_input)
    metric_cells = [c for u in valid if u.role == METRICS for c in u.cells]
    results = _results(b, metrics, tests, steps, provider, metric_cells)
    results += tuple(n for n in served.results if n not in results)
    snapshots += served.snapshots
    steps = _with_outputs(steps, provider, results, snapshots)
    imports = _mark_unused_imports(list(b.imports), helpers, steps, tests)
    steps = _with_code_hashes(steps, [*imports, *(h.code for h in helpers)])
    name = options.name or Path(notebook.path).stem
    import_name = naming.import_name(name)
    requirements, resolved, lock = _dependencies(b, analysis, valid, import_name,
                                                 options.environment)
    b.problems.extend(_credential_params(params))
    return Plan(
        notebook_name=Path(notebook.path).name,
        notebook_sha256=notebook.sha256,
        dist_name=naming.dist_name(name),
        import_name=import_name,
        python_version=options.python_version,
        imports=tuple(imports),
        helpers=tuple(h for h in helpers if h.code),
        params=params,
        steps=steps,
        metrics=metrics or tuple(
            n for n in results if steps and n in _last_step_values(steps[-1], provider)),
        metrics_code=metrics_code,
        results=results,
        golden=golden,
        tests=tests,
        dependencies=tuple(requirements),
        resolved=resolved,
        lock=lock,
        environment=options.environment.python_version if options.environment else "",
        exports=tuple(_exports(helpers)),
        export_module=_export_module(analysis),
        problems=tuple(sorted(b.problems, key=_problem_order)),
        skipped=tuple(c.cell.number for u in units if u.role == SKIP for c in u.cells),
        test_imports=tuple(testplan.imports_for_tests(list(b.imports), helpers, tests,
                                                      import_name)),
        snapshots=snapshots,
        model=served.model,
        model_notes=served.notes,
        inference=served.inference,
        predict_cell=next((c.cell.number for u in valid if u.role == IMPORTS for c in u.cells
                           if c.tags.predict and _defines(c, "predict")), None),
        helper_globals=helperglobals.records(gplan, steps, params),
    )


def _defines(cell: CellAnalysis, name: str) -> bool:
    return cell.tree is not None and any(
        isinstance(n, ast.FunctionDef) and n.name == name for n in cell.tree.body)


def _problem_order(p: Problem):
    return (p.cell or 0, p.line or 0, p.column or 0, p.code, p.message)


def _block(cell: CellAnalysis, code: str) -> Block:
    return Block(cell.cell.number, cell.cell.cell_id, code)


_bound_by_import = testplan.bound_by_import


def _link_steps(b: _Builder, raw_steps, params, gplan):
    """Walk steps in order; `provider` maps each value name to its last writer."""
    provider: dict[str, str] = {p.name: "params" for p in params}
    taken = set(b.module_names) | set(provider)
    for _, cells in raw_steps:
        taken.update(n for c, _ in cells if c.flow for n in c.flow.defines)
    steps: list[Step] = []
    history: list[tuple[int, dict[str, str]]] = []  # (first cell index, providers after)
    known_steps: dict[str, str] = {}
    for index, (unit, cells) in enumerate(raw_steps):
        function = naming.unique(naming.identifier(unit.name), taken)
        bound = tuple(n for n in gplan.bound.get(index, ()) if n in provider)
        inputs, edges = _step_inputs(b, cells, provider, bound, gplan.written)
        after = tuple(dict.fromkeys([*edges, *_explicit_after(b, unit, known_steps)]))
        steps.append(Step(unit.name, function, tuple(_block(c, code) for c, code in cells),
                          inputs=tuple(inputs), after=after, settings=unit.settings,
                          edges=tuple((k, tuple(v)) for k, v in edges.items()),
                          global_names=gplan.declared.get(index, ()), bound_globals=bound))
        known_steps[unit.name] = function
        for cell, _ in cells:
            if cell.flow is None:
                continue
            for name in (*cell.flow.defines, *cell.flow.mutates):
                if name not in b.module_names:
                    provider[name] = function
            for name in cell.flow.deletes:
                provider.pop(name, None)
        history.append((unit.cells[0].cell.index, dict(provider)))
    return steps, provider, history


def _step_inputs(b: _Builder, cells, provider, helper_globals=(), module_globals=frozenset()):
    """Names the step reads that a parameter or an earlier step provides, then
    the globals the helpers it calls read (bound at its start)."""
    bound: set[str] = set()
    inputs: list[str] = []
    edges: dict[str, list[str]] = {}
    for cell, _ in cells:
        if cell.flow is None:
            continue
        for use in cell.flow.reads:
            name = use.name
            if (name in bound or name in b.module_names or name not in provider
                    or name in module_globals):
                continue
            if name not in inputs:
                inputs.append(name)
                if provider[name] != "params":
                    edges.setdefault(provider[name], []).append(name)
        bound.update(cell.flow.defines)
        bound.update(cell.flow.mutates)
    for name in helper_globals:
        if name not in inputs:
            inputs.append(name)
            if provider[name] != "params":
                edges.setdefault(provider[name], []).append(name)
    return inputs, edges


def _explicit_after(b: _Builder, unit: Unit, known_steps: dict[str, str]) -> list[str]:
    found = []
    for name in unit.after:
        if name in known_steps:
            found.append(known_steps[name])
        else:
            cell = unit.cells[0].cell
            b.problems.append(make_problem(
                "NB611", f"`{name}` is not a step defined above", cell.number,
                cell_id=cell.cell_id))
    return found


def _results(b, metrics, tests, steps, provider, metric_cells) -> tuple[str, ...]:
    wanted = list(metrics) + [n for t in tests for n in t.reads]
    if not metrics and steps:
        wanted += _last_step_values(steps[-1], provider)
    results = []
    for name in dict.fromkeys(wanted):
        if name in provider:
            results.append(name)
        elif name in metrics:
            kind = "is module-level (an import or a helper), not a value a step computes" if (
                name in b.module_names) else "is defined by no step"
            b.problems.append(make_problem(
                "NB608", f"metric `{name}` {kind}", *metric_location(metric_cells, name),
                hint=f"remove `{name}` from the metrics cell, or compute it in a step"))
    return tuple(results)


def _with_outputs(steps: list[Step], provider, results, snapshots) -> tuple[Step, ...]:
    """Outputs: names read by a later step along an edge, returned as results, or
    kept by run_steps as a snapshot for a test."""
    outputs: dict[str, list[str]] = {s.function: [] for s in steps}
    for step in steps:
        for source, names in step.edges:
            outputs[source].extend(names)
    for name in results:
        if provider.get(name, "params") != "params":
            outputs[provider[name]].append(name)
    for function, name, _ in snapshots:
        if function != "params":
            outputs[function].append(name)
    final = []
    for step in steps:
        outs = tuple(dict.fromkeys(outputs[step.function]))
        code = "\n".join(b.code for b in step.blocks)
        loaded = codegen.loaded_names(code) if code.strip() else set()
        bound = {n for blk in step.blocks if blk.code.strip()
                 for n in codegen.bound_names(blk.code)}
        unused = tuple(sorted(bound - loaded - set(outs) - set(step.global_names)))
        blocks = tuple(Block(blk.cell, blk.cell_id, codegen.mark_unused_locals(blk.code,
                                                                               set(unused)))
                       for blk in step.blocks)
        final.append(dataclasses.replace(step, blocks=blocks, outputs=outs, unused=unused))
    return tuple(final)


def _with_code_hashes(steps: tuple[Step, ...], module_code: list[str]) -> tuple[Step, ...]:
    bindings = stephash.module_bindings(module_code)
    return tuple(dataclasses.replace(s, code_hash=stephash.step_hash(
        "\n".join(b.code for b in s.blocks), (*s.inputs, "->", *s.outputs), bindings))
        for s in steps)


def _mark_unused_imports(imports: list[str], helpers, steps, tests) -> list[str]:
    code = "\n".join([*(h.code for h in helpers), *(b.code for s in steps for b in s.blocks),
                      *(t.code for t in tests)])
    loaded = codegen.loaded_names(code) if code.strip() else set()
    marked = []
    for text in imports:
        unused = _bound_by_import(text) - loaded
        marked.append(codegen.mark_unused(text, unused, "F401"))
    return marked


def _dependencies(b: _Builder, analysis, units: list[Unit], own: str, env):
    """(requirements, resolved imports, lock pins); unresolved imports are NB623."""
    cells = [c for u in units for c in u.cells if c.tree is not None]
    modules = deps.top_level_imports(c.tree for c in cells)
    specs = [p for c in analysis.code_cells if c.code for m in c.code.magics
             if m.action == DEPENDENCY for p in m.packages]
    resolved = deps.resolve(modules, own, env)
    if env is None:
        return deps.distributions(modules, specs, own, resolved), (), ()
    sites = deps.import_sites(cells)
    for r in resolved:
        if r.version is None:
            cell, line, column, cell_id = sites[r.module]
            b.problems.append(make_problem(
                "NB623", f"`{r.module}` is not installed in the environment read (Python "
                f"{env.python_version}): declared as `{r.distribution}` without a version",
                cell, line, column, cell_id))
    from nb2prod.plan.environment import closure

    roots = [r.distribution for r in resolved if r.version] + [deps.requirement_name(s)
                                                               for s in specs]
    return (deps.distributions(modules, specs, own, resolved), tuple(resolved),
            tuple(closure(env, roots)))


def _credential_params(params: tuple[Param, ...]) -> list[Problem]:
    """A parameter default that looks like a credential (lint's NB306 patterns) would be
    written into the package, its CLI help and the Kubeflow YAML."""
    from nb2prod.lint.rules_secrets import looks_like_credential

    return [make_problem("NB624", f"parameter `{p.name}` has a default that looks like a "
                         "credential: it would be written into the package", p.cell, p.line)
            for p in params if looks_like_credential(p.name, p.default)]


def _exports(helpers: list[Block]) -> list[str]:
    names = []
    for block in helpers:
        for node in ast.parse(block.code).body if block.code else ():
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                    and not node.name.startswith("_"):
                names.append(node.name)
    return names


def _last_step_values(step: Step, provider: dict[str, str]) -> list[str]:
    """Data the last step leaves behind: its public names, minus defs, classes and
    loop variables (unbound when a loop runs zero times with other parameters)."""
    code = "\n".join(b.code for b in step.blocks)
    tree = ast.parse(code) if code.strip() else ast.Module(body=[], type_ignores=[])
    excluded = {n.name for n in ast.walk(tree) if isinstance(
        n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    excluded |= {t.id for n in ast.walk(tree) if isinstance(n, (ast.For, ast.AsyncFor))
                 for t in ast.walk(n.target) if isinstance(t, ast.Name)}
    return [n for n, p in provider.items()
            if p == step.function and not n.startswith("_") and n not in excluded]


def _step_code_problems(b: _Builder, cells: list[CellAnalysis], every) -> list[Problem]:
    """IPython-only names and global writes in converted code; reserved names."""
    problems = []
    for cell in cells:
        if cell.flow is None:
            continue
        where = (cell.cell.number,)
        for use in cell.flow.reads:
            if use.name in IPYTHON_NAMES and (cell.cell.number, use.line) not in b.dropped:
                problems.append(make_problem(
                    "NB613", f"`{use.name}` exists only inside IPython", *where, use.line,
                    use.column, cell.cell.cell_id))
        for use in cell.flow.global_writes:
            problems.append(make_problem(
                "NB609", f"a function assigns global `{use.name}`: in the package it is a "
                "module global, not a value of this step", *where, use.line, use.column,
                cell.cell.cell_id))
    same_module = {n for n in ("typing", "dataclasses") if f"import {n}" in b.imports}
    if "from __future__ import annotations" in b.imports:
        same_module.add("annotations")  # the pipeline's own first line
    for name in sorted(b.module_names & naming.RESERVED - same_module):
        cell = next((c for c in every if c.flow and name in c.flow.defines), None)
        problems.append(make_problem(
            "NB619", f"`{name}` is defined by the notebook and by the generated pipeline",
            cell.cell.number if cell else None, cell_id=cell.cell.cell_id if cell else None))
    return problems


def _export_module(analysis) -> str | None:
    """nbdev's `#| default_exp pkg.textutils` names a module users import from."""
    names = [c.tags.default_exp for c in analysis.cells if c.tags.default_exp]
    if not names:
        return None
    module = naming.identifier(names[0].rsplit(".", 1)[-1])
    return None if module in ("pipeline", "__main__", "__init__") else module
