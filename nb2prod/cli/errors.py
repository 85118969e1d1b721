"""The one error line of the command line: `nb2prod: error: MESSAGE`.

`app.main` prints every `UserError` (with a refused build's problems) that escapes a command with it; commands
that report a failure themselves (verify's run failures) use the same line.
"""

from __future__ import annotations

import sys

ERROR_PREFIX = "nb2prod: error: "


def print_error(error: object) -> None:
    """The error line; a refused build's problems first (stdout, as a build prints them),
    so every front end that lets `nb2prod.build.Refused` escape shows why."""
    from nb2prod.problems import INFO, problem_line

    for problem in getattr(error, "problems", ()):
        if problem.severity != INFO:
            print(problem_line(error.path, problem))
    print(f"{ERROR_PREFIX}{error}", file=sys.stderr)
