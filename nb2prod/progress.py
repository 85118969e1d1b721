"""How long work says what it is doing, without printing: the front end decides how.

The core (an image build, `tag`'s phases) calls the hooks of a `Progress`;
`nb2prod/cli/progress.py` makes one that writes to stderr: a status line
replaced by the next on a terminal, plain lines (no ANSI) elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def _nothing(*_: object) -> None:
    return None


@dataclass(frozen=True)
class Progress:
    say: Callable[[str], None] = _nothing  # a line that stays: what starts, the summary
    doing: Callable[[str], None] = _nothing  # what runs now; the next call replaces it
    done: Callable[[], None] = _nothing  # the work ended (a failure too): clear `doing`


SILENT = Progress()
