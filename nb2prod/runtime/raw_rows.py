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
`raw_frame` turns a request into its checked frame and `model_input` a checked frame
into the model's input (the service runs it on one request's frame, or on several
requests' frames at once). Feature code that cannot run on the loaded frame, or a
state that cannot be saved, is `Unserved`: the model is then served on its input as
fitted, and the training run says why.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
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
    frame_cell: int  # where the notebook loads it, for messages
    frame_line: int
    target: str | None  # the column only the fit's y reads: not sent
    frozen: tuple[str, ...]  # step values the feature code reads, as trained
    train_rows: tuple[str, ...]  # values whose index is the rows the model was fitted on
    heldout_rows: tuple[str, ...]  # values whose index is the held-out rows
    renumbered: bool  # a statement renumbers the rows (reset_index): not provable
    statements: tuple[str, ...]  # `cell C, line L (role): code`, for messages and the card
    load: Callable[[Any], Any]  # params -> the frame, as the notebook loaded it
    features: Callable[[Any, FeatureState], Any]  # frame, state -> the model's input
    # run values -> what the notebook passes to the model's predict (None: nothing)
    heldout_input: Callable[[dict[str, Any]], Any]
    train_input: Callable[[dict[str, Any]], Any]  # run values -> what it passes to fit


@dataclasses.dataclass(frozen=True)
class Fitted:
    """What `fit` returns and `save` writes."""

    state: FeatureState
    contract: dict
    proof: dict


class Unserved(Exception):
    """The feature code cannot run on the loaded frame (or its state cannot be saved):
    the service takes the model's input as fitted, and the CLI says why."""


def predict(path: FeaturePath, model: Any, frame: Any, state: FeatureState) -> Any:
    return model.predict(path.features(frame, state))


def fit(path: FeaturePath, values: dict[str, Any], params: Any, model: Any) -> Fitted:
    """The fitted state, the data contract and the proof; ModelError if the served path
    does not give the notebook's predictions, Unserved if it cannot run at all."""
    try:
        loaded = path.load(params)
        if not hasattr(loaded, "columns"):
            raise Unserved(f"`{path.frame}` is a {type(loaded).__name__}, not a DataFrame")
        inputs = loaded.drop(columns=[path.target], errors="ignore") if path.target \
            else loaded
        state = FeatureState({name: values[name] for name in path.frozen}, vars(params),
                             row_index(values, path.train_rows))
        path.features(loaded.copy(), state)  # fitting: the target is there for row filters
        state.fitting = False
        contract = _contract.record(inputs, optional=_optional(path, inputs, state),
                                    dates=_dates(inputs))
        contract["ignored"] = [path.target] if path.target is not None else []
        proof = prove(path, values, model, inputs, state, contract)
        encode_state(state)  # a state that cannot be written is not served
        return Fitted(state, contract, proof)
    except (ModelError, Unserved):
        raise
    except Exception as exc:  # noqa: BLE001 - the notebook's code, run on the loaded frame
        raise Unserved(f"the feature code failed on the loaded frame{where(exc, path)}: "
                       f"{type(exc).__name__}: {one_line(exc)}") from None


