"""The fitted feature state on disk, without pickle: loading it never runs code.

A feature state holds plain data (parameters, medians, category lists, column
names, `value_counts` results) and, now and then, a fitted object the notebook's
feature code calls (a `StandardScaler`, a `OneHotEncoder`). Plain data becomes
tagged JSON (`encode`): dicts keep keys of any JSON-able type, tuples and sets stay
what they were, numpy arrays and scalars, pandas Series, DataFrames and Indexes
keep their values, labels and dtypes. Any other object goes, in order, into one
skops file, whose every type name is checked against the model allow-list
(`model_trust.allowed_names`) and against the names recorded at save time before
anything is built, exactly as the model file is. JSON cannot run code; skops builds
only allow-listed types. An object skops would need to trust beyond the allow-list
is refused when the state is saved, naming its type.
"""

from __future__ import annotations

import math
from typing import Any

from .model_trust import ModelError, allowed_names, load_skops, skops_names

TAG = "__nb2prod__"
SEQUENCES = {list: "list", tuple: "tuple", set: "set", frozenset: "frozenset"}


def encode(value: Any, objects: list[Any]) -> Any:
    """`value` as JSON-able data; objects JSON cannot hold are appended to `objects`."""
    kind = type(value)  # exact types: numpy's float64 is a float, and keeps its dtype
    if value is None or kind in (bool, str):
        return value
    if kind is int:
        return value if abs(value) < 2**53 else {TAG: "int", "text": str(value)}
    if kind is float:
        return value if math.isfinite(value) else {TAG: "float", "text": repr(value)}
    kind = SEQUENCES.get(type(value))
    if kind is not None:
        items = sorted(value, key=repr) if kind.endswith("set") else value
        return {TAG: kind, "items": [encode(v, objects) for v in items]}
    if type(value) is dict:
        return {TAG: "dict", "items": [[encode(k, objects), encode(v, objects)]
                                       for k, v in value.items()]}
    encoded = _encode_library(value, objects)
    if encoded is not None:
        return encoded
    objects.append(value)
    return {TAG: "object", "index": len(objects) - 1}


def _encode_library(value: Any, objects: list[Any]) -> dict | None:
    """numpy and pandas values as data; None for anything else."""
    module = type(value).__module__.split(".")[0]
    if module == "numpy":
        import numpy as np

        if isinstance(value, np.generic):
            return {TAG: "numpy-scalar", "dtype": value.dtype.str,
                    "value": encode(value.item(), objects)}
        if isinstance(value, np.ndarray) and value.dtype.kind in "biufcUSM":
            return {TAG: "ndarray", "dtype": value.dtype.str,
                    "value": encode(value.astype(object).tolist()
                                    if value.dtype.kind == "M" else value.tolist(), objects)}
        return None
    if module != "pandas":
        return None
    import pandas as pd

    if isinstance(value, pd.Series):
        return {TAG: "series", "name": encode(value.name, objects),
                "dtype": str(value.dtype), "index": encode(value.index, objects),
                "values": encode(_plain(value), objects)}
    if isinstance(value, pd.DataFrame):
        return {TAG: "frame", "index": encode(value.index, objects),
                "columns": encode(value.columns, objects),
                "dtypes": [str(t) for t in value.dtypes],
                "values": [encode(_plain(value.iloc[:, i]), objects)
                           for i in range(value.shape[1])]}
    if isinstance(value, pd.Index) and not isinstance(value, pd.MultiIndex):
        return {TAG: "index", "name": encode(value.name, objects), "dtype": str(value.dtype),
                "values": encode(_plain(value), objects)}
    if isinstance(value, pd.Timestamp):
        return {TAG: "timestamp", "text": value.isoformat()}
    return None


def _plain(values: Any) -> list:
    """A Series' or Index's values as Python objects (missing values as None, categories
    and timestamps as their values)."""
    import pandas as pd

    return [None if _missing(v) else (v.isoformat() if isinstance(v, pd.Timestamp) else v)
            for v in values.astype(object).tolist()]


