"""The error hierarchy.

`Nb2prodError` is the base of every error this package raises on purpose.
`UserError` is safe to show: it carries where the problem is (path, cell,
line) and renders as one line. The CLI turns it into an exit code; anything
else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path

from nb2prod.problems import location


class Nb2prodError(Exception):
    """Base of the errors nb2prod raises on purpose."""


class UserError(Nb2prodError):
    """A problem with the user's input, shown as one line.

    `exit_code` is 2 for unreadable input or a bad invocation, 1 for a
    conversion problem located in a cell.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        cell: int | None = None,
        line: int | None = None,
        hint: str = "",
        exit_code: int = 2,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.cell = cell
        self.line = line
        self.hint = hint
        self.exit_code = exit_code

    def location(self) -> str:
        return location(self.path, self.cell, self.line)

    def __str__(self) -> str:
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        return f"{text} ({self.hint})" if self.hint else text
