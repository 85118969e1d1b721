"""Run logs on stderr: a compact line per step for people, or JSON lines for machines.

stdout is the notebook's: it keeps exactly what the notebook printed, so every
record of the runner goes to stderr. Records carry the step's summary:
numbers by value (`accuracy=0.768`: what the user wants to see), shapes and
lengths for collections, else the type; never text, which may be a secret.
"""

from __future__ import annotations

import json
import logging
import numbers
import sys
from typing import Any, Callable  # noqa: UP035 - Python 3.10 too


def summary(value: Any) -> str:
    """`0.768`, `42`, `DataFrame(800, 6)`, `ndarray(200,)`, `list[3]`, else the type's name."""
    if isinstance(value, numbers.Number) and getattr(value, "shape", ()) == ():
        return _number(value)
    kind = type(value).__name__
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and shape and all(isinstance(n, int) for n in shape):
        return f"{kind}{shape}"
    if isinstance(value, (list, tuple, dict, set)):
        return f"{kind}[{len(value)}]"
    return kind


def _number(value: numbers.Number) -> str:
    """A scalar as a person reads it: 4 significant digits for reals (0.7683), ints whole."""
    if isinstance(value, (bool, numbers.Integral)):
        return repr(value.item() if hasattr(value, "item") else value)
    if isinstance(value, numbers.Real):
        return f"{float(value):.4g}"
    return type(value).__name__  # complex, Decimal subclasses of odd kinds: the type


def labelled(metrics: dict[str, Any]) -> str:
    """`accuracy  0.768` a line per metric, names aligned: what `python -m PKG` prints at
    the end when the notebook had no metrics cell printing them (else nothing to see)."""
    width = max((len(name) for name in metrics), default=0)
    return "".join(f"{name:<{width}}  {_metric(value)}\n" for name, value in metrics.items())


def _metric(value: Any) -> str:
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, numbers.Integral)):
        return f"{float(value):.6g}"
    text = str(value)
    return text if len(text) <= 80 and "\n" not in text else summary(value)


class TextFormatter(logging.Formatter):
    """One compact line per step: `[2/5] split 0.12s cached X_train=DataFrame(800, 6)`."""

    def format(self, record: logging.LogRecord) -> str:
        data = getattr(record, "nb2prod", None)
        if data is None:
            return f"{record.name}: {record.getMessage()}"
        head = f"{record.name}: [{data['index']}/{data['total']}] {data['step']}"
        if data["event"] == "start":
            return f"{head} started"
        if data["event"] == "retry":
            return f"{head} failed ({data['error']}), retry {data['attempt']}"
        if data["event"] == "error":
            return f"{head} failed ({data['error']})"
        outputs = " ".join(f"{k}={v}" for k, v in data.get("outputs", {}).items())
        cached = " cached" if data["cached"] else ""
        return f"{head} {data['seconds']:.2f}s{cached}{' ' + outputs if outputs else ''}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: event, step, cached, seconds, outputs, ..."""

    def format(self, record: logging.LogRecord) -> str:
        data = getattr(record, "nb2prod", None) or {"event": "message",
                                                    "message": record.getMessage()}
        return json.dumps({"time": round(record.created, 3), "level": record.levelname.lower(),
                           **data})


FORMATTERS = {"text": TextFormatter, "json": JsonFormatter}


class Redacting(logging.Formatter):
    """Another formatter's lines with `redact` applied: whatever logs through the
    package's logger (a step too), no secret's value reaches stderr."""

    def __init__(self, inner: logging.Formatter, redact: Callable[[str], str]) -> None:
        super().__init__()
        self.inner, self.redact = inner, redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(self.inner.format(record))


def configure_logging(package: str, fmt: str, level: str,
                      redact: Callable[[str], str] | None = None) -> logging.Logger:
    """The package's logger, to stderr: `text` for people (a line per step), `json` for
    machines (every event, whatever the level); each line through `redact`."""
    log = logging.getLogger(package)
    handler = logging.StreamHandler(sys.stderr)
    formatter = FORMATTERS[fmt]()
    handler.setFormatter(Redacting(formatter, redact) if redact else formatter)
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if fmt == "json" else getattr(logging, level.upper()))
    log.propagate = False
    return log
