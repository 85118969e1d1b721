"""Adaptive micro-batching: concurrent requests share one call of the model.

A model's cost per call is mostly fixed (a forest's `predict` takes about as
long for 1 row as for 100), so under load a service that calls it once per
request spends its time on overhead while requests queue. `MicroBatcher`
coalesces the requests that arrive while the model is busy into one call:

- **No tax at light load.** A request that finds the model idle and nothing
  queued runs at once, alone. Waiting for company happens only once
  concurrency was seen (the last call carried several requests), and then for
  at most half the observed call cost, never above `max_wait`.
- **Each request gets exactly its own answers.** `run(items)` returns one
  result per item; when a coalesced call raises, every item is run alone, so
  one bad request fails with its own error and the others still succeed.
- **Bounded under overload.** Beyond `max_queue` waiting requests, `submit`
  raises `Overloaded` at once (the service answers 503 with Retry-After);
  a request still waiting at its deadline raises `DeadlineExceeded` (504) and
  is dropped from the queue, so no model time is spent on it.

It is plain asyncio and knows nothing of HTTP or models: the service gives it
`run`, a blocking function called in one worker thread (one model call at a
time per process: the model is the bottleneck, and threads would only fight
over the interpreter).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

TIMEOUTS = (asyncio.TimeoutError, TimeoutError)  # one class from Python 3.11, two before


class Overloaded(Exception):
    """The queue is full: answer 503 at once, with Retry-After."""


class DeadlineExceeded(Exception):
    """The request waited past its deadline: answer 504; its work was dropped."""


@dataclass(frozen=True)
class BatchSettings:
    """How requests are coalesced (`--max-batch`, `--max-wait-ms`, `--max-queue`, `--timeout`)."""

    max_batch_rows: int = 256
    max_wait: float = 0.005  # seconds; the adaptive wait never exceeds it
    max_queue: int = 512  # waiting requests beyond which new ones are refused
    timeout: float = 10.0  # seconds a request may wait and run before 504


@dataclass
class _Item:
    payload: Any
    rows: int
    deadline: float
    future: asyncio.Future


@dataclass
class BatchStats:
    """Counters the service exports at /metrics."""

    calls: int = 0
    items: int = 0
    rows: int = 0
    overloaded: int = 0
    deadline_exceeded: int = 0
    isolated_retries: int = 0
    last_call_seconds: float = 0.0


class MicroBatcher:
    """Coalesce concurrent `submit` calls into calls of `run(list_of_payloads)`."""

    def __init__(self, run: Callable[[Sequence[Any]], Sequence[Any]],
                 settings: BatchSettings = BatchSettings()) -> None:
        self._run = run
        self.settings = settings
        self.stats = BatchStats()
        self._queue: deque[_Item] = deque()
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self._cost = 0.0  # moving average of one call's seconds
        self._last_call_items = 0

    async def submit(self, payload: Any, rows: int = 1) -> Any:
        """The result of `run` for this payload alone; raises what `run` raised for it."""
        if len(self._queue) >= self.settings.max_queue:
            self.stats.overloaded += 1
            raise Overloaded(f"{len(self._queue)} requests are waiting")
        loop = asyncio.get_running_loop()
        self._ensure_worker(loop)
        item = _Item(payload, max(rows, 1), loop.time() + self.settings.timeout,
                     loop.create_future())
        self._queue.append(item)
        self._wakeup.set()
        try:
            return await asyncio.wait_for(asyncio.shield(item.future), self.settings.timeout)
        except TIMEOUTS:
            item.future.cancel()  # still queued: the worker skips it
            self.stats.deadline_exceeded += 1
            raise DeadlineExceeded(f"no answer within {self.settings.timeout:g} s") from None

    async def close(self) -> None:
        """Stop the worker after the queue is empty (requests in flight are answered)."""
        while self._queue:
            await asyncio.sleep(0.001)
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        self._executor.shutdown(wait=True)

    def _ensure_worker(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._worker is None or self._worker.done():
            self._wakeup = asyncio.Event()
            self._worker = loop.create_task(self._work())

    async def _work(self) -> None:
        while True:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
            await self._maybe_wait_for_company()
            batch = self._take()
            if batch:
                await self._call(batch)

    async def _maybe_wait_for_company(self) -> None:
        """Wait a little for more requests, only when concurrency was seen lately."""
        if self._last_call_items < 2 or self._queued_rows() >= self.settings.max_batch_rows:
            return
        wait = min(self.settings.max_wait, self._cost / 2)
        if wait > 0.0002:
            await asyncio.sleep(wait)

    def _queued_rows(self) -> int:
        return sum(item.rows for item in self._queue)

    def _take(self) -> list[_Item]:
        """Requests still wanted, oldest first, up to the row limit (one at least)."""
        now, taken, rows = asyncio.get_running_loop().time(), [], 0
        while self._queue:
            item = self._queue[0]
            if item.future.done() or item.deadline <= now:
                self._queue.popleft()  # cancelled or expired: no model time for it
                continue
            if taken and rows + item.rows > self.settings.max_batch_rows:
                break
            taken.append(self._queue.popleft())
            rows += item.rows
        return taken

    async def _call(self, batch: list[_Item]) -> None:
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        try:
            results = await loop.run_in_executor(
                self._executor, self._run, [item.payload for item in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"run returned {len(results)} results for {len(batch)} items")
        except Exception as exc:  # noqa: BLE001 - isolated below, each item gets its own error
            if len(batch) == 1:
                _settle(batch[0], error=exc)
            else:
                await self._run_alone(batch)
        else:
            for item, result in zip(batch, results):
                _settle(item, result=result)
        self._observe(batch, time.perf_counter() - start)

    async def _run_alone(self, batch: list[_Item]) -> None:
        """A coalesced call failed: run each request by itself so only the bad ones fail."""
        loop = asyncio.get_running_loop()
        self.stats.isolated_retries += 1
        for item in batch:
            try:
                (result,) = await loop.run_in_executor(self._executor, self._run, [item.payload])
            except Exception as exc:  # noqa: BLE001 - the request's own error, answered as such
                _settle(item, error=exc)
            else:
                _settle(item, result=result)

    def _observe(self, batch: list[_Item], seconds: float) -> None:
        self._cost = seconds if self._cost == 0 else 0.8 * self._cost + 0.2 * seconds
        self._last_call_items = len(batch)
        stats = self.stats
        stats.calls += 1
        stats.items += len(batch)
        stats.rows += sum(item.rows for item in batch)
        stats.last_call_seconds = seconds


def _settle(item: _Item, result: Any = None, error: BaseException | None = None) -> None:
    if item.future.done():  # its client gave up meanwhile
        return
    if error is not None:
        item.future.set_exception(error)
    else:
        item.future.set_result(result)
