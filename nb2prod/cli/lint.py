"""Typer front end of `nb2prod lint` and `nb2prod rules`; thin on purpose.

Imports only typer at module level: the lint machinery is imported when the
command runs, so `nb2prod --help` and other commands do not pay for it. A
well-formed `nb2prod lint` command line does not come here at all: it is
parsed by `lint_args` (no typer); this command serves `--help`, usage errors
and completion. Its options are made from `lint_args.OPTIONS`, the one table
of lint's flags.
Usage errors are raised as `nb2prod.errors.UserError(exit_code=2)` and the
CLI wrapper prints them as one line.
"""

from __future__ import annotations

import inspect
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from nb2prod.cli.lint_args import OPTIONS


class RulesFormat(str, Enum):
    text = "text"
    json = "json"


def lint(paths: list[Path] | None = None, **values) -> None:
    """Find what makes notebooks unfit for production, cell by cell.

    Example: nb2prod lint notebooks/ --format github --fail-on warning

    Exit status: 0 no finding at or above --fail-on, 1 findings, 2 usage error.
    Silence a line with `# noqa: NB101`, a cell with the tag `nb2prod:ignore=NB101`.
    `nb2prod rules` lists the rules.
    """
    from nb2prod.cli.lint_args import execute, options_from

    plain = {k: v.value if isinstance(v, Enum) else v for k, v in values.items()}
    code = execute(*options_from({"paths": paths, **plain}))
    if code:
        raise typer.Exit(code)


TYPES = {"list": list[str], "int": int, "path": Path, "flag": bool}
"""Flag kind (cli/lint_args.py) -> the parameter's type for typer; a choice is an Enum."""


def _type(flag) -> type:
    if flag.kind == "choice":  # typer shows an Enum's values as the metavar: <text|json|...>
        return Enum(flag.name, [(c, c) for c in flag.choices], type=str)
    return TYPES[flag.kind]


def _option(flag) -> typer.models.OptionInfo:
    return typer.Option(flag.default, *flag.names, help=flag.help,
                        show_default=flag.default is not None,
                        min=0 if flag.kind == "int" else None)


def _parameters() -> list[inspect.Parameter]:
    paths = inspect.Parameter("paths", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                              annotation=Annotated[list[Path] | None, typer.Argument(
        help="Notebooks and directories to lint (directories recursively). "
             "Default: the current directory.", show_default=False, metavar="PATH...")])
    return [paths] + [inspect.Parameter(
        flag.name, inspect.Parameter.KEYWORD_ONLY, default=_option(flag),
        annotation=_type(flag) | None if flag.default is None else _type(flag))
        for flag in OPTIONS]


def _declare(command) -> None:
    """Give `command` the typer parameters made from `lint_args.OPTIONS` (the table the
    fast path parses by hand), so the two front ends cannot drift apart."""
    parameters = _parameters()
    command.__signature__ = inspect.Signature(parameters)
    command.__annotations__ = {p.name: p.annotation for p in parameters}


_declare(lint)


def rules(
    code: Annotated[str | None, typer.Argument(
        help="A rule to explain, by code or name: NB201, undefined-name. Default: list every rule.",
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
