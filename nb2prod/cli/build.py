"""The `build` and `plan` commands: flags -> BuildOptions -> core -> printed lines -> exit code.

`run_build` and `run_plan` are the commands without Typer (tests call them).
The CLI imports this module for every command, so the core loads only when
build or plan runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nb2prod.errors import UserError
from nb2prod.places import cells_label, relabel
from nb2prod.problems import ERROR, INFO, WARNING, problem_line
from nb2prod.project import resolve_sources

if TYPE_CHECKING:
    from nb2prod.plan.records import Plan
    from nb2prod.project import Source

Notebook = Annotated[list[Path], typer.Argument(
    help="The .ipynb file to convert; or several, in the order they run; or a folder of "
    "them (name order, or [tool.nb2prod] notebooks).", show_default=False,
    metavar="NOTEBOOK...")]
Name = Annotated[str | None, typer.Option(
    "--name", "-n", help="Package name [default: from the notebook file name].")]


def build(
    notebook: Notebook,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Output directory [default: ./PACKAGE-NAME].")] = None,
    name: Name = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace generated files you edited.")] = False,
    check: Annotated[bool, typer.Option(
        "--check", help="Write nothing; exit 1 if the output differs from a fresh build.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 on warnings too.")] = False,
    templates: Annotated[Path | None, typer.Option(
        "--templates", help="Directory of templates overriding the built-in ones.")] = None,
    wheelhouse: Annotated[bool, typer.Option(
        "--wheelhouse", help="Download dependency wheels into OUTPUT/wheelhouse "
        "for offline image builds.")] = False,
    image: Annotated[str | None, typer.Option(
        "--image", help="After generating, build a container image with this tag "
        "(podman or docker).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print problems only.")] = False,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Also print the plan (steps, inputs, outputs) and every "
        "note.")] = False,
    ci: Annotated[list[str] | None, typer.Option(
        "--ci", help="Also generate a CI workflow: github (.github/workflows/ci.yml).")] = None,
    target: Annotated[list[str] | None, typer.Option(
        "--target", help="Also generate: kubeflow (KFP v2 pipeline in PKG/kubeflow.py and "
        "deploy/job.yaml); serve (the fitted model over HTTP: PKG/serve.py, PKG/model_io.py, "
        "deploy/serve.yaml). Repeatable or comma-separated.")] = None,
    volume: Annotated[str | None, typer.Option(
        "--volume", metavar="PATH", help="Shared volume for --target kubeflow: steps run "
        "with PATH as working directory, so files they pass between them land on it.")] = None,
    python: Annotated[Path | None, typer.Option(
        "--python", metavar="PATH", help="Interpreter whose installed packages pin the "
        "dependencies [default: the notebook kernel's, if installed here, else this one].")
    ] = None,
) -> None:
    """Generate a package from NOTEBOOK: pipeline module, CLI, tests, Dockerfile, report.

    Several notebooks (or a folder) make one package: each notebook's steps run in
    order, files one writes and a later one reads are edges between their steps.

    Examples: nb2prod build churn.ipynb -o churn --name churn;
    nb2prod build notebooks/ -o rfm --name rfm
    """
    flags = BuildFlags(resolve_sources(notebook), output, name, force, check, strict,
                       templates, wheelhouse, image, quiet, ci=tuple(ci or ()), targets=tuple(target or ()),
                       volume=volume, verbose=verbose, python=python)
    raise typer.Exit(run_build(flags))


def plan(
    notebook: Notebook,
    name: Name = None,
    format: Annotated[str, typer.Option(
        "--format", "-f", help="text, json, mermaid or dot (mermaid/dot draw the graph).")
    ] = "text",
    graph: Annotated[bool, typer.Option(
        "--graph", help="Draw the step DAG, edges labelled with the values that flow.")] = False,
) -> None:
    """Show what build would do: steps with inputs and outputs, parameters, problems.

    Writes nothing. Example: nb2prod plan churn.ipynb --format json;
    nb2prod plan churn.ipynb --graph --format mermaid > pipeline.mmd
    """
    raise typer.Exit(run_plan(resolve_sources(notebook), name, format, graph))



@dataclass(frozen=True)
class BuildFlags:
    """`nb2prod build`'s flags: the core's options plus how much to print."""

    notebook: Source  # a notebook, or several as a project.Project
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
    targets: tuple[str, ...] = ()  # --target: names in targets.registry.TARGETS
    volume: str | None = None  # shared volume path for --target kubeflow
    verbose: bool = False
    python: Path | None = None  # the environment dependencies are pinned from

    def options(self):
        from nb2prod.build import BuildOptions
        from nb2prod.cli.progress import stderr_progress

        return BuildOptions(name=self.name, output=self.output, force=self.force,
                            check=self.check, templates=self.templates, ci=self.ci,
                            targets=self.targets, image=self.image, volume=self.volume,
                            python=self.python, wheelhouse=self.wheelhouse,
                            progress=stderr_progress("nb2prod", steps=True, quiet=self.quiet)
                            if self.image or self.wheelhouse else None)


def exit_code(plan: Plan, strict: bool) -> int:
    if plan.count(ERROR) or (strict and plan.count(WARNING)):
        return 1
    return 0


def run_build(flags: BuildFlags) -> int:
    from nb2prod.build import build

    result = build(flags.notebook, flags.options())  # a refusal: see cli/errors.py
    console = _console()
    if flags.check:
        return _report_check(console, result.out_dir, result.verdicts, result.plan.import_name)
    if flags.verbose:
        _print_plan(console, result.plan)
    # notes are for the curious: all of them under -v, else one line pointing at the report
    _print_problems(console, flags.notebook, result.plan.problems, quiet=not flags.verbose,
                    parts=result.plan.parts)
    if not flags.quiet:
        _print_summary(console, result.plan, result.out_dir, result.verdicts, flags.verbose)
    return exit_code(result.plan, flags.strict)


PLAN_FORMATS = ("text", "json", "mermaid", "dot")


def run_plan(notebook: Source, name: str | None, format: str, graph: bool = False) -> int:
    if format not in PLAN_FORMATS:
        raise UserError(f"unknown format {format!r}: use {', '.join(PLAN_FORMATS)}",
                        exit_code=2)
    from nb2prod.plan.build import make_plan

    plan = make_plan(notebook, name)
    if graph or format in ("mermaid", "dot"):  # the step DAG, see plan/graph.py
        from nb2prod.plan.graph import RENDERERS, plan_graph, to_tree

        if format == "text":
            wide = _console()
            wide.width = 1000  # a tree wraps nothing: a narrow terminal must not crop names
            wide.print(to_tree(plan_graph(plan)))
            _print_problems(_console(), notebook, plan.problems, quiet=False,
                            parts=plan.parts)
        else:
            print(RENDERERS[format](plan_graph(plan)), end="")
        return exit_code(plan, False)
    if format == "json":
        from nb2prod.render.templates import report_data

        print(json.dumps(report_data(plan), indent=2, sort_keys=True))
        return exit_code(plan, False)
    console = _console()
    _print_plan(console, plan)
    _print_problems(console, notebook, plan.problems, quiet=False, parts=plan.parts)
    return exit_code(plan, False)


def _console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _print_problems(console, notebook, problems, quiet: bool, parts=()) -> None:
    shown = [p for p in problems if not (quiet and p.severity == INFO)]
    for problem in shown:
        console.print(problem_line(notebook, problem, parts), markup=False)


def _print_plan(console, plan: Plan) -> None:
    from rich.table import Table

    table = Table(title=f"{plan.notebook_name} -> {plan.dist_name}", title_justify="left")
    # a step name is what --from-step takes: never cut; the lists fold, never end in `…`
    table.add_column("step", no_wrap=True, min_width=max((len(s.function) for s in plan.steps),
                                                         default=4))
    for column in ("cells", "inputs", "outputs", "after"):
        table.add_column(column, overflow="fold")
    for step in plan.steps:
        table.add_row(step.function, cells_label(plan.parts, step.cells),
                      ", ".join(step.inputs) or "-", ", ".join(step.outputs) or "-",
                      ", ".join(step.after) or "-")
    console.print(table)
    params = ", ".join(f"{p.name}: {p.type_name} = {p.default}" for p in plan.params
                       if not p.file)
    console.print(f"parameters: {params or 'none'}", markup=False)
    console.print(f"data files: {_data_files(plan) or 'none'}", markup=False)
    console.print(f"metrics: {', '.join(plan.metrics) or 'none'}", markup=False)
    console.print(f"tests: {len(plan.tests)}; skipped cells: "
                  f"{', '.join(map(str, plan.skipped)) or 'none'}", markup=False)
    console.print(f"dependencies: {', '.join(plan.dependencies) or 'none'}", markup=False)
    model = plan.model
    console.print(relabel("model (--target serve): " + (
        f"{model.name}, cell {model.cell}, fitted on {model.x or 'unknown'} ({model.origin})"
        if model else "none"), plan.parts), markup=False)
    if plan.inference is not None:
        from nb2prod.plan.inference import describe

        for line in describe(plan.inference):
            console.print(relabel(line, plan.parts), markup=False)


def _data_files(plan: Plan) -> str:
    """`--transactions-path data/transactions.csv`: the files the package reads, each an
    option whose default is the notebook's path (relative: to the working directory)."""
    import shlex

    return ", ".join(f"{p.cli} {shlex.quote(p.file)}" for p in plan.params if p.file)


