"""`python -m nb2prod.lint PATH...`: the lint command without the full CLI.

Used by the benchmark and handy when `nb2prod.cli` is not importable; it
turns `UserError` into its one-line message and exit code like the CLI does.
"""

from __future__ import annotations

import sys

import typer

from nb2prod.cli.lint import lint
from nb2prod.errors import UserError


def main() -> int:
    try:
        typer.run(lint)
    except UserError as exc:  # typer.run exits itself on success and usage errors
        sys.stderr.write(f"nb2prod: {exc}\n")
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
