"""Raw rows -> the input of churn's model: the notebook's own feature code.

Requests are rows of `df`, the frame the notebook loaded (cell 6, line 3),
without the target column `churn`. `features(frame, state)` runs the notebook's
statements from that frame to the model's input `X_train`; fitting its state, proving
the held-out rows and saving are the shared runtime's (`_runtime/raw_rows.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churn._runtime import raw_rows, score
from churn._runtime.feature_state import FeatureState
from churn._runtime.model_io import ModelError  # noqa: F401
from churn._runtime.raw_rows import (  # noqa: F401
    CARD_FILE,
    CONTRACT_FILE,
    STATE_FILE,
    Fitted,
    Unserved,
)

FRAME = "df"
FRAME_CELL, FRAME_LINE = 6, 3
TARGET = "churn"  # the column only the fit's y reads: not sent
FROZEN = ("feature_cols",)  # step values the feature code reads, as trained
TRAIN_ROWS = ("X_train",)  # their index: the rows the model was fitted on
HELDOUT_ROWS = ("X_test",)  # their index: the held-out rows
RENUMBERED = False  # a statement renumbers the rows (reset_index)
STATEMENTS = (
    "cell 11, line 1 (derive): df['total_charges'] = (df['monthly_charges'] * df['tenure_months']).round(2)",
    "cell 11, line 2 (derive): df['calls_per_year'] = df['support_calls'] / (df['tenure_months'] / 12.0)",
    "cell 11, line 3 (derive): df['is_new'] = (df['tenure_months'] < 6).astype(int)",
    "cell 11, line 4 (categories): df = pd.get_dummies(df, columns=['contract'], prefix='contract', dtype=int)",
    "cell 13, line 1 (derive): X = df[feature_cols]",
    "cell 13, line 3 (split): X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)",
)


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


def heldout_input(values: dict[str, Any]) -> Any:
    """What the notebook passes to the model's predict: `X_test`."""
    X_test = values["X_test"]
    return X_test


def train_input(values: dict[str, Any]) -> Any:
    """What the notebook passes to the model's fit: `X_train`."""
    X_train = values["X_train"]
    return X_train


PATH = raw_rows.FeaturePath(
    frame=FRAME, frame_cell=FRAME_CELL, frame_line=FRAME_LINE, target=TARGET, frozen=FROZEN,
    train_rows=TRAIN_ROWS, heldout_rows=HELDOUT_ROWS, renumbered=RENUMBERED,
    statements=STATEMENTS, load=load, features=features, heldout_input=heldout_input,
    train_input=train_input)
_index = raw_rows.row_index  # the rows of the first of some values that has an index


def fit(values: dict[str, Any], params: Any, model: Any) -> Fitted:
    """The fitted state, the data contract and the proof (see _runtime/raw_rows.py);
    Unserved when the feature code cannot run on the loaded frame."""
    return raw_rows.fit(PATH, values, params, model)


def save(fitted: Fitted | None, out_dir: Path | str) -> None:
    raw_rows.save(PATH, fitted, out_dir)


def load_state(model_dir: Path | str) -> tuple[FeatureState | None, dict | None]:
    return raw_rows.load_state(model_dir)


def check_contract(model_dir: Path | str, params: Any) -> str | None:
    """`--check-contract DIR`: why the loaded frame breaks DIR's contract, or None."""
    return score.check_contract(PATH, model_dir, params)
