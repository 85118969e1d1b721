"""The data contract of a served model's raw input: recorded from the training frame,
enforced on every request row (and on files scored in batch).

Plain Python over pandas, importing nothing from nb2prod: generated packages carry a
copy of this file. `record(frame)` -> a JSON-able dict: per column its dtype, whether
it may be null, the categories seen (low-cardinality text), the numeric range, and
whether it is required (the feature code reads it) or optional (an id it never
reads). `to_frame(rows, contract)` checks JSON rows against it and builds the frame
with the training dtypes; a break is `ContractError(field, message)`. Out-of-range
numbers are counted (`Ranges`), not refused: the model may extrapolate sensibly.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

FORMAT = "nb2prod-contract/1"
MAX_CATEGORIES = 20
"""Text columns with at most this many distinct training values list them: requests
with another value are refused (the feature code never saw it)."""


class ContractError(ValueError):
    """A row that breaks the contract: `field` names it (`instances[3].plan`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def record(frame: Any, optional: tuple[str, ...] = (), dates: tuple[str, ...] = ()) -> dict:
    """The contract of `frame`'s columns (the raw input as loaded, without the target)."""
    columns = []
    for name in frame.columns:
        series = frame[name]
        kind = "date" if name in dates else column_kind(series)
        entry: dict[str, Any] = {"name": str(name), "dtype": str(series.dtype), "kind": kind,
                                 "nullable": bool(series.isna().any()),
                                 "required": name not in optional}
        present = series.dropna()
        if kind in ("integer", "number") and len(present) and name not in optional:  # not ids
            entry["range"] = [_plain(present.min()), _plain(present.max())]
        if kind == "text":
            seen = sorted(map(str, present.unique()))
            if len(seen) <= MAX_CATEGORIES:
                entry["categories"] = seen
        columns.append(entry)
    return {"format": FORMAT, "columns": columns}


def column_kind(series: Any) -> str:
    kind = getattr(series.dtype, "kind", "O")
    if kind == "b":
        return "boolean"
    if kind in "iu":
        return "integer"
    if kind == "f":
        return "number"
    if kind == "M":
        return "date"
    return "text"


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


ACCEPTS: dict[str, tuple[type, ...]] = {
    "boolean": (bool,), "integer": (int,), "number": (int, float), "text": (str,),
    "date": (str,),
}
"""Contract kind -> the JSON values a request may send (null aside)."""
WANTED = {"boolean": "true/false", "integer": "an integer", "number": "a number",
          "text": "a string", "date": "a date string (ISO 8601)"}


class Ranges:
    """Out-of-range values by column, counted (a service exposes them)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, column: str, n: int = 1) -> None:
        self.counts[column] = self.counts.get(column, 0) + n


def check_row(i: int, row: Any, contract: dict, where: Callable[[int, str], str],
              ranges: Ranges | None = None) -> dict:
    """One JSON row -> {column: value} with every contract column; ContractError else."""
    names = [c["name"] for c in contract["columns"]]
    if isinstance(row, list):  # the loaded frame's column order, every column
        if len(row) != len(names):
            raise ContractError(where(i, ""), f"{len(row)} values: expected {len(names)} "
                                f"({', '.join(names)})")
        row = dict(zip(names, row))
    if not isinstance(row, dict):
        raise ContractError(where(i, ""), "expected an object keyed by column name, or a "
                            "list in the loaded frame's column order")
    known = set(names)
    ignored = set(contract.get("ignored", ()))
    unknown = [k for k in row if k not in known and k not in ignored]
    if unknown:
        raise ContractError(where(i, unknown[0]), "unknown column")
    out = {}
    for column in contract["columns"]:
        name = column["name"]
        if name not in row:
            if column["required"]:
                raise ContractError(where(i, name), "missing column")
            out[name] = None
            continue
        out[name] = check_value(row[name], column, lambda name=name: where(i, name), ranges)
    return out


def check_value(value: Any, column: dict, field: Callable[[], str],
                ranges: Ranges | None = None) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        if not column["nullable"] and column["required"]:
            raise ContractError(field(), "null: the column had no missing values in training")
        return None
    accepted = ACCEPTS[column["kind"]]
    if not isinstance(value, accepted) or (isinstance(value, bool) and bool not in accepted):
        raise ContractError(field(), f"expected {WANTED[column['kind']]} ({column['dtype']}), got "
                            f"{type(value).__name__}")
    if column["kind"] in ("integer", "number") and not fits(value, column["dtype"]):
        raise ContractError(field(), f"does not fit {column['dtype']} (beyond its range, "
                            "or not finite)")
    categories = column.get("categories")
    if categories is not None and value not in categories and not column.get("open"):
        raise ContractError(field(), f"{value!r} is not one of {', '.join(categories)}")
    if column["kind"] == "date":
        _check_date(value, field)
    bounds = column.get("range")
    if ranges is not None and bounds and not bounds[0] <= value <= bounds[1]:
        ranges.add(column["name"])
    return value


def fits(value: float, dtype: str) -> bool:
    """A number the column's dtype can hold: within its range, finite (JSON's 1e400
    parses as infinity). Beyond it numpy raises OverflowError while building the frame,
    or the model sees infinity: a 422 naming the field here instead."""
    low, high = _bounds(dtype)
    return low <= value <= high


@functools.lru_cache(maxsize=32)
def _bounds(dtype: str) -> tuple[float, float]:
    import numpy as np

    try:  # pandas' nullable "Int64" is numpy's int64; other dtypes: float64's range
        kind = np.dtype(dtype.lower()).kind
    except TypeError:
        dtype, kind = "float64", "f"
    if kind in "iu":
        return int(np.iinfo(dtype.lower()).min), int(np.iinfo(dtype.lower()).max)
    if kind != "f":
        dtype = "float64"
    return float(np.finfo(dtype.lower()).min), float(np.finfo(dtype.lower()).max)


def _check_date(value: str, field: Callable[[], str]) -> None:
    import pandas as pd

    try:
        pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ContractError(field(), f"{value!r} is not a date") from None


def field_name(i: int, column: str) -> str:
    """KServe-style path of a request value: `instances[3].plan`."""
    return f"instances[{i}].{column}" if column else f"instances[{i}]"


def to_frame(rows: list, contract: dict, where: Callable[[int, str], str] | None = None,
             ranges: Ranges | None = None) -> Any:
    """JSON rows -> a DataFrame with the training columns and dtypes, or ContractError."""
    import pandas as pd

    where = where or field_name
    checked = [check_row(i, row, contract, where, ranges) for i, row in enumerate(rows)]
    data = {}
    for column in contract["columns"]:
        name = column["name"]
        values = [row[name] for row in checked]
        data[name] = _column(values, column["dtype"])
    return pd.DataFrame(data)


def _column(values: list, dtype: str) -> Any:
    import numpy as np
    import pandas as pd

    if any(v is None for v in values) and dtype.startswith(("int", "uint", "bool")):
        return pd.Series(values, dtype="float64" if dtype[0] in "iu" else "object")
    if dtype.startswith(("int", "uint", "float", "bool")):
        return np.asarray(values, dtype=dtype)
    if dtype.startswith("datetime64"):
        return pd.to_datetime(pd.Series(values, dtype="object"))
    return pd.Series(values, dtype=dtype)


def check_frame(frame: Any, contract: dict, ranges: Ranges | None = None
                ) -> tuple[Any, list[tuple[int, str, str]]]:
    """A frame read from a file (batch scoring) -> (the rows that keep the contract, with
    the training dtypes; [(position, column, reason)] of the first break of every other
    row). Vectorized: one pass per column, Python only for the rows that break it. A
    missing required column is a ContractError."""
    import numpy as np
    import pandas as pd

    columns = contract["columns"]
    missing = [c["name"] for c in columns if c["required"] and c["name"] not in frame.columns]
    if missing:
        raise ContractError(missing[0], "missing column")
    broken: dict[int, tuple[str, str]] = {}  # row -> (column, reason) of its first break
    taken = np.zeros(len(frame), dtype=bool)
    out = {}
    for column in columns:
        name = column["name"]
        raw = frame[name].reset_index(drop=True) if name in frame.columns else \
            pd.Series([None] * len(frame), dtype=object)
        out[name], problems = _check_column(raw, column, ranges)
        for mask, why in problems:
            new = np.asarray(mask, dtype=bool) & ~taken
            for i in np.flatnonzero(new):
                broken[int(i)] = (name, why if isinstance(why, str) else why(raw.iat[i]))
            taken |= new
    clean = pd.DataFrame(out)
    if taken.any():
        clean = clean[~taken].reset_index(drop=True)
    wanted = {c["name"]: _final_dtype(c, clean[c["name"]]) for c in columns}
    changed = {name: dtype for name, dtype in wanted.items() if str(clean[name].dtype) != dtype}
    return (clean.astype(changed) if changed else clean), [
        (i, *broken[i]) for i in sorted(broken)]


def _check_column(raw: Any, column: dict, ranges: Ranges | None) -> tuple[Any, list]:
    """(values converted to the column's kind, [(row mask, reason or value -> reason)])."""
    import pandas as pd

    kind, problems = column["kind"], []
    present = raw.notna()
    if kind in ("integer", "number", "boolean"):
        values = raw if raw.dtype.kind in "iufb" else pd.to_numeric(raw, errors="coerce")
        wrong = present & values.isna()
        if kind == "integer" and values.dtype.kind == "f":
            wrong |= present & values.notna() & (values % 1 != 0)
        problems.append((wrong, f"expected {WANTED[kind]} ({column['dtype']})"))
        bounds = column.get("range")
        if ranges is not None and bounds:
            outside = int(((values < bounds[0]) | (values > bounds[1])).sum())
            if outside:
                ranges.add(column["name"], outside)
    elif kind == "date":
        values = raw
        parsed = pd.to_datetime(raw, errors="coerce", format="ISO8601")
        problems.append((present & parsed.isna(), "not a date"))
    else:
        from pandas.api.types import is_string_dtype

        values = raw if is_string_dtype(raw) else raw.astype(str).where(present)
        categories = column.get("categories")
        if categories is not None and not column.get("open"):
            problems.append((present & ~values.isin(categories),
                             lambda v: f"{v!r} is not one of {', '.join(categories)}"))
    if not column["nullable"] and column["required"]:
        problems.append((~present, "null: the column had no missing values in training"))
    return values, problems


def _final_dtype(column: dict, values: Any) -> str:
    dtype = column["dtype"]
    if dtype.startswith(("int", "uint", "bool")) and values.isna().any():
        return "float64" if dtype[0] in "iu" else "object"
    return dtype
