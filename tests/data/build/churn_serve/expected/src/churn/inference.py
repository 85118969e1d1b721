"""Raw rows -> the input of churn's model: the notebook's own feature code.

Requests are rows of `df`, the frame the notebook loaded (cell 6, line 3),
without the target column `churn`. `features(frame, state)` runs the notebook's
statements from that frame to the model's input `X_train`, with every value that
depends on the whole batch (statistics, dummy columns, categories) frozen at
training in `state` (feature_state.py).

`python -m churn --model-out DIR` calls `fit`: it loads the frame as the
notebook did, fits the state on it, records the data contract (contract.py), and
proves that the notebook's held-out rows, served one at a time and as one batch,
get the notebook's own predictions; a model that does not is not saved. `save`
writes DIR/features.joblib (the state), DIR/features.json (its sha256, the
statements, the proof) and DIR/contract.json.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churn import contract as _contract
from churn.feature_state import FeatureState
from churn.model_io import MAX_INSTANCES, InputError, ModelError, jsonable

FRAME = "df"
FRAME_CELL, FRAME_LINE = 6, 3
TARGET = "churn"  # the column only the fit's y reads: not sent
FROZEN = ("feature_cols",)  # step values the feature code reads, as trained
TRAIN_ROWS = ("X_train",)  # their index: the rows the model was fitted on
HELDOUT_ROWS = ("X_test",)  # their index: the held-out rows
RENUMBERED = False  # a statement renumbers the rows (reset_index)
STATE_FILE, CARD_FILE, CONTRACT_FILE = "features.joblib", "features.json", "contract.json"
CARD_FORMAT = "nb2prod-features/1"
TOLERANCE = 1e-6
ONE_BY_ONE = 2000
"""Held-out rows proven one request each (all of them are proven as one batch)."""
STATEMENTS = [
    "cell 11, line 1 (derive): df['total_charges'] = (df['monthly_charges'] * df['tenure_months']).round(2)",
    "cell 11, line 2 (derive): df['calls_per_year'] = df['support_calls'] / (df['tenure_months'] / 12.0)",
    "cell 11, line 3 (derive): df['is_new'] = (df['tenure_months'] < 6).astype(int)",
    "cell 11, line 4 (categories): df = pd.get_dummies(df, columns=['contract'], prefix='contract', dtype=int)",
    "cell 13, line 1 (derive): X = df[feature_cols]",
    "cell 13, line 3 (split): X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)",
]


def load(params: Any) -> Any:
    """The frame as the notebook loaded it, from the training run's parameters."""
    n_customers = params.n_customers
    seed = params.seed
    # cell 6, line 1
    rng = np.random.default_rng(seed)
    # cell 6, line 2
    contract = rng.choice(['month-to-month', 'one-year', 'two-year'], size=n_customers, p=[0.55, 0.25, 0.2])
    # cell 6, line 3
    df = pd.DataFrame({'customer_id': np.arange(1, n_customers + 1), 'tenure_months': rng.integers(1, 73, size=n_customers), 'monthly_charges': np.clip(rng.normal(70.0, 20.0, size=n_customers), 20.0, 130.0).round(2), 'contract': contract, 'support_calls': rng.poisson(1.5, size=n_customers), 'has_autopay': rng.integers(0, 2, size=n_customers)})
    # cell 6, line 11
    logit = 0.8 - 0.05 * df['tenure_months'] + 0.03 * (df['monthly_charges'] - 70.0) + 0.5 * df['support_calls'] - 1.2 * (df['contract'] == 'one-year') - 2.0 * (df['contract'] == 'two-year') - 0.6 * df['has_autopay'] + rng.normal(0.0, 0.5, size=n_customers)
    # cell 6, line 21
    df['churn'] = (rng.random(n_customers) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return df


def features(frame: Any, state: FeatureState) -> Any:
    """The notebook's statements from `df` to `X_train`, the model's input."""
    df = frame
    feature_cols = state.values["feature_cols"]
    # cell 11, line 1 (derive)
    df['total_charges'] = (df['monthly_charges'] * df['tenure_months']).round(2)
    # cell 11, line 2 (derive)
    df['calls_per_year'] = df['support_calls'] / (df['tenure_months'] / 12.0)
    # cell 11, line 3 (derive)
    df['is_new'] = (df['tenure_months'] < 6).astype(int)
    # cell 11, line 4 (categories)
    df = state.dummies('11:4:1', pd.get_dummies, df, columns=['contract'], prefix='contract', dtype=int)
    # cell 13, line 1 (derive)
    X = df[feature_cols]
    # cell 13, line 3 (split)
    X_train = state.rows(X)
    return X_train


def predict(model: Any, frame: Any, state: FeatureState) -> Any:
    return model.predict(features(frame, state))


@dataclasses.dataclass(frozen=True)
class Fitted:
    """What `fit` returns and `save` writes."""

    state: FeatureState
    contract: dict
    proof: dict
    data: bytes  # the state, serialized (joblib): a state that cannot be is not served


def fit(values: dict[str, Any], params: Any, model: Any) -> Fitted:
    """The fitted state, the data contract and the proof; ModelError if the served path
    does not give the notebook's predictions."""
    try:
        loaded = load(params)
        if not hasattr(loaded, "columns"):
            raise Unserved(f"`{FRAME}` is a {type(loaded).__name__}, not a DataFrame")
        inputs = loaded.drop(columns=[TARGET], errors="ignore") if TARGET else loaded
        state = FeatureState({name: values[name] for name in FROZEN}, vars(params),
                             _index(values, TRAIN_ROWS))
        features(loaded.copy(), state)  # fitting: the target is there for row filters
        state.fitting = False
        contract = _contract.record(inputs, optional=_optional(inputs, state),
                                    dates=_dates(inputs))
        contract["ignored"] = [TARGET] if TARGET is not None else []
        proof = prove(values, model, inputs, state, contract)
        return Fitted(state, contract, proof, _dumps(state))
    except (ModelError, Unserved):
        raise
    except Exception as exc:  # noqa: BLE001 - the notebook's code, run on the loaded frame
        raise Unserved(f"the feature code failed on the loaded frame{where(exc)}: "
                       f"{type(exc).__name__}: {_one_line(exc)}") from None


class Unserved(Exception):
    """The feature code cannot run on the loaded frame: the service takes the model's
    input as fitted (model.json's input schema), and the CLI says why."""


def where(exc: BaseException) -> str:
    """` (cell C, line L ...)`: the notebook statement running when `exc` was raised."""
    import linecache
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == __file__]
    for number in range(frames[-1].lineno if frames else 0, 0, -1):
        text = linecache.getline(__file__, number).strip()
        if text.startswith("# cell "):
            return f" at {text[2:]}"
    return ""


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def prove(values: dict[str, Any], model: Any, inputs: Any, state: FeatureState,
          contract: dict) -> dict[str, Any]:
    """Serve the notebook's held-out rows (as JSON rows, through the contract) one at a
    time and as one batch; refuse when a prediction differs from the notebook's."""
    notebook, index, of = heldout_input(values), _index(values, HELDOUT_ROWS), "held-out"
    if notebook is None or index is None:  # no held-out predictions: the training rows
        notebook, index, of = train_input(values), _index(values, TRAIN_ROWS), "training"
        if index is None and _height(notebook) == len(inputs):
            index = inputs.index
    if index is None or len(index) != _height(notebook):
        return {"rows": 0, "note": "no rows whose model input the notebook computed: "
                "not proven"}
    if RENUMBERED:
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
        served = predict(model, frame, state)
        k = _first_difference(expected[first:first + len(sent)], served)
        if k is not None:
            column = _first_column(notebook, first + k, features(frame, state), k)
            raise ModelError(
                f"row {jsonable(index[first + k])!r} served {how} predicts "
                f"{jsonable(served[k])!r}, the notebook {jsonable(expected[first + k])!r}; "
                f"the model's input differs first at {column}"
                f"{_statement(column)}: a statement that needs other rows than the one "
                "requested? The model is not saved")
    return {"rows": len(rows), "of": of, "one_at_a_time": one, "tolerance": TOLERANCE}