def where(exc: BaseException, path: FeaturePath) -> str:
    """` at cell C, line L`: the notebook statement running when `exc` was raised (the
    generated feature code marks each statement with a `# cell C, line L` comment)."""
    import linecache
    import traceback

    source = getattr(path.features, "__code__", None)
    filename = source.co_filename if source else ""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    for number in range(frames[-1].lineno if frames else 0, 0, -1):
        text = linecache.getline(filename, number).strip()
        if text.startswith("# ") and re.fullmatch(r"# (\S.*\.ipynb )?cell \d+.*", text):
            return f" at {text[2:]}"
    return ""


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def prove(path: FeaturePath, values: dict[str, Any], model: Any, inputs: Any,
          state: FeatureState, contract: dict) -> dict[str, Any]:
    """Serve the notebook's held-out rows (as JSON rows, through the contract) one at a
    time and as one batch; refuse when a prediction differs from the notebook's."""
    notebook, index, of = (path.heldout_input(values), row_index(values, path.heldout_rows),
                           "held-out")
    if notebook is None or index is None:  # no held-out predictions: the training rows
        notebook, index, of = path.train_input(values), row_index(values, path.train_rows), \
            "training"
        if index is None and _height(notebook) == len(inputs):
            index = inputs.index
    if index is None or len(index) != _height(notebook):
        return {"rows": 0, "note": "no rows whose model input the notebook computed: "
                "not proven"}
    if path.renumbered:
        return {"rows": 0, "note": "the feature code renumbers rows (reset_index): the "
                "notebook's rows cannot be found in the loaded frame; not proven"}
    if not inputs.index.is_unique or not index.isin(inputs.index).all():
        return {"rows": 0, "note": "the rows' index is not the loaded frame's: not proven"}
    rows = json.loads(inputs.loc[index].to_json(orient="records", double_precision=15,
                                                date_format="iso"))
    expected = model.predict(notebook)
    one = min(len(rows), ONE_BY_ONE)
    requests = [(rows, 0, "as one batch"), *((rows[i:i + 1], i, "alone") for i in range(one))]
    for sent, first, how in requests:
        frame = _contract.to_frame(sent, contract)
        served = predict(path, model, frame, state)
        k = _first_difference(expected[first:first + len(sent)], served)
        if k is not None:
            column = _first_column(notebook, first + k, path.features(frame, state), k)
            raise ModelError(
                f"row {jsonable(index[first + k])!r} served {how} predicts "
                f"{jsonable(served[k])!r}, the notebook {jsonable(expected[first + k])!r}; "
                f"the model's input differs first at {column}"
                f"{_statement(path, column)}: a statement that needs other rows than the one "
                "requested? The model is not saved")
    return {"rows": len(rows), "of": of, "one_at_a_time": one, "tolerance": TOLERANCE}


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
    left, right = np.asarray(_dense(notebook))[position], np.asarray(_dense(served))[k]
    for j, (a, b) in enumerate(zip(left, right)):
        if not (a == b or (a != a and b != b) or (  # noqa: PLR0124 - NaN is NaN here
                isinstance(a, float) and abs(a - float(b)) <= TOLERANCE)):
            return repr(names[j]) if j < len(names) else f"column {j}"
    return "no column (the same input)"


def _height(value: Any) -> int:
    """Rows of a frame, an array or a sparse matrix (whose len() is ambiguous)."""
    shape = getattr(value, "shape", None)
    return shape[0] if shape else len(value)


def _dense(value: Any) -> Any:
    """A sparse matrix (a TF-IDF vectorizer's output) as an array; anything else as it is."""
    return value.toarray() if hasattr(value, "toarray") else value


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
    base = np.asarray(_dense(path.features(sample.copy(), state)), dtype=object)
    return tuple(c for c in inputs.columns if _unread(path, sample, c, base, state))


def _unread(path: FeaturePath, sample: Any, column: str, base: Any, state: FeatureState
            ) -> bool:
    """True when a missing `column` leaves the model's input of `sample` as it was."""
    import numpy as np
    import pandas as pd

    try:
        out = np.asarray(_dense(path.features(sample.assign(**{column: None}), state)),
                         dtype=object)
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


def encode_state(state: FeatureState) -> tuple[bytes, bytes, list[str]]:
    """The state as JSON plus allow-listed skops (never pickle): (data, blob, types);
    Unserved when a value cannot be written so, or loaded back safely."""
    objects: list[Any] = []
    try:
        data = json.dumps(state_codec.encode(state.saved(), objects), sort_keys=True).encode()
        blob, types = state_codec.dump_objects(objects)
    except Exception as exc:  # noqa: BLE001 - whatever a frozen value cannot be written as
        raise Unserved(f"the feature state cannot be saved: {one_line(exc)}") from None
    return data, blob, types


def save(path: FeaturePath, fitted: Fitted | None, out_dir: Path | str) -> None:
    """Write what `fit` returned: the state, its card and the contract; None (the model is
    not served on raw rows) removes the files an earlier run wrote."""
    out = Path(out_dir)
    for name in (STATE_FILE, OBJECTS_FILE, CARD_FILE, CONTRACT_FILE):
        (out / name).unlink(missing_ok=True)
    if fitted is None:
        return
    state, contract, proof = fitted.state, fitted.contract, fitted.proof
    data, blob, types = encode_state(state)
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


def load_state(model_dir: Path | str) -> tuple[FeatureState | None, dict | None]:
    """The fitted state and the contract, once both state files match the sha256 in
    features.json and every type the skops file names is allow-listed and recorded;
    (None, None) when the model was saved without them (it takes its input as fitted)."""
    folder = Path(model_dir)
    if not (folder / CARD_FILE).exists() and not (folder / CARD_FILE).is_symlink():
        return None, None
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


def model_input(path: FeaturePath, frame: Any, state: FeatureState) -> Any:
    """Checked raw rows -> the model's input through the notebook's feature code; rows
    the code fails on are the request's 422 (InputError), never a 500."""
    try:
        return path.features(frame, state)
    except Exception as exc:  # noqa: BLE001 - the notebook's code refused these rows
        raise InputError("instances", f"the notebook's feature code failed on these rows"
                         f"{where(exc, path)}: {type(exc).__name__}: {one_line(exc)}"
                         ) from None
