"""The `verify` command: flags -> VerifyOptions -> run_verify -> table or JSON -> exit code.

Imports nothing heavy at import time (the CLI imports this module for every
command): nbclient, jinja2 and rich load only when `verify` runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from nb2prod.cli.errors import print_error

FORMATS = ("text", "json")
VERDICT_STYLE = {"match": "green", "unchecked": "yellow", "differs": "red", "missing": "red",
                 "nondeterministic": "magenta"}


def verify(
    notebook: Annotated[list[Path], typer.Argument(
        help="The .ipynb file to check; or several, in the order they run; or a folder.",
        show_default=False, metavar="NOTEBOOK...")],
    param: Annotated[list[str] | None, typer.Option(
        "--param", "-p", metavar="NAME=VALUE",
        help="Override a parameter on both sides (repeatable); typed like the parameter.",
    )] = None,
    rtol: Annotated[float, typer.Option(help="Relative tolerance for numbers.")] = 1e-9,
    atol: Annotated[float, typer.Option(help="Absolute tolerance for numbers.")] = 0.0,
    timeout: Annotated[int, typer.Option(
        help="Seconds per notebook cell, and for the whole package run.")] = 600,
    runs: Annotated[int, typer.Option(
        min=1, help="Run each side this many times; values that change between runs "
        "are reported as nondeterministic.")] = 1,
    format: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    name: Annotated[str | None, typer.Option("--name", "-n", help="Package name.")] = None,
) -> None:
    """Run NOTEBOOK and the package built from it on the same parameters; compare results.

    Compares the metrics (or the last step's outputs when there is no metrics
    cell). Exit 0 when all match, 1 when a value differs, is missing or is
    nondeterministic, 2 when a side could not run.

    Several notebooks run in order in one kernel, in the folder holding them, and
    the package built from them all is compared on the last values.

    Example: nb2prod verify churn.ipynb --param n_customers=300 --runs 2
    """
    from nb2prod.errors import UserError
    from nb2prod.project import notebook_paths, resolve_sources
    from nb2prod.verify.run import RunFailure, Tolerance, VerifyOptions, run_verify

    if format not in FORMATS:
        raise UserError(f"unknown format {format!r}: use text or json")
    source = resolve_sources(notebook)
    options = VerifyOptions(source, tuple(param or ()), Tolerance(rtol, atol), timeout, runs,
                            name, progress=_progress() if format == "text" else None)
    try:
        outcome = run_verify(options)
    except RunFailure as failure:
        _print_failure(failure, format)
        raise typer.Exit(2) from None
    if format == "json":
        print(json.dumps(outcome_data(outcome), indent=2))
    else:
        _print_table(outcome)
        if any(row.verdict in ("differs", "nondeterministic") for row in outcome.rows):
            _print_random_cells(notebook_paths(source))
        if runs == 1 and any(row.verdict == "differs" for row in outcome.rows):
            print("next: if these values are random, run again with --runs 2 to tell "
                  "nondeterminism from a conversion error")
    raise typer.Exit(outcome.exit_code)


def _progress():
    """A line on stderr as each long phase starts, on a terminal only (no blank minutes)."""
    if not sys.stderr.isatty():
        return None
    print("verify: building the package", file=sys.stderr)
    return lambda text: print(f"verify: {text}", file=sys.stderr, flush=True)


def _print_random_cells(notebooks: tuple[Path, ...]) -> None:
    """Values that differ often come from randomness without a seed: name the cells lint
    flags for it (NB303), where the user can fix it."""
    from nb2prod.errors import UserError
    from nb2prod.lint.api import LintOptions, run_lint
    from nb2prod.lint.formats import location

    try:  # the notebook ran already; a pyproject lint refuses must not hide the result
        findings = run_lint(LintOptions(paths=tuple(notebooks), select=("NB303",))).result.findings
    except UserError:
        return
    for finding in findings:
        print(f"{location(finding)}: {finding.code} {finding.message}")
    if findings:
        print(f"{len(findings)} cell(s) above use randomness without a seed (NB303): "
              "seed them (a `seed` parameter) and the values can match")


def outcome_data(outcome) -> dict:
    return {
        "notebook": outcome.notebook, "package": outcome.package,
        "exit_code": outcome.exit_code, "notes": list(outcome.notes),
        "build_errors": outcome.build_errors,
        "values": [{"name": r.name, "verdict": r.verdict, "compared": r.compared,
                    "detail": r.detail, "notebook": r.notebook, "package": r.package}
                   for r in outcome.rows],
    }


def _print_failure(failure, format: str) -> None:
    if format == "json":
        print(json.dumps({"exit_code": 2, "error": {
            "side": failure.side, "cell": failure.cell, "message": failure.message,
            "detail": failure.detail}}, indent=2))
        return
    print_error(failure)
    if failure.side == "notebook" and failure.detail:
        print(_tail(failure.detail, 25), file=sys.stderr)


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _print_table(outcome) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from nb2prod.verify.run import FAILING

    console = Console(highlight=False, soft_wrap=True)
    table = Table(title=f"{outcome.notebook} vs python -m {outcome.package}",
                  title_justify="left")
    for column in ("name", "notebook", "package", "verdict", "compared"):
        table.add_column(column)
    for row in outcome.rows:
        table.add_row(Text(row.name), Text(short(row.notebook)), Text(short(row.package)),
                      Text(row.verdict, style=VERDICT_STYLE.get(row.verdict, "")),
                      Text(row.compared))
    if outcome.rows:
        console.print(table)
    for line in detail_lines(outcome.rows):
        console.print(line, markup=False)
    for note in outcome.notes:
        console.print(f"note: {note}", markup=False)
    console.print(summary(outcome.rows, FAILING, outcome.build_errors), markup=False)


def detail_lines(rows) -> list[str]:
    """One line per failing value; unchecked values share one line per reason."""
    lines = [f"{r.name}: {r.verdict}: {r.detail}" for r in rows
             if r.detail and r.verdict != "unchecked"]
    reasons: dict[str, list[str]] = {}
    for row in rows:
        if row.verdict == "unchecked":
            reasons.setdefault(row.detail, []).append(row.name)
    lines += [f"unchecked: {len(names)} value(s), {reason}: {', '.join(names)}"
              for reason, names in reasons.items()]
    return lines


def summary(rows, failing_verdicts, build_errors: int = 0) -> str:
    if build_errors:
        return (f"not verified: the build reported {build_errors} error(s), the package "
                "is a partial conversion")
    if not rows:
        return "no values compared"
    failing = [r.name for r in rows if r.verdict in failing_verdicts]
    if failing:
        return f"{len(failing)} of {len(rows)} value(s) do not match: {', '.join(failing)}"
    unchecked = [r.name for r in rows if r.verdict == "unchecked"]
    if unchecked:
        return (f"{len(rows) - len(unchecked)} value(s) match; {len(unchecked)} could not "
                f"be compared: {', '.join(unchecked)}")
    return f"all {len(rows)} value(s) match"


def short(value, width: int = 60) -> str:
    """One line for a table cell."""
    if isinstance(value, dict):
        kind, type_name = value.get("kind"), str(value.get("type", "")).rsplit(".", 1)[-1]
        if kind in ("frame", "array") and "shape" in value:
            dims = "x".join(map(str, value["shape"])) or "scalar"
            text = f"{type_name} {value.get('dtype', '')} {dims}".replace("  ", " ")
        elif kind in ("seq", "set", "map"):
            text = f"{type_name} of {len(value.get('items', value.get('keys', [])))}"
        elif kind == "series":
            text = f"Series {value['dtype']} {len(value['values'])}"
        else:
            text = str(value.get("repr", type_name))
    else:
        text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"
