"""Notebook -> Plan, as a chain of stages (DESIGN.md draws it):

    analyze -> assign_units -> steps.assemble -> passes.PASSES
    (facts     (roles; tags and   (cut, params, metrics,   (NB624 credentials,
     per cell)  settings checked)  checks, links, module)   NB618 files, NB625 secrets)
"""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

from nb2prod.analysis.analyze import CellAnalysis, NotebookAnalysis, analyze
from nb2prod.analysis.tags import (
    EXPORT,
    FUNCTIONS,
    IMPORTS,
    METRICS,
    PARAMETERS,
    SKIP,
    STEP,
    TEST,
    unknown_tag_message,
)
from nb2prod.errors import UserError
from nb2prod.notebook import Notebook
from nb2prod.plan.data_paths import data_options
from nb2prod.plan.metrics import split_metrics_cell, unnamed_prints
from nb2prod.plan.passes import run_passes
from nb2prod.plan.records import Plan, PlanOptions, Unit
from nb2prod.plan.settings import cell_settings
from nb2prod.plan.steps import assemble
from nb2prod.problems import Problem, make_problem
from nb2prod.project import Source, config_path, load_source

MODULE_ROLES = (IMPORTS, FUNCTIONS, EXPORT)


def make_plan(notebook: Source, name: str | None, python: Path | None = None,
              config_from: Path | None = None) -> Plan:
    """Load the notebook at `notebook` and plan it: what every front end starts with.
    Dependencies are pinned from `python`'s environment (see environment.py);
    `[tool.nb2prod]` is read from the pyproject nearest `config_from` (default: the
    notebook; the nbconvert exporter plans a temporary copy of a notebook living elsewhere)."""
    from nb2prod.plan.environment import choose_python, read_environment
    from nb2prod.project_config import configured_model, configured_serve_input

    loaded = load_source(notebook)
    env = read_environment(choose_python(python, loaded.kernel_name))
    config = config_from or config_path(notebook)
    return build_plan(loaded, PlanOptions(name=name, model=configured_model(config),
                                          serve_input=configured_serve_input(config),
                                          environment=env))


def build_plan(notebook: Notebook, options: PlanOptions | None = None) -> Plan:
    if not notebook.code_cells:
        raise UserError("the notebook has no code cells: nothing to convert",
                        path=notebook.path, hint="add code cells; see `nb2prod rules NB616`")
    options = options or PlanOptions()
    analysis = analyze(notebook)
    rewritten, data_params = data_options(analysis)
    if data_params:  # reads of input files now read their path options
        analysis = analyze(rewritten)
        options = replace(options, data_params=data_params)
    return plan_analysis(analysis, options)


def plan_analysis(analysis: NotebookAnalysis, options: PlanOptions | None = None) -> Plan:
    """The whole chain from an analysis (lint has one): units, assembly, passes."""
    units, problems = assign_units(analysis)
    plan = assemble(analysis.notebook, analysis, units, problems, options or PlanOptions())
    return run_passes(plan, analysis)


def assign_units(analysis: NotebookAnalysis) -> tuple[list[Unit], list[Problem]]:
    """Decide where each code cell goes. Untagged cells continue the unit above."""
    problems: list[Problem] = []
    units: list[Unit] = []
    notebook = analysis.notebook
    steps_in = {part: any(c.tags.role == STEP for c in analysis.cells
                          if notebook.part(c.cell.number) == part)
                for part in (*notebook.parts, None)}
    nbdev = analysis.is_nbdev
    current: Unit | None = None
    last_step: Unit | None = None
    part = None
    for cell in analysis.code_cells:
        here = notebook.part(cell.cell.number)
        if here != part:  # every notebook of several starts its own step: none continues another's
            part, current, last_step = here, None, None
        has_steps = steps_in[part]
        role = cell.tags.role
        if role is None and nbdev:
            role = TEST if _has_assert(cell) else "example"
        problems.extend(_tag_problems(cell, role))
        if role == SKIP:
            units.append(Unit(SKIP, [cell]))
            continue
        if role == STEP:
            current = Unit(STEP, [cell], cell.tags.step, cell.tags.after,
                           cell_settings(cell)[0])
            if last_step and last_step.name == current.name and units[-1] is last_step:
                last_step.cells.append(cell)
                current = last_step
                continue
            units.append(current)
            last_step = current
        elif role == METRICS:
            computation, report = split_metrics_cell(cell)
            if computation is not None:  # the cell computes too: that part is a step
                last_step = Unit(STEP, [computation], "metrics")
                units.append(last_step)
                problems.extend(unnamed_prints(computation))
            current = Unit(METRICS, [report])
            units.append(current)
        elif role in MODULE_ROLES or role in (PARAMETERS, TEST, "example"):
            kind = IMPORTS if role in MODULE_ROLES else role
            current = Unit(kind, [cell])
            units.append(current)
        elif current is not None and current.role == IMPORTS and _declarations_only(cell):
            current.cells.append(cell)
        elif last_step is not None:
            last_step.cells.append(cell)
            current = last_step
        else:
            name = part.short if part else "setup" if has_steps else "main"
            current = last_step = Unit(STEP, [cell], name)
            units.append(current)
            if not has_steps and not nbdev:
                problems.append(make_problem("NB610", f"no step tags: built as one step "
                                             f"`{name}`", cell.cell.number,
                                             cell_id=cell.cell.cell_id))
    return units, problems


def _tag_problems(cell: CellAnalysis, role: str | None) -> list[Problem]:
    """Unknown tags (NB606), competing roles (NB615), invalid settings (NB617), a
    skipped cell (NB612), and the cell's code problems unless it is skipped."""
    number, cell_id = cell.cell.number, cell.cell.cell_id
    problems = [make_problem("NB606", unknown_tag_message(tag), number, cell_id=cell_id)
                for tag in cell.tags.unknown]
    if cell.tags.extra_roles:
        problems.append(make_problem(
            "NB615", f"tags {', '.join(cell.tags.extra_roles)} ignored: the cell is "
            f"`{cell.tags.role}`", number, cell_id=cell_id))
    problems += cell_settings(cell)[1]
    if role == SKIP:  # not converted: its code's problems do not count
        return [*problems, make_problem("NB612", "cell tagged skip was left out", number,
                                        cell_id=cell_id)]
    return problems + list(cell.problems)


def _has_assert(cell: CellAnalysis) -> bool:
    return cell.tree is not None and any(isinstance(s, ast.Assert) for s in cell.tree.body)


DECLARATIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _declarations_only(cell: CellAnalysis) -> bool:
    """An untagged cell after imports/functions stays module level only if it is
    made of imports, defs, classes and UPPER_CASE constants (run at import time)."""
    if cell.tree is None:
        return False
    for node in cell.tree.body:
        if isinstance(node, DECLARATIONS):
            continue
        if isinstance(node, ast.Assign) and all(
            isinstance(t, ast.Name) and t.id.isupper() for t in node.targets
        ):
            continue
        return False
    return bool(cell.tree.body)
