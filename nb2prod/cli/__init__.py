"""The command line: one module per command, over the core. `main` is the entry point.

`nb2prod lint` with well-formed flags is answered without importing typer
(`lint_args`: ~40 ms of start-up); everything else goes to the typer app.
"""

from __future__ import annotations

import sys

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `nb2prod` script; see `nb2prod.cli.app.main`."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    rest = [a for a in args if a != "--debug"]
    if rest in (["--version"], ["-V"]):
        from nb2prod import __version__

        print(f"nb2prod {__version__}")
        return 0
    if rest[:1] == ["lint"]:
        from nb2prod.cli.lint_args import fast_main

        code = fast_main(rest[1:], debug)
        if code is not None:
            return code
    from nb2prod.cli.app import main as typer_main

    return typer_main(args)


def __getattr__(name: str):
    if name == "app":  # `from nb2prod.cli import app` keeps working; typer loads then
        from nb2prod.cli.app import app

        return app
    raise AttributeError(f"module 'nb2prod.cli' has no attribute {name!r}")
