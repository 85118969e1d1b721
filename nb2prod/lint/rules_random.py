"""NB303: random numbers drawn from a generator nobody seeded.

Precise on purpose: calls are flagged, imports are not; a call is fine when
its library's global generator was seeded earlier in document order, when it
passes `random_state=` (scikit-learn style), or when it builds a seeded
generator (`np.random.default_rng(42)`). Libraries are recognised through
the notebook's import aliases, so `np.random.rand` and `from numpy.random
import rand` are the same call.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from operator import attrgetter

from nb2prod.lint.context import Check, LintContext, found, node_column
from nb2prod.problems import WARNING, Problem, Rule

UNSEEDED = Rule(
    "NB303", "unseeded-randomness", WARNING,
    "Random numbers are drawn without a seed.",
    "Seed once in the first cells (`np.random.seed(0)`, `random.seed(0)`), pass "
    "`random_state=` or use `np.random.default_rng(seed)`.",
    "Every run gives different splits, models and metrics: results cannot be reproduced "
    "and `nb2prod verify` cannot compare the package with the notebook.",
    "X_train, X_test, y_train, y_test = train_test_split(X, y)",
    "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=42)")

RULES = (UNSEEDED,)

_SEEDERS = {
    "numpy.random.seed": "numpy", "random.seed": "random", "torch.manual_seed": "torch",
    "torch.random.manual_seed": "torch", "tensorflow.random.set_seed": "tensorflow",
    "tensorflow.set_random_seed": "tensorflow", "keras.utils.set_random_seed": "all",
    "tensorflow.keras.utils.set_random_seed": "all",
}
_SEED_EVERYTHING = ("seed_everything", "set_seed", "set_random_seed", "seed_all")
_NUMPY_SAFE = frozenset(["seed", "get_state", "set_state", "Generator", "SeedSequence",
                         "PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64", "BitGenerator"])
_NEEDS_ARGUMENT = frozenset(["numpy.random.default_rng", "numpy.random.RandomState",
                             "random.Random"])
_RANDOM_FUNCS = frozenset([
    "random", "randint", "randrange", "choice", "choices", "shuffle", "sample", "uniform",
    "gauss", "normalvariate", "triangular", "betavariate", "expovariate", "gammavariate",
    "lognormvariate", "vonmisesvariate", "paretovariate", "weibullvariate", "getrandbits",
    "randbytes", "binomialvariate"])
_TORCH_FUNCS = frozenset(["rand", "randn", "randint", "randperm", "rand_like", "randn_like",
                          "randint_like", "normal", "bernoulli", "multinomial", "poisson"])
_ESTIMATORS = frozenset([
    "train_test_split", "RandomForestClassifier", "RandomForestRegressor",
    "ExtraTreesClassifier", "ExtraTreesRegressor", "GradientBoostingClassifier",
    "GradientBoostingRegressor", "HistGradientBoostingClassifier",
    "HistGradientBoostingRegressor", "DecisionTreeClassifier", "DecisionTreeRegressor",
    "IsolationForest", "BaggingClassifier", "BaggingRegressor", "AdaBoostClassifier",
    "AdaBoostRegressor", "KMeans", "MiniBatchKMeans", "SGDClassifier", "SGDRegressor",
    "MLPClassifier", "MLPRegressor", "TSNE", "ShuffleSplit", "StratifiedShuffleSplit",
    "RandomizedSearchCV", "make_classification", "make_regression", "make_blobs",
    "make_moons", "make_circles", "TruncatedSVD", "Perceptron", "RandomTreesEmbedding",
    "SpectralClustering", "GaussianMixture", "RepeatedKFold", "RepeatedStratifiedKFold",
    "XGBClassifier", "XGBRegressor", "LGBMClassifier", "LGBMRegressor", "resample", "shuffle"])
_SHUFFLE_ONLY = frozenset(["KFold", "StratifiedKFold", "GroupKFold", "StratifiedGroupKFold"])
_POSITION = attrgetter("lineno", "col_offset")  # a key in C: 1.5x faster than a lambda
_ESTIMATOR_LIBS = ("sklearn.", "xgboost.", "lightgbm.", "imblearn.")
_DRAWING_PARTS = (("random",), ("torch",), ("sample",),
                  *((lib.strip("."),) for lib in _ESTIMATOR_LIBS))
"""A part every call `_unseeded` can flag has (numpy.random, random, tensorflow.random,
torch, the estimator libraries, `.sample`): without one, NB303 finds nothing."""


def check_randomness(ctx: LintContext) -> Iterator[Problem]:
    if not ctx.may_call(_DRAWING_PARTS):
        return
    seeded: set[str] = set()
    for cell in ctx.parsed:
        calls = sorted(ctx.facts[cell.cell.index].calls, key=_POSITION)  # document order
        for call in calls:
            name = ctx.qualified(call.func)
            if name is None:
                continue
            family = _seed_family(name)
            if family:
                seeded.add(family)
                continue
            label = _unseeded(name, call, seeded)
            if label:
                yield found(UNSEEDED, cell, label, call.lineno, node_column(cell, call))


def _seed_family(name: str) -> str | None:
    if name in _SEEDERS:
        return _SEEDERS[name]
    return "all" if name.rpartition(".")[2] in _SEED_EVERYTHING else None


def _unseeded(name: str, call: ast.Call, seeded: set[str]) -> str | None:
    """A message when `call` draws from an unseeded generator, else None."""
    if "all" in seeded:
        return None
    module, _, func = name.rpartition(".")
    has_args = bool(call.args or call.keywords)
    if name in _NEEDS_ARGUMENT:
        return None if has_args else f"`{func}()` without a seed"
    if module == "numpy.random" and func not in _NUMPY_SAFE and "numpy" not in seeded:
        return f"`np.random.{func}()` but numpy's generator is never seeded"
    if module == "random" and func in _RANDOM_FUNCS and "random" not in seeded:
        return f"`random.{func}()` but `random.seed()` is never called"
    if module == "torch" and func in _TORCH_FUNCS and "torch" not in seeded:
        return f"`torch.{func}()` but `torch.manual_seed()` is never called"
    if module == "tensorflow.random" and "tensorflow" not in seeded:
        return f"`tf.random.{func}()` but `tf.random.set_seed()` is never called"
    if name.startswith(_ESTIMATOR_LIBS) and "numpy" not in seeded:
        return _estimator(func, call)
    if func == "sample" and module not in ("random", "") and "numpy" not in seeded:
        return _estimator(func, call, always=True)
    return None


def _estimator(func: str, call: ast.Call, always: bool = False) -> str | None:
    keywords = {k.arg for k in call.keywords}
    if "random_state" in keywords or None in keywords:  # None: **kwargs may carry it
        return None
    if func in _SHUFFLE_ONLY:
        shuffle = next((k.value for k in call.keywords if k.arg == "shuffle"), None)
        if not (isinstance(shuffle, ast.Constant) and shuffle.value is True):
            return None
    elif func not in _ESTIMATORS and not always:
        return None
    return f"`{func}()` without `random_state=`"


CHECKS = (Check(("NB303",), check_randomness),)
