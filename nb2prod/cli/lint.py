"""Typer front end of `nb2prod lint` and `nb2prod rules`; thin on purpose.

Imports only typer at module level: the lint machinery is imported when the
command runs, so `nb2prod --help` and other commands do not pay for it. A
well-formed `nb2prod lint` command line does not come here at all: it is
parsed by `lint_args` (no typer); this command serves `--help`, usage errors
and completion, and declares the flags `lint_args.FLAGS` repeats.
Usage errors are raised as `nb2prod.errors.UserError(exit_code=2)` and the
CLI wrapper prints them as one line.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"
    junit = "junit"


class RulesFormat(str, Enum):
    text = "text"
    json = "json"


class Severity(str, Enum):
    error = "error"
    warning = "warning"
    info = "info"


def lint(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Notebooks and directories to lint (directories recursively). "
             "Default: the current directory.", show_default=False,
        metavar="PATH...")] = None,
    format: Annotated[OutputFormat, typer.Option(
        "--format", "-f", help="Report format: text for people, json, github "
        "(workflow annotations), sarif (code scanning), junit (test reports).")
    ] = OutputFormat.text,
    select: Annotated[list[str] | None, typer.Option(
        "--select", help="Only these rule ids or prefixes, comma separated (e.g. NB1,NB201). "
        "Replaces `select` from pyproject.toml.", show_default=False)] = None,
    ignore: Annotated[list[str] | None, typer.Option(
        "--ignore", help="Rule ids or prefixes to leave out, comma separated; added to "
        "`ignore` from pyproject.toml.", show_default=False)] = None,
    fail_on: Annotated[Severity | None, typer.Option(
        "--fail-on", help="Exit 1 when a finding has this severity or worse "
        "[default: error, or `fail-on` from pyproject.toml].", show_default=False)] = None,
    jobs: Annotated[int, typer.Option(
        "--jobs", "-j", min=0, help="Processes to lint with; 0 picks one per core for "
        "large runs.")] = 0,
    exclude: Annotated[list[str] | None, typer.Option(
        "--exclude", help="Glob of files or folders to skip (repeatable), e.g. 'archive/' "
        "or '*-scratch.ipynb'.", show_default=False)] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", help="pyproject.toml to read [tool.nb2prod.lint] from "
        "[default: the nearest one].", show_default=False)] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the report to this file instead of stdout.",
        show_default=False)] = None,
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Lint every notebook again; do not read or write the cache "
        "(.nb2prod_cache/ next to pyproject.toml, or $NB2PROD_CACHE_DIR).")] = False,
) -> None:
    """Find what makes notebooks unfit for production, cell by cell.

    Example: nb2prod lint notebooks/ --format github --fail-on warning

    Exit status: 0 no finding at or above --fail-on, 1 findings, 2 usage error.
    Silence a line with `# noqa: NB101`, a cell with the tag `nb2prod:ignore=NB101`.
    `nb2prod rules` lists the rules.
    """
    from nb2prod.cli.lint_args import execute, options_from

    code = execute(*options_from({
        "paths": paths, "format": format.value, "select": select, "ignore": ignore,
        "exclude": exclude, "fail_on": fail_on.value if fail_on else None, "jobs": jobs,
        "config": config, "output": output, "no_cache": no_cache}))
    if code:
        raise typer.Exit(code)


def rules(
    code: Annotated[str | None, typer.Argument(
        help="A rule id to explain, e.g. NB101. Default: list every rule.",
        show_default=False, metavar="[CODE]")] = None,
    format: Annotated[RulesFormat, typer.Option(
        "--format", "-f", help="text or json.")] = RulesFormat.text,
) -> None:
    """List the lint and build rules, or explain one.

    Example: nb2prod rules NB101   (what it finds, why it matters, bad and good code, fix)
    """
    from nb2prod.lint.explain import render_rule, render_table

    text = render_rule(code, format.value) if code else render_table(format.value)
    sys.stdout.write(text + "\n")
