"""Parallel lint by `os.fork`: the parent lints a share itself, one child per extra job.

Why not `ProcessPoolExecutor` (still used where `os.fork` is missing): a pool
starts its processes, a queue-feeding thread and a result thread, pickles
every chunk of paths out and every result back, and the parent only waits;
on the benchmark corpus (docs/lint-speed.md) that cost ~0.15 s of CPU and made
`--jobs 2` slower in wall time than `--jobs 1`. Here the split is static and
decided before any work: files are dealt out by size (largest first, in turns
back and forth, so the shares take about as long), each child is forked after
start-up (it inherits every imported module and `lint_many`'s frozen heap,
copy-on-write), lints its share, and sends one pickle back through a pipe: per notebook its
index in `files`, the findings as plain tuples, the existence probes and the
cache stamp. The parent rebuilds the same `Linted` records a serial run makes,
so findings (sorted by the caller) and cache entries do not depend on `--jobs`.
"""

from __future__ import annotations

import os
import pickle
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

from nb2prod.lint.findings import Finding

Linted = tuple[Path, list[Finding], dict[str, bool], tuple | None]
"""One notebook's result: path, findings, existence checks, cache stamp (or None)."""
LintOne = Callable[[Path], Linted]


def available() -> bool:
    return hasattr(os, "fork")


def shares(files: list[Path], count: int) -> list[list[int]]:
    """Indexes of `files` for each of `count` processes: dealt largest first, in turns
    that go back and forth, so each share gets as many files and about as many bytes."""
    sizes = []
    for path in files:
        try:
            sizes.append(os.stat(path).st_size)
        except OSError:  # linted as NB001 wherever it lands
            sizes.append(0)
    order = sorted(range(len(files)), key=lambda i: (-sizes[i], i))
    parts: list[list[int]] = [[] for _ in range(count)]
    for rank, index in enumerate(order):
        turn, seat = divmod(rank, count)
        # Back and forth (0, 1, 1, 0, 0, 1...): dealing always from 0 would give the
        # first share the largest file of every turn.
        parts[seat if turn % 2 == 0 else count - 1 - seat].append(index)
    return [sorted(part) for part in parts]


def lint_forked(files: list[Path], count: int, lint_one: LintOne) -> Iterator[list[Linted]]:
    """`count` processes' results, one batch per notebook of the parent's share, then
    one batch per child. The children are forked now, before the caller starts
    anything else (e.g. a progress bar's thread, which a fork would not carry over)."""
    parts = shares(files, count)
    children: list[tuple[int, int]] = []
    try:
        for part in parts[1:]:
            children.append(_fork(files, part, lint_one))
    except BaseException:  # e.g. no process left to fork: leave no child behind
        _abandon(children)
        raise
    return _results(files, parts[0], children, lint_one)


def _results(files: list[Path], mine: list[int], children: list[tuple[int, int]],
             lint_one: LintOne) -> Iterator[list[Linted]]:
    waiting = list(children)
    try:
        for index in mine:
            yield [lint_one(files[index])]
        while waiting:
            pid, fd = waiting.pop(0)
            yield _collect(files, pid, fd)
    finally:  # the parent failed or stopped early: leave no child behind
        _abandon(waiting)


def _abandon(children: list[tuple[int, int]]) -> None:
    for pid, fd in children:
        os.close(fd)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def _fork(files: list[Path], part: list[int], lint_one: LintOne) -> tuple[int, int]:
    read, write = os.pipe()
    try:
        pid = os.fork()
    except BaseException:
        os.close(read)
        os.close(write)
        raise
    if pid == 0:  # the child: never returns
        os.close(read)
        _child(files, part, lint_one, write)
    os.close(write)  # so that later children do not hold it, and EOF comes
    return pid, read


def _child(files: list[Path], part: list[int], lint_one: LintOne, fd: int) -> None:
    code = 0
    try:
        rows = []
        for index in part:
            _, found, probes, stamp = lint_one(files[index])
            rows.append((index, [_row(f) for f in found], probes, stamp))
        payload = pickle.dumps((None, rows), pickle.HIGHEST_PROTOCOL)
    except BaseException as exc:  # noqa: BLE001 -- reported to the parent, which raises it
        code = 1
        payload = pickle.dumps((_picklable(exc), None), pickle.HIGHEST_PROTOCOL)
    try:
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(payload)
    finally:
        # No atexit handlers, no flushing of buffers copied from the parent.
        os._exit(code)


def _row(finding: Finding) -> tuple:
    return (finding.cell, finding.line, finding.column, finding.code, finding.severity,
            finding.message, finding.hint, finding.cell_id)


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 -- any failure to round-trip: send its text instead
        return RuntimeError(f"lint worker failed: {exc!r}")


def _collect(files: list[Path], pid: int, fd: int) -> list[Linted]:
    try:
        with os.fdopen(fd, "rb") as pipe:
            payload = pipe.read()
    finally:
        _, status = os.waitpid(pid, 0)
    if not payload:
        raise RuntimeError(f"lint worker {pid} died (wait status {status})")
    error, rows = pickle.loads(payload)
    if error is not None:
        raise error
    batch = []
    for index, found, probes, stamp in rows:
        path = files[index]
        name = str(path)
        batch.append((path, [Finding(name, *row) for row in found], probes, stamp))
    return batch
