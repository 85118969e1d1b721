"""The fitted model of churn: save it with its card, load it back checked.

`python -m churn --model-out DIR` writes DIR/model.skops (DIR/model.joblib when
the model holds types skops does not trust) and DIR/model.json, the card: the
artifact's sha256, the model type, the input schema (the columns and dtypes, or
the width, of the value it was fitted on), library versions, parameters and
metrics. Loading reads the card, hashes the artifact's bytes and refuses a
mismatch, or a skops file with untrusted types, before anything is unpickled.
Requests are checked against the input schema by `to_batch`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import platform
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

MODEL_VALUE = "model"  # the notebook's name for it (cell 15, chosen by fit)
MODEL_KEY = "model"  # its key in run_steps' values
INPUT_KEY = "X_train"  # the value it was fitted on (None: unknown)
CARD = "model.json"
CARD_FORMAT = "nb2prod-model/1"
PACKAGE = "churn"
NOTEBOOK = "churn.ipynb"
NOTEBOOK_SHA256 = "f8d543cfcbac36c0402da389a6626028a946458df635173d14b8b418bbffc5ec"
NB2PROD_VERSION = "0.1.0"
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.")
"""Types skops does not trust by default (e.g. sklearn.tree._tree.Tree) that we do."""
LIBRARIES = ("numpy", "pandas", "scikit-learn", "scipy", "skops", "joblib")
MAX_INSTANCES = 10_000

ACCEPTS: dict[str, tuple[type, ...]] = {
    "i": (int,), "u": (int,), "f": (int, float, type(None)), "b": (bool,),
    "O": (str, type(None)), "U": (str,), "S": (str,), "M": (str,), "m": (str, int, float),
}
"""numpy dtype kind -> the JSON values a request may send for it (None: a missing value)."""


class ModelError(Exception):
    """A model directory that cannot be saved or must not be loaded; the text is one line."""


class InputError(ValueError):
    """A request that does not fit the input schema: `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def fitted(values: dict[str, Any]) -> tuple[Any, Any]:
    """The model and the value it was fitted on, from the values of run_steps()."""
    return values[MODEL_KEY], values[INPUT_KEY] if INPUT_KEY else None


def input_schema(x: Any, model: Any) -> dict[str, Any]:
    """Columns and dtypes of a DataFrame, the width of an array, else what the model knows."""
    if x is not None and hasattr(x, "columns") and hasattr(x, "dtypes"):
        return {"kind": "dataframe", "columns": [
            {"name": str(c), "dtype": str(t)} for c, t in zip(x.columns, x.dtypes)]}
    shape = getattr(x, "shape", None)
    if shape is not None and len(shape) == 2:
        return {"kind": "array", "width": int(shape[1]), "dtype": str(x.dtype)}
    if shape is not None and len(shape) == 1 or isinstance(x, (list, tuple)):
        return {"kind": "items", "dtype": str(getattr(x, "dtype", "object"))}
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return {"kind": "dataframe", "columns": [{"name": str(n), "dtype": "float64"}
                                                 for n in names]}
    width = getattr(model, "n_features_in_", None)
    if width is not None:
        return {"kind": "array", "width": int(width), "dtype": "float64"}
    return {"kind": "any"}


def jsonable(value: Any) -> Any:
    """numpy and pandas values become plain JSON; anything else its repr()."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    for method in ("tolist", "to_dict", "item"):
        if hasattr(value, method):
            return jsonable(getattr(value, method)())
    return repr(value)


def save_model(values: dict[str, Any], params: Any, metrics: dict[str, Any],
               out_dir: Path | str) -> Path:
    """Write the artifact and model.json into `out_dir`; return the card's path."""
    model, x = fitted(values)
    if not callable(getattr(model, "predict", None)):
        raise ModelError(f"`{MODEL_VALUE}` ({type(model).__name__}) has no predict(): "
                         "not a model; tag the model's cell `model:NAME`")
    data, fmt = _serialize(model)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("model.skops", "model.joblib"):
        (out / stale).unlink(missing_ok=True)
    artifact = out / f"model.{fmt}"
    artifact.write_bytes(data)
    card = {
        "format": CARD_FORMAT,
        "artifact": {"file": artifact.name, "format": fmt, "bytes": len(data),
                     "sha256": hashlib.sha256(data).hexdigest()},
        "model_type": f"{type(model).__module__}.{type(model).__qualname__}",
        "model_value": MODEL_VALUE,
        "fitted_on": INPUT_KEY,
        "input_schema": input_schema(x, model),
        "outputs": {"predict_proba": callable(getattr(model, "predict_proba", None)),
                    "classes": jsonable(getattr(model, "classes_", None))},
        "library_versions": {"python": platform.python_version(), **_versions()},
        "params": jsonable(dataclasses.asdict(params)),
        "metrics": jsonable(metrics),
        "package": {"name": PACKAGE, "version": _version(PACKAGE)},
        "notebook": NOTEBOOK,
        "notebook_sha256": NOTEBOOK_SHA256,
        "nb2prod_version": NB2PROD_VERSION,
    }
    path = out / CARD
    path.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _serialize(model: Any) -> tuple[bytes, str]:
    """skops when every type in the model is trusted (skops' list, or TRUSTED_PREFIXES),
    else joblib."""
    try:
        import skops.io as sio
    except ImportError:
        raise ModelError(f"saving the model needs skops: pip install '{PACKAGE}[serve]'"
                         ) from None
    try:
        data = sio.dumps(model)
        untrusted = outside_trusted(sio.get_untrusted_types(data=data))
    except Exception:  # noqa: BLE001 - a type skops cannot write: joblib below
        untrusted = ["(not writable by skops)"]
    if not untrusted:
        return data, "skops"
    import joblib

    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue(), "joblib"


def outside_trusted(types: list[str]) -> list[str]:
    """The types skops reports as untrusted that are not sklearn/numpy/scipy types."""
    return [t for t in types if not t.startswith(TRUSTED_PREFIXES)]


def _versions() -> dict[str, str]:
    return {name: v for name in LIBRARIES if (v := _version(name))}


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


def read_card(model_dir: Path | str) -> dict[str, Any]:
    path = Path(model_dir) / CARD
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read the model card: {_one_line(exc)}") from None
    artifact = card.get("artifact") if isinstance(card, dict) else None
    if card.get("format") != CARD_FORMAT or not isinstance(artifact, dict) or not all(
            isinstance(artifact.get(k), str) for k in ("file", "format", "sha256")):
        raise ModelError(f"{path}: not an nb2prod model card ({CARD_FORMAT})")
    if Path(artifact["file"]).name != artifact["file"]:
        raise ModelError(f"{path}: artifact {artifact['file']!r} is not a file name in "
                         "the model directory")
    return card


def checked_bytes(model_dir: Path | str) -> tuple[bytes, dict[str, Any]]:
    """The artifact's bytes, once they match the card's sha256 (and, for skops, hold
    trusted types only). Nothing is unpickled here."""
    card = read_card(model_dir)
    artifact = card["artifact"]
    path = Path(model_dir) / artifact["file"]
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the model: {_one_line(exc)}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != artifact["sha256"]:
        raise ModelError(f"{path}: sha256 {digest[:12]} does not match {CARD} "
                         f"({artifact['sha256'][:12]}): refusing to load")
    if artifact["format"] == "skops":
        import skops.io as sio

        untrusted = outside_trusted(sio.get_untrusted_types(data=data))
        if untrusted:
            raise ModelError(f"{path}: types outside the trusted list: "
                             f"{', '.join(untrusted)}: refusing to load")
    elif artifact["format"] != "joblib":
        raise ModelError(f"{path}: unknown model format {artifact['format']!r}")
    return data, card


def load_model(model_dir: Path | str) -> tuple[Any, dict[str, Any]]:
    """The model and its card, after `checked_bytes`; ModelError with one line otherwise."""
    data, card = checked_bytes(model_dir)
    if card["artifact"]["format"] == "skops":
        import skops.io as sio

        return sio.loads(data, trusted=sio.get_untrusted_types(data=data)), card  # checked
    import joblib

    return joblib.load(io.BytesIO(data)), card


def to_batch(payload: Any, schema: dict[str, Any]) -> Any:
    """A KServe v1 body `{"instances": [...]}` -> what the model's predict() takes."""
    if not isinstance(payload, dict):
        raise InputError("body", 'expected a JSON object: {"instances": [...]}')
    instances = payload.get("instances")
    if instances is None:
        raise InputError("instances", "missing: send {\"instances\": [row, ...]}")
    if not isinstance(instances, list):
        raise InputError("instances", "must be a list of rows")
    if not instances:
        raise InputError("instances", "empty batch: send at least one row")
    if len(instances) > MAX_INSTANCES:
        raise InputError("instances", f"{len(instances)} rows: at most {MAX_INSTANCES} "
                         "per request")
    return BATCHES[schema["kind"]](instances, schema)


def _frame(instances: list[Any], schema: dict[str, Any]) -> Any:
    import pandas as pd

    names = [c["name"] for c in schema["columns"]]
    dtypes = [c["dtype"] for c in schema["columns"]]
    rows = [_row(i, row, names) for i, row in enumerate(instances)]
    columns = list(zip(*rows))
    for name, dtype, values in zip(names, dtypes, columns):
        _check(values, dtype, lambda i, name=name: f"instances[{i}].{name}")
    try:  # column by column: numpy arrays for numbers (8x faster than DataFrame.astype)
        return pd.DataFrame({name: _column(values, dtype)
                             for name, dtype, values in zip(names, dtypes, columns)})
    except (TypeError, ValueError) as exc:
        raise InputError("instances", f"cannot convert to the training dtypes: "
                         f"{_one_line(exc)}") from None


def _column(values: tuple[Any, ...], dtype: str) -> Any:
    import numpy as np
    import pandas as pd

    if _kind(dtype) in ("i", "u", "f", "b"):
        return np.asarray(values, dtype=dtype)
    return pd.Series(values, dtype=dtype)


def _row(i: int, row: Any, names: list[str]) -> list[Any]:
    """A row in training column order, from a list or an object keyed by column."""
    if isinstance(row, dict):
        unknown = [k for k in row if k not in names]
        if unknown:
            raise InputError(f"instances[{i}].{unknown[0]}", "unknown column")
        missing = [n for n in names if n not in row]
        if missing:
            raise InputError(f"instances[{i}].{missing[0]}", "missing column")
        return [row[n] for n in names]
    if isinstance(row, list):
        if len(row) != len(names):
            raise InputError(f"instances[{i}]", f"{len(row)} values: expected {len(names)} "
                             f"({', '.join(names)})")
        return row
    raise InputError(f"instances[{i}]", "expected a row: a list in training column order "
                     "or an object keyed by column name")


def _array(instances: list[Any], schema: dict[str, Any]) -> Any:
    import numpy as np

    width, dtype = schema["width"], schema["dtype"]
    for i, row in enumerate(instances):
        if not isinstance(row, list) or len(row) != width:
            raise InputError(f"instances[{i}]", f"expected a list of {width} values")
    for j, values in enumerate(zip(*instances)):
        _check(values, dtype, lambda i, j=j: f"instances[{i}][{j}]")
    return np.asarray(instances, dtype=dtype)


def _items(instances: list[Any], schema: dict[str, Any]) -> Any:
    _check(instances, schema["dtype"], lambda i: f"instances[{i}]")
    return list(instances)


def _any(instances: list[Any], schema: dict[str, Any]) -> Any:
    return instances


BATCHES = {"dataframe": _frame, "array": _array, "items": _items, "any": _any}
"""Input schema kind -> how instances become a batch."""


def _check(values: Sequence[Any], dtype: str, field: Callable[[int], str]) -> None:
    """Every value of one column is a JSON value its dtype accepts; else the first
    that is not is named (`field(row)`)."""
    accepted = ACCEPTS.get(_kind(dtype))
    if accepted is None:  # a dtype without a JSON rule: any scalar
        bad = [isinstance(v, (list, dict)) for v in values]
    elif bool in accepted:
        bad = [not isinstance(v, accepted) for v in values]
    else:
        bad = [not isinstance(v, accepted) or isinstance(v, bool) for v in values]
    if any(bad):
        i = bad.index(True)
        wanted = _describe(accepted) if accepted else "a single value"
        raise InputError(field(i), f"expected {wanted} ({dtype}), got "
                         f"{type(values[i]).__name__}")


def _kind(dtype: str) -> str:
    if dtype in ("category", "string", "str"):
        return "O"
    try:
        import numpy as np

        return np.dtype(dtype).kind
    except TypeError:
        return ""


def _describe(accepted: tuple[type, ...]) -> str:
    names = {int: "an integer", float: "a number", bool: "true/false", str: "a string",
             type(None): "null"}
    return " or ".join(names[t] for t in accepted)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
