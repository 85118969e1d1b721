"""KFP's local runner, summarised: a line per task, its whole output behind `--verbose`.

`python -m PKG.kubeflow run-local` runs the pipeline on `kfp.local`, which logs to
stdout with ANSI colours whether or not stdout is a terminal, prints every task's
executor output in full (its input JSON, each artifact) and warns again for every
task. `run` stands a line reader in for stdout while the pipeline runs and writes,
on stderr instead:

    task load-data: SUCCESS in 1.4 s
    task train: FAILURE in 1.2 s; its last output lines:
        ...
    pipeline kale-iris: FAILURE in 2.9 s (2 tasks)

KFP's own lines (`HH:MM:SS.mmm - INFO - ...`) are recognised by a table of
patterns (`EVENTS`); everything else is a task's output, kept for its failure.
With `verbose` every line is passed on, colours only to a terminal. A warning is
shown once per place in the code that raises it (KFP warns once per task).
"""

from __future__ import annotations

import collections
import contextlib
import io
import re
import sys
import time
import warnings
from typing import IO, Any, Callable  # noqa: UP035 - Python 3.10 too

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
KFP_LINE = re.compile(r"\d\d:\d\d:\d\d\.\d+ - [A-Z]+ - ")
"""How a line KFP's local runner logs starts (its formatter), not a task's output."""

EVENTS = (
    ("start", re.compile(r"Executing task '(?P<name>[^']+)'")),
    ("end", re.compile(r"Task '(?P<name>[^']+)' finished with status (?P<status>[A-Z]+)")),
    ("pipeline", re.compile(r"Pipeline '(?P<name>[^']+)' finished with status (?P<status>[A-Z]+)")),
)
"""KFP's log lines the summary is made of (kfp 2.x `kfp.local`), by event."""

TASK_PREFIX = re.compile(r"^Task '[^']*': ")
TAIL = 20  # output lines of a failed task shown without --verbose


class RunFailed(Exception):
    """The local run failed; the message is one line without ANSI codes."""


class Summary:
    """Reads what KFP writes, line by line, and writes the summary to `out`."""

    def __init__(self, out: IO[str], verbose: bool, color: bool) -> None:
        self.out, self.verbose, self.color = out, verbose, color
        self.started = time.monotonic()
        self.task: str | None = None
        self.task_started = self.started
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL)
        self.tasks = 0
        self.warned: set[tuple[Any, ...]] = set()

    def line(self, raw: str) -> None:
        plain = ANSI.sub("", raw)
        if self.verbose:
            self._write(raw if self.color else plain)
        found = KFP_LINE.match(plain)
        if not found:
            if self.task is not None:
                self.tail.append(plain)
            return
        for event, pattern in EVENTS:
            match = pattern.search(plain, found.end())
            if match:
                getattr(self, f"_{event}")(**match.groupdict())
                return

    def _start(self, name: str) -> None:
        self.task, self.task_started = name, time.monotonic()
        self.tail.clear()

    def _end(self, name: str, status: str) -> None:
        self.tasks += 1
        seconds = time.monotonic() - self.task_started
        if not self.verbose:
            while self.tail and not self.tail[-1].strip():
                self.tail.pop()
            failed = status != "SUCCESS" and self.tail
            self._write(f"task {name}: {status} in {seconds:.1f} s"
                        + ("; its last output lines:" if failed else ""))
            for text in self.tail if failed else ():
                self._write(text)  # KFP indented it already
        self.task = None

    def _pipeline(self, name: str, status: str) -> None:
        seconds = time.monotonic() - self.started
        self._write(f"pipeline {name}: {status} in {seconds:.1f} s ({self.tasks} tasks)")

    def warning(self, message: Any, category: type, filename: str, lineno: int,
                file: Any = None, line: Any = None) -> None:
        """`warnings.showwarning`: each place in the code warns once."""
        key = (category, filename, lineno)
        if key not in self.warned:
            self.warned.add(key)
            # KFP names the first task it warns for; the warning is about every task
            self._write(f"warning: {TASK_PREFIX.sub('', ANSI.sub('', str(message)))}")

    def _write(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()


class _Lines(io.TextIOBase):
    """A text stream that hands each complete line to `show`."""

    def __init__(self, show: Callable[[str], None]) -> None:
        self.show, self.partial = show, ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self.partial = (self.partial + text).split("\n")
        for line in lines:
            self.show(line)
        return len(text)

    def close_partial(self) -> None:
        if self.partial:
            self.show(self.partial)
            self.partial = ""


def run(call: Callable[[], Any], *, verbose: bool = False, out: IO[str] | None = None) -> Any:
    """`call()` (the pipeline on KFP's local runner) with its output summarised on `out`
    (stderr); its result, or RunFailed with KFP's reason in one line."""
    out = out or sys.stderr
    summary = Summary(out, verbose, color=out.isatty())
    lines = _Lines(summary.line)
    # KFP's logger and prints look sys.stdout up when they write: they write to `lines`
    with warnings.catch_warnings(), contextlib.redirect_stdout(lines):
        warnings.simplefilter("always")  # shown once per place by `summary.warning`
        warnings.showwarning = summary.warning
        try:
            return call()
        except RuntimeError as exc:  # a failed task: KFP raises with its coloured message
            raise RunFailed(" ".join(ANSI.sub("", str(exc)).split()).rstrip(".")) from None
        finally:
            lines.close_partial()
