"""The micro-batcher: coalescing, isolation of failures, overload and deadlines."""

from __future__ import annotations

import asyncio
import random
import threading

import pytest

from nb2prod.runtime.batching import BatchSettings, DeadlineExceeded, MicroBatcher, Overloaded


class Model:
    """Doubles every number; refuses rows equal to 13; records each call's payloads."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.calls: list[list] = []
        self.gate = gate

    def __call__(self, payloads):
        if self.gate is not None:
            self.gate.wait(5)
        self.calls.append(list(payloads))
        flat = [x for rows in payloads for x in rows]
        if 13 in flat:
            raise ValueError("13 is not a number we predict")
        return [[2 * x for x in rows] for rows in payloads]


def run(coro):
    return asyncio.run(coro)


def test_interleaved_requests_of_different_sizes_get_exactly_their_own_rows():
    model = Model()
    rng = random.Random(7)
    requests = [[rng.randint(0, 1000) for _ in range(rng.randint(1, 9))] for _ in range(200)]

    async def main():
        batcher = MicroBatcher(model, BatchSettings(max_batch_rows=64))
        answers = await asyncio.gather(*(batcher.submit(r, rows=len(r)) for r in requests))
        await batcher.close()
        return answers, batcher.stats

    answers, stats = run(main())
    assert answers == [[2 * x for x in r] for r in requests]
    assert stats.items == 200 and stats.calls < 200  # coalesced
    assert all(sum(len(p) for p in call) <= 64 or len(call) == 1 for call in model.calls)


def test_a_request_alone_is_one_call_of_its_own():
    model = Model()

    async def main():
        batcher = MicroBatcher(model)
        first = await batcher.submit([1, 2], rows=2)
        second = await batcher.submit([3], rows=1)
        await batcher.close()
        return first, second

    assert run(main()) == ([2, 4], [6])
    assert model.calls == [[[1, 2]], [[3]]]


def test_a_bad_request_fails_alone_and_the_others_in_its_batch_succeed():
    gate = threading.Event()
    model = Model(gate)

    async def main():
        batcher = MicroBatcher(model)
        blocker = asyncio.ensure_future(batcher.submit([0]))
        await asyncio.sleep(0.05)  # the model is busy with [0]: the next ones queue up
        tasks = [asyncio.ensure_future(batcher.submit(r)) for r in ([1], [13], [2])]
        await asyncio.sleep(0.01)
        gate.set()
        results = await asyncio.gather(blocker, *tasks, return_exceptions=True)
        await batcher.close()
        return results, batcher.stats

    (zero, one, bad, two), stats = run(main())
    assert (zero, one, two) == ([0], [2], [4])
    assert isinstance(bad, ValueError) and "13" in str(bad)
    assert stats.isolated_retries == 1
    assert [[1], [13], [2]] in model.calls  # they were coalesced first


def test_beyond_the_queue_limit_requests_are_refused_at_once():
    gate = threading.Event()
    model = Model(gate)

    async def main():
        batcher = MicroBatcher(model, BatchSettings(max_queue=2))
        busy = asyncio.ensure_future(batcher.submit([0]))
        await asyncio.sleep(0.05)
        queued = [asyncio.ensure_future(batcher.submit([i])) for i in (1, 2)]
        await asyncio.sleep(0.01)
        with pytest.raises(Overloaded):
            await batcher.submit([3])
        gate.set()
        done = await asyncio.gather(busy, *queued)
        await batcher.close()
        return done, batcher.stats

    done, stats = run(main())
    assert done == [[0], [2], [4]]
    assert stats.overloaded == 1


def test_a_request_past_its_deadline_gets_504_and_costs_no_model_time():
    gate = threading.Event()
    model = Model(gate)

    async def main():
        batcher = MicroBatcher(model, BatchSettings(timeout=0.1))
        busy = asyncio.ensure_future(batcher.submit([0]))
        await asyncio.sleep(0.02)
        with pytest.raises(DeadlineExceeded):
            await batcher.submit([5])  # queued behind the blocked call
        gate.set()
        await asyncio.gather(busy, return_exceptions=True)
        after = await batcher.submit([6])
        await batcher.close()
        return after, batcher.stats

    after, stats = run(main())
    assert after == [12]
    assert stats.deadline_exceeded >= 1
    assert [[5]] not in model.calls and not any([5] in call for call in model.calls)


def test_a_run_that_returns_the_wrong_number_of_results_fails_each_request_alone():
    def broken(payloads):
        return [None] if len(payloads) == 1 else []

    async def main():
        batcher = MicroBatcher(broken)
        results = await asyncio.gather(*(batcher.submit([i]) for i in range(5)))
        await batcher.close()
        return results

    assert run(main()) == [None] * 5
