"""The one error line of the command line: `nb2prod: error: MESSAGE`.

`app.main` prints every `UserError` that escapes a command with it; commands
that report a failure themselves (verify's run failures) use the same line.
"""

from __future__ import annotations

import sys

ERROR_PREFIX = "nb2prod: error: "


def print_error(error: object) -> None:
    print(f"{ERROR_PREFIX}{error}", file=sys.stderr)
