"""Lint many notebooks: in this process, or in several when it pays.

Several processes (`forked`: the parent and one forked child per extra job;
a process pool where `os.fork` is missing) are used only for `jobs > 1` and
at least `PARALLEL_MIN` notebooks. Measured on the benchmark corpus
(benchmarks/lint_speed.py, 2 cores): a notebook costs ~2-3 ms of CPU; with
`--jobs 2` on 600 notebooks the two processes spend 5-10% more CPU than one
(copy-on-write faults, one pickle of the child's findings; the pool spent
13-27% more). With a cache, only the notebooks it cannot answer are linted
(and counted for these thresholds); workers also hash what they lint, for
the cache. So several processes pay from a few dozen notebooks on idle cores,
and not at all on cores busy with other work; the thresholds below leave
margin. The progress bar (rich, imported only then) is shown only when the
caller asks for it: text format on a terminal, for long runs."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from nb2prod.lint.engine import LintPlan, lint_file_probed
from nb2prod.lint.findings import Finding

if TYPE_CHECKING:
    from nb2prod.lint.cache import LintCache
    from nb2prod.lint.forked import Linted  # imported only to run several processes

PARALLEL_MIN = 24
"""Below this many notebooks, starting workers costs more than it saves."""
AUTO_PARALLEL_MIN = 64
"""With `--jobs 0` (auto), use every core only for corpora at least this big."""
PROGRESS_MIN = 50
CHUNK_MAX = 8


class LintResult(NamedTuple):
    """Every finding of a run (sorted), and how many notebooks it covered.

    NamedTuple, not a frozen dataclass: made at every start-up of `nb2prod lint`, where
    `dataclass()` costs ~0.6 ms a class (it compiles each method) and NamedTuple ~0.1 ms."""

    findings: tuple[Finding, ...]
    files: int
    cached: int = 0  # notebooks answered from the cache


def workers(jobs: int, files: int) -> int:
    """How many processes to use for `files` notebooks; `jobs == 0` means auto."""
    cores = os.cpu_count() or 1
    if jobs == 0:
        jobs = cores if files >= AUTO_PARALLEL_MIN else 1
    return max(1, min(jobs, files)) if files >= PARALLEL_MIN else 1


def lint_many(files: list[Path], plan: LintPlan, jobs: int = 1,
              progress: bool = False, cache: LintCache | None = None) -> LintResult:
    """Lint `files`; with a `cache`, only those it cannot answer, and remember the rest."""
    findings: list[Finding] = []
    todo = files
    if cache is not None:
        todo = []
        for path in files:
            hit = cache.lookup(path)
            if hit is None:
                todo.append(path)
            else:
                findings.extend(hit)
    count = workers(jobs, len(todo))
    stamped = cache is not None
    with _fewer_collections():
        batches = (_lint_parallel(todo, plan, count, stamped) if count > 1
                   else _lint_serial(todo, plan, stamped))
        with _progress(len(files), progress and len(files) >= PROGRESS_MIN) as advance:
            advance(len(files) - len(todo))
            for batch in batches:
                for path, found, probes, stamp in batch:
                    findings.extend(found)
                    if cache is not None:
                        cache.store(path, found, probes, stamp)
                advance(len(batch))
    if cache is not None:
        cache.save()
    return LintResult(tuple(sorted(findings, key=Finding.sort_key)), len(files),
                      len(files) - len(todo))


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Syntax trees are many small acyclic objects, freed by reference counting; the
    default collector threshold (700) runs a collection every few statements
    parsed. Freeze what is loaded (modules: never garbage) and collect 15x less
    often: ~8% less CPU on the benchmark corpus, cycles are still collected."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(10_000, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _lint_one(path: Path, plan: LintPlan, stamped: bool) -> Linted:
    """Lint one notebook; `stamped`: also fingerprint it for the cache, before linting
    (bytes hashed) and after (unchanged stat), so a file edited meanwhile is not stored."""
    if not stamped:
        found, probes = lint_file_probed(path, plan)
        return path, found, probes, None
    from nb2prod.lint.cache import fingerprint, unchanged

    before = fingerprint(path)
    found, probes = lint_file_probed(path, plan)
    stamp = before[1:] if before is not None and unchanged(path, before[0]) else None
    return path, found, probes, stamp


def _lint_serial(files: list[Path], plan: LintPlan, stamped: bool) -> Iterator[list[Linted]]:
    for path in files:
        yield [_lint_one(path, plan, stamped)]


def _lint_chunk(files: list[Path], plan: LintPlan, stamped: bool = False) -> list[Linted]:
    return [_lint_one(path, plan, stamped) for path in files]


def _lint_parallel(files: list[Path], plan: LintPlan, count: int,
                   stamped: bool) -> Iterator[list[Linted]]:
    # What linting a notebook imports, imported once here: forked processes inherit it
    # instead of each importing it on its first notebook.
    import nb2prod.analysis.analyze
    import nb2prod.notebook  # noqa: F401
    from nb2prod.lint import forked  # and pickle: a serial run does not need them

    if forked.available():
        return forked.lint_forked(files, count, lambda path: _lint_one(path, plan, stamped))
    return _lint_pool(files, plan, count, stamped)


def _lint_pool(files: list[Path], plan: LintPlan, count: int,
               stamped: bool) -> Iterator[list[Linted]]:
    """Where `os.fork` is missing (Windows): a process pool, each worker importing
    the analysis again."""
    size = max(1, min(CHUNK_MAX, len(files) // (count * 8)))  # small chunks keep cores busy
    chunks = [files[i:i + size] for i in range(0, len(files), size)]
    # Imported here: a serial run (most runs) does not pay ~10 ms for them.
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(_lint_chunk, chunk, plan, stamped) for chunk in chunks]
        for future in as_completed(futures):
            yield future.result()


class _progress:
    """A context manager giving `advance(n)`; a rich bar on stderr when enabled."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.bar = total, enabled, None

    def __enter__(self) -> Callable[[int], None]:
        if not self.enabled:
            return lambda n: None
        from rich.console import Console
        from rich.progress import Progress

        self.bar = Progress(console=Console(stderr=True), transient=True)
        self.bar.start()
        task = self.bar.add_task("linting notebooks", total=self.total)
        return lambda n: self.bar.advance(task, n)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()
