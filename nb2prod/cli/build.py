"""What `build` and `plan` do, between parsing flags and printing.

Kept apart from cli.py so the core stays free of Typer, and so tests can
call these functions directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from nb2prod import __version__
from nb2prod.errors import UserError
from nb2prod.notebook import load_notebook
from nb2prod.plan.records import Plan, PlanOptions, build_plan
from nb2prod.problems import ERROR, INFO, WARNING, Problem


@dataclass(frozen=True)
class BuildOptions:
    notebook: Path
    output: Path | None = None
    name: str | None = None
    force: bool = False
    check: bool = False
    strict: bool = False
    templates: Path | None = None
    wheelhouse: bool = False
    image: str | None = None
    quiet: bool = False
    ci: tuple[str, ...] = ()  # extra CI files: render.CI_FILES keys
    targets: tuple[str, ...] = ()  # orchestrators: kubeflow.TARGETS (--target)
    volume: str | None = None  # shared volume path for --target kubeflow
    verbose: bool = False


def problem_line(path: Path | str, problem: Problem) -> str:
    where = f"{path}:{problem.location()}" if problem.location() else str(path)
    return f"{where}: {problem.code} [{problem.severity}] {problem.message}"


def exit_code(plan: Plan, strict: bool) -> int:
    if plan.count(ERROR) or (strict and plan.count(WARNING)):
        return 1
    return 0


def make_plan(notebook: Path, name: str | None) -> Plan:
    return build_plan(load_notebook(notebook), PlanOptions(name=name))


def run_build(options: BuildOptions) -> int:
    from nb2prod.project_config import templates_dir
    from nb2prod.render import write
    from nb2prod.render.templates import render

    plan = make_plan(options.notebook, options.name)
    templates = templates_dir(options.templates, options.notebook)
    files = render(plan, templates, options.ci, _target_options(options, plan))
    out_dir = options.output or Path(plan.dist_name)
    verdicts = write.plan_writes(out_dir, files, force=options.force)
    console = _console()
    if options.check:
        return _report_check(console, out_dir, verdicts)
    conflicts = [v.path for v in verdicts if v.action == write.CONFLICT]
    if conflicts:
        raise UserError(
            f"{len(conflicts)} generated file(s) were edited since the last build: "
            + ", ".join(conflicts), path=out_dir, exit_code=1,
            hint="keep your edits elsewhere, or rebuild with --force to replace them")
    meta = {"nb2prod_version": __version__, "notebook": plan.notebook_name,
            "notebook_sha256": plan.notebook_sha256}
    write.write_tree(out_dir, files, verdicts, meta)
    if options.verbose:
        _print_plan(console, plan)
    _print_problems(console, options.notebook, plan, options.quiet)
    if not options.quiet:
        _print_summary(console, plan, out_dir, verdicts)
    _container_extras(options, plan, out_dir)
    return exit_code(plan, options.strict)


def _container_extras(options: BuildOptions, plan: Plan, out_dir: Path) -> None:
    from nb2prod.targets import container

    if options.wheelhouse:
        from nb2prod.targets.kubeflow import EXTRA, KUBEFLOW, parse_targets

        # With the kubeflow target the image also runs the KFP executor.
        extras = list(EXTRA[1]) if KUBEFLOW in parse_targets(options.targets) else []
        container.fill_wheelhouse(out_dir, [*plan.dependencies, *extras],
                                  python_version=plan.python_version)
    if options.image:
        container.build_image(out_dir, options.image)


PLAN_FORMATS = ("text", "json", "mermaid", "dot")


def _target_options(options: BuildOptions, plan: Plan):
    """Targets to render; files passed between steps stop a kubeflow build without --volume."""
    from nb2prod.targets.kubeflow import KUBEFLOW, TargetOptions, parse_targets

    targets = parse_targets(options.targets)
    if options.volume and KUBEFLOW not in targets:
        raise UserError("--volume only applies to --target kubeflow", exit_code=2)
    flows = [p for p in plan.problems if p.code == "NB618"]
    if KUBEFLOW in targets and flows and not options.volume:
        _print_problems(_console(), options.notebook, plan, quiet=True)
        raise UserError(
            f"--target kubeflow: {len(flows)} file(s) pass between steps, which run in "
            "separate pods; nothing written", path=options.notebook, exit_code=1,
            hint="pass the values as variables, or declare a shared volume: --volume PATH")
    return TargetOptions(targets, options.image, options.volume)


def run_plan(notebook: Path, name: str | None, format: str, graph: bool = False) -> int:
    if format not in PLAN_FORMATS:
        raise UserError(f"unknown format {format!r}: use {', '.join(PLAN_FORMATS)}",
                        exit_code=2)
    plan = make_plan(notebook, name)
    if graph or format in ("mermaid", "dot"):  # the step DAG, see graph.py
        from nb2prod.plan.graph import RENDERERS, plan_graph, to_tree

        if format == "text":
            _console().print(to_tree(plan_graph(plan)))
            _print_problems(_console(), notebook, plan, quiet=False)
        else:
            print(RENDERERS[format](plan_graph(plan)), end="")
        return exit_code(plan, False)
    if format == "json":
        from nb2prod.render.templates import report_data

        print(json.dumps(report_data(plan), indent=2, sort_keys=True))
        return exit_code(plan, False)
    console = _console()
    _print_plan(console, plan)
    _print_problems(console, notebook, plan, quiet=False)
    return exit_code(plan, False)


def _console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _print_problems(console, notebook: Path, plan: Plan, quiet: bool) -> None:
    shown = [p for p in plan.problems if not (quiet and p.severity == INFO)]
    for problem in shown:
        console.print(problem_line(notebook, problem), markup=False)


def _print_plan(console, plan: Plan) -> None:
    from rich.table import Table

    table = Table(title=f"{plan.notebook_name} -> {plan.dist_name}", title_justify="left")
    for column in ("step", "cells", "inputs", "outputs", "after"):
        table.add_column(column)
    for step in plan.steps:
        table.add_row(step.function, ", ".join(map(str, step.cells)),
                      ", ".join(step.inputs) or "-", ", ".join(step.outputs) or "-",
                      ", ".join(step.after) or "-")
    console.print(table)
    params = ", ".join(f"{p.name}: {p.type_name} = {p.default}" for p in plan.params)
    console.print(f"parameters: {params or 'none'}", markup=False)
    console.print(f"metrics: {', '.join(plan.metrics) or 'none'}", markup=False)
    console.print(f"tests: {len(plan.tests)}; skipped cells: "
                  f"{', '.join(map(str, plan.skipped)) or 'none'}", markup=False)
    console.print(f"dependencies: {', '.join(plan.dependencies) or 'none'}", markup=False)


def _print_summary(console, plan: Plan, out_dir: Path, verdicts) -> None:
    counts: dict[str, int] = {}
    for verdict in verdicts:
        counts[verdict.action] = counts.get(verdict.action, 0) + 1
    files = ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
    console.print(f"built {plan.dist_name} in {out_dir}: {len(plan.steps)} step(s), "
                  f"files: {files}", markup=False)
    console.print(f"problems: {plan.count(ERROR)} error(s), {plan.count(WARNING)} warning(s), "
                  f"{plan.count(INFO)} note(s); see {out_dir / 'nb2prod-report.md'}",
                  markup=False)
    console.print(f"next: pip install {out_dir} && python -m {plan.import_name} --help",
                  markup=False)


def _report_check(console, out_dir: Path, verdicts) -> int:
    changed = [v for v in verdicts if v.action != "identical"]
    for verdict in changed:
        console.print(f"{out_dir / verdict.path}: would {verdict.action}", markup=False)
    if changed:
        console.print(f"{len(changed)} file(s) differ from a fresh build; "
                      f"run `nb2prod build` to regenerate", markup=False)
        return 1
    console.print(f"{out_dir}: up to date", markup=False)
    return 0
