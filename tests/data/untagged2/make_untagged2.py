"""Generate and execute untagged notebooks for `tests/e2e/test_untagged_more.py`.

Usage:  python tests/data/untagged2/make_untagged2.py [NAME ...]

Each notebook is written the way a different data scientist writes one, with
no tags at all: no markdown, only `#` headings, numbered `### 1.` headings,
imports spread over cells, UPPER_CASE config, helpers defined mid-notebook,
f-string / `print("x:", x)` / `to_string()` reports, a trailing bare
expression, `%matplotlib inline` with a saved figure, per-iteration prints, a
class, a warnings filter first, a `df.describe()` cell, seeded randomness.
Data is synthetic and seeded; nbclient runs each in a scratch directory
(record_timing=False) and the notebook is saved with its outputs.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbclient
import nbformat

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "examples"))
from make_examples import build, code, md


# 1. No markdown at all; warnings filter first; imports over several cells;
#    f-strings and `print("x:", x)`; ends with a bare expression.
def no_markdown_sales():
    return build([
        code('import warnings; warnings.filterwarnings("ignore")'),
        code("import numpy as np"),
        code("""
rng = np.random.default_rng(7)
n = 400
regions = rng.choice(["north", "south", "east", "west"], size=n)
units = rng.integers(1, 20, size=n)
price = rng.normal(12.5, 2.0, size=n).round(2)
"""),
        code("import pandas as pd"),
        code("""
sales = pd.DataFrame({"region": regions, "units": units, "price": price})
sales["revenue"] = sales["units"] * sales["price"]
print("rows:", len(sales))
"""),
        code("sales.head()"),
        code("""
by_region = sales.groupby("region")["revenue"].sum().sort_values(ascending=False)
top_region = by_region.index[0]
total = by_region.sum()
print(f"top region: {top_region}")
print(f"total revenue: {total:,.2f}")
"""),
        code("""
share = (by_region / total).round(3)
share
"""),
    ])


# 2. Only `#` H1 headings; UPPER_CASE config; helpers defined mid-notebook;
#    a loop printing per-iteration results.
def h1_inventory():
    return build([
        md("# Inventory simulation"),
        code("""
import numpy as np
import pandas as pd
"""),
        code("""
N_DAYS = 60
REORDER_POINT = 30
ORDER_SIZE = 80
SEED = 11
"""),
        md("# Demand"),
        code("""
rng = np.random.default_rng(SEED)
demand = rng.poisson(9, size=N_DAYS)
print("mean daily demand:", demand.mean())
"""),
        md("# Helpers"),
        code("""
def restock(level, reorder_point=REORDER_POINT, size=ORDER_SIZE):
    \"\"\"Order more when the level falls below the reorder point.\"\"\"
    return level + size if level < reorder_point else level


def week_of(day):
    return day // 7 + 1
"""),
        md("# Simulate"),
        code("""
level = 100
history = []
for day, d in enumerate(demand):
    level = max(level - int(d), 0)
    level = restock(level)
    history.append({"day": day, "week": week_of(day), "level": level})
log = pd.DataFrame(history)
"""),
        code("""
weekly = log.groupby("week")["level"].min()
for week, low in weekly.items():
    print(f"week {week}: lowest level {low}")
"""),
        md("# Result"),
        code("""
stockouts = int((log["level"] == 0).sum())
print("stockout days:", stockouts)
print(f"average level: {log['level'].mean():.2f}")
"""),
    ])


# 3. Numbered `### 1.` headings; np.random.seed at the top; a describe() cell
#    in the middle; to_string() reports; sklearn classifier.
def numbered_classifier():
    return build([
        md("### 0. Setup"),
        code("""
import numpy as np
np.random.seed(3)
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.metrics import accuracy_score, confusion_matrix
"""),
        md("### 1. Make data"),
        code("""
n_samples = 300
X = pd.DataFrame({
    "age": np.random.randint(18, 70, n_samples),
    "income": np.random.normal(50, 15, n_samples).round(1),
    "visits": np.random.poisson(4, n_samples),
})
y = ((X["income"] > 50) & (X["visits"] > 3)).astype(int)
"""),
        code("X.describe()"),
        code("X.sample(5)"),
        md("Flip 5% of the labels, as in the real data."),
        code("""
flip = np.random.rand(n_samples) < 0.05
y = y ^ flip.astype(int)
print("flipped:", int(flip.sum()))
"""),
        md("### 2. Split"),
        code("""
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
print("train:", X_train.shape, "test:", X_test.shape)
"""),
        md("### 3. Fit"),
        code("""
clf = LogisticRegression(max_iter=500)
clf.fit(X_train, y_train)
"""),
        md("### 4. Evaluate"),
        code("""
