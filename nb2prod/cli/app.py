"""The command line: the Typer app, one module per command, one error wrapper.

Each command (build.py: build and plan; verify.py, tag.py, templates.py,
lint.py: lint and rules) maps flags to an options object, calls the core,
prints, and returns an exit code. `main()` runs the app inside the one error
wrapper (`errors.guarded`, which lint's fast path uses too): a `UserError`
becomes a one-line message (`nb2prod: error: ...`) and an exit code (0 ok,
1 problems, 2 bad input or usage); anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import sys

import typer

from nb2prod.cli.build import build, plan
from nb2prod.cli.errors import guarded
from nb2prod.cli.lint import lint, rules
from nb2prod.cli.tag import tag
from nb2prod.cli.templates import templates_app
from nb2prod.cli.verify import verify

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

# One module per command (each keeps its heavy imports lazy).
app.command()(build)
app.command()(plan)
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

    def run() -> int:
        try:
            app(args=args, prog_name="nb2prod")
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return 0

    return guarded(run, debug)
