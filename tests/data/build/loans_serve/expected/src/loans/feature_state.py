"""What the notebook's feature code needs from training to answer one row as it
answered the whole frame (issue 22). Plain Python, importing nothing from nb2prod:
generated packages carry a copy of this file.

`features(frame, state)` (generated from the notebook's statements) calls these
methods where a value depends on the whole batch. Fitting (`FeatureState(values,
params)`, run once on the training frame) records each value; serving
(`FeatureState.restore(saved)`) reads it back, so a request row gets the training
median, the training dummy columns and categories, never its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class FeatureState:
    def __init__(self, values: dict[str, Any], params: dict[str, Any],
                 train_index: Any = None) -> None:
        self.values = values  # the notebook's fitted objects and frozen step values
        self.params = params  # the training run's parameters
        self.recorded: dict[str, Any] = {}  # statement key -> statistic, columns, categories
        self.train_index = train_index  # the rows the model was fitted on (None: all)
        self.fitting = True

    @classmethod
    def restore(cls, saved: dict[str, Any]) -> FeatureState:
        state = cls(saved["values"], saved["params"])
        state.recorded = saved["recorded"]
        state.fitting = False
        return state

    def saved(self) -> dict[str, Any]:
        return {"values": self.values, "params": self.params, "recorded": self.recorded}

    def statistic(self, key: str, compute: Callable[[], Any]) -> Any:
        """A value computed over the rows (median, mean, value_counts): the training one."""
        if self.fitting:
            self.recorded[key] = compute()
        return self.recorded[key]

    def columns(self, key: str, frame: Any) -> Any:
        """A frame whose columns depend on the values seen (get_dummies): aligned to
        the training columns, a column the batch did not produce is 0."""
        if self.fitting:
            self.recorded[key] = list(frame.columns)
            return frame
        return frame.reindex(columns=self.recorded[key], fill_value=0)

    def categories(self, key: str, value: Any) -> Any:
        """`astype('category')`: the training categories, whatever the batch holds."""
        if hasattr(value, "cat"):  # a Series
            if self.fitting:
                self.recorded[key] = list(value.cat.categories)
            return value.cat.set_categories(self.recorded[key])
        if self.fitting:
            self.recorded[key] = {c: list(value[c].cat.categories) for c in value.columns
                                  if str(value[c].dtype) == "category"}
        for column, categories in self.recorded[key].items():
            value[column] = value[column].cat.set_categories(categories)
        return value

    def rows(self, frame: Any) -> Any:
        """A split's training part: the training rows when fitting, every row when serving."""
        if self.fitting and self.train_index is not None:
            return frame.loc[self.train_index]
        return frame
