"""The fitted model of churn: which value it is and where it came from.

Saving it with its card and loading it back checked (`--model-out DIR`, the service)
are the shared runtime's `_runtime/model_io.py` and `_runtime/model_trust.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from churn._runtime import model_io as _model_io
from churn._runtime.model_io import (  # noqa: F401 - this package's API
    CARD,
    CARD_FORMAT,
    MAX_INSTANCES,
    Checked,
    InputError,
    ModelError,
    build_model,
    check_model,
    input_schema,
    jsonable,
    load_model,
    read_card,
    to_batch,
)

MODEL = _model_io.ModelSpec(
    value="model",  # the notebook's name (cell 15, chosen by fit)
    key="model",  # its key in run_steps' values
    input_key="X_train",  # the value it was fitted on (None: unknown)
    package="churn",
    notebook="churn.ipynb",
    notebook_sha256="f8d543cfcbac36c0402da389a6626028a946458df635173d14b8b418bbffc5ec",
    nb2prod_version="0.1.0",
)
INPUT_KEY = MODEL.input_key


def fitted(values: dict[str, Any]) -> tuple[Any, Any]:
    """The model and the value it was fitted on, from the values of run_steps()."""
    return _model_io.fitted(MODEL, values)


def save_model(values: dict[str, Any], params: Any, metrics: dict[str, Any],
               out_dir: Path | str) -> Path:
    """Write the artifact and model.json into `out_dir`; return the card's path."""
    return _model_io.save_model(MODEL, values, params, metrics, out_dir)
