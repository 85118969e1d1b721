"""What a model directory may make the loader do, decided before anything is built.

A skops file is a zip whose `schema.json` names, node by node, the classes and
functions loading imports and calls. Loading trusts names, not namespaces: every
name in the file must be on the allow-list below (exact names: scikit-learn's
estimators and the few internal helpers their fitted state holds, numpy's arrays,
dtypes and ufuncs, plain containers) and among the names the card recorded when
the model was saved. Anything else, `numpy.testing._private.utils.runstring`
included, is refused in one line naming it, before a single object is built or
a module named by the file is imported. Pickle-based files (joblib) run whatever
they name: they load only when the caller trusts them explicitly.

Files are read only when they are regular files inside the model directory: a
FIFO, a device, a directory or a symlink pointing elsewhere is refused unopened.
The card (model.json) is checked field by field, so a damaged one is refused at
start rather than served with 422 forever. Generic: nothing here depends on the
notebook.
"""

from __future__ import annotations

import functools
import importlib
import io
import json
import os
import re
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

SAFE_NAMES = frozenset({
    # plain values and containers skops writes as nodes
    "builtins.bool", "builtins.bytearray", "builtins.bytes", "builtins.complex",
    "builtins.dict", "builtins.float", "builtins.int", "builtins.list", "builtins.set",
    "builtins.slice", "builtins.str", "builtins.tuple",
    "collections.OrderedDict", "collections.defaultdict",
    # numpy arrays, dtypes, scalars and random states (data, no code)
    "numpy.ndarray", "numpy.dtype", "numpy.ma.core.MaskedArray",
    "numpy.random.mtrand.RandomState", "numpy.random._generator.Generator",
    "numpy.bool", "numpy.bool_", "numpy.int8", "numpy.int16", "numpy.int32", "numpy.int64",
    "numpy.uint8", "numpy.uint16", "numpy.uint32", "numpy.uint64", "numpy.float16",
    "numpy.float32", "numpy.float64", "numpy.longdouble", "numpy.complex64",
    "numpy.complex128", "numpy.clongdouble", "numpy.str_", "numpy.bytes_",
    "numpy.datetime64", "numpy.timedelta64", "numpy.object_",
    # scipy sparse matrices (loaded by scipy without pickle)
    "scipy.sparse._csr.csr_matrix", "scipy.sparse._csc.csc_matrix",
    "scipy.sparse._coo.coo_matrix", "scipy.sparse._csr.csr_array",
    "scipy.sparse._csc.csc_array", "scipy.sparse._coo.coo_array",
    # scikit-learn internals held by fitted estimators; Tree's node indices are
    # bounds-checked after loading (check_trees)
    "sklearn.tree._tree.Tree",
    "sklearn._loss.link.IdentityLink", "sklearn._loss.link.LogLink",
    "sklearn._loss.link.LogitLink", "sklearn._loss.link.HalfLogitLink",
    "sklearn._loss.link.MultinomialLogit", "sklearn._loss.link.Interval",
    *(f"sklearn._loss.loss.{name}" for name in (
        "HalfSquaredError", "AbsoluteError", "PinballLoss", "HuberLoss", "HalfPoissonLoss",
        "HalfGammaLoss", "HalfTweedieLoss", "HalfTweedieLossIdentity", "HalfBinomialLoss",
        "HalfMultinomialLoss", "ExponentialLoss")),
    *(f"sklearn._loss._loss.Cy{name}" for name in (
        "HalfSquaredError", "AbsoluteError", "PinballLoss", "HuberLoss", "HalfPoissonLoss",
        "HalfGammaLoss", "HalfTweedieLoss", "HalfTweedieLossIdentity", "HalfBinomialLoss",
        "HalfMultinomialLoss", "ExponentialLoss")),
    *(f"sklearn.linear_model._sgd_fast.{name}" for name in (
        "Hinge", "SquaredHinge", "ModifiedHuber", "Log", "SquaredLoss", "Huber",
        "EpsilonInsensitive", "SquaredEpsilonInsensitive")),
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    # score functions feature selectors keep (pure functions)
    *(f"sklearn.feature_selection._univariate_selection.{name}" for name in (
        "f_classif", "f_regression", "r_regression", "chi2")),
    "sklearn.feature_selection._mutual_info.mutual_info_classif",
    "sklearn.feature_selection._mutual_info.mutual_info_regression",
})
"""Exact names a model file may use besides scikit-learn's estimators and numpy's
ufuncs (`allowed_names`). Not here on purpose: KD/Ball trees and histogram
gradient boosting's predictors (raw indices scikit-learn reads unchecked, with no
check of ours yet), functools.partial, bound methods, operator functions, and every
other function: a model using them is saved with pickle and served only with
`--trust-pickle`."""

