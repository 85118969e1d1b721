"""How the service scales: micro-batching glue, worker processes and their options.

`serve_app` calls the model through `batching.MicroBatcher` with `predict_many`,
which joins the waiting requests' model inputs into one call and splits the
answer back; `--workers N` starts N uvicorn processes, each building its own app
(and loading the model once) through `worker_app`. docs/serve.md ("Serving under
load") says how batching and workers behave and how to size them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .batching import BatchSettings


def predict_many(predictions: Callable[[Any, Any], dict[str, list]], state: Any,
                 batches: list[Any]) -> list[dict[str, Any]]:
    """One model call for several requests' rows, split back per request. Rows are
    scored independently, so each request gets what it would get alone (tested); a
    notebook predict() whose answer is not one value per row is called per request."""
    joined = _join(batches) if len(batches) > 1 else None
    if joined is None:
        return [predictions(state, batch) for batch in batches]
    result = predictions(state, joined)
    if any(len(values) != len(joined) for values in result.values()):
        return [predictions(state, batch) for batch in batches]
    answers, start = [], 0
    for batch in batches:
        end = start + len(batch)
        answers.append({key: values[start:end] for key, values in result.items()})
        start = end
    return answers


def _join(batches: list[Any]) -> Any:
    """The requests' model inputs as one (frames with equal columns, or 2-D arrays of
    equal width); None when they cannot be joined."""
    first = batches[0]
    if hasattr(first, "columns"):
        import pandas as pd

        # equal columns and dtypes: a request whose int column had a null (float64)
        # is not joined with one that had none, so each sees the dtypes it would alone
        if all(hasattr(b, "dtypes") and b.dtypes.equals(first.dtypes) for b in batches):
            return pd.concat(batches, ignore_index=True)
        return None
    shape = getattr(first, "shape", ())
    if len(shape) == 2 and all(getattr(b, "shape", ())[1:] == shape[1:] for b in batches):
        import numpy as np

        return np.concatenate(batches)
    return None


def add_scaling_options(parser: argparse.ArgumentParser) -> None:
    """Workers and micro-batching (docs/serve.md "Serving under load" says how to size them)."""
    group = parser.add_argument_group("scaling")
    default = BatchSettings()
    group.add_argument("--workers", type=int, default=available_cpus(), metavar="N",
                       help="server processes, each loading the model once (default: the "
                       "CPUs this process may use)")
    group.add_argument("--no-batching", action="store_true",
                       help="call the model once per request instead of coalescing "
                       "concurrent requests into one call")
    group.add_argument("--max-batch-rows", type=int, default=default.max_batch_rows,
                       metavar="N", help="rows one coalesced model call takes at most")
    group.add_argument("--max-wait-ms", type=float, default=default.max_wait * 1000,
                       metavar="MS", help="the longest a request waits for others to join "
                       "its call (the wait adapts to the model's cost, and is 0 at light load)")
    group.add_argument("--max-queue", type=int, default=default.max_queue, metavar="N",
                       help="requests waiting beyond this get 503 with Retry-After at once")
    group.add_argument("--timeout", type=float, default=default.timeout, metavar="SECONDS",
                       help="a request not answered in time gets 504 and its work is dropped")


def batch_settings(args: argparse.Namespace) -> BatchSettings | None:
    for name in ("workers", "max_batch_rows", "max_queue"):
        if getattr(args, name) < 1:
            raise SystemExit(f"error: --{name.replace('_', '-')} must be at least 1")
    if args.max_wait_ms < 0 or args.timeout <= 0:
        raise SystemExit("error: --max-wait-ms must be >= 0 and --timeout > 0")
    if args.no_batching:
        return None
    return BatchSettings(max_batch_rows=args.max_batch_rows, max_wait=args.max_wait_ms / 1000,
                         max_queue=args.max_queue, timeout=args.timeout)


def available_cpus() -> int:
    """The CPUs this process may use: its affinity, capped by a cgroup v2 CPU quota
    (a container limited to 2 CPUs on a 64-core node must not start 64 workers)."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            count = min(count, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, count)


WORKER_ENV = "NB2PROD_SERVE_WORKER"
"""How the parent tells each worker process what to serve (uvicorn imports the app
by name in every worker, so the options travel in the environment)."""


def run_workers(service: Any, args: argparse.Namespace,
                 batching: BatchSettings | None) -> int:
    import tempfile

    import uvicorn

    # a worker whose model fails to build writes why here and stops the parent, which
    # then exits 2 with that line last (uvicorn's own shutdown lines come before it)
    folder = tempfile.mkdtemp(prefix="nb2prod-serve-")
    failed = Path(folder) / "failed"
    os.environ[WORKER_ENV] = json.dumps({
        "package": service.package, "model": str(args.model), "parent": os.getpid(),
        "failed": str(failed),
        "max_body_bytes": args.max_body_bytes, "trust_pickle": args.trust_pickle,
        "body_timeout": args.body_timeout, "log_level": args.log_level,
        "batching": None if batching is None else dataclasses.asdict(batching)})
    uvicorn.run(f"{__name__}:worker_app", factory=True, workers=args.workers,
                host=args.host, port=args.port, access_log=False, log_level=args.log_level,
                timeout_graceful_shutdown=args.graceful_timeout)
    error = failed.read_text(encoding="utf-8") if failed.exists() else None
    failed.unlink(missing_ok=True)
    os.rmdir(folder)
    if error is not None:
        print(f"{service.prog}: error: {error}", file=sys.stderr)
        return 2
    return 0


def worker_app() -> Any:
    """The app of one worker process (`--workers N`): each checks and loads the model
    itself; one that cannot stops the whole server (never a worker answering 503 forever)."""
    import importlib
    import logging
    import signal

    from .serve_app import create_app

    options = json.loads(os.environ[WORKER_ENV])
    # a worker is a fresh process: the parent's logging set-up does not reach it, and
    # without it the JSON access and model lines would be dropped
    logging.basicConfig(level=options["log_level"].upper(), format="%(message)s",
                        stream=sys.stderr)
    service = importlib.import_module(f"{options['package']}.serve").SERVICE
    batching = options["batching"]
    app = create_app(service, options["model"], options["max_body_bytes"],
                     trust_pickle=options["trust_pickle"], body_timeout=options["body_timeout"],
                     batching=None if batching is None else BatchSettings(**batching))

    def stop() -> None:
        Path(options["failed"]).write_text(str(app.state.load_error), encoding="utf-8")
        os.kill(options["parent"], signal.SIGTERM)

    app.state.stop = stop
    return app
