"""Raw rows -> a model's input, through the notebook's own feature code.

A package whose model was fitted on features the notebook computed from a loaded
frame serves rows of that frame: its generated `inference.py` holds the notebook's
code (`load(params)`, `features(frame, state)`) and constants in a `FeaturePath`;
this module does the rest. `fit` loads the frame as the notebook did, fits the
state (feature_state.py) on it, records the data contract (contract.py) and proves
that the notebook's held-out rows, served one at a time and as one batch, get the
notebook's own predictions (a model that does not is not saved); `save` writes
DIR/features.state.json and DIR/features.skops (the state: data as JSON, fitted
objects as allow-listed skops, state_codec.py: loading it never runs code),
DIR/features.json (their sha256 and types, the statements, the proof) and
DIR/contract.json; `load_state` reads them back checked;
`raw_frame` turns a request into its checked frame (the service then runs the
feature code on it, or on several requests' frames at once).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import contract as _contract
from . import state_codec
from .batches import MAX_INSTANCES, InputError
from .feature_state import FeatureState
from .model_io import ModelError, jsonable
from .model_trust import read_regular

STATE_FILE, OBJECTS_FILE = "features.state.json", "features.skops"
CARD_FILE, CONTRACT_FILE = "features.json", "contract.json"
CARD_FORMAT = "nb2prod-features/2"
TOLERANCE = 1e-6
ONE_BY_ONE = 2000
"""Held-out rows proven one request each (all of them are proven as one batch)."""


@dataclasses.dataclass(frozen=True)
class FeaturePath:
    """The notebook's way from its loaded frame to the model's input."""

    frame: str  # the notebook's name for the loaded frame: requests are its rows
    target: str | None  # the column only the fit's y reads: not sent
    frozen: tuple[str, ...]  # step values the feature code reads, as trained
    train_rows: tuple[str, ...]  # values whose index is the rows the model was fitted on
    heldout: str | None  # what the notebook passes to the model's predict()
    heldout_rows: tuple[str, ...]  # values whose index is the held-out rows
    statements: tuple[str, ...]  # `cell C, line L (role): code`, for messages and the card
    input_key: str | None  # the value the model was fitted on (model_io)
    load: Callable[[Any], Any]  # params -> the frame, as the notebook loaded it
    features: Callable[[Any, FeatureState], Any]  # frame, state -> the model's input


def predict(path: FeaturePath, model: Any, frame: Any, state: FeatureState) -> Any:
    return model.predict(path.features(frame, state))


def fit(path: FeaturePath, values: dict[str, Any], params: Any, model: Any
        ) -> tuple[FeatureState, dict, dict]:
    """The fitted state, the data contract and the proof; ModelError if the served path
    does not give the notebook's predictions."""
    inputs = path.load(params)
    if path.target is not None:
        inputs = inputs.drop(columns=[path.target], errors="ignore")
    state = FeatureState({name: values[name] for name in path.frozen}, vars(params),
                         row_index(values, path.train_rows))
    path.features(inputs.copy(), state)
    state.fitting = False
    contract = _contract.record(inputs, optional=_optional(path, inputs, state),
                                dates=_dates(inputs))
    contract["ignored"] = [path.target] if path.target is not None else []
    return state, contract, prove(path, values, model, inputs, state, contract)


