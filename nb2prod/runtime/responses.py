"""JSON in and out of the service: request bodies parsed with their nesting bounded,
answers that always encode, and the 4xx error body naming its field."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from fastapi.responses import JSONResponse

MAX_DEPTH = 32  # arrays and objects in a body; a row is at depth 3


class SafeJSON(JSONResponse):
    """JSON that always encodes: non-ASCII escaped (a lone surrogate a client sent
    cannot be UTF-8), NaN and infinities as null (they are not JSON)."""

    def render(self, content: Any) -> bytes:
        try:
            text = json.dumps(content, allow_nan=False, separators=(",", ":"))
        except ValueError:
            text = json.dumps(_finite(content), separators=(",", ":"))
        return text.encode("ascii")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def error(status: int, field: str, message: str, headers: dict[str, str] | None = None
          ) -> JSONResponse:
    field, message = _printable(field, 200), _printable(message, 500)
    return SafeJSON({"error": f"{field}: {message}", "field": field}, status_code=status,
                    headers=headers)


def _printable(text: str, limit: int) -> str:
    """Lone surrogates (valid in a JSON string, not in UTF-8) shown as escapes; at most
    `limit` characters, so a megabyte value a client sent is not echoed back whole."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[:limit] + "..."


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def parse_body(body: bytes) -> Any:
    """The JSON payload, or the 400 saying why not. Nesting is bounded on the bytes
    before parsing (a body nested thousands deep would exhaust the parser's recursion);
    NaN and Infinity are not JSON."""
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH and depth(body) > MAX_DEPTH:
        return error(400, "body", f"nested deeper than {MAX_DEPTH} arrays or objects")
    try:
        return json.loads(body, parse_constant=_not_json)
    except RecursionError:
        return error(400, "body", f"nested deeper than {MAX_DEPTH} arrays or objects")
    except ValueError as exc:  # also bad UTF-8, and integers of over 4300 digits
        return error(400, "body", f"malformed JSON: {' '.join(str(exc).split())[:200]}")


def depth(body: bytes) -> int:
    """How deep arrays and objects nest, counted on the bytes with strings removed."""
    import numpy as np

    brackets = np.frombuffer(_STRING.sub(b"", body).translate(None, _NOT_BRACKETS),
                             dtype=np.uint8)
    steps = np.where((brackets == ord("[")) | (brackets == ord("{")), 1, -1)
    return int(np.cumsum(steps).max(initial=0))


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON: send null for a missing value")
