"""The HTTP service of a package's model: the KServe v1 data plane on FastAPI.

POST /v1/models/NAME:predict  {"instances": [row, ...]} -> {"predictions": [...]}
GET  /v1/models/NAME  /healthz  /readyz  /metadata  /metrics  /docs
Rows are lists in training column order or objects keyed by column name; bad
input gets a 4xx JSON error naming the field. Start-up refuses a bad model
directory in one line (exit 2) before listening: check_model reads the card, the
artifact's sha256 and every type name in it, building nothing. The port then opens
at once (/healthz answers, /readyz says 503) while the model is built in the
background; a model that fails to build stops the server (exit 2). What is the
package's own (the model's name, the notebook's predict cell, its feature code)
comes in a `Service` from the package's generated `serve.py`. Needs the package's
`serve` extra (FastAPI, uvicorn).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from .batches import MAX_INSTANCES, InputError, to_batch
from .batching import BatchSettings, DeadlineExceeded, MicroBatcher, Overloaded
from .contract import Ranges
from .model_io import Checked, ModelError, build_model, check_model, jsonable
from .raw_rows import FeaturePath, load_state, model_input, raw_frame
from .responses import MAX_DEPTH, SafeJSON, error, parse_body  # noqa: F401 - API
from .serve_scale import add_scaling_options, batch_settings, predict_many, run_workers
from .service_metrics import AccessLog, ServiceMetrics

MAX_BODY_BYTES = 10 * 1024 * 1024
BODY_TIMEOUT = 30.0  # seconds for a client to send its body (then 408)
GRACEFUL_TIMEOUT = 20.0  # seconds in-flight requests get at shutdown (Kubernetes waits 30)
RETRY_AFTER = "1"
TIMEOUTS = (asyncio.TimeoutError, TimeoutError)  # one class from Python 3.11, two before
PORT = 8000
DEFAULT_BATCHING = BatchSettings()


@dataclasses.dataclass(frozen=True)
class Service:
    """What a package's service is made of; its generated `serve.py` makes one."""

    model_name: str  # NAME in /v1/models/NAME
    package: str  # the import name: loggers PKG.serve and PKG.serve.access
    prog: str  # the program's name, the prefix of its one-line errors
    version: str
    description: str
    port: int = PORT
    predict: Callable[[Any, Any], Any] | None = None  # the notebook's predict(model, batch)
    # raw rows through the notebook's feature code (raw_rows.py); None: rows are the
    # model's input as fitted
    inference: FeaturePath | None = None

    @property
    def predict_path(self) -> str:
        return f"/v1/models/{self.model_name}:predict"

    def log(self, access: bool = False) -> logging.Logger:
        return logging.getLogger(f"{self.package}.serve{'.access' if access else ''}")

PREDICT_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {
        "type": "object", "required": ["instances"],
        "properties": {"instances": {
            "type": "array", "minItems": 1, "maxItems": MAX_INSTANCES,
            "items": {"oneOf": [{"type": "array"}, {"type": "object"}]},
            "description": "rows: lists in training column order, or objects keyed by "
                           "column name (GET /metadata shows the input schema)"}},
    }}},
}
"""The request body for /docs: parsed by hand so every error names its field."""


async def _loaded(state: Any, wait: float = 30.0) -> bool:
    """Whether the model is in, waiting up to `wait` seconds while it loads: with
    several workers /readyz answers from one of them, and a request reaching another
    that is still loading waits for it instead of getting 503."""
    task = getattr(state, "loading", None)
    if task is None or task.done():
        return state.model is not None
    with contextlib.suppress(*TIMEOUTS):
        await asyncio.wait_for(asyncio.shield(task), wait)
    return state.model is not None


def not_ready() -> JSONResponse:
    return error(503, "model", "not loaded yet", headers={"Retry-After": RETRY_AFTER})


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI):
    """Build the model in the background, so the port opens (and /healthz answers)
    while it loads; /readyz answers 200 once it is in."""
    task = asyncio.create_task(load(app.state))
    app.state.loading = task
    yield
    task.cancel()
    if app.state.batcher is not None:
        await app.state.batcher.close()
    app.state.model = None