SAFE_LOADERS = frozenset({
    "DictNode", "DefaultDictNode", "ListNode", "SetNode", "TupleNode", "SliceNode",
    "JsonNode", "BytesNode", "BytearrayNode", "TypeNode", "FunctionNode", "ObjectNode",
    "ConstructorFromReduceNode", "NdArrayNode", "MaskedArrayNode",
    "DTypeNode", "RandomStateNode", "RandomGeneratorNode", "SparseMatrixNode",
    "TreeNode", "LossNode",
})
"""skops node kinds a model file may use. Not MethodNode, PartialNode and
OperatorFuncNode (they call names that are not types, and no model we save needs
them), nor CachedNode (skops does not write it)."""

CARD = "model.json"
CARD_FORMAT = "nb2prod-model/2"
SCHEMA_KINDS = ("dataframe", "array", "items", "any")
MAX_CARD_BYTES = 16 * 1024 * 1024
MAX_SCHEMA_BYTES = 512 * 1024 * 1024
MAX_UNPACKED_RATIO = 64  # zip entries may unpack to at most this many times the file


class ModelError(Exception):
    """A model directory that cannot be saved or must not be loaded; the text is one line."""


def read_regular(path: Path, folder: Path, limit: int | None = None) -> bytes:
    """The bytes of `path`, a regular file inside `folder` (symlinks resolved), read
    through one descriptor that was checked to be a regular file: a FIFO, a device or a
    directory is refused without blocking, and never read."""
    real, home = os.path.realpath(path), os.path.realpath(folder)
    if os.path.commonpath([real, home]) != home:
        raise ModelError(f"{path}: points outside the model directory ({real})")
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise ModelError(f"{path}: cannot open: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ModelError(f"{path}: not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(-1 if limit is None else limit + 1)
    finally:
        os.close(fd)
    if limit is not None and len(data) > limit:
        raise ModelError(f"{path}: larger than {limit} bytes")
    return data


def read_card(model_dir: Path | str) -> dict[str, Any]:
    """model.json, once every field loading and serving rely on is there and well-formed."""
    path = Path(model_dir) / CARD
    data = read_regular(path, Path(model_dir), MAX_CARD_BYTES)
    try:
        card = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelError(f"{path}: not JSON: {_one_line(exc)}") from None
    problem = card_problem(card)
    if problem:
        raise ModelError(f"{path}: {problem}")
    return card


def card_problem(card: Any) -> str | None:
    """What is wrong with a parsed card, naming the field (None: nothing)."""
    if not isinstance(card, dict):
        return f"not an nb2prod model card: a JSON {type(card).__name__}, not an object"
    for field, valid, wanted in CARD_RULES:
        if not valid(card):
            return f"{field}: expected {wanted}"
    return schema_problem(card["input_schema"])


_SHA256 = re.compile(r"[0-9a-f]{64}")
CARD_RULES: tuple[tuple[str, Callable[[dict[str, Any]], bool], str], ...] = (
    ("format", lambda c: c.get("format") == CARD_FORMAT,
     f"{CARD_FORMAT!r} (save the model again with this package)"),
    ("artifact", lambda c: isinstance(c.get("artifact"), dict), "an object"),
    ("artifact.file", lambda c: isinstance(c["artifact"].get("file"), str)
     and c["artifact"]["file"] in ("model.skops", "model.joblib"),
     "model.skops or model.joblib"),
    ("artifact.format", lambda c: c["artifact"].get("format") in ("skops", "joblib")
     and c["artifact"]["file"] == f"model.{c['artifact']['format']}",
     "skops or joblib, matching the file name"),
    ("artifact.sha256", lambda c: isinstance(c["artifact"].get("sha256"), str)
     and _SHA256.fullmatch(c["artifact"]["sha256"]) is not None, "64 hex digits"),
    ("artifact.types", lambda c: c["artifact"]["format"] != "skops" or (
        isinstance(c["artifact"].get("types"), list)
        and all(isinstance(t, str) for t in c["artifact"]["types"])),
     "the list of type names the skops file uses"),
    ("model_type", lambda c: isinstance(c.get("model_type"), str) and bool(c["model_type"]),
     "the model's type name"),
    ("input_schema", lambda c: isinstance(c.get("input_schema"), dict)
     and c["input_schema"].get("kind") in SCHEMA_KINDS,
     "an object whose kind is dataframe, array, items or any"),
)
"""Card field -> check (earlier rules hold when a later one runs) -> what it must be."""


def schema_problem(schema: dict[str, Any]) -> str | None:
    """What is wrong with an input schema, naming the field (None: nothing), so a bad
    card is refused at start rather than answering every request 422."""
    kind = schema["kind"]
    if kind == "dataframe":
        columns = schema.get("columns")
        if not isinstance(columns, list) or not columns:
            return "input_schema.columns: expected a non-empty list"
        for i, column in enumerate(columns):
            if not isinstance(column, dict) or not isinstance(column.get("name"), str):
                return f"input_schema.columns[{i}].name: expected a string"
            if not _is_dtype(column.get("dtype")):
                return f"input_schema.columns[{i}].dtype: expected a dtype name"
        if len({c["name"] for c in columns}) != len(columns):
            return "input_schema.columns: expected unique names"
    elif kind == "array":
        width = schema.get("width")
        if not isinstance(width, int) or isinstance(width, bool) or width < 1:
            return "input_schema.width: expected a positive integer"
    if kind in ("array", "items") and not _is_dtype(schema.get("dtype")):
        return "input_schema.dtype: expected a dtype name"
    return None


def _is_dtype(name: Any) -> bool:
    if not isinstance(name, str):
        return False
    import pandas as pd

    try:
        pd.api.types.pandas_dtype(name)
    except (TypeError, ValueError):
        return False
    return True


@functools.lru_cache(maxsize=1)
def allowed_names() -> frozenset[str]:
    """SAFE_NAMES, scikit-learn's estimator classes and numpy's ufuncs, by exact name."""
    import numpy as np
    from sklearn.utils import all_estimators

    estimators = {f"{cls.__module__}.{cls.__qualname__}" for _, cls in all_estimators()}
    ufuncs = {f"numpy.{name}" for name in dir(np)
              if isinstance(getattr(np, name, None), np.ufunc)}
    return SAFE_NAMES | {n for n in estimators if n.startswith("sklearn.")} | ufuncs


def current_protocol() -> int:
    """The skops protocol this skops writes; files of other protocols are refused (older
    protocols load through other node classes)."""
    import skops.io as sio

    with zipfile.ZipFile(io.BytesIO(sio.dumps(0))) as archive:
        return json.loads(archive.read("schema.json"))["protocol"]


def skops_names(data: bytes) -> tuple[str, list[str]]:
    """(the root's name, every name the file asks the loader to import), read from
    schema.json as data: no node is built, no module named by the file imported."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
        unpacked = sum(info.file_size for info in infos)
        if unpacked > max(MAX_UNPACKED_RATIO * len(data), MAX_SCHEMA_BYTES):
            raise ModelError(f"unpacks to {unpacked} bytes: refusing a zip bomb")
        info = archive.getinfo("schema.json")
        if info.file_size > MAX_SCHEMA_BYTES:
            raise ModelError(f"schema.json of {info.file_size} bytes")
        schema = json.loads(archive.read(info))
    except ModelError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, RecursionError, EOFError) as exc:
        raise ModelError(f"not a skops file: {_one_line(exc)}") from None
    if not isinstance(schema, dict):
        raise ModelError("not a skops file: schema.json is not an object")
    if schema.get("protocol") != current_protocol():
        raise ModelError(f"skops protocol {schema.get('protocol')!r}, expected "
                         f"{current_protocol()}: save the model again with this skops")
    return _node_name(schema), sorted(_names(schema))


def _names(schema: dict[str, Any]) -> set[str]:
    names, stack = set(), [schema]
    while stack:  # iterative: a hostile file may nest nodes thousands deep
        value = stack.pop()
        if isinstance(value, dict):
            if "__loader__" in value:
                names.add(_node_name(value))
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return names


def _node_name(node: dict[str, Any]) -> str:
    loader, module, name = (node.get(k) for k in ("__loader__", "__module__", "__class__"))
    if not all(isinstance(v, str) for v in (loader, module, name)):
        raise ModelError("malformed skops node: __loader__, __module__ and __class__ "
                         "must be strings")
    if loader not in SAFE_LOADERS:
        raise ModelError(f"skops node kind {loader} ({module}.{name}) is not allowed")
    return f"{module}.{name}"


def check_skops(data: bytes, recorded: list[str]) -> list[str]:
    """The names the file uses, once each is allowed and recorded in the card, and its
    root is a class with predict(); else ModelError naming the first offender."""
    root, names = skops_names(data)
    allowed = allowed_names()
    for name in names:
        if name not in allowed:
            raise ModelError(f"type {name} is not on the allow-list of model types: "
                             "refusing to load")
    unrecorded = [name for name in names if name not in recorded]
    if unrecorded:
        raise ModelError(f"type {unrecorded[0]} is not among the types model.json "
                         "recorded at save: refusing to load")
    module, _, name = root.rpartition(".")
    root_type = getattr(importlib.import_module(module), name, None)  # allowed: safe
    if not callable(getattr(root_type, "predict", None)):
        raise ModelError(f"the file holds a {root}, not a model with predict()")
    return names


def load_skops(data: bytes, names: list[str]) -> Any:
    """Build the model from a file `check_skops` passed, trusting exactly its names."""
    import skops.io as sio

    try:
        return sio.loads(data, trusted=names)
    except Exception as exc:  # noqa: BLE001 - checked names only: a damaged file
        raise ModelError(f"cannot load: {_one_line(exc)}") from None


def check_trees(model: Any) -> None:
    """scikit-learn's compiled predict follows a fitted tree's node indices and reads
    the input's columns by its feature numbers without bounds checks, so a crafted
    Tree could read outside its arrays. Every Tree reachable from the model must link
    each node to later nodes (or none) within the tree, use features within its width,
    and have the width of the estimator holding it."""
    from sklearn.tree._tree import Tree

    seen, stack = set(), [model]
    while stack:
        value = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, Tree):
            _check_tree(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
        elif type(value).__module__.startswith("sklearn.") and hasattr(value, "__dict__"):
            tree, width = getattr(value, "tree_", None), getattr(value, "n_features_in_", None)
            if isinstance(tree, Tree) and width is not None and tree.n_features != width:
                raise ModelError(f"a tree of {tree.n_features} features in an estimator "
                                 f"of {width}: refusing a damaged model")
            stack.extend(vars(value).values())
        elif getattr(value, "dtype", None) == object and hasattr(value, "ravel"):
            stack.extend(value.ravel().tolist())


def _check_tree(tree: Any) -> None:
    import numpy as np

    count, width = tree.node_count, tree.n_features
    left, right, feature = tree.children_left, tree.children_right, tree.feature
    if not len(left) == len(right) == len(feature) == count:
        raise ModelError("a tree whose node arrays disagree in length: refusing a damaged model")
    node = np.arange(count)
    leaf = (left == -1) & (right == -1)
    split = ((left > node) & (left < count) & (right > node) & (right < count)
             & (feature >= 0) & (feature < width))
    if not (leaf | split).all():
        raise ModelError(f"a tree with node links or features out of range (node "
                         f"{int(np.flatnonzero(~(leaf | split))[0])}): refusing a damaged model")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
