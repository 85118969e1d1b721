"""How a generated package runs its steps: logs, cache, resume, retries, secrets, hooks.

Every step logs a `start` and an `end` record through `logging` (the package's
logger, on stderr: stdout keeps exactly what the notebook printed), with its
wall time, a summary of its outputs (shapes, else types; never values) and
whether it came from the cache. With a cache directory, a step's outputs are
stored under a key made of its code hash (computed by nb2prod from the step's
cells and every helper it reaches), the source of the step function and the
helpers it reaches as they are now, the content hashes of its inputs and the
versions of the package and its dependencies: an unchanged step is loaded,
not run, and what it printed is printed again.

Hooks are objects with an optional `before_step(step, inputs)` and
`after_step(step, inputs, outputs, seconds)`, called around each run of a
step's function (not on a cache hit: the step does not run then).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import io
import json
import linecache
import logging
import os
import platform
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable  # noqa: UP035 - Python 3.10 too

from .logs import summary
from .redact import Secrets
from .state import StateJournal
from .store import (
    Lazy,
    NotCacheable,
    Store,
    encode,
    path_digest,
    source_digest,
    value_digest,
)

CACHE_VERSION = 3  # part of every key: entries of an older layout are never read
CELL_COMMENT = re.compile(r"^\s*# (?:(\S.*\.ipynb) )?cell (\d+)(?:, line (\d+))?\s*$")
"""`# cell N, line L` (line 1 if none); `# 02_features.ipynb cell N` when the package
was built from several notebooks."""


@dataclasses.dataclass(frozen=True)
class StepSpec:
    """What the runner knows of a step; nb2prod writes these into pipeline.py."""

    name: str  # as the report lists it
    function: str
    cells: tuple[int, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    code_hash: str
    retry: int = 0  # `retry:N`: attempts after the first
    cache: bool = True  # `cache:disabled` turns the step cache off for this step
    secrets: tuple[str, ...] = ()  # environment variables the step needs (`secret:` tags)
    reads: tuple[str, ...] = ()  # files it reads by literal path: their content is in its key
    # files it reads through paths made of its parameters: inputs by name -> those paths
    paths: Callable[..., tuple] | None = None
    uncached: str = ""  # why its cache is off: a path it reads is known only once it runs
    # folders it writes files into by literal path: they existed where the notebook ran,
    # and are made before the step runs, so a run in an empty directory works
    folders: tuple[str, ...] = ()


class StepFailed(Exception):
    """A step raised, or cannot start: the one line the command line prints."""

    def __init__(self, step: StepSpec, cell: int | str, message: str,
                 line: int | None = None) -> None:
        where = cell if isinstance(cell, str) else f"notebook cell {cell}"
        where = f"{where}, line {line}" if line else where
        super().__init__(f"step `{step.name}` ({where}) failed: {message}")
        self.step = step


class StopRun(Exception):
    """`--only-step`: that step ran; the later ones do not."""


def environment_digest(distributions: tuple[str, ...]) -> str:
    """Versions of Python, the package and its dependencies (`distributions`, the
    package's own first): part of every cache key."""
    versions = [platform.python_version()]
    for name in distributions:
        try:
            versions.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} missing")
    return hashlib.sha256("\n".join(versions).encode("utf-8")).hexdigest()


class _Tee(io.TextIOBase):
    """stdout that also keeps what a step printed, to print it again on a cache hit."""

    def __init__(self, stream) -> None:
        self.stream, self.kept = stream, io.StringIO()

    def write(self, text: str) -> int:
        self.kept.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


