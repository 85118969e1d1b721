"""The fitted model of churn: save it with its card, load it back checked.

`python -m churn --model-out DIR` writes DIR/model.skops (DIR/model.joblib when
the model holds types outside model_trust's allow-list) and DIR/model.json, the
card: the artifact's sha256 and the exact type names it uses, the model type, the
input schema (the columns and dtypes, or the width, of the value it was fitted
on), library versions, parameters and metrics. Loading is two stages:
`check_model` (cheap, before a server listens) validates the card field by field,
reads the artifact as a regular file of the directory, compares its sha256 and
checks every name in a skops file against the allow-list, building nothing;
`build_model` then builds it and refuses anything without predict(). A joblib
file (pickle) is refused unless the caller trusts it. Requests are checked
against the input schema by `to_batch`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import platform
import re
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from churn.model_trust import (
    ModelError,
    allowed_names,
    check_skops,
    check_trees,
    load_skops,
    read_regular,
    skops_names,
)

MODEL_VALUE = "model"  # the notebook's name for it (cell 15, chosen by fit)
MODEL_KEY = "model"  # its key in run_steps' values
INPUT_KEY = "X_train"  # the value it was fitted on (None: unknown)
CARD = "model.json"
CARD_FORMAT = "nb2prod-model/2"
PACKAGE = "churn"
NOTEBOOK = "churn.ipynb"
NOTEBOOK_SHA256 = "f8d543cfcbac36c0402da389a6626028a946458df635173d14b8b418bbffc5ec"
NB2PROD_VERSION = "0.1.0"
LIBRARIES = ("numpy", "pandas", "scikit-learn", "scipy", "skops", "joblib")
MAX_INSTANCES = 10_000
MAX_CARD_BYTES = 16 * 1024 * 1024

ACCEPTS: dict[str, tuple[type, ...]] = {
    "i": (int,), "u": (int,), "f": (int, float, type(None)), "b": (bool,),
    "O": (str, type(None)), "U": (str,), "S": (str,), "M": (str,), "m": (str, int, float),
}
"""numpy dtype kind -> the JSON values a request may send for it (None: a missing value)."""

PICKLE_WARNING = ("a pickle runs any code its writer put in it; serve it only if you "
                  "trust whoever wrote this directory, with --trust-pickle")

class InputError(ValueError):
    """A request that does not fit the input schema: `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclasses.dataclass(frozen=True)
class Checked:
    """A model directory that passed every check that builds nothing."""

    directory: Path
    card: dict[str, Any]
    data: bytes  # the artifact's bytes, exactly those that were hashed
    names: tuple[str, ...]  # a skops file's type names, all allowed and recorded


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
    data, fmt, why = _serialize(model)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("model.skops", "model.joblib"):
        (out / stale).unlink(missing_ok=True)
    artifact = out / f"model.{fmt}"
    artifact.write_bytes(data)
    card = {
        "format": CARD_FORMAT,
        "artifact": {"file": artifact.name, "format": fmt, "bytes": len(data),
                     "sha256": hashlib.sha256(data).hexdigest(), **why},
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


def _serialize(model: Any) -> tuple[bytes, str, dict[str, Any]]:
    """skops when every name in the dumped file is on the allow-list, with those names
    (`types`, checked again at load); else joblib, with the reason (`pickle_reason`)."""
    try:
        import skops.io as sio
    except ImportError:
        raise ModelError(f"saving the model needs skops: pip install '{PACKAGE}[serve]'"
                         ) from None
    try:
        data = sio.dumps(model)
        _, names = skops_names(data)
        outside = [name for name in names if name not in allowed_names()]
        reason = f"types outside the allow-list: {', '.join(outside)}" if outside else ""
    except Exception as exc:  # noqa: BLE001 - a type skops cannot write: joblib below
        reason = f"skops cannot write it: {' '.join(str(exc).split())[:200]}"
    if not reason:
        return data, "skops", {"types": names}
    import joblib

    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue(), "joblib", {"pickle_reason": reason}


def _versions() -> dict[str, str]:
    return {name: v for name in LIBRARIES if (v := _version(name))}


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


def read_card(model_dir: Path | str) -> dict[str, Any]:
    """model.json, once every field loading and serving rely on is there and well-formed."""
    path = Path(model_dir) / CARD
    data = read_regular(path, Path(model_dir))
    if len(data) > MAX_CARD_BYTES:
        raise ModelError(f"{path}: {len(data)} bytes, not a model card")
    try:
        card = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelError(f"{path}: not JSON: {_one_line(exc)}") from None
    problem = card_problem(card)
    if problem:
        raise ModelError(f"{path}: {problem}")
    return card


def card_problem(card: Any) -> str | None:
    """What is wrong with a parsed card, naming the field (None: nothing)."""
    if not isinstance(card, dict):
        return f"not an nb2prod model card: a JSON {type(card).__name__}, not an object"
    for field, valid, wanted in CARD_RULES:
        if not valid(card):
            return f"{field}: expected {wanted}"
    return schema_problem(card["input_schema"])


_SHA256 = re.compile(r"[0-9a-f]{64}")
CARD_RULES: tuple[tuple[str, Callable[[dict[str, Any]], bool], str], ...] = (
    ("format", lambda c: c.get("format") == CARD_FORMAT,
     f"{CARD_FORMAT!r} (save the model again with this package)"),
    ("artifact", lambda c: isinstance(c.get("artifact"), dict), "an object"),
    ("artifact.file", lambda c: isinstance(c["artifact"].get("file"), str)
     and c["artifact"]["file"] in ("model.skops", "model.joblib"),
     "model.skops or model.joblib"),
    ("artifact.format", lambda c: c["artifact"].get("format") in ("skops", "joblib")
     and c["artifact"]["file"] == f"model.{c['artifact']['format']}",
     "skops or joblib, matching the file name"),
    ("artifact.sha256", lambda c: isinstance(c["artifact"].get("sha256"), str)
     and _SHA256.fullmatch(c["artifact"]["sha256"]) is not None, "64 hex digits"),
    ("artifact.types", lambda c: c["artifact"]["format"] != "skops" or (
        isinstance(c["artifact"].get("types"), list)
        and all(isinstance(t, str) for t in c["artifact"]["types"])),
     "the list of type names the skops file uses"),
    ("model_type", lambda c: isinstance(c.get("model_type"), str) and bool(c["model_type"]),
     "the model's type name"),
    ("input_schema", lambda c: isinstance(c.get("input_schema"), dict)
     and c["input_schema"].get("kind") in BATCHES,
     "an object whose kind is dataframe, array, items or any"),
)
"""Card field -> check (earlier rules hold when a later one runs) -> what it must be."""


def schema_problem(schema: dict[str, Any]) -> str | None:
    """What is wrong with an input schema, naming the field (None: nothing), so a bad
    card is refused at start rather than answering every request 422."""
    kind = schema["kind"]
    if kind == "dataframe":
        columns = schema.get("columns")
        if not isinstance(columns, list) or not columns:
            return "input_schema.columns: expected a non-empty list"
        for i, column in enumerate(columns):
            if not isinstance(column, dict) or not isinstance(column.get("name"), str):
                return f"input_schema.columns[{i}].name: expected a string"
            if not _is_dtype(column.get("dtype")):
                return f"input_schema.columns[{i}].dtype: expected a dtype name"
        if len({c["name"] for c in columns}) != len(columns):
            return "input_schema.columns: expected unique names"
    elif kind == "array":
        width = schema.get("width")
        if not isinstance(width, int) or isinstance(width, bool) or width < 1:
            return "input_schema.width: expected a positive integer"
    if kind in ("array", "items") and not _is_dtype(schema.get("dtype")):
        return "input_schema.dtype: expected a dtype name"
    return None


def _is_dtype(name: Any) -> bool:
    if not isinstance(name, str):
        return False
    import pandas as pd

    try:
        pd.api.types.pandas_dtype(name)
    except (TypeError, ValueError):
        return False
    return True


def check_model(model_dir: Path | str, trust_pickle: bool = False) -> Checked:
    """Every check that builds nothing: the card, the artifact (a regular file of the
    directory) and its sha256, then a skops file's names against the allow-list, or a
    pickle refused unless `trust_pickle`. ModelError with one line otherwise."""
    directory = Path(model_dir)
    card = read_card(directory)
    artifact = card["artifact"]
    path = directory / artifact["file"]
    data = read_regular(path, directory)
    digest = hashlib.sha256(data).hexdigest()
    if digest != artifact["sha256"]:
        raise ModelError(f"{path}: sha256 {digest[:12]} does not match {CARD} "
                         f"({artifact['sha256'][:12]}): refusing to load")
    if artifact["format"] == "joblib":
        if not trust_pickle:
            raise ModelError(f"{path}: {PICKLE_WARNING}")
        return Checked(directory, card, data, ())
    try:
        names = check_skops(data, artifact["types"])
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None
    return Checked(directory, card, data, tuple(names))


def build_model(checked: Checked) -> Any:
    """The model, built from the bytes `check_model` passed; it must have predict()."""
    path = checked.directory / checked.card["artifact"]["file"]
    try:
        if checked.card["artifact"]["format"] == "skops":
            model = load_skops(checked.data, list(checked.names))
        else:
            import joblib

            model = joblib.load(io.BytesIO(checked.data))  # trusted by the caller
        check_trees(model)
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a damaged pickle fails in any way
        raise ModelError(f"{path}: cannot load: {_one_line(exc)}") from None
    if not callable(getattr(model, "predict", None)):
        raise ModelError(f"{path}: holds a {type(model).__name__}, not a model with "
                         "predict(): refusing to serve it")
    return model


def load_model(model_dir: Path | str, trust_pickle: bool = False) -> tuple[Any, dict[str, Any]]:
    """The model and its card, after every check; ModelError with one line otherwise."""
    checked = check_model(model_dir, trust_pickle)
    return build_model(checked), checked.card


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
    frame = {}
    for name, dtype, values in zip(names, dtypes, columns):
        field = lambda i, name=name: f"instances[{i}].{name}"
        _check(values, dtype, field)
        frame[name] = _convert(values, dtype, field)
    return pd.DataFrame(frame)


def _convert(values: Sequence[Any], dtype: str, field: Callable[[int], str]) -> Any:
    """One column in its training dtype, column by column (8x faster than
    DataFrame.astype). A value that does not fit (an integer beyond int64, a number
    beyond float64, a date that is none, 1e400) is named: a 422, never a 500."""
    import numpy as np

    try:
        column = _as_dtype(values, dtype)
    except (OverflowError, TypeError, ValueError) as exc:
        i = next((i for i, v in enumerate(values) if not _fits(v, dtype)), 0)
        raise InputError(field(i), f"does not fit {dtype}: {_one_line(exc)}") from None
    if _kind(dtype) in ("f", "c"):
        infinite = np.isinf(column)
        if infinite.any():
            raise InputError(field(int(np.flatnonzero(infinite)[0])),
                             f"expected a finite number ({dtype})")
    return column


def _as_dtype(values: Sequence[Any], dtype: str) -> Any:
    import numpy as np
    import pandas as pd

    if _kind(dtype) in ("i", "u", "f", "b"):
        return np.asarray(values, dtype=dtype)
    return pd.Series(values, dtype=dtype)


def _fits(value: Any, dtype: str) -> bool:
    try:
        _as_dtype([value], dtype)
    except (OverflowError, TypeError, ValueError):
        return False
    return True


def _row(i: int, row: Any, names: list[str]) -> list[Any]:
    """A row in training column order, from a list or an object keyed by column."""
    if isinstance(row, dict):
        unknown = [k for k in row if k not in names]
        if unknown:
            shown = unknown[0] if len(unknown[0]) <= 80 else unknown[0][:80] + "..."
            raise InputError(f"instances[{i}].{shown}", "unknown column")
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
    columns = list(zip(*instances))
    for j, values in enumerate(columns):
        _check(values, dtype, lambda i, j=j: f"instances[{i}][{j}]")
    try:
        array = np.asarray(instances, dtype=dtype)
    except (OverflowError, TypeError, ValueError):
        array = None
    if array is None or (_kind(dtype) in ("f", "c") and np.isinf(array).any()):
        for j, values in enumerate(columns):  # name the value that does not fit
            _convert(values, dtype, lambda i, j=j: f"instances[{i}][{j}]")
    if array is None:
        raise InputError("instances", f"cannot convert to {dtype}")
    return array


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
    return " ".join(str(exc).split())[:300] or type(exc).__name__
