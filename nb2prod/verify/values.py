"""Values as `verify` sees them: encoded the same way on both sides, then compared.

`encode_value` turns any value into a JSON tree that keeps type, dtype, shape
and content; its source also runs inside the notebook kernel and the package
process (`CAPTURE_SOURCE`), so both sides are encoded by the same code.
`compare` finds the first difference between two encoded values, numbers
within a tolerance (numpy.allclose semantics, the notebook as reference).
"""

from __future__ import annotations

import inspect
import json
import math
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Tolerance:
    rtol: float = 1e-9
    atol: float = 0.0


def encode_value(value, _depth=0):
    """A JSON tree of `value` keeping what comparison needs: type, dtype, shape, values."""
    import re

    kind = type(value)
    type_name = f"{kind.__module__}.{kind.__qualname__}"
    if value is None or kind in (bool, int, float, str):
        return value
    def enc(v):
        return encode_value(v, _depth + 1)
    if _depth > 40:
        return {"kind": "object", "type": type_name, "repr": "<nested too deep>", "opaque": True}
    if isinstance(value, dict):  # by key, so insertion order does not matter
        items = sorted(value.items(), key=lambda kv: repr(kv[0]))
        return {"kind": "map", "type": type_name, "keys": [enc(k) for k, _ in items],
                "values": [enc(v) for _, v in items]}
    if isinstance(value, (list, tuple)):
        return {"kind": "seq", "type": type_name, "items": [enc(v) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"kind": "set", "type": type_name, "items": sorted((enc(v) for v in value), key=repr)}
    pandas = kind.__module__.split(".")[0] == "pandas"
    if pandas and hasattr(value, "columns") and hasattr(value, "dtypes"):
        return {"kind": "frame", "type": type_name, "shape": list(value.shape),
                "columns": enc(list(value.columns)), "index": enc(value.index),
                "dtypes": [str(d) for d in value.dtypes],
                "values": [[enc(v) for v in value.iloc[:, i].tolist()]
                           for i in range(value.shape[1])]}
    if pandas and hasattr(value, "index") and hasattr(value, "dtype"):
        return {"kind": "series", "type": type_name, "name": enc(value.name),
                "dtype": str(value.dtype), "index": enc(value.index),
                "values": [enc(v) for v in value.tolist()]}
    if all(hasattr(value, a) for a in ("dtype", "shape", "tolist")):  # numpy arrays, scalars
        plain = value.tolist()
        return {"kind": "array", "type": type_name, "dtype": str(value.dtype),
                "shape": list(value.shape),
                "values": [enc(v) for v in plain] if isinstance(plain, list) else enc(plain)}
    text = repr(value)
    masked = re.sub(r"0x[0-9a-fA-F]+", "0x?", text)  # identity, not content
    return {"kind": "object", "type": type_name, "repr": masked[:4000], "opaque": masked != text}


def dump_values(namespace, names, path):
    """Encode `names` found in `namespace` into a JSON file at `path`."""
    import json

    out = {}
    for name in names:
        if name in namespace:
            try:
                out[name] = encode_value(namespace[name])
            except Exception as exc:  # noqa: BLE001  (any __repr__ may raise; report it)
                out[name] = {"kind": "error", "type": type(exc).__name__, "repr": str(exc)}
    with open(path, "w", encoding="utf-8") as file:
        json.dump(out, file)


CAPTURE_SOURCE = inspect.getsource(encode_value) + "\n\n" + inspect.getsource(dump_values)


def capture_code(names: tuple[str, ...], path: Path) -> str:
    """A cell that writes the values of `names` to `path`, touching no user name."""
    return (f"_nb2prod_capture = {{}}\nexec({CAPTURE_SOURCE!r}, _nb2prod_capture)\n"
            f"_nb2prod_capture['dump_values'](globals(), {list(names)!r}, {str(path)!r})\n")


# --- comparison ------------------------------------------------------------------------

def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def numbers_close(reference, value, tol: Tolerance) -> bool:
    """numpy.allclose semantics with the notebook as reference; ints exactly; NaN == NaN."""
    if isinstance(reference, int) and isinstance(value, int):
        return reference == value
    if math.isnan(reference) or math.isnan(value):
        return math.isnan(reference) and math.isnan(value)
    if math.isinf(reference) or math.isinf(value):
        return reference == value
    return abs(value - reference) <= tol.atol + tol.rtol * abs(reference)


def compare(reference, value, tol: Tolerance, path: str = "") -> str | None:
    """The first difference between two encoded values, or None when they match."""
    where = f"at {path}: " if path else ""
    if _is_number(reference) and _is_number(value):
        return None if numbers_close(reference, value, tol) else f"{where}{reference!r} != {value!r}"
    if type(reference) is not type(value):
        return f"{where}{_brief(reference)} != {_brief(value)}"
    if isinstance(reference, list):
        if len(reference) != len(value):
            return f"{where}length {len(reference)} != {len(value)}"
        for i, (a, b) in enumerate(zip(reference, value)):
            found = compare(a, b, tol, f"{path}[{i}]")
            if found:
                return found
        return None
    if isinstance(reference, dict):
        if reference.keys() != value.keys():
            return f"{where}{_brief(reference)} != {_brief(value)}"
        for key in reference:  # kind and type come first: a type change is named as such
            found = compare(reference[key], value[key], tol, f"{path}.{key}" if path else key)
            if found:
                return found
        return None
    return None if reference == value else f"{where}{_brief(reference)} != {_brief(value)}"


def _brief(value, width: int = 60) -> str:
    text = json.dumps(value) if isinstance(value, (dict, list)) else repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"
