"""Unit tests of `nb2prod verify`'s core: coercion, injection, encoding, comparison,
nondeterminism. Nothing here starts a kernel or a subprocess (see tests/e2e)."""

from __future__ import annotations

import json
import math

import nbformat
import numpy as np
import pandas as pd
import pytest

from nb2prod.errors import UserError
from nb2prod.notebook import load_notebook
from nb2prod.plan.records import Param
from nb2prod.verify.run import (
    DIFFERS,
    MATCH,
    MISSING,
    NONDETERMINISTIC,
    UNCHECKED,
    Outcome,
    Row,
    Tolerance,
    capture_code,
    classify,
    compare,
    encode_value,
    numbers_close,
    package_args,
    parse_overrides,
    prepared_cells,
)

EXACT = Tolerance(rtol=0.0, atol=0.0)
DEFAULT = Tolerance()


def param(name: str, type_name: str, default: str = "0") -> Param:
    return Param(name, "--" + name.replace("_", "-"), type_name, default, cell=2, line=1)


PARAMS = (param("n_customers", "int"), param("rate", "float"), param("region", "str"),
          param("fast", "bool", "False"), param("cols", "list", "[]"),
          param("opts", "dict", "{}"), param("tag", "str | None", "None"))


def enc(value):
    """What both sides capture: JSON of the encoded value, read back."""
    return json.loads(json.dumps(encode_value(value)))


# --- coercion ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("n_customers=300", 300), ("rate=1e-3", 0.001), ("region=EU=1", "EU=1"),
    ("fast=true", True), ("fast=No", False), ("cols=[1, 2]", [1, 2]),
    ("opts={\"a\": 1}", {"a": 1}), ("tag=None", None), ("tag=x", "x"),
    ("n-customers=5", 5),  # the CLI spelling works too
])
def test_overrides_are_typed_like_the_parameter(text, expected):
    [(chosen, value)] = parse_overrides((text,), PARAMS)
    assert value == expected and type(value) is type(expected)
    assert chosen.name == text.partition("=")[0].replace("-", "_")


@pytest.mark.parametrize(("text", "message"), [
    ("n_customers=3.5", "not a valid int"), ("fast=maybe", "not a valid bool"),
    ("cols={}", "not a valid list"), ("nope=1", "no such parameter"),
    ("n_customers", "expected NAME=VALUE"),
])
def test_bad_overrides_are_user_errors(text, message):
    with pytest.raises(UserError, match=message) as caught:
        parse_overrides((text,), PARAMS)
    assert caught.value.exit_code == 2


def test_last_override_of_a_name_wins():
    [(_, value)] = parse_overrides(("rate=1", "rate=2"), PARAMS)
    assert value == 2.0


def test_package_args_use_the_generated_cli_spelling():
    overrides = parse_overrides(("fast=false", "cols=[1]", "rate=0.1", "tag=None"), PARAMS)
    assert package_args(overrides) == ["--no-fast", "--cols", "[1]", "--rate", "0.1"]
    assert package_args(parse_overrides(("fast=1",), PARAMS)) == ["--fast"]


# --- injection ---------------------------------------------------------------------------

