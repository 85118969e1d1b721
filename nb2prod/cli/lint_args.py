"""`nb2prod lint` without typer: the flags of a well-formed command line, parsed by hand.

Importing typer (and click) costs ~40 ms, a third of linting one notebook
and a fifth of a cold run on a hundred (docs/lint-speed.md, "Where the time
went"). `parse` reads the flags of one table, `OPTIONS`, from which cli/lint.py
also makes the typer command, the way click reads them (long options with `=` or a separate value, short
ones with an attached or separate value, repeatable options, paths among the
options); anything else (`--help`, an unknown flag, a bad value, a value
that looks like a flag, `--`, shell completion) returns None, and the caller
hands the command line to typer, so help, usage errors and their exit codes
are typer's own. Both end in `execute`, and errors in the one wrapper
(cli/errors.py `guarded`); tests/test_lint_cli_fast.py checks that both build
the same options for a table of command lines.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NamedTuple

FORMATS = ("text", "json", "github", "sarif", "junit")
SEVERITIES = ("error", "warning", "info")


class Flag(NamedTuple):
    """One option of `nb2prod lint`: the one table both front ends are made from.

    NamedTuple, not a frozen dataclass: made at every start-up of `nb2prod lint`, where
    `dataclass()` costs ~0.6 ms a class (it compiles each method) and NamedTuple ~0.1 ms."""

    name: str  # the parameter of the lint command
    names: tuple[str, ...]  # "--format", "-f"
    kind: str  # "choice", "list", "int", "path" or "flag"
    help: str
    choices: tuple[str, ...] = ()
    default: object = None


OPTIONS: tuple[Flag, ...] = (
    Flag("format", ("--format", "-f"), "choice", "Report format: text for people, json, "
         "github (workflow annotations), sarif (code scanning), junit (test reports).",
         FORMATS, "text"),
    Flag("select", ("--select",), "list", "Only these rule ids or prefixes, comma separated "
         "(e.g. NB1,NB201). Replaces `select` from pyproject.toml."),
    Flag("ignore", ("--ignore",), "list", "Rule ids or prefixes to leave out, comma "
         "separated; added to `ignore` from pyproject.toml."),
    Flag("fail_on", ("--fail-on",), "choice", "Exit 1 when a finding has this severity or "
         "worse [default: error, or `fail-on` from pyproject.toml].", SEVERITIES),
    Flag("jobs", ("--jobs", "-j"), "int", "Processes to lint with; 0 picks one per core for "
         "large runs.", default=0),
    Flag("exclude", ("--exclude",), "list", "Glob of files or folders to skip (repeatable), "
         "e.g. 'archive/' or '*-scratch.ipynb'."),
    Flag("config", ("--config",), "path", "pyproject.toml to read [tool.nb2prod.lint] from "
         "[default: the nearest one]."),
    Flag("output", ("--output", "-o"), "path", "Write the report to this file instead of "
         "stdout."),
    Flag("no_cache", ("--no-cache",), "flag", "Lint every notebook again; do not read or "
         "write the cache (.nb2prod_cache/ next to pyproject.toml, or $NB2PROD_CACHE_DIR).",
         default=False),
)
"""Every option of `nb2prod lint`: `parse` reads them by hand, cli/lint.py makes the
typer command (help, usage errors, completion) from them."""

FLAGS: dict[str, Flag] = {spelling: flag for flag in OPTIONS for spelling in flag.names}
DEFAULTS = {"paths": None, **{flag.name: flag.default for flag in OPTIONS}}

COMPLETION_VARIABLE = "_NB2PROD_COMPLETE"
"""Set by the shell completion script: click must answer, not lint."""


def parse(args: list[str]) -> dict | None:
    """The `lint` parameters for `args` (after `lint`), or None: typer must parse them."""
    values = dict(DEFAULTS)
    paths: list[Path] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if not arg.startswith("-"):
            paths.append(Path(arg))
            continue
        name, attached = _split(arg)
        flag = FLAGS.get(name)
        if flag is None or (flag.kind == "flag" and attached is not None):
            return None
        if flag.kind == "flag":
            values[flag.name] = True
            continue
        value = attached if attached is not None else (rest.pop(0) if rest else None)
        converted = _convert(flag, value)
        if converted is None:
            return None
        if flag.kind == "list":
            values[flag.name] = [*(values[flag.name] or []), converted]
        else:
            values[flag.name] = converted
    values["paths"] = paths or None
    return values


def _split(arg: str) -> tuple[str, str | None]:
    if arg.startswith("--"):
        name, sep, value = arg.partition("=")
        return name, (value if sep else None)
    return arg[:2], (arg[2:] or None)


def _convert(flag: Flag, value: str | None):
    if value is None or value == "" or value.startswith("-"):
        return None
    if flag.kind == "choice":
        return value if value in flag.choices else None
    if flag.kind == "int":
        return int(value) if value.isascii() and value.isdigit() else None
    if flag.kind == "path":
        return Path(value)
    return value


def options_from(values: dict):
    """`LintOptions` and the output file, from `lint`'s parameters (both front ends)."""
    from nb2prod.lint.api import LintOptions, show_progress, split_ids

    output = values["output"]
    options = LintOptions(
        paths=tuple(values["paths"] or [Path(".")]), format=values["format"],
        select=split_ids(values["select"]), ignore=split_ids(values["ignore"]) or (),
        exclude=tuple(values["exclude"] or ()), fail_on=values["fail_on"],
        jobs=values["jobs"], config=values["config"],
        progress=output is None and show_progress(values["format"]),
        cache=not values["no_cache"])
    return options, output


def execute(options, output: Path | None) -> int:
    """Run the lint, print or write the report, return the exit code."""
    from nb2prod.lint.api import run_lint

    outcome = run_lint(options)
    if output is not None:
        output.write_text(outcome.report + "\n", encoding="utf-8")
    elif outcome.report:
        sys.stdout.write(outcome.report + "\n")
        sys.stdout.flush()
    return outcome.exit_code


def fast_main(args: list[str], debug: bool = False) -> int | None:
    """Lint for `nb2prod lint ARGS...` without typer; None when typer must take over."""
    if COMPLETION_VARIABLE in os.environ:
        return None
    values = parse(args)
    if values is None:
        return None
    from nb2prod.cli.errors import guarded

    return guarded(lambda: execute(*options_from(values)), debug)
