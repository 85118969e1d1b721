"""HTTP service for churn: the notebook's fitted model, KServe v1 data plane.

    pip install 'churn[serve]'
    python -m churn --model-out model/
    python -m churn.serve --model model/ --host 127.0.0.1 --port 8000

POST /v1/models/churn:predict  {"instances": [row, ...]} -> {"predictions": [...]}
GET  /v1/models/churn  /healthz  /readyz  /metadata  /docs
Rows are lists in training column order or objects keyed by column name; bad
input gets a 4xx JSON error naming the field. The model is loaded once, at
start-up, after its sha256 and types are checked (model_io.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from churn import contract, inference, model_io, service_metrics

MODEL_NAME = "churn"
PREDICT_PATH = f"/v1/models/{MODEL_NAME}:predict"
MAX_BODY_BYTES = 10 * 1024 * 1024
PORT = 8000
LOG = logging.getLogger("churn.serve")
ACCESS_LOG = logging.getLogger("churn.serve.access")

PREDICT_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {
        "type": "object", "required": ["instances"],
        "properties": {"instances": {
            "type": "array", "minItems": 1, "maxItems": model_io.MAX_INSTANCES,
            "items": {"oneOf": [{"type": "array"}, {"type": "object"}]},
            "description": "rows: lists in training column order, or objects keyed by "
                           "column name (GET /metadata shows the input schema)"}},
    }}},
}
"""The request body for /docs: parsed by hand so every error names its field."""


def error(status: int, field: str, message: str) -> JSONResponse:
    return JSONResponse({"error": f"{field}: {message}", "field": field}, status_code=status)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI):
    """Load the model once; /readyz answers 200 from here on."""
    model, card = model_io.load_model(app.state.model_dir)
    app.state.model, app.state.card = model, card
    app.state.proba = callable(getattr(model, "predict_proba", None))
    # raw rows: the notebook's feature code with its training state, and the contract
    app.state.features, app.state.contract = inference.load_state(app.state.model_dir)
    app.state.out_of_range = contract.Ranges()
    LOG.info(json.dumps({"event": "model_loaded", "model": MODEL_NAME,
                         "type": card["model_type"], "sha256": card["artifact"]["sha256"]}))
    yield
    app.state.model = None


def create_app(model_dir: Path | str, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    app = FastAPI(title=f"{MODEL_NAME} model", version="0.1.0",
                  description="Predictions of the model trained by churn.ipynb.",
                  lifespan=lifespan)
    app.state.model_dir = Path(model_dir)
    app.state.max_body_bytes = max_body_bytes
    app.state.model = None
    app.add_api_route(PREDICT_PATH, predict, methods=["POST"],
                      openapi_extra={"requestBody": PREDICT_BODY})
    app.add_api_route(f"/v1/models/{MODEL_NAME}", model_ready, methods=["GET"])
    app.add_api_route("/healthz", healthz, methods=["GET"])
    app.add_api_route("/readyz", readyz, methods=["GET"])
    app.add_api_route("/metadata", model_metadata, methods=["GET"])
    app.add_middleware(AccessLog)
    # Prometheus: requests by path and status, latency, rows scored, contract rejects
    app.state.metrics = service_metrics.ServiceMetrics(
        tuple(route.path for route in app.routes) + ("/metrics",), "churn")
    app.add_api_route("/metrics", prometheus_metrics, methods=["GET"])
    app.add_middleware(service_metrics.Middleware, metrics=app.state.metrics)
    return app


async def prometheus_metrics(request: Request) -> Response:
    state = request.app.state
    ranges = getattr(getattr(state, "out_of_range", None), "counts", None)
    body, content_type = state.metrics.render(ranges)
    return Response(body, media_type=content_type)


async def predict(request: Request) -> JSONResponse:
    state = request.app.state
    if state.model is None:
        return error(503, "model", "not loaded yet")
    body = await read_body(request, state.max_body_bytes)
    if body is None:
        return error(413, "body", f"larger than {state.max_body_bytes} bytes")
    try:
        payload = json.loads(body)
    except ValueError as exc:  # also bad UTF-8
        return error(400, "body", f"malformed JSON: {exc}")
    try:
        if state.features is not None:  # raw rows: the notebook's feature code first
            batch = inference.model_input(payload, state.features, state.contract,
                                          state.out_of_range)
        else:
            batch = model_io.to_batch(payload, state.card["input_schema"])
        answer = await run_in_threadpool(predictions, state, batch)
        state.metrics.rows.inc(len(answer["predictions"]))
        return JSONResponse(answer)
    except model_io.InputError as exc:
        state.metrics.reject(exc.field, exc.message)
        return error(422, exc.field, exc.message)
    except (ValueError, TypeError, KeyError, IndexError) as exc:  # the model refused the rows
        message = " ".join(str(exc).split())[:300]
        return error(422, "instances", f"the model rejected the input: {message}")


def predictions(state: Any, batch: Any) -> dict[str, Any]:
    result = {"predictions": model_io.jsonable(state.model.predict(batch))}
    if state.proba:
        result["probabilities"] = model_io.jsonable(state.model.predict_proba(batch))
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


async def model_ready(request: Request) -> JSONResponse:
    ready = request.app.state.model is not None
    return JSONResponse({"name": MODEL_NAME, "ready": ready}, status_code=200 if ready else 503)


async def healthz() -> dict[str, str]:
    return {"status": "alive"}


async def readyz(request: Request) -> JSONResponse:
    ready = request.app.state.model is not None
    return JSONResponse({"ready": ready}, status_code=200 if ready else 503)


async def model_metadata(request: Request) -> JSONResponse:
    if request.app.state.model is None:
        return error(503, "model", "not loaded yet")
    state = request.app.state
    return JSONResponse({"name": MODEL_NAME, **state.card, "contract": state.contract,
                         "out_of_range": state.out_of_range.counts})


class AccessLog:
    """One JSON line per request: method, path, status, duration, client."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), [500]

        async def send_status(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            client = scope.get("client") or ("", 0)
            ACCESS_LOG.info(json.dumps({
                "method": scope["method"], "path": scope["path"], "status": status[0],
                "ms": round((time.perf_counter() - start) * 1000, 2), "client": client[0]}))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="churn-serve",
        description=f"Serve the {MODEL_NAME} model (KServe v1: POST {PREDICT_PATH}).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path(os.environ.get("MODEL_DIR", "model")),
                        metavar="DIR", help="directory written by --model-out (env MODEL_DIR)")
    parser.add_argument("--host", default=os.environ.get("SERVE_HOST", "127.0.0.1"),
                        help="address to listen on (env SERVE_HOST)")
    parser.add_argument("--port", type=int, default=PORT, help="port to listen on")
    parser.add_argument("--max-body-bytes", type=int, default=MAX_BODY_BYTES,
                        help="larger request bodies get 413")
    parser.add_argument("--log-level", default="info",
                        choices=["critical", "error", "warning", "info", "debug"])
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        model_io.checked_bytes(args.model)  # refuse a bad artifact before starting
        inference.load_state(args.model)
    except model_io.ModelError as exc:
        print(f"churn-serve: error: {exc}", file=sys.stderr)
        return 1
    logging.basicConfig(level=args.log_level.upper(), format="%(message)s", stream=sys.stderr)
    import uvicorn

    uvicorn.run(create_app(args.model, args.max_body_bytes), host=args.host, port=args.port,
                access_log=False, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
