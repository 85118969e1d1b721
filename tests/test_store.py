"""The step cache's storage (`nb2prod/runtime/store.py`, `formats.py`, vendored into every
package): every value comes back exactly as it went in, whichever format wrote it;
damaged entries are never loaded."""

from __future__ import annotations

import json
import types
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from nb2prod.runtime import formats as runtime_formats
from nb2prod.runtime import store as runtime_store


@pytest.fixture(scope="module")
def store():
    """The names of both modules, in one namespace."""
    return types.SimpleNamespace(**{**vars(runtime_formats), **vars(runtime_store)})


def _rng():
    return np.random.default_rng(7)


def _numeric(rows: int = 50) -> pd.DataFrame:
    rng = _rng()
    return pd.DataFrame({"i": rng.integers(-5, 5, rows), "f": rng.normal(size=rows),
                         "b": rng.random(rows) > 0.5, "u8": rng.integers(0, 200, rows).astype("uint8"),
                         "f32": rng.normal(size=rows).astype("float32")})


# frames _plain_table writes without pandas' metadata, and how each is made
PLAIN = {
    "numeric, RangeIndex": _numeric,
    "RangeIndex from 10 by 3": lambda: _numeric().set_axis(pd.RangeIndex(10, 160, 3)),
    "shuffled int64 index": lambda: _numeric().sample(frac=1.0, random_state=1),
    "repeated index labels": lambda: _numeric(4).set_axis([3, 3, -1, 0]),
    "NaN and inf": lambda: pd.DataFrame({"x": [np.nan, np.inf, -np.inf, 0.0]}),
    "str column with a missing value": lambda: pd.DataFrame({"s": ["a", None, "é"], "n": [1, 2, 3]}),
    "no rows": lambda: _numeric().iloc[:0],
}
# frames pyarrow's own conversion writes (pandas' metadata), and how each is made
PANDAS = {
    "named index": lambda: _numeric().rename_axis("customer"),
    "named columns": lambda: _numeric().rename_axis(columns="feature"),
    "string index": lambda: _numeric(3).set_axis(["a", "b", "c"]),
    "MultiIndex": lambda: _numeric(4).set_index(["i", "b"]),
    "categorical": lambda: pd.DataFrame({"c": pd.Categorical(["x", "y", "x"])}),
    "datetimes with a time zone": lambda: pd.DataFrame(
        {"t": pd.date_range("2026-01-01", periods=3, tz="Europe/Paris")}),
    "nullable integers": lambda: pd.DataFrame({"n": pd.array([1, None, 3], dtype="Int64")}),
    "column named like the index note": lambda: pd.DataFrame({"__nb2prod_index__": [1]}),
}


@pytest.mark.parametrize("name", [*PLAIN, *PANDAS])
def test_a_frame_comes_back_exactly(store, tmp_path, name):
    frame = {**PLAIN, **PANDAS}[name]()
    assert (store._plain_table(frame) is not None) == (name in PLAIN)
    encoded = store.encode(frame)
    assert encoded.format == "parquet"
    (tmp_path / "frame.parquet").write_bytes(encoded.data)
    back = store._load_parquet(tmp_path / "frame.parquet")
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert type(back.index) is type(frame.index)
    assert back.columns.dtype == frame.columns.dtype


def test_a_frame_without_columns_is_pickled_with_its_rows(store):
    frame = pd.DataFrame(index=range(3))  # parquet would give back no rows
    encoded = store.encode(frame)
    assert encoded.format == "pickle"
    pd.testing.assert_frame_equal(store.pickle.loads(encoded.data), frame)


