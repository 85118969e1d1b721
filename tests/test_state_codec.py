"""The feature state's codec: data round-trips exactly, objects only through the
allow-list, nothing in it can run code."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler

from nb2prod.runtime import state_codec
from nb2prod.runtime.model_trust import ModelError


def roundtrip(value):
    objects: list = []
    text = json.dumps(state_codec.encode(value, objects))
    blob, types = state_codec.dump_objects(objects)
    return state_codec.decode(json.loads(text), state_codec.load_objects(blob, types))


def test_a_realistic_state_comes_back_equal():
    frame = pd.DataFrame({"a": [1.5, np.nan], "b": ["x", None]}, index=[10, 20])
    counts = pd.Series([3, 1], index=pd.Index(["plus", "free"], name="plan"), name="count")
    scaler = StandardScaler().fit(np.array([[1.0, 2.0], [3.0, 5.0]]))
    saved = {
        "values": {"columns": ["a", "b"], "scaler": scaler, "cut": (0, 10, 100),
                   "seen": {"x", "y"}, "mapping": {1: "one", None: "missing"}},
        "params": {"seed": 7, "rate": 0.25, "big": 2**70, "inf": float("inf")},
        "recorded": {"median": np.float64(71.7), "counts": counts, "frame": frame,
                     "when": pd.Timestamp("2025-03-19"), "arr": np.arange(3, dtype=np.int32),
                     "cats": {None: ["free", "plus"]}},
    }
    back = roundtrip(saved)
    values, recorded = back["values"], back["recorded"]
    assert values["columns"] == ["a", "b"] and values["cut"] == (0, 10, 100)
    assert values["seen"] == {"x", "y"} and values["mapping"] == {1: "one", None: "missing"}
    np.testing.assert_array_equal(values["scaler"].mean_, scaler.mean_)
    np.testing.assert_array_equal(values["scaler"].transform([[2.0, 3.0]]),
                                  scaler.transform([[2.0, 3.0]]))
    assert back["params"] == saved["params"]
    assert recorded["median"] == 71.7 and recorded["median"].dtype == np.float64
    pd.testing.assert_series_equal(recorded["counts"], counts)
    pd.testing.assert_frame_equal(recorded["frame"], frame)
    assert recorded["when"] == pd.Timestamp("2025-03-19")
    assert recorded["arr"].dtype == np.int32 and recorded["arr"].tolist() == [0, 1, 2]
    assert recorded["cats"] == {None: ["free", "plus"]}


def test_an_object_beyond_the_allow_list_is_refused_at_save():
    class Custom:
        pass

    with pytest.raises(ModelError, match="not on the allow-list"):
        roundtrip({"values": {"thing": Custom()}})


def skops_with(module: str, name: str) -> bytes:
    import skops.io as sio

    with zipfile.ZipFile(io.BytesIO(sio.dumps([]))) as real:
        protocol = json.loads(real.read("schema.json"))["protocol"]
    schema = {"__class__": name, "__module__": module, "__loader__": "ObjectNode",
              "content": {}, "protocol": protocol}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))
    return buffer.getvalue()


@pytest.mark.parametrize("module, name", [("os", "system"), ("builtins", "exec"),
                                          ("numpy.testing._private.utils", "runstring")])
def test_objects_naming_a_type_beyond_the_allow_list_are_refused_before_building(module, name):
    with pytest.raises(ModelError, match=f"{module}.{name}"):
        state_codec.load_objects(skops_with(module, name), [f"{module}.{name}"])


def test_objects_of_an_allowed_type_the_card_did_not_record_are_refused():
    import skops.io as sio

    data = sio.dumps([StandardScaler()])
    with pytest.raises(ModelError, match="not recorded"):
        state_codec.load_objects(data, ["builtins.list"])


@pytest.mark.parametrize("entry", [{"__nb2prod__": "eval", "text": "1"},
                                   {"__nb2prod__": "object", "index": 3},
                                   {"__nb2prod__": "object", "index": "0"}])
def test_a_json_entry_it_never_writes_is_refused(entry):
    with pytest.raises(ModelError):
        state_codec.decode(entry, [])
