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

    def dummies(self, key: str, get_dummies: Callable[..., Any], data: Any, *args: Any,
                **kwargs: Any) -> Any:
        """`get_dummies(data, ...)` with the training categories: each encoded column is
        made categorical with the values seen in training first, so one row gets every
        training column (`drop_first` drops the same one), and the result is aligned
        to the training columns (an unseen value is all zeros)."""
        if self.fitting:
            result = get_dummies(data, *args, **kwargs)
            self.recorded[key] = {"columns": list(result.columns),
                                  "categories": _categories(data, kwargs.get("columns"))}
            return result
        import pandas as pd

        recorded = self.recorded[key]
        if hasattr(data, "columns"):
            data = data.assign(**{column: _known(data[column], values)
                                  for column, values in recorded["categories"].items()})
        else:
            data = pd.Series(_known(data, recorded["categories"][None]), index=data.index,
                             name=data.name)
        result = get_dummies(data, *args, **kwargs)
        return result.reindex(columns=recorded["columns"], fill_value=0)

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

    def bins(self, key: str, binning: Callable[..., Any], values: Any, *args: Any,
             **kwargs: Any) -> Any:
        """`pd.cut(x, N)` / `pd.qcut(x, q)`: edges from the training values; a request is
        cut on those edges, with the training intervals (or labels)."""
        if self.fitting:
            result, self.recorded[key] = binning(values, *args, retbins=True, **kwargs)
            return result
        import pandas as pd

        keep = {k: kwargs[k] for k in ("right", "labels", "precision", "duplicates",
                                       "include_lowest") if k in kwargs}
        if getattr(binning, "__name__", "") == "qcut":
            keep.setdefault("include_lowest", True)  # qcut's first interval holds its min
            keep.setdefault("duplicates", kwargs.get("duplicates", "raise"))
        return pd.cut(values, bins=self.recorded[key], **keep)

    def rows(self, frame: Any) -> Any:
        """A split's training part: the training rows when fitting, every row when serving."""
        if self.fitting and self.train_index is not None:
            return frame.loc[self.train_index]
        return frame


def _categories(data: Any, columns: Any) -> dict[Any, list]:
    """The values get_dummies encodes, per column (None: a Series), in its order."""
    from pandas.api import types

    if not hasattr(data, "columns"):
        return {None: _values(data)}
    if columns is None:
        columns = [c for c in data.columns if not (
            types.is_numeric_dtype(data[c]) or types.is_bool_dtype(data[c])
            or types.is_datetime64_any_dtype(data[c]))]
    return {column: _values(data[column]) for column in columns}


def _values(series: Any) -> list:
    if hasattr(series, "cat"):
        return list(series.cat.categories)
    return sorted(series.dropna().unique().tolist())


def _known(values: Any, categories: list) -> Any:
    """A categorical of `values` over the training categories (an unseen value: missing)."""
    import pandas as pd

    return pd.Categorical(values.where(values.isin(categories)), categories=categories)
