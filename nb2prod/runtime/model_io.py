"""A served model: save it with its card, load it back checked.

`python -m PKG --model-out DIR` writes DIR/model.skops (DIR/model.joblib when
the model holds types outside model_trust's allow-list) and DIR/model.json, the
card: the artifact's sha256 and the exact type names it uses, the model type, the
input schema (the columns and dtypes, or the width, of the value it was fitted
on), library versions, parameters and metrics. Loading is two stages:
`check_model` (cheap, before a server listens) validates the card field by field,
reads the artifact as a regular file of the directory, compares its sha256 and
checks every name in a skops file against the allow-list, building nothing;
`build_model` then builds it and refuses anything without predict(). A joblib
file (pickle) is refused unless the caller trusts it. Requests are checked
against the input schema by `to_batch`. What is the package's own (which value
is the model, the notebook, the package's name) comes in a `ModelSpec` from the
package's generated `model_io.py`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from .batches import MAX_INSTANCES, InputError, to_batch
from .model_trust import (  # the card's checks are trust checks: one place
    CARD,
    CARD_FORMAT,
    ModelError,
    allowed_names,
    check_skops,
    check_trees,
    load_skops,
    read_card,
    read_regular,
    skops_names,
)

LIBRARIES = ("numpy", "pandas", "scikit-learn", "scipy", "skops", "joblib")

PICKLE_WARNING = ("a pickle runs any code its writer put in it; serve it only if you "
                  "trust whoever wrote this directory, with --trust-pickle")


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """Which value of a package's run is its model, and what its card says it came from."""

    value: str  # the notebook's name for the model
    key: str  # its key in run_steps' values
    input_key: str | None  # the value it was fitted on (None: unknown)
    package: str  # the distribution name
    notebook: str
    notebook_sha256: str
    nb2prod_version: str


@dataclasses.dataclass(frozen=True)
class Checked:
    """A model directory that passed every check that builds nothing."""

    directory: Path
    card: dict[str, Any]
    data: bytes  # the artifact's bytes, exactly those that were hashed
    names: tuple[str, ...]  # a skops file's type names, all allowed and recorded


def fitted(spec: ModelSpec, values: dict[str, Any]) -> tuple[Any, Any]:
    """The model and the value it was fitted on, from the values of run_steps()."""
    return values[spec.key], values[spec.input_key] if spec.input_key else None


def input_schema(x: Any, model: Any) -> dict[str, Any]:
    """Columns and dtypes of a DataFrame, the width of an array, else what the model knows."""
    if x is not None and hasattr(x, "columns") and hasattr(x, "dtypes"):
        return {"kind": "dataframe", "columns": [
            {"name": str(c), "dtype": str(t)} for c, t in zip(x.columns, x.dtypes)]}
    shape = getattr(x, "shape", None)
    if shape is not None and len(shape) == 2:
        return {"kind": "array", "width": int(shape[1]), "dtype": str(x.dtype)}
    if shape is not None and len(shape) == 1 or isinstance(x, (list, tuple)):
        return {"kind": "items", "dtype": str(getattr(x, "dtype", "object"))}
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return {"kind": "dataframe", "columns": [{"name": str(n), "dtype": "float64"}
                                                 for n in names]}
    width = getattr(model, "n_features_in_", None)
    if width is not None:
        return {"kind": "array", "width": int(width), "dtype": "float64"}
    return {"kind": "any"}


