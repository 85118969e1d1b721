"""Progress of long work on stderr (`build --image`, `tag`), made for where it shows.

On a terminal, `doing` is a rich status line (a spinner) that the next phase
replaces and `done` clears, so the screen keeps only the lines that matter.
Elsewhere (a CI log, a pipe) there is no status line and no ANSI code: `say`
lines always print, `doing` lines print as plain lines only when asked
(`steps=True`: an image build's steps are worth a line in a log; `tag`'s
phases take seconds and are not).
"""

from __future__ import annotations

import sys

from nb2prod.progress import SILENT, Progress


def stderr_progress(prefix: str, *, steps: bool = False, quiet: bool = False) -> Progress:
    """A `Progress` writing `PREFIX: text` lines to stderr (nothing when `quiet`)."""
    if quiet:
        return SILENT
    if sys.stderr.isatty():
        return _Terminal(prefix).progress()

    def line(text: str) -> None:
        print(f"{prefix}: {text}", file=sys.stderr, flush=True)

    return Progress(say=line, doing=line if steps else SILENT.doing)


class _Terminal:
    """A rich status line on stderr, started by the first `doing` and stopped by `done`."""

    def __init__(self, prefix: str) -> None:
        from rich.console import Console

        self.prefix = prefix
        self.console = Console(stderr=True, highlight=False)
        self.status = None

    def progress(self) -> Progress:
        return Progress(say=self.say, doing=self.doing, done=self.done)

    def say(self, text: str) -> None:
        self.console.print(f"{self.prefix}: {text}", markup=False, soft_wrap=True)

    def doing(self, text: str) -> None:
        from rich.text import Text  # plain text: a Dockerfile line is no markup

        message = Text(f"{self.prefix}: {text}", no_wrap=True, overflow="ellipsis")
        if self.status is None:
            self.status = self.console.status(message)
            self.status.start()
        else:
            self.status.update(message)

    def done(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None