def make_notebook(tmp_path, cells):
    """cells: (source, tags) pairs."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "language": "python", "display_name": "Python 3"}})
    for source, tags in cells:
        nb.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": list(tags)}))
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return load_notebook(path)


def test_overrides_go_right_after_the_parameters_cell_and_skip_cells_go(tmp_path):
    notebook = make_notebook(tmp_path, [
        ("import math", ["imports"]), ("n_customers = 10\nrate = 0.5", ["parameters"]),
        ("n = 1", ["injected-parameters"]),  # a stale papermill injection: dropped
        ("df.describe()", ["skip"]), ("x = n_customers * rate", ["step:a"]),
        ("print(x)", ["metrics"]),
    ])
    overrides = parse_overrides(("n_customers=300", "region=a'b"), PARAMS)
    cells = prepared_cells(notebook, overrides)
    assert [number for number, _ in cells] == [1, 2, None, 5, 6]
    injected = cells[2][1]
    assert "n_customers = 300\nregion = \"a'b\"" in injected


def test_no_parameters_cell_means_no_injection(tmp_path):
    notebook = make_notebook(tmp_path, [("x = 1", []), ("print(x)", ["metrics"])])
    assert prepared_cells(notebook, ()) == [(1, "x = 1"), (2, "print(x)")]


# --- encoding and capture ----------------------------------------------------------------

def test_capture_cell_writes_encoded_values_without_touching_user_names(tmp_path):
    out = tmp_path / "values.json"
    namespace = {"x": 1.5, "encode_value": "mine", "df": pd.DataFrame({"a": [1, 2]})}
    exec(capture_code(("x", "df", "absent", "encode_value"), out), namespace)
    values = json.loads(out.read_text())
    assert values["x"] == 1.5 and values["encode_value"] == "mine"
    assert values["df"]["kind"] == "frame" and values["df"]["shape"] == [2, 1]
    assert "absent" not in values
    assert [k for k in namespace if not k.startswith("_")] == ["x", "encode_value", "df"]


def test_encoding_keeps_type_dtype_and_shape():
    array = enc(np.arange(6, dtype="int32").reshape(2, 3))
    assert (array["dtype"], array["shape"]) == ("int32", [2, 3])
    assert enc(np.float32(1.5))["dtype"] == "float32"
    assert enc((1, 2))["type"] == "builtins.tuple"
    assert enc({"b": 1, "a": 2}) == enc({"a": 2, "b": 1})  # dicts by key
    assert enc(object())["opaque"] is True
    assert enc(pd.Series([1.0], name="s"))["kind"] == "series"


# --- comparison --------------------------------------------------------------------------

def test_numbers_use_allclose_semantics_with_the_notebook_as_reference():
    assert numbers_close(100.0, 100.0 + 1e-8, DEFAULT)
    assert not numbers_close(100.0, 100.0 + 1e-6, DEFAULT)
    assert numbers_close(0.0, 1e-12, Tolerance(0.0, 1e-9))
    assert not numbers_close(0.0, 1e-12, DEFAULT)  # rtol alone says nothing near zero
    assert numbers_close(math.nan, math.nan, EXACT)
    assert not numbers_close(math.nan, 1.0, DEFAULT)
    assert numbers_close(math.inf, math.inf, EXACT) and not numbers_close(math.inf, -math.inf,
                                                                          DEFAULT)
    assert not numbers_close(10**20, 10**20 + 1, DEFAULT)  # ints exactly


@pytest.mark.parametrize(("a", "b", "needle"), [
    (0.5, 0.6, "0.5 != 0.6"), ("a", "b", "'a' != 'b'"), ([1, 2], [1, 2, 3], "length"),
    (np.array([1.0, 2.0]), np.array([1.0, 2.5]), "at values[1]: 2.0 != 2.5"),
    (np.zeros((2, 3)), np.zeros((3, 2)), "shape"),
    (np.zeros(2, dtype="int64"), np.zeros(2, dtype="float64"), "dtype"),
    (pd.DataFrame({"a": [1.0]}), pd.DataFrame({"a": [1.5]}), "values[0][0]"),
    (pd.DataFrame({"a": [1.0]}), pd.DataFrame({"b": [1.0]}), "columns"),
    ({"a": 1}, {"a": 1, "b": 2}, "keys"), ([1], (1,), "type"), (1.0, "1.0", "!="),
])
def test_differences_are_found_and_located(a, b, needle):
    found = compare(enc(a), enc(b), DEFAULT)
    assert found is not None and needle in found


@pytest.mark.parametrize("value", [
    0.1, "text", None, True, [1, [2.0, "x"]], {"k": (1, 2)}, np.linspace(0, 1, 7),
    pd.DataFrame({"a": [1, 2], "b": ["x", None], "t": pd.to_datetime(["2024-01-01", None])}),
    pd.Series([1.5, math.nan]), {1, 2, 3},
])
def test_equal_values_match(value):
    assert compare(enc(value), enc(value), EXACT) is None


def test_tolerance_reaches_into_arrays():
    a, b = enc(np.array([1.0, 2.0])), enc(np.array([1.0, 2.0 + 1e-12]))
    assert compare(a, b, DEFAULT) is None and compare(a, b, EXACT) is not None


# --- verdicts ----------------------------------------------------------------------------

def test_a_value_that_changes_between_runs_is_nondeterministic_not_a_conversion_error():
    row = classify("x", [{"x": 0.1}, {"x": 0.7}], [{"x": 0.4}, {"x": 0.9}], DEFAULT)
    assert row.verdict == NONDETERMINISTIC
    assert "notebook" in row.detail and "seed" in row.detail


def test_only_the_package_changing_is_also_nondeterministic():
    row = classify("x", [{"x": 1}, {"x": 1}], [{"x": 1}, {"x": 2}], DEFAULT)
    assert row.verdict == NONDETERMINISTIC and "package" in row.detail


def test_stable_but_different_is_a_conversion_difference():
    row = classify("x", [{"x": 1.0}, {"x": 1.0}], [{"x": 2.0}, {"x": 2.0}], DEFAULT)
    assert (row.verdict, row.detail) == (DIFFERS, "1.0 != 2.0")


@pytest.mark.parametrize(("nb", "pkg", "verdict", "side"), [
    ({}, {"x": 1}, MISSING, "notebook"), ({"x": 1}, {}, MISSING, "package"),
    ({"x": 1}, {"x": 1}, MATCH, ""), ({"x": enc(object())}, {"x": enc(object())}, UNCHECKED, ""),
])
def test_verdicts(nb, pkg, verdict, side):
    row = classify("x", [nb], [pkg], DEFAULT)
    assert row.verdict == verdict and side in row.detail


def test_exit_code_is_one_only_for_failing_verdicts():
    rows = (Row("a", 1, 1, MATCH), Row("b", None, None, UNCHECKED))
    assert Outcome("nb", "pkg", rows).exit_code == 0
    assert Outcome("nb", "pkg", rows + (Row("c", 1, 2, DIFFERS),)).exit_code == 1
    assert Outcome("nb", "pkg", (Row("d", 1, None, MISSING),)).exit_code == 1


def test_a_build_with_errors_never_passes():
    rows = (Row("a", 1, 1, MATCH),)
    assert Outcome("nb", "pkg", rows, build_errors=2).exit_code == 1


# --- fitted models and figures -----------------------------------------------------------

def _fitted(seed: int, **params):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(40, 3))
    return LogisticRegression(**params).fit(x, (x[:, 0] + rng.normal(size=40)) > 0)


def test_estimators_are_compared_by_params_and_fitted_attributes():
    same = compare(enc(_fitted(0)), enc(_fitted(0)), DEFAULT)
    other_data = compare(enc(_fitted(0)), enc(_fitted(1)), DEFAULT)
    other_params = compare(enc(_fitted(0)), enc(_fitted(0, C=0.5)), DEFAULT)
    assert same is None
    assert other_data is not None and "fitted" in other_data  # same repr(), other weights
    assert other_params is not None and "params" in other_params
    row = classify("model", [{"model": enc(_fitted(0))}], [{"model": enc(_fitted(0))}], DEFAULT)
    assert row.verdict == MATCH and "coef_" in row.compared and "get_params()" in row.compared


def test_fitted_coefficients_are_compared_within_the_tolerance():
    a, b = _fitted(0), _fitted(0)
    b.coef_ = b.coef_ * (1 + 1e-12)
    assert compare(enc(a), enc(b), DEFAULT) is None
    assert compare(enc(a), enc(b), EXACT) is not None


def test_a_pipeline_with_a_forest_compares_its_trees():
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.random.default_rng(0).normal(size=(30, 2))
    y = x[:, 0] > 0

    def fit(seed):
        forest = RandomForestClassifier(n_estimators=3, random_state=seed)
        return make_pipeline(StandardScaler(), forest).fit(x, y)
    assert compare(enc(fit(0)), enc(fit(0)), DEFAULT) is None
    assert compare(enc(fit(0)), enc(fit(1)), DEFAULT) is not None
    row = classify("m", [{"m": enc(fit(0))}], [{"m": enc(fit(0))}], DEFAULT)
    assert row.compared == "get_params() (nested estimators alike)"  # a pipeline's state


def test_statsmodels_results_are_compared_by_their_estimates():
    import statsmodels.api as sm

    rng = np.random.default_rng(0)
    x = sm.add_constant(rng.normal(size=(50, 2)))
    y = x @ [1.0, 2.0, -1.0] + rng.normal(size=50)
    a, b = sm.OLS(y, x).fit(), sm.OLS(y, x).fit()
    y2 = y.copy()
    y2[0] += 0.1
    assert compare(enc(a), enc(b), DEFAULT) is None
    assert "at fields['aic']" in compare(enc(a), enc(sm.OLS(y2, x).fit()), DEFAULT)
    assert compare(enc(sm.OLS(y, x)), enc(sm.OLS(y2, x)), DEFAULT) is not None  # the model
    row = classify("fit", [{"fit": enc(a)}], [{"fit": enc(b)}], DEFAULT)
    assert row.verdict == MATCH and "params" in row.compared and "bse" in row.compared


def test_figures_are_unchecked_and_say_so():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2)
    for value in (fig, axes, (fig, axes)):
        row = classify("f", [{"f": enc(value)}], [{"f": enc(value)}], DEFAULT)
        assert (row.verdict, row.compared) == (UNCHECKED, "not compared")
        assert "figure" in row.detail
    plt.close(fig)


def test_unchecked_values_share_one_summary_line_per_reason():
    from nb2prod.cli.verify import detail_lines

    fig = {"type": "matplotlib.figure.Figure", "kind": "figure"}
    rows = [classify(n, [{n: fig}], [{n: fig}], DEFAULT) for n in ("fig", "ax", "ax2")]
    rows.append(classify("x", [{"x": 1.0}], [{"x": 2.0}], DEFAULT))
    lines = detail_lines(rows)
    assert lines[0] == "x: differs: 1.0 != 2.0"
    assert len(lines) == 2 and lines[1].startswith("unchecked: 3 value(s), matplotlib")
    assert lines[1].endswith("fig, ax, ax2")


@pytest.mark.parametrize(("value", "phrase"), [
    (1, "exactly"), (0.5, "within rtol/atol"), (pd.DataFrame({"a": [1.0]}), "shape, columns"),
    (np.zeros(2), "dtype, shape"), ([1, 0.5], "element by element"), (object(), "not compared"),
])
def test_each_value_says_how_it_was_compared(value, phrase):
    row = classify("v", [{"v": enc(value)}], [{"v": enc(value)}], DEFAULT)
    assert phrase in row.compared


def test_an_estimator_with_a_dtype_parameter_is_an_estimator_not_an_array():
    from sklearn.feature_extraction import DictVectorizer

    vec = DictVectorizer(sparse=False).fit([{"a": 1, "b": 2}])
    assert enc(vec)["kind"] == "estimator" and "vocabulary_" in enc(vec)["fitted"]["keys"]


def test_a_value_that_cannot_be_read_is_unchecked_not_matched():
    broken = {"kind": "error", "type": "TypeError", "repr": "needs an argument"}
    row = classify("v", [{"v": broken}], [{"v": broken}], DEFAULT)
    assert row.verdict == UNCHECKED and "raised an error" in row.detail