def _print_summary(console, plan: Plan, out_dir: Path, verdicts, verbose: bool) -> None:
    counts: dict[str, int] = {}
    for verdict in verdicts:
        counts[verdict.action] = counts.get(verdict.action, 0) + 1
    files = ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
    console.print(f"built {plan.dist_name} in {out_dir}: {len(plan.steps)} step(s), "
                  f"files: {files}", markup=False)
    hidden = " (-v lists them)" if plan.count(INFO) and not verbose else ""
    console.print(f"problems: {plan.count(ERROR)} error(s), {plan.count(WARNING)} warning(s), "
                  f"{plan.count(INFO)} note(s){hidden}; see {out_dir / 'nb2prod-report.md'}",
                  markup=False, soft_wrap=True)
    if _data_files(plan):
        console.print(f"data files: {_data_files(plan)} (relative paths: to the working "
                      "directory; pass the option to read another file)", markup=False,
                      soft_wrap=True)
    console.print(f"next: pip install {pip_target(out_dir)} && python -m {plan.import_name} "
                  "--help", markup=False, soft_wrap=True)  # a command to paste: never wrapped


def pip_target(folder: Path) -> str:
    """A folder as pip must be told it, quoted for a shell: `./churn`, never `churn`
    (a bare name installs a distribution of that name from the index)."""
    import shlex

    text = str(folder)
    if not (folder.is_absolute() or text.startswith(".")):
        text = f"./{text}"
    return shlex.quote(text)


def _report_check(console, out_dir: Path, verdicts, import_name: str) -> int:
    from nb2prod.render.vendor import runtime_drift

    changed = [v for v in verdicts if v.action != "identical"]
    drift = runtime_drift(out_dir, import_name)  # one line for the vendored runtime's files
    if drift:
        console.print(drift, markup=False)
    for verdict in changed:
        if drift and "/_runtime/" in verdict.path:
            continue
        console.print(f"{out_dir / verdict.path}: would {verdict.action}", markup=False)
    if changed:
        console.print(f"{len(changed)} file(s) differ from a fresh build; "
                      f"run `nb2prod build` to regenerate", markup=False)
        return 1
    console.print(f"{out_dir}: up to date", markup=False)
    return 0
