"""Progress of long work on stderr (`build --image`, `tag`), made for where it shows.

On a terminal, `doing` is a status line (a rich spinner) that the next phase
replaces and `done` erases, so the screen keeps only the lines that matter.
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
    """A spinner line on stderr, started by the first `doing` and erased by `done`."""

    def __init__(self, prefix: str) -> None:
        from rich.console import Console

        self.prefix = prefix
        self.console = Console(stderr=True, highlight=False)
        self.live = None
        self.spinner = None

    def progress(self) -> Progress:
        return Progress(say=self.say, doing=self.doing, done=self.done)

    def say(self, text: str) -> None:
        self.console.print(f"{self.prefix}: {text}", markup=False, soft_wrap=True)

    def doing(self, text: str) -> None:
        from rich.live import Live
        from rich.spinner import Spinner
        from rich.text import Text  # plain text: a Dockerfile line is no markup

        message = Text(f"{self.prefix}: {text}", no_wrap=True, overflow="ellipsis")
        if self.live is None:
            self.spinner = Spinner("dots", text=message, style="green")
            self.live = Live(self.spinner, console=self.console, transient=True,
                             refresh_per_second=12.5)
            self.live.start()
        else:
            self.spinner.update(text=message)
        self.live.refresh()  # drawn now: a phase shorter than a refresh is still seen

    def done(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = self.spinner = None
