"""The one error wrapper of the command line, and its line: `nb2prod: error: MESSAGE`.

`guarded` runs a command (the typer app, or lint's fast path) and turns what
escapes it into an exit code: a `UserError` becomes its one line (with a
refused build's problems), Ctrl-C and a closed pipe exit 1 as click does;
anything else is a bug and keeps its traceback. Commands that report a
failure themselves (verify's run failures) use the same line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from nb2prod.errors import UserError

ERROR_PREFIX = "nb2prod: error: "


def print_error(error: object) -> None:
    """The error line; a refused build's problems first (stdout, as a build prints them),
    so every front end that lets `nb2prod.build.Refused` escape shows why."""
    from nb2prod.problems import INFO, problem_line

    for problem in getattr(error, "problems", ()):
        if problem.severity != INFO:
            print(problem_line(error.path, problem, getattr(error, "parts", ())))
    print(f"{ERROR_PREFIX}{error}", file=sys.stderr)


def guarded(command: Callable[[], int], debug: bool = False) -> int:
    """`command()`'s exit code; `debug` shows a user error's traceback too."""
    try:
        return command()
    except UserError as exc:
        if debug:
            raise
        print_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:  # what click prints and returns
        print("\nAborted!", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `nb2prod lint . | head`: click exits 1, quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 -- the interpreter flushes it at exit
        return 1
