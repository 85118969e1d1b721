"""The data contract and the feature state (nb2prod/runtime/), as packages carry them."""

from __future__ import annotations

import pandas as pd
import pytest

from nb2prod.runtime import contract
from nb2prod.runtime.feature_state import FeatureState

FRAME = pd.DataFrame({
    "id": [1, 2, 3, 4],
    "day": ["2025-01-02", "2025-02-03", "2025-03-04", "2025-04-05"],
    "plan": ["free", "plus", "pro", "free"],
    "region": ["north", None, "south", "north"],
    "spend": [10.5, None, 30.0, 12.0],
    "visits": [1, 2, 3, 4],
})
RULES = contract.record(FRAME, optional=("id",), dates=("day",))
ROW = {"id": 9, "day": "2025-05-06", "plan": "plus", "region": None, "spend": 5.0, "visits": 2}


def test_the_contract_records_kinds_nulls_categories_and_ranges():
    columns = {c["name"]: c for c in RULES["columns"]}
    assert columns["plan"]["categories"] == ["free", "plus", "pro"]
    assert columns["day"]["kind"] == "date" and columns["id"]["required"] is False
    assert (columns["region"]["nullable"], columns["visits"]["nullable"]) == (True, False)
    assert columns["spend"]["range"] == [10.5, 30.0] and columns["visits"]["kind"] == "integer"


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"plan": "enterprise"}, "plan", "'enterprise' is not one of free, plus, pro"),
    ({"spend": "cheap"}, "spend", "expected a number"),
    ({"visits": True}, "visits", "expected an integer"),
    ({"visits": None}, "visits", "no missing values"),
    ({"day": "someday"}, "day", "is not a date"),
    ({"colour": "red"}, "colour", "unknown column"),
])
def test_a_row_breaking_the_contract_names_row_and_field(change, field, words):
    with pytest.raises(contract.ContractError) as error:
        contract.to_frame([ROW, {**ROW, **change}], RULES)
    assert error.value.field == f"instances[1].{field}" and words in error.value.message


def test_missing_required_and_optional_columns():
    with pytest.raises(contract.ContractError, match=r"instances\[0\]\.visits: missing"):
        contract.to_frame([{k: v for k, v in ROW.items() if k != "visits"}], RULES)
    frame = contract.to_frame([{k: v for k, v in ROW.items() if k != "id"}], RULES)
    assert list(frame.columns) == list(FRAME.columns) and frame["id"].isna().all()


def test_rows_get_the_training_dtypes_and_out_of_range_is_counted():
    ranges = contract.Ranges()
    frame = contract.to_frame([ROW, {**ROW, "spend": 99.0}, ROW], RULES, ranges=ranges)
    assert frame.dtypes.to_dict() == FRAME.dtypes.to_dict()
    assert ranges.counts == {"spend": 3}  # 5.0 and 99.0: outside [10.5, 30.0]


def test_check_frame_agrees_with_check_row():
    text = pd.DataFrame([ROW, {**ROW, "plan": "enterprise"}, {**ROW, "spend": "x"},
                         {**ROW, "visits": 2.5}, {**ROW, "day": "never"}]).astype(str)
    text.loc[0, "region"] = None
    clean, rejects = contract.check_frame(text, RULES)
    assert [(i, column) for i, column, _ in rejects] == [
        (1, "plan"), (2, "spend"), (3, "visits"), (4, "day")]
    assert len(clean) == 1 and clean["visits"].dtype == "int64"
    assert clean.iloc[0]["region"] is None or pd.isna(clean.iloc[0]["region"])
    with pytest.raises(contract.ContractError, match="visits"):
        contract.check_frame(text.drop(columns=["visits"]), RULES)


def test_the_state_freezes_statistics_and_dummy_columns_for_one_row():
    state = FeatureState({}, {})
    median = state.statistic("m", lambda: FRAME["spend"].median())
    wide = state.dummies("d", pd.get_dummies, FRAME, columns=["plan"], drop_first=True,
                         dtype=int)
    state.fitting = False
    saved = FeatureState.restore(state.saved())
    assert saved.statistic("m", lambda: 0.0) == median
    one = saved.dummies("d", pd.get_dummies, FRAME.iloc[[2]], columns=["plan"],
                        drop_first=True, dtype=int)
    assert list(one.columns) == list(wide.columns)
    assert one[["plan_plus", "plan_pro"]].iloc[0].tolist() == [0, 1]
    unseen = saved.dummies("d", pd.get_dummies, FRAME.iloc[[0]].assign(plan="gold"),
                           columns=["plan"], drop_first=True, dtype=int)
    assert unseen[["plan_plus", "plan_pro"]].iloc[0].tolist() == [0, 0]


def test_the_split_keeps_the_training_rows_only_when_fitting():
    state = FeatureState({}, {}, train_index=pd.Index([1, 3]))
    assert state.rows(FRAME).index.tolist() == [1, 3]
    state.fitting = False
    assert len(state.rows(FRAME)) == 4


@pytest.mark.parametrize("binning", [pd.qcut, pd.cut])
def test_data_made_bins_are_the_training_edges_for_one_row(binning):
    values = pd.Series([1.0, 5.0, 7.5, 12.0, 40.0, 41.0, 3.3, 8.8])
    state = FeatureState({}, {})
    trained = state.bins("b", binning, values, 3)
    state.fitting = False
    for i in range(len(values)):
        one = state.bins("b", binning, values.iloc[[i]], 3)
        assert str(one.iloc[0]) == str(trained.iloc[i])
    labelled = FeatureState({}, {})
    names = labelled.bins("l", binning, values, 3, labels=["low", "mid", "high"])
    labelled.fitting = False
    assert labelled.bins("l", binning, values.iloc[[0]], 3,
                         labels=["low", "mid", "high"]).iloc[0] == names.iloc[0]
