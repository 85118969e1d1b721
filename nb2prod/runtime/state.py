"""The run journal, DIR/state.jsonl: a line per step start, failure, stop and completion.

Appending a line to one open file is the cheapest durable record (renaming a
state file per step cost 1-2 ms each). The last valid line is the state
`--resume` starts from. The file is outside input: a killed run leaves half a
line, a hand-edited or damaged one anything, so every line is checked and a
line that is not a state is skipped, never trusted and never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

STATE = "state.jsonl"
STATUSES = frozenset({"running", "failed", "stopped", "completed"})


class StateJournal:
    """Appends states to DIR/STATE; the file is replaced by the run's first state."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        self.file: IO[str] | None = None

    def write(self, state: dict[str, Any]) -> None:
        """Append a line (no rename, no new file: a step start costs one write); flushed, so
        a run killed with SIGKILL leaves it behind."""
        if self.file is None:  # the run's first state: the last run's is replaced
            self.cache.mkdir(parents=True, exist_ok=True)
            self.file = open(self.cache / STATE, "w", encoding="utf-8")  # noqa: SIM115
        self.file.write(json.dumps(state) + "\n")
        self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def read_state(cache: Path) -> dict[str, Any] | None:
    """The last run's state: its last line that is a state (a dict with a known `status`,
    `params` a dict, `step` a string when present); None when there is none."""
    try:
        data = (cache / STATE).read_bytes()
    except OSError:
        return None
    for line in reversed(data.splitlines()):
        state = _state(line)
        if state is not None:
            return state
    return None


def _state(line: bytes) -> dict[str, Any] | None:
    try:
        state = json.loads(line.decode("utf-8"))
    except (ValueError, RecursionError):  # half a line, not UTF-8, not JSON, too deep
        return None
    if not isinstance(state, dict) or not isinstance(state.get("status"), str) \
            or state["status"] not in STATUSES \
            or not isinstance(state.get("params"), dict) \
            or not isinstance(state.get("step", ""), str):
        return None
    return state
