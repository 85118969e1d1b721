"""Storage formats of a generated package's step cache.

A value is written in the first format that fits it: parquet for pandas
DataFrames (when pyarrow is importable), .npy for numpy arrays without Python
objects, JSON for plain values, pickle (scikit-learn estimators among others)
last. A value none of them can write (a lambda inside an estimator, an open
file) is not cached. `encode` gives a value's bytes and their sha256 when its
step returns; store.py writes them, checks them and reads them back.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import io
import json
import pickle
import sys
from pathlib import Path
from typing import Any, Callable  # noqa: UP035 - Python 3.10 too

INDEX_COLUMN = "__nb2prod_index__"
NOTE = b"nb2prod"  # parquet metadata key of a frame written without pandas' metadata
FAILURES = (ValueError, TypeError, AttributeError, OSError, ImportError, EOFError,
            NotImplementedError, RecursionError, pickle.PickleError)
"""What writing or reading a value can raise (pyarrow's errors subclass these)."""


class NotCacheable(Exception):
    """A value no format can write (an open file, a generator, a lambda...)."""


def _module(value: Any) -> str:
    return type(value).__module__.partition(".")[0]


@functools.cache
def has_module(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _is_dataframe(value: Any) -> bool:
    if _module(value) != "pandas" or not has_module("pyarrow"):
        return False
    import pandas

    # a frame without columns loses its rows in parquet
    if type(value) is not pandas.DataFrame or not len(value.columns) \
            or not value.columns.is_unique or value.attrs:
        return False
    if value.columns.inferred_type != "string":  # every label a str
        return False
    # object columns survive parquet only when they hold strings (lists would come back
    # as arrays); anything else goes to the next format
    dtypes = value.dtypes
    if not any(dtype == object for dtype in dtypes):  # iterating values: 2x faster than items
        return True
    infer = pandas.api.types.infer_dtype
    return all(infer(value[c], skipna=True) in ("string", "empty")
               for c, dtype in dtypes.items() if dtype == object)


def _is_array(value: Any) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and type(value) is numpy.ndarray and not value.dtype.hasobject


def is_plain(value: Any) -> bool:
    """JSON gives the same value back: no tuples, no non-string keys, no subclasses."""
    if value is None or type(value) in (bool, int, float, str):
        return True
    if type(value) is list:
        return all(is_plain(v) for v in value)
    if type(value) is dict:
        return all(type(k) is str and is_plain(v) for k, v in value.items())
    return False


def _dump_parquet(value: Any) -> Any:
    import pyarrow
    import pyarrow.parquet

    # what DataFrame.to_parquet writes; without dictionary pages, statistics and
    # compression (the same values come back; a small frame is written in a third of the
    # time, and a cache file is scratch: its size is the frame's in memory), converted
    # without a thread pool (pyarrow starts one for long frames: 0.7 ms more for 1000 rows)
    table = _plain_table(value) or pyarrow.Table.from_pandas(value, nthreads=1)
    sink = pyarrow.BufferOutputStream()
    pyarrow.parquet.write_table(table, sink, use_dictionary=False, write_statistics=False,
                                compression="none")
    return memoryview(sink.getvalue())


def _plain_table(frame: Any) -> Any:
    """A frame of numpy bool, integer and float columns (and pandas' own str columns),
    with a RangeIndex or an int64 index, as an arrow table without pandas' metadata: that
    metadata costs 0.3 ms a frame (most of a small frame's write), and for these frames
    the column names and types already say everything but the index, which a small note
    of ours keeps. None for any other frame (pyarrow's own conversion then)."""
    import numpy
    import pandas
    import pyarrow

    columns, index = frame.columns, frame.index
    labels, strings = _read_back_dtypes()
    if type(columns) is not pandas.Index or columns.name is not None \
            or columns.dtype != labels or INDEX_COLUMN in columns:
        return None
    if not all(isinstance(d, numpy.dtype) and d.kind in "biuf" or d == strings
               for d in frame.dtypes):
        return None
    arrays = {name: column.to_numpy() if isinstance(column.dtype, numpy.dtype)
              else pyarrow.array(column) for name, column in frame.items()}
    if type(index) is pandas.RangeIndex and index.name is None:
        note = {"range": [index.start, index.stop, index.step]}
    elif type(index) is pandas.Index and index.dtype == numpy.int64 and index.name is None:
        note, arrays[INDEX_COLUMN] = {"column": INDEX_COLUMN}, index.to_numpy()
    else:
        return None
    return pyarrow.table(arrays).replace_schema_metadata({NOTE: json.dumps(note)})


@functools.cache
def _read_back_dtypes() -> tuple[Any, Any]:
    """The dtypes that column labels and a string column get when read back without
    pandas' metadata: pandas' str dtype (pandas 3), or object, which the fast path of
    _plain_table then leaves to pyarrow's conversion for columns (an object column may
    hold anything)."""
    import pyarrow

    back = pyarrow.table({"label": ["text"]}).to_pandas()
    strings = back.dtypes.iloc[0]
    return back.columns.dtype, None if strings == object else strings


def _load_parquet(path: Path) -> Any:
    import pandas
    import pyarrow.parquet

    # what pandas.read_parquet does, without its dataset machinery (10x faster on small files)
    table = pyarrow.parquet.ParquetFile(path).read(use_threads=False)
    note = (table.schema.metadata or {}).get(NOTE)
    if note is None:
        return table.to_pandas()
    note = json.loads(note)
    if "column" in note:
        index = pandas.Index(table.column(note["column"]).to_numpy())
        return table.drop_columns([note["column"]]).to_pandas().set_axis(index)
    return table.to_pandas().set_axis(pandas.RangeIndex(*note["range"]))


def _dump_npy(value: Any) -> Any:
    import numpy

    buffer = io.BytesIO()
    numpy.save(buffer, value, allow_pickle=False)
    return buffer.getbuffer()


def _load_npy(path: Path) -> Any:
    import numpy

    return numpy.load(path, allow_pickle=False)


def _dump_json(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


def _load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _dump_pickle(value: Any) -> bytes:
    return pickle.dumps(value, protocol=5)  # numpy buffers as raw bytes (PEP 574)


def _load_pickle(path: Path) -> Any:
    with open(path, "rb") as file:
        return pickle.load(file)  # our own file, its sha256 checked


@dataclasses.dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    fits: Callable[[Any], bool]
    dump: Callable[[Any], Any]  # the value -> the file's bytes (bytes-like)
    load: Callable[[Path], Any]


FORMATS: tuple[Format, ...] = (
    Format("parquet", ".parquet", _is_dataframe, _dump_parquet, _load_parquet),
    Format("npy", ".npy", _is_array, _dump_npy, _load_npy),
    Format("json", ".json", is_plain, _dump_json, _load_json),
    Format("pickle", ".pkl", lambda value: True, _dump_pickle, _load_pickle),
)
"""Tried in order: the first format that fits and writes the value wins. Estimators are
pickled (protocol 5): joblib.dump walks them with Python's pure-Python pickler, 10x
slower on a random forest, and joblib.load reads these files too."""
BY_NAME = {f.name: f for f in FORMATS}


@dataclasses.dataclass(frozen=True)
class Encoded:
    """A value in its format's bytes, made when its step returned (a later step may change
    the object in place): what its file will hold, and their sha256."""

    format: str
    data: Any  # bytes-like
    sha256: str


def encode(value: Any) -> Encoded:
    """The value in the first format that fits and writes it."""
    errors = []
    for fmt in FORMATS:
        if not fmt.fits(value):
            continue
        try:
            data = fmt.dump(value)
        except FAILURES as exc:  # e.g. pyarrow refusing a column: try the next format
            errors.append(f"{fmt.name}: {exc}")
            continue
        return Encoded(fmt.name, data, hashlib.sha256(data).hexdigest())
    raise NotCacheable("; ".join(errors) or type(value).__qualname__)
