"""Generate and execute the tagged notebooks the vocabulary e2e test builds.

Usage:  python tests/data/vocab/make_vocab.py

Each notebook is written the way a different data scientist would write it,
in one tag vocabulary (native, Kale 2.x, Kale 1.x, papermill, nbdev), with
synthetic seeded data (no downloads), and saved with its outputs after
nbclient executed it in a scratch directory (so files the notebooks write do
not land here). Matplotlib runs with the Agg backend.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbclient
import nbformat

HERE = Path(__file__).resolve().parent
# The notebook-building helpers are the examples' own: one way to write a notebook.
sys.path.insert(0, str(HERE.parents[2] / "examples"))
from make_examples import KERNELSPEC, build, code, md  # noqa: F401


# 1. Helpers closing over module constants, a class from a functions cell,
#    lambdas, comprehensions, dict accumulation, mixed metric types.
def closures_and_classes():
    return build([
        md("# Order book summary\nHelpers close over module constants."),
        code("""
import numpy as np
import pandas as pd
from collections import defaultdict
""", "imports"),
        code("""
TAX_RATE = 0.2
REGIONS = ["north", "south", "east", "west"]


def net(amount):
    return amount * (1 - TAX_RATE)


class RunningStats:
    \"\"\"Welford's running mean and variance.\"\"\"

    def __init__(self):
        self.n = 0
        self.mean = 0.0
        self._m2 = 0.0

    def push(self, x):
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self._m2 += delta * (x - self.mean)

    @property
    def variance(self):
        return self._m2 / (self.n - 1) if self.n > 1 else 0.0
""", "functions"),
        code("""
n_orders = 300
seed = 7
min_amount = 5.0
""", "parameters"),
        code("""
rng = np.random.default_rng(seed)
orders = pd.DataFrame({
    "region": rng.choice(REGIONS, size=n_orders),
    "amount": rng.gamma(2.0, 30.0, size=n_orders).round(2),
})
orders = orders[orders.amount >= min_amount]
orders["net"] = orders.amount.map(lambda a: net(a))
""", "step:load"),
        code("""
stats = RunningStats()
by_region = defaultdict(float)
for region, value in zip(orders.region, orders.net):
    stats.push(value)
    by_region[region] += value
big = [round(v, 2) for v in sorted(by_region.values(), reverse=True)[:2]]
top_region = max(by_region, key=lambda r: by_region[r])
""", "step:summarise"),
        code("""
mean_net = np.float64(stats.mean)
std_net = float(np.sqrt(stats.variance))
count = stats.n
""", "step:report"),
        code("""
print(f"mean net: {mean_net:.4f}")
print(std_net)
print(count)
print(top_region)
print(big)
""", "metrics"),
        code("""
assert count == len(orders)
assert abs(mean_net - orders.net.mean()) < 1e-9
""", "test"),
    ])


# 2. In-place pandas, %matplotlib inline, plotting to a file and plt.show(),
#    %%time and %timeit.
def inplace_and_plots():
    return build([
        code("""
%matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
""", "imports"),
        code("""
n_rows = 400
seed = 11
clip_at = 3.0
plot_path = "hist.png"
""", "parameters"),
        code("""
rng = np.random.default_rng(seed)
df = pd.DataFrame({"x": rng.normal(size=n_rows), "y": rng.normal(size=n_rows)})
df.loc[rng.choice(n_rows, 20, replace=False), "y"] = np.nan
df.head()
""", "step:raw"),
        code("""
%%time
df.dropna(inplace=True)
df.rename(columns={"x": "feature", "y": "target"}, inplace=True)
df.loc[df.feature > clip_at, "feature"] = clip_at
df["target"] = df["target"].clip(-clip_at, clip_at)
df.sort_values("feature", inplace=True)
df.reset_index(drop=True, inplace=True)
""", "step:clean"),
        code("""
%timeit df.feature.sum()
fig, ax = plt.subplots(figsize=(4, 3))
counts, edges, _ = ax.hist(df.target, bins=10)
ax.set_title("target")
plt.savefig(plot_path)
plt.show()
peak_bin = int(np.argmax(counts))
""", "step:plot"),
        code("""
df.plot.scatter("feature", "target")
plt.show()
""", "step:plot"),
        code("""
corr = df.feature.corr(df.target)
n_clean = len(df)
""", "step:stats"),
        code("""
print(f"rows after cleaning: {n_clean}")
print(f"corr={corr:.6f}")
print(peak_bin)
""", "metrics"),
    ])


# 3. A step that defines a function a later step uses; a variable redefined in
#    a later step; a list mutated by several steps; step names with spaces,
#    dashes and keywords.
def odd_steps():
    return build([
        code("""
import numpy as np
from sklearn.linear_model import LinearRegression
""", "imports"),
        code("""