async def load(state: Any) -> None:
    """Check (unless start-up did) and build the model; on failure record the one-line
    reason and stop the server, which then exits 2: never a server that is 503 forever."""
    service = state.service
    try:
        checked = state.checked or await run_in_threadpool(
            check_model, state.model_dir, state.trust_pickle)
        model = await run_in_threadpool(build_model, checked)
        if service.inference is not None:
            # raw rows: the notebook's feature code with its training state, and the contract
            state.features, state.contract = await run_in_threadpool(
                load_state, state.model_dir)
            state.out_of_range = Ranges() if state.features is not None else None
    except Exception as exc:  # noqa: BLE001 - whatever it is, the server must not stay up
        state.load_error = str(exc) if isinstance(exc, ModelError) else (
            f"{state.model_dir}: cannot load the model: {type(exc).__name__}: {exc}")
        service.log().error(json.dumps({"event": "model_failed", "error": state.load_error}))
        state.stop()
        return
    state.card = checked.card
    state.proba = callable(getattr(model, "predict_proba", None))
    state.model = model  # last: readiness
    service.log().info(json.dumps({"event": "model_loaded", "model": service.model_name,
                         "type": checked.card["model_type"],
                         "sha256": checked.card["artifact"]["sha256"]}))


def create_app(service: Service, model_dir: Path | str,
               max_body_bytes: int = MAX_BODY_BYTES, *, trust_pickle: bool = False,
               checked: Checked | None = None, body_timeout: float = BODY_TIMEOUT,
               batching: BatchSettings | None = DEFAULT_BATCHING) -> FastAPI:
    """The app; `checked` is what start-up already checked (else the lifespan checks).
    `batching=None` calls the model once per request (no micro-batching)."""
    app = FastAPI(title=f"{service.model_name} model", version=service.version,
                  description=service.description, lifespan=lifespan)
    state = app.state
    state.service = service
    state.model_dir, state.trust_pickle, state.checked = Path(model_dir), trust_pickle, checked
    state.max_body_bytes, state.body_timeout = max_body_bytes, body_timeout
    state.model, state.card, state.load_error = None, None, None
    state.features = state.contract = state.out_of_range = None
    state.stop = lambda: None  # main() makes it stop uvicorn
    state.batcher = None if batching is None else MicroBatcher(
        lambda batches: predict_many(predictions, state, batches), batching)
    app.add_api_route(service.predict_path, predict, methods=["POST"],
                      openapi_extra={"requestBody": PREDICT_BODY})
    app.add_api_route(f"/v1/models/{service.model_name}", model_ready, methods=["GET"])
    app.add_api_route("/healthz", healthz, methods=["GET"])
    app.add_api_route("/readyz", readyz, methods=["GET"])
    app.add_api_route("/metadata", model_metadata, methods=["GET"])
    # Prometheus: requests by path and status, latency, rows scored, rejects, shed load
    state.metrics = ServiceMetrics(tuple(route.path for route in app.routes) + ("/metrics",),
                                   service.package)
    app.add_api_route("/metrics", prometheus_metrics, methods=["GET"])
    app.add_middleware(AccessLog, metrics=state.metrics, log=service.log(access=True))
    return app


async def predict(request: Request) -> JSONResponse:
    state = request.app.state
    if state.model is None and not await _loaded(state):
        return not_ready()
    try:
        body = await asyncio.wait_for(read_body(request, state.max_body_bytes),
                                      state.body_timeout)
    except TIMEOUTS:
        return error(408, "body", f"not received within {state.body_timeout:g} s")
    if body is None:
        return error(413, "body", f"larger than {state.max_body_bytes} bytes")
    payload = parse_body(body)
    if isinstance(payload, JSONResponse):
        return payload
    metrics = state.metrics
    try:
        # a model saved without the feature state (Unserved) takes its input as fitted
        batch = to_batch(payload, state.card["input_schema"]) if state.features is None \
            else raw_frame(payload, state.contract, state.out_of_range)
        result = await answer(state, batch)
        metrics.rows.inc(len(result["predictions"]))
        return SafeJSON(result)
    except InputError as exc:
        metrics.reject(exc.field, exc.message)
        return error(422, exc.field, exc.message)
    except (ValueError, TypeError, KeyError, IndexError, ArithmeticError) as exc:
        message = " ".join(str(exc).split())[:300]  # the model refused the rows
        metrics.reject("instances", "the model rejected the input")
        return error(422, "instances", f"the model rejected the input: {message}")
    except Overloaded as exc:
        metrics.shed.labels("overloaded").inc()
        return error(503, "server", f"overloaded: {exc}; retry", {"Retry-After": RETRY_AFTER})
    except DeadlineExceeded as exc:
        metrics.shed.labels("deadline").inc()
        return error(504, "server", str(exc))


