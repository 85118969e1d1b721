"""A KServe v1 request body -> the batch a model's predict() takes, checked against the
input schema the model's card recorded: every value of the JSON type its training
dtype accepts, converted column by column; anything else is an `InputError` naming
the field (`instances[3].colour`), which a service answers with a 422.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

MAX_INSTANCES = 10_000

ACCEPTS: dict[str, tuple[type, ...]] = {
    "i": (int,), "u": (int,), "f": (int, float, type(None)), "b": (bool,),
    "O": (str, type(None)), "U": (str,), "S": (str,), "M": (str,), "m": (str, int, float),
}
"""numpy dtype kind -> the JSON values a request may send for it (None: a missing value)."""


class InputError(ValueError):
    """A request that does not fit the input schema: `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


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