def _missing(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def decode(data: Any, objects: list[Any]) -> Any:
    """The value `encode` wrote, with its objects from the loaded skops list."""
    if isinstance(data, list):  # encode writes no bare lists; a hand-made one stays data
        return [decode(v, objects) for v in data]
    if not isinstance(data, dict):
        return data
    kind = data.get(TAG)
    decoder = DECODERS.get(kind)
    if decoder is None:
        raise ModelError(f"the feature state has an unknown entry {kind!r}")
    return decoder(data, objects)


def _items(data: dict, objects: list[Any]) -> list:
    return [decode(v, objects) for v in data["items"]]


def _object(data: dict, objects: list[Any]) -> Any:
    index = data["index"]
    if not isinstance(index, int) or not 0 <= index < len(objects):
        raise ModelError(f"the feature state names object {index!r}, which it does not hold")
    return objects[index]


def _frame(data: dict, objects: list[Any]) -> Any:
    import pandas as pd

    columns = decode(data["columns"], objects)
    frame = pd.DataFrame({i: pd.Series(decode(v, objects), dtype=_dtype(t))
                          for i, (v, t) in enumerate(zip(data["values"], data["dtypes"]))})
    frame.columns = columns
    frame.index = decode(data["index"], objects)
    return frame


def _series(data: dict, objects: list[Any]) -> Any:
    import pandas as pd

    return pd.Series(decode(data["values"], objects), index=decode(data["index"], objects),
                     name=decode(data["name"], objects), dtype=_dtype(data["dtype"]))


def _index(data: dict, objects: list[Any]) -> Any:
    import pandas as pd

    return pd.Index(decode(data["values"], objects), name=decode(data["name"], objects),
                    dtype=_dtype(data["dtype"]))


def _dtype(name: str) -> Any:
    """A pandas dtype by its name; categories come back as their values' dtype (the
    categories a notebook froze are recorded as lists, not as this dtype)."""
    return None if name == "category" else name


def _numpy_scalar(data: dict, objects: list[Any]) -> Any:
    import numpy as np

    return np.array(decode(data["value"], objects), dtype=np.dtype(data["dtype"]))[()]


def _ndarray(data: dict, objects: list[Any]) -> Any:
    import numpy as np

    return np.array(decode(data["value"], objects), dtype=np.dtype(data["dtype"]))


def _timestamp(data: dict, objects: list[Any]) -> Any:
    import pandas as pd

    return pd.Timestamp(data["text"])


DECODERS = {
    "int": lambda d, o: int(d["text"]),
    "float": lambda d, o: float(d["text"]),
    "list": _items,
    "tuple": lambda d, o: tuple(_items(d, o)),
    "set": lambda d, o: set(_items(d, o)),
    "frozenset": lambda d, o: frozenset(_items(d, o)),
    "dict": lambda d, o: {decode(k, o): decode(v, o) for k, v in d["items"]},
    "object": _object,
    "numpy-scalar": _numpy_scalar,
    "ndarray": _ndarray,
    "series": _series,
    "frame": _frame,
    "index": _index,
    "timestamp": _timestamp,
}
"""Every kind of entry `encode` writes; any other is refused."""


def dump_objects(objects: list[Any]) -> tuple[bytes, list[str]]:
    """The objects as one skops file, and the type names it holds; ModelError when one
    needs a type beyond the allow-list (it could not be loaded back safely)."""
    import skops.io as sio

    data = sio.dumps(list(objects))
    _, names = skops_names(data)
    allowed = allowed_names()
    refused = [name for name in names if name not in allowed]
    if refused:
        raise ModelError(f"the feature state holds a {refused[0]}, which is not on the "
                         "allow-list of model types: it could not be loaded back safely")
    return data, names


def load_objects(data: bytes, recorded: list[str]) -> list[Any]:
    """The objects of a skops file `dump_objects` wrote, once every type it names is on
    the allow-list and among those recorded at save; nothing is built before that."""
    _, names = skops_names(data)
    allowed = allowed_names()
    for name in names:
        if name not in allowed or name not in recorded:
            raise ModelError(f"the feature state names type {name}, which is not "
                             f"{'on the allow-list' if name not in allowed else 'recorded'}"
                             ": refusing to load")
    objects = load_skops(data, names)
    if not isinstance(objects, list):
        raise ModelError("the feature state's objects are not a list")
    return objects
