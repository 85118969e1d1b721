"""The command line: a thin Typer layer over the core.

Each command maps flags to an options object, calls the core, prints, and
returns an exit code. `main()` is the one place that turns `UserError` into
a one-line message and an exit code (0 ok, 1 problems, 2 bad input or usage);
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nb2prod.cli.lint import lint, rules
from nb2prod.cli.tag import tag
from nb2prod.cli.templates import templates_app
from nb2prod.cli.verify import verify
from nb2prod.errors import UserError

app = typer.Typer(
    name="nb2prod",
    help="Turn tagged Jupyter notebooks into tested, installable Python packages, "
    "and lint notebooks in CI.\n\nStart with: nb2prod build NOTEBOOK.ipynb",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # a bug shows a plain traceback, never locals
    add_completion=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

Notebook = Annotated[Path, typer.Argument(
    help="The .ipynb file to convert.", show_default=False, metavar="NOTEBOOK")]
Name = Annotated[str | None, typer.Option(
    "--name", "-n", help="Package name [default: from the notebook file name].")]


@app.command()
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
        "--verbose", "-v", help="Also print the plan: steps, inputs, outputs.")] = False,
    ci: Annotated[list[str] | None, typer.Option(
        "--ci", help="Also generate a CI workflow: github (.github/workflows/ci.yml).")] = None,
    target: Annotated[list[str] | None, typer.Option(
        "--target", help="Also generate an orchestrator definition: kubeflow (KFP v2 pipeline "
        "in PKG/kubeflow.py and deploy/job.yaml). Repeatable or comma-separated.")] = None,
    volume: Annotated[str | None, typer.Option(
        "--volume", metavar="PATH", help="Shared volume for --target kubeflow: steps run "
        "with PATH as working directory, so files they pass between them land on it.")] = None,
) -> None:
    """Generate a package from NOTEBOOK: pipeline module, CLI, tests, Dockerfile, report.

    Example: nb2prod build churn.ipynb -o churn --name churn
    """
    from nb2prod.cli.build import BuildOptions, run_build

    options = BuildOptions(notebook, output, name, force, check, strict, templates,
                           wheelhouse, image, quiet, ci=tuple(ci or ()),
                           targets=tuple(target or ()), volume=volume, verbose=verbose)
    raise typer.Exit(run_build(options))


@app.command()
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
    from nb2prod.cli.build import run_plan

    raise typer.Exit(run_plan(notebook, name, format, graph))


# Commands that live in their own modules (each keeps its heavy imports lazy).
app.command()(verify)
app.command()(tag)
app.add_typer(templates_app, name="templates")
app.command()(lint)
app.command()(rules)


def main(argv: list[str] | None = None) -> int:
    """Entry point; `--debug` anywhere shows tracebacks for user errors too.

    Typer runs in standalone mode, so usage errors print their usage line and
    exit 2, and Ctrl-C exits 1 ("Aborted!"); every exit becomes our return value.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    try:
        app(args=args, prog_name="nb2prod")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except UserError as exc:
        if debug:
            raise
        print(f"nb2prod: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