pred = clf.predict(X_test)
acc = accuracy_score(y_test, pred)
cm = pd.DataFrame(confusion_matrix(y_test, pred), index=["no", "yes"], columns=["no", "yes"])
print(cm.to_string())
print(f"accuracy = {acc:.3f}")
"""),
    ])


# 4. `%matplotlib inline`, plots saved to a file; `## ` headings.
def plots_saved():
    return build([
        code("""
%matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
"""),
        md("## Signal"),
        code("""
t = np.linspace(0, 4 * np.pi, 200)
signal = np.sin(t) + 0.1 * np.cos(7 * t)
print("points:", t.size)
"""),
        md("## Plot"),
        code("""
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(t, signal)
ax.set_title("signal")
fig.savefig("signal.png")
plt.show()
"""),
        code("""
plt.hist(signal, bins=20)
plt.savefig("hist.png")
"""),
        md("## Summary"),
        code("""
peak = signal.max()
trough = signal.min()
print(f"peak {peak:.4f}, trough {trough:.4f}")
print("range:", round(peak - trough, 4))
"""),
    ])


# 5. A class defined mid-notebook; `random.seed` at the top; loop prints.
def class_queue():
    return build([
        code("""
import random
random.seed(42)
"""),
        md("Arrivals at a single counter, one customer served per tick."),
        code("""
arrival_prob = 0.6
n_ticks = 50
"""),
        code("""
class Counter:
    def __init__(self):
        self.queue = []
        self.served = 0
        self.max_len = 0

    def tick(self, arrived):
        if arrived:
            self.queue.append(1)
        if self.queue and random.random() < 0.7:
            self.queue.pop(0)
            self.served += 1
        self.max_len = max(self.max_len, len(self.queue))
"""),
        code("""
counter = Counter()
for tick in range(n_ticks):
    counter.tick(random.random() < arrival_prob)
    if tick % 10 == 9:
        print(f"tick {tick + 1}: queue {len(counter.queue)}, served {counter.served}")
"""),
        code("""
print("served:", counter.served)
print("longest queue:", counter.max_len)
"""),
    ])


# 6. Cross-validation loop with per-fold prints; imports appear where needed.
def kfold_regression():
    return build([
        md("# Ridge regression, 5-fold"),
        code("""
import numpy as np
from sklearn.datasets import make_regression
"""),
        code("""
def fold_mae(alpha, train_idx, test_idx):
    model = Ridge(alpha=alpha).fit(X[train_idx], y[train_idx])
    return mean_absolute_error(y[test_idx], model.predict(X[test_idx]))
"""),
        code("""
X, y = make_regression(n_samples=250, n_features=6, noise=12.0, random_state=5)
print(X.shape)
"""),
        code("""
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold
from sklearn.metrics import mean_absolute_error
"""),
        code("""
kf = KFold(n_splits=5, shuffle=True, random_state=1)
scores = []
for fold, (tr, te) in enumerate(kf.split(X)):
    mae = fold_mae(1.0, tr, te)
    scores.append(mae)
    print(f"fold {fold}: MAE {mae:.3f}")
"""),
        code("""
mean_mae = float(np.mean(scores))
final = Ridge(alpha=1.0).fit(X, y)
"""),
        code("""
print(final)
print(X.shape)
print(f"mean MAE: {mean_mae:.3f}")
"""),
    ])


# 7. Pandas report: to_string(), value_counts, a helper mid-notebook, ends
#    with a bare expression.
def pandas_report():
    return build([
        code("""
%load_ext autoreload
%autoreload 2
"""),
        md("## Orders report"),
        code("""
import pandas as pd
import numpy as np

pd.set_option("display.width", 120)
"""),
        code("""
rng = np.random.default_rng(2024)
orders = pd.DataFrame({
    "customer": rng.choice(["ana", "bo", "cy", "di"], 120),
    "status": rng.choice(["paid", "refunded", "open"], 120, p=[0.7, 0.1, 0.2]),
    "amount": rng.gamma(2.0, 30.0, 120).round(2),
})
orders.shape
"""),
        code("orders.info()"),
        code("""
print(orders["status"].value_counts().to_string())
"""),
        md("## Clean"),
        code("""
def drop_refunds(frame):
    return frame[frame["status"] != "refunded"].reset_index(drop=True)
"""),
        code("""
clean = drop_refunds(orders)
print("kept:", len(clean), "of", len(orders))
"""),
        md("## Per customer"),
        code("""
per_customer = clean.groupby("customer").agg(n=("amount", "size"), total=("amount", "sum"))
per_customer["total"] = per_customer["total"].round(2)
print(per_customer.to_string())
"""),
        code("per_customer.sort_values('total', ascending=False).head(2)"),
    ])


# 8. Warnings first; UPPER_CASE config; time series with helpers defined
#    between steps; bare-expression end.
def warnings_timeseries():
    return build([
        code("""