def prove(path: FeaturePath, values: dict[str, Any], model: Any, inputs: Any,
          state: FeatureState, contract: dict) -> dict[str, Any]:
    """Serve the notebook's held-out rows (as JSON rows, through the contract) one at a
    time and as one batch; refuse when a prediction differs from the notebook's."""
    name, index = path.heldout, row_index(values, path.heldout_rows)
    if name is None:  # the notebook predicts on no held-out rows: the training rows then
        name, index = path.input_key, row_index(values, path.train_rows)
        if index is None and name and len(values[name]) == len(inputs):
            index = inputs.index
    if name is None or index is None:
        return {"rows": 0, "note": "no rows whose model input the notebook computed: "
                "not proven"}
    if not inputs.index.is_unique or not index.isin(inputs.index).all():
        return {"rows": 0, "note": "the rows' index is not the loaded frame's: not proven"}
    rows = json.loads(inputs.loc[index].to_json(orient="records", double_precision=15,
                                                date_format="iso"))
    expected = model.predict(values[name])
    one = min(len(rows), ONE_BY_ONE)
    requests = [(rows, 0, "as one batch"), *((rows[i:i + 1], i, "alone") for i in range(one))]
    for sent, first, how in requests:
        frame = _contract.to_frame(sent, contract)
        served = predict(path, model, frame, state)
        k = _first_difference(expected[first:first + len(sent)], served)
        if k is not None:
            column = _first_column(values[name], first + k, path.features(frame, state), k)
            raise ModelError(
                f"row {jsonable(index[first + k])!r} served {how} predicts "
                f"{jsonable(served[k])!r}, the notebook {jsonable(expected[first + k])!r}; "
                f"the model's input differs first at {column}"
                f"{_statement(path, column)}: a statement that needs other rows than the one "
                "requested? The model is not saved")
    return {"rows": len(rows), "of": "held-out" if name == path.heldout else "training",
            "one_at_a_time": one, "tolerance": TOLERANCE}


def _first_difference(expected: Any, served: Any) -> int | None:
    import numpy as np

    expected, served = np.asarray(expected), np.asarray(served)
    if expected.dtype.kind in "fc" or served.dtype.kind in "fc":
        bad = ~np.isclose(served.astype(float), expected.astype(float), rtol=0,
                          atol=TOLERANCE, equal_nan=True)
    else:
        bad = served != expected
    return int(np.argmax(bad)) if bad.any() else None


def _first_column(notebook: Any, position: int, served: Any, k: int) -> str:
    """The first column where the served model input differs from the notebook's."""
    import numpy as np

    names = list(getattr(notebook, "columns", []))
    left, right = np.asarray(notebook)[position], np.asarray(served)[k]
    for j, (a, b) in enumerate(zip(left, right)):
        if not (a == b or (a != a and b != b) or (  # noqa: PLR0124 - NaN is NaN here
                isinstance(a, float) and abs(a - float(b)) <= TOLERANCE)):
            return repr(names[j]) if j < len(names) else f"column {j}"
    return "no column (the same input)"


def _statement(path: FeaturePath, column: str) -> str:
    """`, computed by cell C, line L: ...` for a column a path statement writes."""
    found = [s for s in path.statements if f"[{column}] =" in s]
    return f", computed by {found[-1]}" if found else ""


def row_index(values: dict[str, Any], names: tuple[str, ...]) -> Any:
    """The index of the first of `names` that is a pandas object (an array has none)."""
    for name in names:
        index = getattr(values.get(name), "index", None)
        if index is not None and not callable(index):
            return index
    return None


def _optional(path: FeaturePath, inputs: Any, state: FeatureState) -> tuple[str, ...]:
    """Columns whose value does not change the model's input (ids): a request may omit them."""
    import numpy as np

    sample = inputs.head(200)
    base = np.asarray(path.features(sample.copy(), state), dtype=object)
    return tuple(c for c in inputs.columns if _unread(path, sample, c, base, state))


def _unread(path: FeaturePath, sample: Any, column: str, base: Any, state: FeatureState
            ) -> bool:
    """True when a missing `column` leaves the model's input of `sample` as it was."""
    import numpy as np
    import pandas as pd

    try:
        out = np.asarray(path.features(sample.assign(**{column: None}), state), dtype=object)
    except Exception:  # noqa: BLE001 - whatever fails, the feature code needs the column
        return False
    return out.shape == base.shape and all(
        a == b or (pd.isna(a) and pd.isna(b)) for a, b in zip(out.ravel(), base.ravel()))


def _dates(inputs: Any) -> tuple[str, ...]:
    """Text columns whose every value is an ISO date: requests must send dates there."""
    import pandas as pd

    found = []
    for column in inputs.columns:
        present = inputs[column].dropna()
        if _contract.column_kind(inputs[column]) != "text" or present.empty:
            continue
        try:
            pd.to_datetime(present, format="ISO8601")
        except (ValueError, TypeError):
            continue
        found.append(column)
    return tuple(found)


