"""Where a step's inputs and outputs are decided: linking units into steps.

Given the units `build.assign_units` chose, `assemble` runs stages that each
return values: `cut.py` cuts each cell's code (hoisting imports, dropping
display-only expressions), `params.py` and `metrics.py` read those cells, the
code is checked, and the steps are linked: a step's inputs are the names it
reads that a parameter or an earlier step provides; its outputs are the names
a later step, a metric or a test reads from it. `module_code.py` gives the
module level (dependencies, exports).
"""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from nb2prod import naming
from nb2prod.analysis.analyze import CellAnalysis, unresolved_names
from nb2prod.analysis.tags import IMPORTS, METRICS, PARAMETERS, SKIP, STEP, TEST
from nb2prod.notebook import Notebook
from nb2prod.plan import (
    code_strings,
    codegen,
    figures,
    model_choice,
    module_code,
    outputs,
    stephash,
)
from nb2prod.plan import helper_globals as helperglobals
from nb2prod.plan import tests as testplan
from nb2prod.plan.cut import CutCode, cut_cell, cut_code
from nb2prod.plan.metrics import metric_location, read_metrics
from nb2prod.plan.params import read_params
from nb2prod.plan.records import Block, Plan, PlanOptions, Step, TestCase, Unit
from nb2prod.problems import Problem, in_order, make_problem


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
    """Units -> Plan, in stages that each return values: cut the code, read the
    parameters and metrics, check the code, link the steps, then the module level."""
    valid = [u for u in units if u.role != SKIP]
    code = cut_code(valid)
    params, param_problems = read_params(_cells(valid, PARAMETERS), notebook.parts)
    params += tuple(p for p in options.data_params if p.name not in {q.name for q in params})
    gplan, code_problems = _check_code(code, valid, params)
    metrics, golden, metrics_code, metric_problems = read_metrics(_cells(valid, METRICS))
    linked = _link(code, valid, params, gplan, metrics, options)
    imports = _mark_unused_imports(list(code.imports), code.helpers, linked.steps,
                                   linked.tests)
    steps = _with_code_hashes(linked.steps, [*imports, *(h.code for h in code.helpers)])
    name = naming.package_name(options.name, notebook.path)
    import_name = naming.import_name(name)
    requirements, resolved, lock, dependency_problems = module_code.dependencies(
        analysis, valid, import_name, options.environment)
    return Plan(
        notebook_name=(f"{Path(notebook.path).resolve().name}/" if notebook.parts
                       else Path(notebook.path).name),
        notebook_sha256=notebook.sha256,
        parts=notebook.parts,
        dist_name=naming.dist_name(name),
        import_name=import_name,
        python_version=options.python_version,
        imports=tuple(imports),
        helpers=tuple(h for h in code.helpers if h.code),
        params=params,
        steps=steps,
        metrics=metrics or _last_step_metrics(steps, linked.provider, linked.results),
        metrics_code=metrics_code,
        results=linked.results,
        golden=golden,
        tests=linked.tests,
        dependencies=tuple(requirements),
        resolved=resolved,
        lock=lock,
        environment=options.environment.python_version if options.environment else "",
        exports=module_code.exports(code.helpers),
        export_module=module_code.export_module(analysis),
        problems=in_order([*problems, *code.problems, *param_problems, *code_problems,
                           *metric_problems, *linked.problems, *dependency_problems]),
        skipped=tuple(c.cell.number for u in units if u.role == SKIP for c in u.cells),
        test_imports=tuple(testplan.imports_for_tests(list(code.imports), code.helpers,
                                                      linked.tests, import_name)),
        snapshots=linked.snapshots,
        model=linked.served.model,
        model_notes=linked.served.notes,
        inference=linked.served.inference,
        predict_cell=next((c.cell.number for c in _cells(valid, IMPORTS)
                           if c.tags.predict and _defines(c, "predict")), None),
        helper_globals=helperglobals.records(gplan, steps, params),
        close_figures=figures.closes_figures(list(analysis.code_cells)),
    )


def _cells(units: list[Unit], role: str) -> list[CellAnalysis]:
    return [c for u in units if u.role == role for c in u.cells]


def _check_code(code: CutCode, units: list[Unit], params):
    """Names nothing binds (NB201/NB203), helpers reading globals (NB614), IPython-only
    names, global writes, reserved names; and the plan of helper-read globals."""
    step_units = [u for u in units if u.role == STEP]
    known = frozenset(code.module_names | {p.name for p in params})
    ordered = [c for u in units if u.role in (STEP, TEST, "example") for c in u.cells]
    closures = _closure_reads(step_units)
    problems = [p for p in unresolved_names(ordered, known)
                if (p.code, p.cell, p.line, p.column) not in closures]
    problems += helperglobals.helper_problems(code.module_names, units, params)
    gplan = helperglobals.globals_plan(code.module_names, units, step_units, params)
    problems += gplan.problems
    problems += module_code.step_code_problems(code, ordered, [c for u in units
                                                               for c in u.cells])
    step_reads = {r.name for u in step_units for c in u.cells if c.flow for r in c.flow.reads}
    problems += [p for u in step_units for c in u.cells if c.tree is not None  # NB628
                 for p in code_strings.string_problems(c.tree, c.cell.number,
                                                       c.cell.cell_id, step_reads)]
    return gplan, problems


@dataclass(frozen=True)
class Linked:
    """The steps linked by dataflow, with what the package returns and tests."""

    steps: tuple[Step, ...]  # with their outputs
    provider: dict[str, str]  # value name -> the step function (or "params") binding it last
    results: tuple[str, ...]
    tests: tuple[TestCase, ...]
    snapshots: tuple[tuple[str, str, str], ...]
    served: model_choice.Choice
    problems: tuple[Problem, ...]