def test_an_entry_keeps_every_kind_of_value(store, tmp_path):
    values = {"frame": _numeric(), "series": _numeric()["f"], "array": np.arange(6).reshape(2, 3),
              "short": ["a", 1, None, {"k": 2.5}], "long": list(range(5000)),
              "other": Fraction(1, 3)}
    cache = store.Store(tmp_path)
    encoded = {name: store.encode(value) for name, value in values.items()}
    cache.save("step", "k1", encoded, "printed\n", {"frame": "DataFrame(50, 5)"})
    entry_file = tmp_path / "step-k1.json"
    outputs = json.loads(entry_file.read_text())["outputs"]
    assert {n: o["format"] for n, o in outputs.items()} == {
        "frame": "parquet", "series": "pickle", "array": "npy", "short": "json",
        "long": "json", "other": "pickle"}
    assert "text" in outputs["short"] and "file" not in outputs["short"]  # kept in the entry
    assert "file" in outputs["long"]  # over INLINE_BYTES: its own file
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["step-k1.json", *(o["file"] for o in outputs.values() if "file" in o)])
    entry = cache.load("step", "k1")
    assert entry.printed == "printed\n" and entry.digests == {
        n: e.sha256 for n, e in encoded.items()}
    back = {name: lazy.value() for name, lazy in entry.values.items()}
    pd.testing.assert_frame_equal(back.pop("frame"), values.pop("frame"), check_exact=True)
    pd.testing.assert_series_equal(back.pop("series"), values.pop("series"), check_exact=True)
    np.testing.assert_array_equal(back.pop("array"), values.pop("array"))
    assert back == values


def _saved(store, tmp_path):
    cache = store.Store(tmp_path)
    cache.save("step", "k", {"frame": store.encode(_numeric()), "note": store.encode([1, 2])},
               "", {})
    assert cache.load("step", "k") is not None
    return cache, tmp_path / "step-k.json"


def test_a_changed_file_is_never_loaded(store, tmp_path):
    cache, entry_file = _saved(store, tmp_path)
    data_file = tmp_path / json.loads(entry_file.read_text())["outputs"]["frame"]["file"]
    data = bytearray(data_file.read_bytes())
    data[len(data) // 2] ^= 1
    data_file.write_bytes(bytes(data))
    assert cache.has("step", "k") and cache.load("step", "k") is None


def test_a_changed_inline_text_is_never_loaded(store, tmp_path):
    cache, entry_file = _saved(store, tmp_path)
    entry_file.write_text(entry_file.read_text().replace("[1, 2]", "[1, 3]"))
    assert cache.load("step", "k") is None


@pytest.mark.parametrize("damage", ["truncated", "deleted data file"])
def test_a_broken_entry_is_not_loaded(store, tmp_path, damage):
    cache, entry_file = _saved(store, tmp_path)
    if damage == "truncated":
        entry_file.write_text(entry_file.read_text()[:40])
    else:
        (tmp_path / json.loads(entry_file.read_text())["outputs"]["frame"]["file"]).unlink()
    assert cache.load("step", "k") is None


def test_saving_a_key_again_replaces_its_entry(store, tmp_path):
    cache, _ = _saved(store, tmp_path)
    cache.save("step", "k", {"note": store.encode("again")}, "", {})
    assert cache.load("step", "k").values["note"].value() == "again"


def test_an_entry_is_bound_to_its_step_and_key(store, tmp_path):
    """A copied or swapped entry file is a miss, never another step's or run's result."""
    cache, entry_file = _saved(store, tmp_path)
    for step, key in (("other", "k"), ("step", "k2")):
        (tmp_path / f"{step}-{key}.json").write_bytes(entry_file.read_bytes())
        assert cache.has(step, key) and cache.load(step, key) is None
    assert cache.load("step", "k", ("frame", "note")) is not None
    assert cache.load("step", "k", ("frame",)) is None  # not the outputs the step has now


def test_an_output_file_that_is_not_a_regular_file_is_never_read(store, tmp_path):
    import os

    cache, entry_file = _saved(store, tmp_path)
    data_file = tmp_path / json.loads(entry_file.read_text())["outputs"]["frame"]["file"]
    data_file.unlink()
    os.mkfifo(data_file)  # reading it would block forever
    assert cache.load("step", "k") is None