n_points = 250
noise = 0.3
""", "parameters"),
        code("""
log = []
rng = np.random.default_rng(0)
x = rng.uniform(-2, 2, size=n_points)
y = 1.5 * x + rng.normal(scale=noise, size=n_points)
log.append(f"loaded {len(x)}")
""", "step:load data"),
        code("""
def scale(values):
    return (values - values.mean()) / values.std()

x = scale(x)
log.append("scaled")
""", "step:pre-process"),
        code("""
X = x.reshape(-1, 1)
model = LinearRegression().fit(X, y)
log.append("fitted")
""", "step:class", "after:pre-process"),
        code("""
y_std = scale(y)
r2 = model.score(X, y)
slope = float(model.coef_[0])
steps_logged = len(log)
last_log = log[-1]
""", "step:lambda"),
        code("""
print(r2)
print(slope)
print(steps_logged)
print(last_log)
""", "metrics"),
        code("""
assert log == [f"loaded {n_points}", "scaled", "fitted"]
assert abs(y_std.mean()) < 1e-9
""", "test"),
    ])


# 4. A notebook that writes a CSV in one step and reads it back in the next.
def csv_roundtrip():
    return build([
        code("""
import csv
import os

import numpy as np
import pandas as pd
""", "imports"),
        code("""
n_days = 90
seed = 3
out_file = "daily_sales.csv"
""", "parameters"),
        code("""
rng = np.random.default_rng(seed)
days = pd.date_range("2024-01-01", periods=n_days, freq="D")
sales = pd.DataFrame({"day": days, "units": rng.poisson(20, size=n_days)})
sales.to_csv(out_file, index=False)
""", "step:export"),
        code("""
loaded = pd.read_csv(out_file, parse_dates=["day"])
loaded["week"] = loaded.day.dt.isocalendar().week.astype(int)
weekly = loaded.groupby("week").units.sum()
with open(out_file) as handle:
    n_lines = sum(1 for _ in csv.reader(handle))
os.remove(out_file)
""", "step:weekly"),
        code("""
best_week = int(weekly.idxmax())
mean_weekly = weekly.mean()
print(f"best week {best_week}")
print(f"mean weekly units {mean_weekly:.3f}")
print("lines in file:", n_lines)
""", "metrics"),
    ])


# 5. papermill: annotated, commented parameters cell, no step tags, an
#    injected-parameters cell from a papermill run, no metrics cell.
def papermill_report():
    return build([
        md("# Ridge sweep (run with papermill)"),
        code("""
import numpy as np
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_score
"""),
        code("""
# Parameters (papermill overrides these)
alpha: float = 1.0  # regularisation strength
n_samples: int = 200   # rows of synthetic data
n_features = 5  # number of columns
seed: int = 0
label: str = "baseline"  # a name for the report
""", "parameters"),
        code("""
# Parameters
label = "papermill-run"
""", "injected-parameters"),
        code("""
rng = np.random.default_rng(seed)
X = rng.normal(size=(n_samples, n_features))
coef = np.arange(1, n_features + 1, dtype=float)
y = X @ coef + rng.normal(scale=0.5, size=n_samples)
"""),
        code("""
scores = cross_val_score(Ridge(alpha=alpha), X, y, cv=5)
mean_score = scores.mean()
summary = f"{label}: {mean_score:.4f}"
print(summary)
"""),
    ])


# 6. Kale 2.x: a diamond DAG through prev:, functions, skip, pipeline-metrics.
def kale_diamond():
    return build([
        code("""
import numpy as np
import pandas as pd
""", "imports"),
        code("""
def zscore(s):
    return (s - s.mean()) / s.std(ddof=0)
""", "functions"),
        code("""
N_ROWS = 500
SEED = 42
WINDOW = 5
""", "pipeline-parameters"),
        code("""
rng = np.random.default_rng(SEED)
raw = pd.DataFrame({"a": rng.normal(size=N_ROWS), "b": rng.exponential(size=N_ROWS)})
""", "step:load"),
        code("""
clean = raw[(raw.b < raw.b.quantile(0.99))].copy()
""", "step:clean", "prev:load"),
        code("""
rolling = clean.a.rolling(WINDOW).mean().dropna()
""", "step:feat_rolling", "prev:clean"),
        code("""
scaled = zscore(clean.b)
""", "step:feat_scaled", "prev:clean"),
        code("""
joined = pd.concat([rolling.rename("r"), scaled.rename("s")], axis=1).dropna()
corr_rs = joined.r.corr(joined.s)
n_joined = joined.shape[0]
""", "step:combine", "prev:feat_rolling", "prev:feat_scaled"),
        code("""
raw.describe()
""", "skip"),
        code("""