def save(path: FeaturePath, state: FeatureState, contract: dict, proof: dict,
         out_dir: Path | str) -> None:
    """The state as JSON plus allow-listed skops (never pickle), its card and the contract;
    ModelError (nothing written) when a fitted object could not be loaded back safely."""
    out = Path(out_dir)
    objects: list[Any] = []
    data = json.dumps(state_codec.encode(state.saved(), objects), sort_keys=True).encode()
    blob, types = state_codec.dump_objects(objects)
    (out / STATE_FILE).write_bytes(data)
    (out / OBJECTS_FILE).write_bytes(blob)
    card = {"format": CARD_FORMAT, "file": STATE_FILE,
            "sha256": hashlib.sha256(data).hexdigest(),
            "objects": {"file": OBJECTS_FILE, "sha256": hashlib.sha256(blob).hexdigest(),
                        "types": types},
            "frame": path.frame,
            "target": path.target, "statements": list(path.statements),
            "frozen": list(path.frozen),
            "recorded": {key: _summary(v) for key, v in sorted(state.recorded.items())},
            "proof": proof}
    (out / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (out / CONTRACT_FILE).write_text(json.dumps(contract, indent=2) + "\n", encoding="utf-8")


def _summary(value: Any) -> Any:
    text = jsonable(value)
    return text if len(json.dumps(text)) < 2000 else f"{type(value).__name__} (large)"


def load_state(model_dir: Path | str) -> tuple[FeatureState, dict]:
    """The fitted state and the contract, once both state files match the sha256 in
    features.json and every type the skops file names is allow-listed and recorded."""
    folder = Path(model_dir)
    try:  # regular files of the folder only: a FIFO, a directory or a link out is refused
        card = json.loads(read_regular(folder / CARD_FILE, folder))
        contract = json.loads(read_regular(folder / CONTRACT_FILE, folder))
        data = read_regular(folder / STATE_FILE, folder)
        blob = read_regular(folder / OBJECTS_FILE, folder)
    except (ValueError, RecursionError) as exc:
        raise ModelError(f"{folder}: cannot read the feature state: "
                         f"{' '.join(str(exc).split())}") from None
    objects_card = card.get("objects") if isinstance(card, dict) else None
    if not isinstance(objects_card, dict) or card.get("format") != CARD_FORMAT:
        raise ModelError(f"{folder / CARD_FILE}: not a {CARD_FORMAT} card: train again")
    for name, content, expected in ((STATE_FILE, data, card.get("sha256")),
                                    (OBJECTS_FILE, blob, objects_card.get("sha256"))):
        if hashlib.sha256(content).hexdigest() != expected:
            raise ModelError(f"{folder / name}: sha256 does not match {CARD_FILE}: "
                             "refusing to load")
    types = objects_card.get("types")
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise ModelError(f"{folder / CARD_FILE}: objects.types must be a list of names")
    try:
        objects = state_codec.load_objects(blob, types)
        saved = state_codec.decode(json.loads(data), objects)
        return FeatureState.restore(saved), contract
    except ModelError as exc:
        raise ModelError(f"{folder}: {exc}") from None
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise ModelError(f"{folder / STATE_FILE}: damaged feature state: "
                         f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}") from None


def raw_frame(payload: Any, contract: dict, ranges: _contract.Ranges | None = None) -> Any:
    """A KServe v1 body of raw rows -> their frame, checked against the contract
    (InputError names the field). The service checks each request alone, then runs the
    feature code on several requests' frames at once (rows are independent: the proof
    at --model-out showed one row at a time equals the batch)."""
    if not isinstance(payload, dict):
        raise InputError("body", 'expected a JSON object: {"instances": [...]}')
    instances = payload.get("instances")
    if not isinstance(instances, list) or not instances:
        raise InputError("instances", "send a non-empty list of rows: {\"instances\": [...]}")
    if len(instances) > MAX_INSTANCES:
        raise InputError("instances", f"{len(instances)} rows: at most {MAX_INSTANCES}")
    try:
        return _contract.to_frame(instances, contract, ranges=ranges)
    except _contract.ContractError as exc:
        raise InputError(exc.field, exc.message) from None