@dataclasses.dataclass
class Runner:
    """Runs steps in order; `run_steps` calls `runner.call(FUNCTION, function, *inputs)`."""

    steps: dict[str, StepSpec]
    package: str = "pipeline"  # the logger's name: the package's import name
    cache: Path | None = None
    from_step: str | None = None  # re-run this step and every later one, whatever the cache
    only_step: str | None = None  # stop after this step (which always runs)
    resume_at: str | None = None  # the step the run being resumed stopped at
    environment: str = ""
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    hooks: tuple[Any, ...] = ()  # objects with before_step / after_step (module docstring)
    digests: dict[str, str] = dataclasses.field(default_factory=dict)
    forced: bool = False
    done: int = 0
    journal: StateJournal | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.log = logging.getLogger(self.package)
        if self.cache:
            Store(self.cache).warm_up()
            self.journal = StateJournal(self.cache)

    def call(self, function_name: str, function: Callable, *args: Any) -> Any:
        spec = self.steps[function_name]
        self.forced = self.forced or spec.name == self.from_step or spec.name == self.only_step
        missing = [name for name in spec.secrets if not os.environ.get(name)]
        if missing:
            raise StepFailed(spec, spec.cells[0], f"environment variable {missing[0]} is not "
                             "set (a `secret:` tag of this step)")
        for folder in spec.folders:
            os.makedirs(folder, exist_ok=True)
        start = time.perf_counter()
        store = Store(self.cache) if self.cache and spec.cache and not spec.uncached else None
        if self.cache and spec.cache and spec.uncached:
            self._warn("step %s: not cached: %s", spec.name, spec.uncached)
        key = self._key(spec, function, args) if store else None
        hit = key is not None and not self.forced and store.has(spec.function, key)
        self._state(spec, "running")
        entry = store.load(spec.function, key, spec.outputs) if hit else None
        cache_seconds = time.perf_counter() - start  # the cache's own time: key, entry, files
        self._log(logging.DEBUG, "start", spec, cached=entry is not None, seconds=0.0)
        if hit and entry is None:
            self._warn("step %s: cache entry %s is damaged or not this step's; running "
                       "the step", spec.name, key)
        if entry is not None:  # its values are read only when a running step needs them
            sys.stdout.write(entry.printed)
            digests, summaries, stored = entry.digests, entry.summaries, True
            result = tuple(entry.values[n] for n in spec.outputs)
            result = None if not result else result[0] if len(result) == 1 else result
        else:
            result, summaries, digests, stored, spent = self._compute(spec, function, args, key)
            cache_seconds += spent
        self.digests.update(digests)
        for name in set(spec.outputs) - set(digests):
            self.digests.pop(name, None)
        self.done += 1
        seconds = time.perf_counter() - start
        self._log(logging.INFO, "end", spec, cached=entry is not None, seconds=round(seconds, 6),
                  cache_seconds=round(cache_seconds, 6) if self.cache else 0.0,
                  stored=stored, outputs=summaries)
        if spec.name == self.only_step:
            self._state(spec, "stopped")
            raise StopRun(spec.name)
        return result

    def _compute(self, spec: StepSpec, function: Callable, args: tuple, key: str | None):
        """Run the step on its inputs (read from the cache first when they come from it) and
        store its outputs under `key`; (its result, the outputs' summaries, their digests,
        whether they were stored, the seconds the cache took)."""
        begin = time.perf_counter()
        args = tuple(self._read(spec, value) for value in args)
        spent = time.perf_counter() - begin
        inputs = dict(zip(spec.inputs, args))
        for hook in self.hooks:
            if hasattr(hook, "before_step"):
                hook.before_step(spec, inputs)
        begin = time.perf_counter()
        result, printed = self._run(spec, function, args, keep=key is not None)
        ran = time.perf_counter() - begin
        values = dict(zip(spec.outputs, result if len(spec.outputs) > 1 else (result,)))
        for hook in self.hooks:
            if hasattr(hook, "after_step"):
                hook.after_step(spec, inputs, values, ran)
        summaries = {n: summary(values[n]) for n in spec.outputs}
        begin = time.perf_counter()
        digests, stored = self._save(spec, key, values, printed, summaries) if key else (
            {}, False)
        return result, summaries, digests, stored, spent + time.perf_counter() - begin

    def finish(self) -> None:
        if self.journal is not None:
            self.journal.write({"status": "completed", "params": self.params})
            self.journal.close()

    def _run(self, spec: StepSpec, function: Callable, args: tuple, keep: bool):
        for attempt in range(spec.retry + 1):
            stdout = sys.stdout
            tee = _Tee(stdout) if keep else None
            try:
                if tee is not None:
                    sys.stdout = tee
                return function(*args), tee.kept.getvalue() if tee else ""
            except Exception as exc:
                if attempt < spec.retry:
                    self._log(logging.WARNING, "retry", spec, cached=False, seconds=0.0,
                              attempt=attempt + 1, error=type(exc).__name__)
                    continue
                self._state(spec, "failed")
                self._log(logging.DEBUG, "error", spec, cached=False, seconds=0.0,
                          error=type(exc).__name__)
                cell, line = failing_place(exc, function.__code__.co_filename, spec.cells[0],
                                           function.__name__)
                raise StepFailed(spec, cell, self.redact(f"{type(exc).__name__}: {exc}"),
                                 line) from exc
            finally:
                sys.stdout = stdout
        raise AssertionError("unreachable")

    def _key(self, spec: StepSpec, function: Callable, args: tuple) -> str | None:
        try:
            inputs = [self.digests.get(name) or value_digest(value)
                      for name, value in zip(spec.inputs, args)]
        except NotCacheable as exc:
            self._warn("step %s: an input cannot be hashed (%s); not cached", spec.name, exc)
            return None
        try:
            files = [[p, path_digest(p)] for p in (*spec.reads, *self._paths(spec, args))]
        except (NotCacheable, OSError) as exc:
            self._warn("step %s: a file it reads cannot be hashed (%s); not cached",
                       spec.name, exc)
            return None
        text = json.dumps([CACHE_VERSION, spec.code_hash, source_digest(function),
                           self.environment, list(spec.inputs), inputs, files])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def _paths(self, spec: StepSpec, args: tuple) -> list[str]:
        """The files the step reads through paths made of its parameters, as it will."""
        if spec.paths is None:
            return []
        try:
            return [os.fspath(p) for p in spec.paths(**dict(zip(spec.inputs, args)))]
        except Exception as exc:  # noqa: BLE001 - the step itself says what is wrong with it
            raise NotCacheable(f"its path: {type(exc).__name__}: {exc}") from None

    def _read(self, spec: StepSpec, value: Any) -> Any:
        try:
            return value.value() if isinstance(value, Lazy) else value
        except NotCacheable as exc:
            raise StepFailed(spec, spec.cells[0], self.redact(
                f"an input's cache entry is unreadable ({exc}); delete {self.cache} or run "
                "without --cache")) from None

    def _save(self, spec: StepSpec, key: str, values: dict, printed: str,
              summaries: dict[str, str]) -> tuple[dict[str, str], bool]:
        """Encode the outputs (their files' bytes) and write the entry; (the sha256 of each
        file, whether the entry was written). A failed write still gives the hashes: they
        are the values' content hashes, whether a file holds them or not."""
        try:
            encoded = {name: encode(value) for name, value in values.items()}
        except NotCacheable as exc:
            self._warn("step %s: an output cannot be stored (%s); not cached", spec.name, exc)
            return {}, False
        secrets = self._secrets()  # in the bytes a file would hold, whatever the type
        held = [name for name, value in encoded.items() if secrets.in_bytes(value.data)]
        if held or secrets.in_text(printed):
            self._warn("step %s: %s holds a secret's value; not cached", spec.name,
                       f"output {held[0]}" if held else "its printed text")
            return {}, False
        digests = {name: value.sha256 for name, value in encoded.items()}
        try:
            Store(self.cache).save(spec.function, key, encoded, printed, summaries)
        except OSError as exc:  # a full disk, a file in the way: the run goes on
            self._warn("step %s: its outputs could not be stored (%s: %s); not cached",
                       spec.name, type(exc).__name__, exc)
            return digests, False
        return digests, True

    def _secrets(self) -> Secrets:
        """The secret values set now (a step may set one for the next)."""
        return Secrets.from_environment(
            {name for spec in self.steps.values() for name in spec.secrets})

    def redact(self, message: str) -> str:
        """`message` without any form of a secret's value."""
        return self._secrets().redact(message)

    def _warn(self, template: str, *args: Any) -> None:
        self.log.warning("%s", self.redact(template % args))

    def _log(self, level: int, event: str, spec: StepSpec, **fields: Any) -> None:
        record = {"event": event, "step": spec.name, "index": self.done + (event != "end"),
                  "total": len(self.steps), "cells": list(spec.cells), **fields}
        self.log.log(level, "%s %s", event, spec.name, extra={"nb2prod": record})

    def _state(self, spec: StepSpec, status: str) -> None:
        if self.journal is not None:
            self.journal.write({"status": status, "step": spec.name, "params": self.params})