async def answer(state: Any, batch: Any) -> dict[str, Any]:
    """The predictions for one request's rows: through the micro-batcher, which may
    answer it in one model call with other requests' rows, or alone."""
    if state.batcher is None:
        return await run_in_threadpool(predictions, state, batch)
    return await state.batcher.submit(batch, rows=len(batch))


def predictions(state: Any, batch: Any) -> dict[str, Any]:
    """The notebook's predict(model, batch) when it has one (its answer replaces the
    predictions; no probabilities then), else the model's own. Raw rows go through the
    notebook's feature code first (`batch` is then their checked frame)."""
    if state.features is not None:  # raw rows: the notebook's feature code first
        batch = model_input(state.service.inference, batch, state.features)
    if state.service.predict is not None:
        return {"predictions": jsonable(state.service.predict(state.model, batch))}
    result = {"predictions": jsonable(state.model.predict(batch))}
    if state.proba:
        result["probabilities"] = jsonable(state.model.predict_proba(batch))
    return result


async def read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None once it exceeds `limit` bytes (by header or by count)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def prometheus_metrics(request: Request) -> Response:
    state = request.app.state
    ranges = state.out_of_range.counts if state.out_of_range is not None else None
    body, content_type = state.metrics.render(ranges)
    return Response(body, media_type=content_type)


async def model_ready(request: Request) -> JSONResponse:
    state = request.app.state
    ready = state.model is not None
    return JSONResponse({"name": state.service.model_name, "ready": ready},
                        status_code=200 if ready else 503)


async def healthz() -> dict[str, str]:
    return {"status": "alive"}


async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    if state.model is not None:
        return JSONResponse({"ready": True})
    body = {"ready": False, **({"error": state.load_error} if state.load_error else {})}
    return SafeJSON(body, status_code=503, headers={"Retry-After": RETRY_AFTER})


async def model_metadata(request: Request) -> JSONResponse:
    state = request.app.state
    if state.model is None:
        return not_ready()
    extra = {} if state.features is None else {
        "contract": state.contract, "out_of_range": state.out_of_range.counts}
    return SafeJSON({"name": state.service.model_name, **state.card, **extra})


def build_parser(service: Service) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=service.prog,
        description=f"Serve the {service.model_name} model (KServe v1: POST "
        f"{service.predict_path}).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path(os.environ.get("MODEL_DIR", "model")),
                        metavar="DIR", help="directory written by --model-out (env MODEL_DIR)")
    parser.add_argument("--host", default=os.environ.get("SERVE_HOST", "127.0.0.1"),
                        help="address to listen on (env SERVE_HOST)")
    parser.add_argument("--port", type=int, default=service.port, help="port to listen on")
    parser.add_argument("--max-body-bytes", type=int, default=MAX_BODY_BYTES,
                        help="larger request bodies get 413")
    parser.add_argument("--body-timeout", type=float, default=BODY_TIMEOUT, metavar="SECONDS",
                        help="a body not received in time gets 408")
    parser.add_argument("--graceful-timeout", type=float, default=GRACEFUL_TIMEOUT,
                        metavar="SECONDS", help="at shutdown, how long in-flight requests may "
                        "finish before they are cancelled")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="load a model.joblib (a pickle): this runs any code whoever "
                        "wrote the model directory put in it")
    parser.add_argument("--log-level", default="info",
                        choices=["critical", "error", "warning", "info", "debug"])
    add_scaling_options(parser)
    return parser


def main(service: Service, argv: list[str] | None = None) -> int:
    """Exit 0 after a clean shutdown, 2 when the model directory is refused (one line)."""
    args = build_parser(service).parse_args(argv)
    try:  # everything that builds nothing, before the port opens
        checked = check_model(args.model, args.trust_pickle)
        if service.inference is not None:
            load_state(args.model)
    except ModelError as exc:
        print(f"{service.prog}: error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), format="%(message)s", stream=sys.stderr)
    batching = batch_settings(args)
    if args.workers > 1:
        return run_workers(service, args, batching)
    import uvicorn

    app = create_app(service, args.model, args.max_body_bytes, trust_pickle=args.trust_pickle,
                     checked=checked, body_timeout=args.body_timeout, batching=batching)
    server = uvicorn.Server(uvicorn.Config(
        app, host=args.host, port=args.port, access_log=False, log_level=args.log_level,
        timeout_graceful_shutdown=args.graceful_timeout))
    app.state.stop = lambda: setattr(server, "should_exit", True)
    server.run()
    if app.state.load_error:
        print(f"{service.prog}: error: {app.state.load_error}", file=sys.stderr)
        return 2
    return 0