print(corr_rs)
print(n_joined)
""", "pipeline-metrics"),
    ])


# 7. Kale 1.x: block: tags, !pip install of an installed package, Kale params.
def kale_blocks():
    return build([
        code("""
!pip install scikit-learn
""", "skip"),
        code("""
!pip install -q numpy
import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
""", "imports"),
        code("""
n_clusters = 3
random_state = 1
""", "pipeline-parameters"),
        code("""
X, labels = make_blobs(n_samples=300, centers=n_clusters, random_state=random_state)
""", "block:data"),
        code("""
km = KMeans(n_clusters=n_clusters, n_init=10, random_state=random_state)
km.fit(X)
""", "block:train", "prev:data"),
        code("""
inertia = km.inertia_
sizes = sorted(np.bincount(km.labels_).tolist())
""", "block:evaluate", "prev:train"),
        code("""
print(inertia)
print(sizes)
""", "pipeline-metrics"),
    ])


# 8. nbdev: exported functions, a private exporti helper, hidden cells, and
#    assert examples that depend on earlier non-exported example cells.
def nbdev_stats():
    return build([
        code("#| default_exp stats"),
        code("""
#| hide
from nbdev.showdoc import show_doc
"""),
        md("# stats\n> Small descriptive statistics."),
        code("""
#| export
import math
from collections.abc import Sequence
"""),
        code("""
#| exporti
def _check(values):
    if not values:
        raise ValueError("empty")
    return list(values)
"""),
        code("""
#| export
def mean(values: Sequence[float]) -> float:
    \"\"\"Arithmetic mean.\"\"\"
    values = _check(values)
    return sum(values) / len(values)
"""),
        code("""
#| export
def stdev(values: Sequence[float]) -> float:
    \"\"\"Sample standard deviation.\"\"\"
    values = _check(values)
    m = mean(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))
"""),
        code("""
sample = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
"""),
        code("""
shifted = [v + 10 for v in sample]
"""),
        code("""
assert mean(sample) == 5.0
assert mean(shifted) == mean(sample) + 10
"""),
        code("""
assert abs(stdev(shifted) - stdev(sample)) < 1e-12
try:
    mean([])
except ValueError:
    pass
else:
    raise AssertionError("no error")
"""),
    ])


# 9. A scikit-learn pipeline with a custom transformer class, cross-validation,
#    numpy-float and list metrics, a test cell that imports what it needs.
def sklearn_custom():
    return build([
        code("""
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
""", "imports"),
        code("""
class ClipOutliers(BaseEstimator, TransformerMixin):
    def __init__(self, k=3.0):
        self.k = k

    def fit(self, X, y=None):
        self.mu_ = X.mean(axis=0)
        self.sd_ = X.std(axis=0)
        return self

    def transform(self, X):
        return np.clip(X, self.mu_ - self.k * self.sd_, self.mu_ + self.k * self.sd_)
""", "functions"),
        code("""
n_samples = 400
C = 0.5
clip_k = 2.5
folds = 4
""", "parameters"),
        code("""
X, y = make_classification(n_samples=n_samples, n_features=8, random_state=0)
""", "step:data"),
        code("""
pipe = make_pipeline(ClipOutliers(k=clip_k), FunctionTransformer(lambda z: z * 2.0),
                     StandardScaler(), LogisticRegression(C=C, max_iter=500))
fold_scores = cross_val_score(pipe, X, y, cv=folds)
pipe.fit(X, y)
""", "step:model"),
        code("""
cv_mean = np.mean(fold_scores)
fold_list = [round(float(s), 4) for s in fold_scores]
train_acc = pipe.score(X, y)
""", "step:evaluate"),
        code("""
print("cv mean", cv_mean)
print(fold_list)
print(f"{train_acc=:.5f}")
""", "metrics"),
        code("""
import numpy as np
from sklearn.utils.validation import check_is_fitted

check_is_fitted(pipe)
assert np.isfinite(cv_mean)
assert len(fold_list) == folds
""", "test"),
    ])


# 10. Time series with untagged continuation cells, for-loops into dicts, a
#     test cell placed between steps, and a value a later step redefines.
def timeseries_loops():
    return build([
        code("""
import numpy as np
import pandas as pd
""", "imports"),
        code("""
n_weeks = 52
trend = 0.5
season_len = 4
""", "parameters"),
        code("""
t = np.arange(n_weeks)
series = pd.Series(10 + trend * t + 3 * np.sin(2 * np.pi * t / season_len), index=t)
""", "step:generate"),
        code("""
season_means = {}
for phase in range(season_len):
    season_means[phase] = series[series.index % season_len == phase].mean()
"""),
        code("""
assert len(season_means) == season_len
assert len(series) == n_weeks
""", "test"),
        code("""
