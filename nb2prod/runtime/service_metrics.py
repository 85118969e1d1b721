"""What a generated service records of each request: Prometheus metrics (`GET /metrics`,
with the standard client) and the JSON access log.

Part of the runtime every package carries under `_runtime/`. Each app gets its own registry (no process-wide state, so two apps in one
test process do not share counts). Labels are bounded: the path is one of the
app's routes (else "other"), a contract reject's field is the column (the row
index is dropped) and its reason one of REASONS.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

REASONS = (
    ("missing column", "missing_column"), ("unknown column", "unknown_column"),
    ("is not one of", "unseen_category"), ("not a date", "unparseable_date"),
    ("no missing values", "null"), ("expected", "wrong_type"),
)
"""Words of a 422 message -> its reason label (first match; else "other")."""


def reason(message: str) -> str:
    return next((label for words, label in REASONS if words in message), "other")


def column(field: str) -> str:
    """`instances[3].plan` -> `plan`; `instances[3]`, `body` -> as they are, row dropped."""
    head, _, rest = field.partition("].")
    return rest if rest else head.split("[")[0]


class ServiceMetrics:
    def __init__(self, paths: tuple[str, ...], namespace: str) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.paths = frozenset(paths)
        self.registry = CollectorRegistry()
        where = {"namespace": namespace, "registry": self.registry}
        self.requests = Counter("requests", "HTTP requests by path and status",
                                ["path", "status"], **where)
        self.latency = Histogram("request_seconds", "Time to answer a request, by path",
                                 ["path"], **where)
        self.rows = Counter("rows_scored", "Rows the model answered", **where)
        self.rejects = Counter("contract_rejects", "Requests refused by the data contract, "
                               "by field and reason", ["field", "reason"], **where)
        self.shed = Counter("shed_requests", "Requests refused for load: overloaded (503) "
                            "or past their deadline (504)", ["reason"], **where)
        self.out_of_range = Gauge("out_of_range_values", "Values outside the training range "
                                  "(answered), by column", ["field"], **where)

    def observe(self, path: str, status: int, seconds: float) -> None:
        path = path if path in self.paths else "other"
        self.requests.labels(path, str(status)).inc()
        self.latency.labels(path).observe(seconds)

    def reject(self, field: str, message: str) -> None:
        self.rejects.labels(column(field), reason(message)).inc()

    def render(self, out_of_range: dict[str, int] | None = None) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        for name, count in (out_of_range or {}).items():
            self.out_of_range.labels(name).set(count)
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class AccessLog:
    """Pure ASGI, one layer: each HTTP request's path, status and duration into
    `metrics`, and one JSON line on `log` (method, path, status, ms, client)."""

    def __init__(self, app: Any, metrics: ServiceMetrics, log: logging.Logger) -> None:
        self.app, self.metrics, self.log = app, metrics, log

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
            seconds = time.perf_counter() - start
            self.metrics.observe(scope["path"], status[0], seconds)
            client = scope.get("client") or ("", 0)
            self.log.info(json.dumps({
                "method": scope["method"], "path": scope["path"], "status": status[0],
                "ms": round(seconds * 1000, 2), "client": client[0]}))