def resolved(values: dict[str, Any], names: tuple[str, ...] | None = None) -> dict[str, Any]:
    """`values` with the cache's not-yet-read values read (all, or only `names`)."""
    return {k: v.value() if isinstance(v, Lazy) and (names is None or k in names) else v
            for k, v in values.items()}


def end_cell() -> None:
    """The end of a notebook cell inside a step, as Jupyter's inline backend ends one: it
    shows and closes every open figure, so the next cell starts without a current figure
    (a 2-D plot does not land on the 3-D axes of the cell above; `savefig` writes only
    what its cell drew). Nothing to do, and nothing imported, without pyplot."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


def failing_place(exc: BaseException, filename: str, default: int,
                  step: str = "") -> tuple[int | str, int | None]:
    """(cell, line) in the notebook of the deepest line of `filename` (the module of the
    step functions, pipeline.py) in the traceback: the `# cell N` or `# cell N, line L`
    comment above it, counting the lines in between (the cell is `02_features.ipynb cell N`
    text when the comment names a notebook). No line for the `return` nb2prod
    wrote at the end of the function `step` (the cell above it), (default, None) when no
    comment is above."""
    line, function = None, ""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line, function = tb.tb_lineno, tb.tb_frame.f_code.co_name
        tb = tb.tb_next
    text = linecache.getline(filename, line) if line else ""
    generated = function == step and re.fullmatch(r"    return [\w, ]+\n?", text) is not None
    marker = line
    while marker and marker > 0:
        match = CELL_COMMENT.match(linecache.getline(filename, marker))
        if match:
            start = int(match.group(3) or 1)
            cell = f"{match.group(1)} cell {match.group(2)}" if match.group(1) \
                else int(match.group(2))
            return cell, None if generated else start + line - marker - 1
        marker -= 1
    return default, None