def jsonable(value: Any) -> Any:
    """numpy and pandas values become plain JSON; anything else its repr()."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    for method in ("tolist", "to_dict", "item"):
        if hasattr(value, method):
            return jsonable(getattr(value, method)())
    return repr(value)


def save_model(spec: ModelSpec, values: dict[str, Any], params: Any,
               metrics: dict[str, Any], out_dir: Path | str) -> Path:
    """Write the artifact and model.json into `out_dir`; return the card's path."""
    model, x = fitted(spec, values)
    if not callable(getattr(model, "predict", None)):
        raise ModelError(f"`{spec.value}` ({type(model).__name__}) has no predict(): "
                         "not a model; tag the model's cell `model:NAME`")
    data, fmt, why = _serialize(model, spec.package)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("model.skops", "model.joblib"):
        (out / stale).unlink(missing_ok=True)
    artifact = out / f"model.{fmt}"
    artifact.write_bytes(data)
    card = {
        "format": CARD_FORMAT,
        "artifact": {"file": artifact.name, "format": fmt, "bytes": len(data),
                     "sha256": hashlib.sha256(data).hexdigest(), **why},
        "model_type": f"{type(model).__module__}.{type(model).__qualname__}",
        "model_value": spec.value,
        "fitted_on": spec.input_key,
        "input_schema": input_schema(x, model),
        "outputs": {"predict_proba": callable(getattr(model, "predict_proba", None)),
                    "classes": jsonable(getattr(model, "classes_", None))},
        "library_versions": {"python": platform.python_version(), **_versions()},
        "params": jsonable(dataclasses.asdict(params)),
        "metrics": jsonable(metrics),
        "package": {"name": spec.package, "version": _version(spec.package)},
        "notebook": spec.notebook,
        "notebook_sha256": spec.notebook_sha256,
        "nb2prod_version": spec.nb2prod_version,
    }
    path = out / CARD
    path.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _serialize(model: Any, package: str) -> tuple[bytes, str, dict[str, Any]]:
    """skops when every name in the dumped file is on the allow-list, with those names
    (`types`, checked again at load); else joblib, with the reason (`pickle_reason`)."""
    try:
        import skops.io as sio
    except ImportError:
        raise ModelError(f"saving the model needs skops: pip install '{package}[serve]'"
                         ) from None
    try:
        data = sio.dumps(model)
        _, names = skops_names(data)
        outside = [name for name in names if name not in allowed_names()]
        reason = f"types outside the allow-list: {', '.join(outside)}" if outside else ""
    except Exception as exc:  # noqa: BLE001 - a type skops cannot write: joblib below
        reason = f"skops cannot write it: {' '.join(str(exc).split())[:200]}"
    if not reason:
        return data, "skops", {"types": names}
    import joblib

    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue(), "joblib", {"pickle_reason": reason}


def _versions() -> dict[str, str]:
    return {name: v for name in LIBRARIES if (v := _version(name))}


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


def check_model(model_dir: Path | str, trust_pickle: bool = False) -> Checked:
    """Every check that builds nothing: the card, the artifact (a regular file of the
    directory) and its sha256, then a skops file's names against the allow-list, or a
    pickle refused unless `trust_pickle`. ModelError with one line otherwise."""
    directory = Path(model_dir)
    card = read_card(directory)
    artifact = card["artifact"]
    path = directory / artifact["file"]
    data = read_regular(path, directory)
    digest = hashlib.sha256(data).hexdigest()
    if digest != artifact["sha256"]:
        raise ModelError(f"{path}: sha256 {digest[:12]} does not match {CARD} "
                         f"({artifact['sha256'][:12]}): refusing to load")
    if artifact["format"] == "joblib":
        if not trust_pickle:
            raise ModelError(f"{path}: {PICKLE_WARNING}")
        return Checked(directory, card, data, ())
    try:
        names = check_skops(data, artifact["types"])
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None
    return Checked(directory, card, data, tuple(names))


def build_model(checked: Checked) -> Any:
    """The model, built from the bytes `check_model` passed; it must have predict()."""
    path = checked.directory / checked.card["artifact"]["file"]
    try:
        if checked.card["artifact"]["format"] == "skops":
            model = load_skops(checked.data, list(checked.names))
        else:
            import joblib

            model = joblib.load(io.BytesIO(checked.data))  # trusted by the caller
        check_trees(model)
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a damaged pickle fails in any way
        raise ModelError(f"{path}: cannot load: {_one_line(exc)}") from None
    if not callable(getattr(model, "predict", None)):
        raise ModelError(f"{path}: holds a {type(model).__name__}, not a model with "
                         "predict(): refusing to serve it")
    return model


def load_model(model_dir: Path | str, trust_pickle: bool = False) -> tuple[Any, dict[str, Any]]:
    """The model and its card, after every check; ModelError with one line otherwise."""
    checked = check_model(model_dir, trust_pickle)
    return build_model(checked), checked.card


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


__all__ = ["CARD", "CARD_FORMAT", "MAX_INSTANCES", "Checked", "InputError", "ModelError",
           "ModelSpec", "build_model", "check_model", "fitted", "input_schema", "jsonable",
           "load_model", "read_card", "save_model", "to_batch"]
