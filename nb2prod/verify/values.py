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
    if isinstance(value, type):  # a class (np.float64 as a parameter): by its name
        return {"kind": "object", "type": type_name, "opaque": False,
                "repr": f"{value.__module__}.{value.__qualname__}"}
    fitted = encode_model(value, enc)  # before arrays: an estimator may have a `dtype`
    if fitted is not None:
        return {"type": type_name, **fitted}
    if all(hasattr(value, a) for a in ("dtype", "shape", "tolist")):  # numpy arrays, scalars
        plain = value.tolist()
        return {"kind": "array", "type": type_name, "dtype": str(value.dtype),
                "shape": list(value.shape),
                "values": [enc(v) for v in plain] if isinstance(plain, list) else enc(plain)}
    text = repr(value)
    masked = re.sub(r"0x[0-9a-fA-F]+", "0x?", text)  # identity, not content
    return {"kind": "object", "type": type_name, "repr": masked[:4000], "opaque": masked != text}


STATSMODELS_FIELDS = ("params", "bse", "tvalues", "pvalues", "rsquared", "rsquared_adj",
                      "llf", "aic", "bic", "nobs", "df_model", "df_resid", "scale",
                      "endog", "exog", "exog_names", "endog_names")


def encode_model(value, enc):
    """What identifies a fitted model, or None: scikit-learn-style estimators by
    get_params() and their fitted `*_` attributes, statsmodels models and results by
    their estimates (params, bse, ...) and data, matplotlib artists as figures."""
    module = type(value).__module__.split(".")[0]
    if module == "matplotlib":
        return {"kind": "figure"}
    if callable(getattr(value, "get_params", None)) and callable(getattr(value, "fit", None)):
        fitted = sorted(k for k in getattr(value, "__dict__", {})
                        if k.endswith("_") and not k.startswith("_"))
        return {"kind": "estimator", "params": enc(value.get_params(deep=False)),
                "fitted": enc({k: getattr(value, k) for k in fitted})}
    if module == "statsmodels":
        fields = {}
        for name in STATSMODELS_FIELDS:
            try:
                fields[name] = getattr(value, name)
            except Exception:  # noqa: BLE001, S112  (a field a model does not estimate)
                continue
        fields = {k: v for k, v in fields.items() if not callable(v)}
        return {"kind": "model", "fields": enc(fields)} if fields else None
    state = getattr(value, "__getstate__", None)
    if module == "sklearn" and callable(state) and isinstance(state(), dict):
        return {"kind": "state", "state": enc(state())}  # e.g. a fitted tree's node arrays
    return None


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


CAPTURE_SOURCE = "\n\n".join([f"STATSMODELS_FIELDS = {STATSMODELS_FIELDS!r}"] + [
    inspect.getsource(f) for f in (encode_value, encode_model, dump_values)])


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
        if reference.get("kind") == "map" and reference["keys"] == value["keys"]:
            for key, a, b in zip(reference["keys"], reference["values"], value["values"]):
                found = compare(a, b, tol, f"{path}[{key!r}]")  # located by key
                if found:
                    return found
            return None
        for key in reference:  # kind and type come first: a type change is named as such
            found = compare(reference[key], value[key], tol, f"{path}.{key}" if path else key)
            if found:
                return found
        return None
    return None if reference == value else f"{where}{_brief(reference)} != {_brief(value)}"


def _brief(value, width: int = 60) -> str:
    text = json.dumps(value) if isinstance(value, (dict, list)) else repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


# --- how a value is compared -------------------------------------------------------------

FIGURE_NOTE = "matplotlib figures and axes are not compared: compare the data plotted"
OPAQUE_NOTE = "objects whose repr shows only their identity are not compared"
ERROR_NOTE = "values that raised an error while being read are not compared"


def _leaves(encoded):
    """The kinds of the values inside an encoded value, containers opened."""
    if not isinstance(encoded, dict):
        yield "number" if _is_number(encoded) and isinstance(encoded, float) else "exact"
        return
    kind = encoded.get("kind")
    if kind in ("seq", "set", "array") and isinstance(encoded.get("items", encoded.get("values")),
                                                      list):
        items = encoded.get("items", encoded.get("values"))
        if kind != "array" or any(isinstance(v, dict) for v in items):
            for item in items:
                yield from _leaves(item)
            return
    if kind == "map":
        for item in encoded["values"]:
            yield from _leaves(item)
        return
    yield "opaque" if encoded.get("opaque") else kind


def _holds(encoded, kind: str) -> bool:
    """Whether an encoded value contains a value of `kind` at any depth."""
    if isinstance(encoded, dict):
        return encoded.get("kind") == kind or any(_holds(v, kind) for v in encoded.values())
    return isinstance(encoded, list) and any(_holds(v, kind) for v in encoded)


def unchecked_reason(encoded) -> str | None:
    """Why nothing of this value is compared (it holds only figures, opaque objects or
    values that could not be encoded)."""
    kinds = set(_leaves(encoded))
    if kinds and kinds <= {"figure", "opaque", "error"}:
        return FIGURE_NOTE if "figure" in kinds else OPAQUE_NOTE if "opaque" in kinds \
            else ERROR_NOTE
    return None


METHODS = {
    "exact": "exactly", "number": "within rtol/atol",
    "frame": "shape, columns, index, dtypes; values within rtol/atol",
    "series": "name, index, dtype; values within rtol/atol",
    "array": "dtype, shape; values within rtol/atol",
    "object": "by repr()", "opaque": "not compared", "figure": "not compared (figure)",
    "error": "not compared (reading it raised an error)",
    "state": "by its state (fitted arrays within rtol/atol)",
    "estimator": "get_params() and fitted attributes", "model": "statsmodels estimates",
}


def how_compared(encoded) -> str:
    """One phrase per value: the rule its comparison used (verify's `compared` column)."""
    if not isinstance(encoded, dict):
        return METHODS[next(_leaves(encoded))]
    kind = encoded.get("kind")
    if kind == "estimator":
        fitted = encoded["fitted"]["keys"]
        nested = " (nested estimators alike)" if _holds(encoded["params"], "estimator") else ""
        if not fitted:
            return "get_params()" + (nested or " (not fitted)")
        return f"get_params() and fitted attributes {', '.join(fitted)}{nested}"
    if kind == "model":
        return "statsmodels " + ", ".join(encoded["fields"]["keys"])
    if kind in ("seq", "set", "map"):
        inner = sorted({METHODS.get(k, k) for k in _leaves(encoded)})
        return "element by element: " + "; ".join(inner) if inner else "empty: exactly"
    return METHODS.get("opaque" if encoded.get("opaque") else kind, "exactly")