def heldout_input(values: dict[str, Any]) -> Any:
    """What the notebook passes to the model's predict: `X_test`."""
    X_test = values["X_test"]
    return X_test


def train_input(values: dict[str, Any]) -> Any:
    """What the notebook passes to the model's fit: `X_train`."""
    X_train = values["X_train"]
    return X_train


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


def _statement(column: str) -> str:
    """`, computed by cell C, line L: ...` for a column a path statement writes."""
    found = [s for s in STATEMENTS if f"[{column}] =" in s]
    return f", computed by {found[-1]}" if found else ""


def _index(values: dict[str, Any], names: tuple[str, ...]) -> Any:
    """The index of the first of `names` that is a pandas object (an array has none)."""
    for name in names:
        index = getattr(values.get(name), "index", None)
        if index is not None and not callable(index):
            return index
    return None


def _optional(inputs: Any, state: FeatureState) -> tuple[str, ...]:
    """Columns whose value does not change the model's input (ids): a request may omit them."""
    import numpy as np

    sample = inputs.head(200)
    base = np.asarray(_dense(features(sample.copy(), state)), dtype=object)
    return tuple(c for c in inputs.columns if _unread(sample, c, base, state))


def _unread(sample: Any, column: str, base: Any, state: FeatureState) -> bool:
    """True when a missing `column` leaves the model's input of `sample` as it was."""
    import numpy as np
    import pandas as pd

    try:
        out = np.asarray(_dense(features(sample.assign(**{column: None}), state)),
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


def _dumps(state: FeatureState) -> bytes:
    import joblib

    buffer = io.BytesIO()
    try:
        joblib.dump(state.saved(), buffer)
    except Exception as exc:  # noqa: BLE001 - whatever a frozen value cannot be written as
        raise Unserved(f"the feature state cannot be saved: {_one_line(exc)}") from None
    return buffer.getvalue()


def save(fitted: Fitted | None, out_dir: Path | str) -> None:
    """Write what `fit` returned; None (not served on raw rows) removes earlier files."""
    out = Path(out_dir)
    for name in (STATE_FILE, CARD_FILE, CONTRACT_FILE):
        (out / name).unlink(missing_ok=True)
    if fitted is None:
        return
    state, contract, proof, data = (fitted.state, fitted.contract, fitted.proof,
                                    fitted.data)
    (out / STATE_FILE).write_bytes(data)
    card = {"format": CARD_FORMAT, "file": STATE_FILE,
            "sha256": hashlib.sha256(data).hexdigest(), "frame": FRAME, "target": TARGET,
            "statements": STATEMENTS, "frozen": list(FROZEN),
            "recorded": {key: _summary(v) for key, v in sorted(state.recorded.items())},
            "proof": proof}
    (out / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (out / CONTRACT_FILE).write_text(json.dumps(contract, indent=2) + "\n", encoding="utf-8")


def _summary(value: Any) -> Any:
    text = jsonable(value)
    return text if len(json.dumps(text)) < 2000 else f"{type(value).__name__} (large)"


def load_state(model_dir: Path | str) -> tuple[FeatureState | None, dict | None]:
    """The fitted state (after its sha256 matches features.json) and the contract;
    (None, None) when the model was saved without them (it takes its input as fitted)."""
    folder = Path(model_dir)
    if not (folder / CARD_FILE).exists():
        return None, None
    try:
        card = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
        contract = json.loads((folder / CONTRACT_FILE).read_text(encoding="utf-8"))
        data = (folder / STATE_FILE).read_bytes()
    except (OSError, ValueError) as exc:
        raise ModelError(f"{folder}: cannot read the feature state: "
                         f"{' '.join(str(exc).split())}") from None
    if not isinstance(card, dict) or hashlib.sha256(data).hexdigest() != card.get("sha256"):
        raise ModelError(f"{folder / STATE_FILE}: sha256 does not match {CARD_FILE}: "
                         "refusing to load")
    import joblib

    return FeatureState.restore(joblib.load(io.BytesIO(data))), contract


def check_contract(model_dir: Path | str, params: Any) -> str | None:
    """Before a training run on new data: why the frame `load(params)` gives breaks the
    contract saved in `model_dir` (one line), or None when it keeps it."""
    _, rules = load_state(model_dir)
    if rules is None:
        raise ModelError(f"{model_dir}: no {CONTRACT_FILE}: train with --model-out first")
    loaded = load(params)
    inputs = loaded.drop(columns=[TARGET], errors="ignore") if TARGET else loaded
    where = f"`{FRAME}` (cell {FRAME_CELL}, line {FRAME_LINE})"
    try:
        _, rejects = _contract.check_frame(inputs.reset_index(drop=True), rules)
    except _contract.ContractError as exc:
        return f"{where}: {exc.field}: {exc.message} (the contract of {model_dir})"
    if not rejects:
        return None
    row, column, reason = rejects[0]
    return (f"{where}: {len(rejects)} of {len(inputs)} rows break the contract of "
            f"{model_dir}; first: row {row}, {column}: {reason}")


def model_input(payload: Any, state: FeatureState, contract: dict,
                ranges: _contract.Ranges | None = None) -> Any:
    """A KServe v1 body of raw rows -> the model's input; InputError names the field."""
    if not isinstance(payload, dict):
        raise InputError("body", 'expected a JSON object: {"instances": [...]}')
    instances = payload.get("instances")
    if not isinstance(instances, list) or not instances:
        raise InputError("instances", "send a non-empty list of rows: {\"instances\": [...]}")
    if len(instances) > MAX_INSTANCES:
        raise InputError("instances", f"{len(instances)} rows: at most {MAX_INSTANCES}")
    try:
        frame = _contract.to_frame(instances, contract, ranges=ranges)
    except _contract.ContractError as exc:
        raise InputError(exc.field, exc.message) from None
    try:
        return features(frame, state)
    except Exception as exc:  # noqa: BLE001 - the notebook's code refused these rows
        raise InputError("instances", f"the notebook's feature code failed on these rows"
                         f"{where(exc)}: {type(exc).__name__}: {_one_line(exc)}") from None