series = series.diff().dropna()
growth = {}
for window in (2, 4, 8):
    growth[f"w{window}"] = float(series.rolling(window).mean().iloc[-1])
""", "step:growth"),
        code("""
best_window = max(growth, key=growth.get)
avg_growth = sum(growth.values()) / len(growth)
print(best_window, avg_growth)
"""),
        code("""
print(best_window)
print(avg_growth)
print(growth)
""", "metrics"),
    ])


# 11. Text processing: Counter, sorted with key lambdas, set comprehensions,
#     generator expressions, help lookups and %who.
def text_features():
    return build([
        code("""
import re
import string
from collections import Counter
""", "imports"),
        code("""
STOP = {"the", "a", "of", "and", "to", "in"}
CORPUS = [
    "The cat sat on the mat.",
    "A dog and a cat played in the yard.",
    "Data science is the art of asking good questions.",
    "The mat was red, and the dog was brown.",
]


def tokens(text):
    return [w for w in re.findall(r"[a-z]+", text.lower()) if w not in STOP]
""", "functions"),
        code("""
min_len = 3
top_n = 4
""", "parameters"),
        code("""
Counter?
all_tokens = [tok for doc in CORPUS for tok in tokens(doc) if len(tok) >= min_len]
counts = Counter(all_tokens)
vocab = {tok for tok in all_tokens}
""", "step:count"),
        code("""
%who
top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top_n]
top_words = [w for w, _ in top]
punct = sum(ch in string.punctuation for doc in CORPUS for ch in doc)
vocab_size = len(vocab)
""", "step:rank"),
        code("""
print(top_words)
print("vocabulary:", vocab_size)
print(punct)
""", "metrics"),
    ])


# 12. A dataclass config in a functions cell, bool and None parameters,
#     functools.partial, generator expressions.
def config_dataclass():
    return build([
        code("""
import functools
from dataclasses import dataclass

import numpy as np
""", "imports"),
        code("""
@dataclass
class Config:
    size: int
    shuffle: bool
    cap: float | None = None


def clipped_sum(values, cap=None):
    total = sum(float(v) for v in values)
    return min(total, cap) if cap is not None else total
""", "functions"),
        code("""
size = 120
shuffle = True
cap = None
tag = "exp-A"
""", "parameters"),
        code("""
cfg = Config(size=size, shuffle=shuffle, cap=cap)
rng = np.random.default_rng(5)
values = np.arange(cfg.size, dtype=float)
if cfg.shuffle:
    rng.shuffle(values)
""", "step:prepare"),
        code("""
summer = functools.partial(clipped_sum, cap=cfg.cap)
first_half = summer(values[: cfg.size // 2])
weighted = sum(i * v for i, v in enumerate(values))
run_name = f"{tag}-{cfg.size}"
""", "step:compute"),
        code("""
print(first_half)
print(weighted)
print(run_name)
""", "metrics"),
    ])


# 13. Deliberately unconvertible: a shell command inside a step.
def shell_step():
    return build([
        code("""
import pandas as pd
""", "imports"),
        code("""
n = 10
""", "parameters"),
        code("""
frame = pd.DataFrame({"v": range(n)})
frame.to_csv("frame.csv", index=False)
!wc -l frame.csv
total = int(frame.v.sum())
""", "step:work"),
        code("""
print(total)
""", "metrics"),
    ])


NOTEBOOKS = {
    "closures_and_classes": closures_and_classes,
    "inplace_and_plots": inplace_and_plots,
    "odd_steps": odd_steps,
    "csv_roundtrip": csv_roundtrip,
    "papermill_report": papermill_report,
    "kale_diamond": kale_diamond,
    "kale_blocks": kale_blocks,
    "nbdev_stats": nbdev_stats,
    "sklearn_custom": sklearn_custom,
    "timeseries_loops": timeseries_loops,
    "text_features": text_features,
    "config_dataclass": config_dataclass,
    "shell_step": shell_step,
}


INSTALLERS = ("!pip", "%pip", "!conda", "%conda")


def scrub(nb) -> None:
    """Keep the files free of this machine: no timings, no installer output.

    An installer's output names the package index, mirrors and the local
    site-packages of the machine that ran it; no test reads it.
    """
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code" and cell.source.lstrip().startswith(INSTALLERS):
            cell.outputs = []


def main(names: list[str]) -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in names or list(NOTEBOOKS):
        nb = NOTEBOOKS[name]()
        with tempfile.TemporaryDirectory() as scratch:
            nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                    allow_errors=name == "nbdev_stats",
                                    resources={"metadata": {"path": scratch}}).execute()
        scrub(nb)
        nbformat.write(nb, HERE / f"{name}.ipynb")
        print("wrote", name)


if __name__ == "__main__":
    main(sys.argv[1:])