def _link(code: CutCode, units: list[Unit], params, gplan, metrics,
          options: PlanOptions) -> Linked:
    steps, provider, history, link_problems = _link_steps(code, params, gplan)
    taken = set(code.module_names) | set(provider) | {s.function for s in steps} | \
        naming.RESERVED
    test_problems: list[Problem] = []

    def test_body(cell: CellAnalysis) -> str:  # tests keep their imports
        cut = cut_cell(cell, hoist=False)
        test_problems.extend(cut.problems)
        return cut.code

    tests, snapshots = testplan.plan_tests(test_body, units, provider, history, taken)
    served = model_choice.choose(code.steps, [s.function for s in steps], provider, history,
                                 taken, options.model, options.serve_input)
    results, result_problems = _results(code, metrics, tests, steps, provider,
                                        _cells(units, METRICS))
    results += tuple(n for n in served.results if n not in results)
    snapshots += served.snapshots
    steps = _with_outputs(steps, provider, results, snapshots)
    unbound = [p for s in steps for p in outputs.unbound_outputs(s)]  # NB627
    return Linked(steps, provider, results, tests, snapshots, served,
                  (*link_problems, *test_problems, *result_problems, *unbound))


def _defines(cell: CellAnalysis, name: str) -> bool:
    return cell.tree is not None and any(
        isinstance(n, ast.FunctionDef) and n.name == name for n in cell.tree.body)


def _block(cell: CellAnalysis, code: str, first_line: dict[int, int]) -> Block:
    return Block(cell.cell.number, cell.cell.cell_id, code,
                 first_line.get(cell.cell.number, 1))


def _link_steps(code: CutCode, params, gplan):
    """Walk steps in order; `provider` maps each value name to its last writer.
    (steps, provider, history, NB611 problems)."""
    provider: dict[str, str] = {p.name: "params" for p in params}
    taken = set(code.module_names) | set(provider)
    for _, cells in code.steps:
        taken.update(n for c, _ in cells if c.flow for n in c.flow.defines)
    steps: list[Step] = []
    problems: list[Problem] = []
    history: list[tuple[int, dict[str, str]]] = []  # (first cell index, providers after)
    known_steps: dict[str, str] = {}
    for index, (unit, cells) in enumerate(code.steps):
        function = naming.unique(naming.identifier(unit.name), taken)
        bound = tuple(n for n in gplan.bound.get(index, ()) if n in provider)
        inputs, edges = _step_inputs(code, cells, provider, bound, gplan.written)
        after, unknown = _explicit_after(unit, known_steps)
        problems += unknown
        after = tuple(dict.fromkeys([*edges, *after]))
        steps.append(Step(unit.name, function, tuple(_block(c, text, code.first_line) for c, text in cells),
                          inputs=tuple(inputs), after=after, settings=unit.settings,
                          edges=tuple((k, tuple(v)) for k, v in edges.items()),
                          global_names=gplan.declared.get(index, ()), bound_globals=bound))
        known_steps[unit.name] = function
        for cell, _ in cells:
            if cell.flow is None:
                continue
            for name in (*cell.flow.defines, *cell.flow.mutates):
                if name not in code.module_names:
                    provider[name] = function
            for name in cell.flow.deletes:
                provider.pop(name, None)
        history.append((unit.cells[0].cell.index, dict(provider)))
    return steps, provider, history, problems


def _step_inputs(code: CutCode, cells, provider, helper_globals=(),
                 module_globals=frozenset()):
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
            if (name in bound or name in code.module_names or name not in provider
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


def _explicit_after(unit: Unit, known_steps: dict[str, str]) -> tuple[list[str], list[Problem]]:
    found, problems = [], []
    for name in unit.after:
        if name in known_steps:
            found.append(known_steps[name])
        else:
            cell = unit.cells[0].cell
            problems.append(make_problem(
                "NB611", f"`{name}` is not a step defined above", cell.number,
                cell_id=cell.cell_id))
    return found, problems


def _results(code: CutCode, metrics, tests, steps, provider, metric_cells):
    """(values run_steps returns, NB608 for metrics no step computes)."""
    wanted = list(metrics) + [n for t in tests for n in t.reads]
    if not metrics and steps:
        wanted += outputs.last_step_results(steps[-1], provider)
    results, problems = [], []
    for name in dict.fromkeys(wanted):
        if name in provider:
            results.append(name)
        elif name in metrics:
            kind = "is module-level (an import or a helper), not a value a step computes" if (
                name in code.module_names) else "is defined by no step"
            problems.append(make_problem(
                "NB608", f"metric `{name}` {kind}", *metric_location(metric_cells, name),
                hint=f"remove `{name}` from the metrics cell, or compute it in a step"))
    return tuple(results), problems


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
        blocks = tuple(dataclasses.replace(blk, code=codegen.mark_unused_locals(
            blk.code, set(unused))) for blk in step.blocks)
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
        unused = testplan.bound_by_import(text) - loaded
        marked.append(codegen.mark_unused(text, unused, "F401"))
    return marked


def _last_step_metrics(steps, provider: dict[str, str], results) -> tuple[str, ...]:
    """Without a metrics cell, the results the last step leaves behind (its values
    computed once: once per result was quadratic in the size of the step)."""
    last = set(outputs.last_step_values(steps[-1], provider)) if steps else set()
    return tuple(n for n in results if n in last)