import warnings
warnings.filterwarnings("ignore")
"""),
        code("""
import numpy as np
import pandas as pd
pd.options.display.float_format = "{:.1f}".format
"""),
        code("""
WINDOW = 7
START = "2024-01-01"
DAYS = 90
"""),
        md("### Load"),
        code("""
np.random.seed(0)
idx = pd.date_range(START, periods=DAYS, freq="D")
visits = pd.Series(100 + np.random.randn(DAYS).cumsum() * 5, index=idx).round(1)
print(f"{len(visits)} days from {visits.index[0].date()} to {visits.index[-1].date()}")
"""),
        code("""
def smooth(series, window=WINDOW):
    return series.rolling(window, min_periods=1).mean()


def monthly(series):
    return series.resample("MS").mean().round(2)
"""),
        md("### Smooth"),
        code("""
%%time
trend = smooth(visits)
by_month = monthly(trend)
print(by_month.to_string())
"""),
        code("visits.describe()"),
        md("### Anomalies"),
        code("""
resid = visits - trend
threshold = 2 * resid.std()
anomalies = resid[resid.abs() > threshold]
print("anomalies:", len(anomalies))
for day, value in anomalies.items():
    print(day.date(), round(value, 2))
"""),
        code("len(anomalies) / DAYS"),
    ])


# 9. Clustering with mixed heading levels, preprocessing helper, prints from
#    inside a function, a describe() display in the middle.
def clustering_mixed():
    return build([
        md("# Customer segments\nKMeans on two synthetic features."),
        code("""
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
"""),
        code("""
seed = 9
k = 3
"""),
        md("## Data"),
        code("""
rng = np.random.default_rng(seed)
centers = np.array([[20, 200], [45, 600], [70, 350]])
points = np.vstack([rng.normal(c, [4, 40], size=(60, 2)) for c in centers])
customers = pd.DataFrame(points, columns=["age", "spend"])
customers.describe()
"""),
        md("### Scale and fit"),
        code("""
scaled = StandardScaler().fit_transform(customers)
km = KMeans(n_clusters=k, n_init=10, random_state=seed)
customers["segment"] = km.fit_predict(scaled)
"""),
        code("""
def describe_segments(frame):
    for seg, group in frame.groupby("segment"):
        print(f"segment {seg}: n={len(group)}, age={group['age'].mean():.1f}")
"""),
        code("""
ordered = customers.sort_values("age").reset_index(drop=True)
ordered["segment"] = ordered["segment"].map(
    {s: i for i, s in enumerate(ordered["segment"].drop_duplicates())})
describe_segments(ordered)
"""),
        md("## Quality"),
        code("""
inertia = km.inertia_
print("inertia:", round(inertia, 2))
"""),
    ])


# 10. Stdlib only: text statistics with Counter, random sampling, a dict
#     config; prints with sep= and an f-string table.
def text_stats():
    return build([
        code("""
import random
import string
from collections import Counter
"""),
        code("""
CONFIG = {"n_words": 500, "seed": 123, "top": 5}
random.seed(CONFIG["seed"])
"""),
        md("#### generate words"),
        code("""
def make_word(rng_choice=random.choice):
    length = random.randint(2, 6)
    return "".join(rng_choice("etaoinshr") for _ in range(length))

words = [make_word() for _ in range(CONFIG["n_words"])]
print("words", len(words), sep=": ")
"""),
        md("#### count"),
        code("""
counts = Counter(words)
letters = Counter("".join(words))
for word, n in counts.most_common(CONFIG["top"]):
    print(f"{word:>8} {n:3d}")
"""),
        code("""
vowels = sum(letters[c] for c in "aeiou")
ratio = vowels / sum(letters.values())
print("distinct:", len(counts))
print(f"vowel ratio: {ratio:.4f}")
print(f"{vowels=}")
assert ratio < 1
"""),
        code("letters.most_common(3)"),
    ])


NOTEBOOKS = {
    "no_markdown_sales": no_markdown_sales,
    "h1_inventory": h1_inventory,
    "numbered_classifier": numbered_classifier,
    "plots_saved": plots_saved,
    "class_queue": class_queue,
    "kfold_regression": kfold_regression,
    "pandas_report": pandas_report,
    "warnings_timeseries": warnings_timeseries,
    "clustering_mixed": clustering_mixed,
    "text_stats": text_stats,
}


def main(names: list[str]) -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in names or list(NOTEBOOKS):
        nb = NOTEBOOKS[name]()
        nbformat.validate(nb)
        with tempfile.TemporaryDirectory() as scratch:
            nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                    record_timing=False,
                                    resources={"metadata": {"path": scratch}}).execute()
        nbformat.write(nb, HERE / f"{name}.ipynb")
        print("wrote", name)


if __name__ == "__main__":
    main(sys.argv[1:])
