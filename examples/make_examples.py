"""Generate, execute and save the example notebooks (and the untagged test fixtures).

Usage:  python examples/make_examples.py

Writes (with outputs, stable cell ids, python3 kernelspec):
    examples/churn.ipynb              nb2prod tags, scikit-learn classifier
    examples/sales_etl.ipynb          nb2prod tags, pandas ETL (+ %%time, functions cell)
    examples/kale_iris.ipynb          Kale vocabulary only
    examples/nbdev_textutils.ipynb    nbdev `#|` directives, no tags
    examples/loans.ipynb              --target serve: a Pipeline on raw DataFrame columns
    tests/data/untagged/untagged_regression.ipynb   no tags at all
    tests/data/untagged/untagged_wrangling.ipynb    no tags at all

Every notebook builds its data synthetically with seeded numpy (or the
offline `load_iris()`), so runs are deterministic and need no network.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbclient
import nbformat
from nbformat import v4

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
UNTAGGED = REPO / "tests" / "data" / "untagged"

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def md(text: str) -> nbformat.NotebookNode:
    return v4.new_markdown_cell(text.strip("\n"))


def code(src: str, *tags: str) -> nbformat.NotebookNode:
    cell = v4.new_code_cell(src.strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def build(cells: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(cells, start=1):
        cell.id = f"cell-{i:02d}"
    nb.cells = cells
    return nb


# --------------------------------------------------------------------------- #
# 1. churn.ipynb
# --------------------------------------------------------------------------- #
def churn() -> nbformat.NotebookNode:
    return build([
        md("""
# Customer churn model

We want a quick baseline for predicting which customers will cancel their
subscription. The data here is synthetic (seeded), but shaped like our CRM
export: tenure, monthly charges, contract type, support calls and autopay.
"""),
        code("""
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
""", "imports"),
        md("Run parameters. Keep `n_estimators` small so the notebook stays fast."),
        code("""
n_customers = 1000
test_size = 0.25
seed = 42
n_estimators = 50
""", "parameters"),
        md("""
## Load data

Simulate the customer table. Churn probability goes up with monthly charges
and support calls, and down with tenure, longer contracts and autopay, plus
some noise so the problem is not trivially separable.
"""),
        code("""
rng = np.random.default_rng(seed)
contract = rng.choice(["month-to-month", "one-year", "two-year"], size=n_customers, p=[0.55, 0.25, 0.20])
df = pd.DataFrame({
    "customer_id": np.arange(1, n_customers + 1),
    "tenure_months": rng.integers(1, 73, size=n_customers),
    "monthly_charges": np.clip(rng.normal(70.0, 20.0, size=n_customers), 20.0, 130.0).round(2),
    "contract": contract,
    "support_calls": rng.poisson(1.5, size=n_customers),
    "has_autopay": rng.integers(0, 2, size=n_customers),
})
logit = (
    0.8
    - 0.05 * df["tenure_months"]
    + 0.03 * (df["monthly_charges"] - 70.0)
    + 0.5 * df["support_calls"]
    - 1.2 * (df["contract"] == "one-year")
    - 2.0 * (df["contract"] == "two-year")
    - 0.6 * df["has_autopay"]
    + rng.normal(0.0, 0.5, size=n_customers)
)
df["churn"] = (rng.random(n_customers) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
""", "step:load_data"),
        code("""
print("customers:", df.shape, "churn rate:", round(df["churn"].mean(), 3))
df.head()
"""),
        md("Quick look at the distributions (exploration only, not part of the pipeline)."),
        code("df.describe()", "skip"),
        md("""
## Features

A few derived features: lifetime spend, support calls per year of tenure and
a "new customer" flag. The contract type is one-hot encoded.
"""),
        code("""
df["total_charges"] = (df["monthly_charges"] * df["tenure_months"]).round(2)
df["calls_per_year"] = df["support_calls"] / (df["tenure_months"] / 12.0)
df["is_new"] = (df["tenure_months"] < 6).astype(int)
df = pd.get_dummies(df, columns=["contract"], prefix="contract", dtype=int)
feature_cols = [c for c in df.columns if c not in ("customer_id", "churn")]
print(len(feature_cols), "features")
""", "step:features"),
        md("## Train / test split\n\nStratify on the label so both sides keep the same churn rate."),
        code("""
X = df[feature_cols]
y = df["churn"]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=test_size, random_state=seed, stratify=y
)
print("train:", X_train.shape, "test:", X_test.shape)
""", "step:split"),
        md("## Train\n\nA small random forest is a solid first baseline for tabular data."),
        code("""
model = RandomForestClassifier(n_estimators=n_estimators, max_depth=6, random_state=seed)
model.fit(X_train, y_train)
print("trained on", len(X_train), "customers")
""", "step:train"),
        md("## Evaluate\n\nAccuracy for the headline, ROC AUC because churn is imbalanced."),
        code("""
y_pred = model.predict(X_test)
y_proba = model.predict_proba(X_test)[:, 1]
accuracy = float(accuracy_score(y_test, y_pred))
roc_auc = float(roc_auc_score(y_test, y_proba))
""", "step:evaluate"),
        code("""
print(accuracy)
print(roc_auc)
""", "metrics"),
        md("## Sanity checks\n\nThese asserts become the package's pytest test."),
        code("""
assert 0.5 < accuracy <= 1.0
assert 0.5 < roc_auc <= 1.0
assert len(X_train) + len(X_test) == n_customers
assert set(y_train.unique()) == {0, 1}
""", "test"),
    ])


# --------------------------------------------------------------------------- #
# 2. sales_etl.ipynb
# --------------------------------------------------------------------------- #
def sales_etl() -> nbformat.NotebookNode:
    return build([
        md("""
# Sales ETL: monthly revenue per product

Extract raw orders, clean them, aggregate monthly revenue per product for one
region, and report the headline numbers. Orders are simulated with a fixed
seed in place of the warehouse export.
"""),
        code("""
import numpy as np
import pandas as pd
""", "imports"),
        code("""
n_orders = 5000
seed = 7
min_revenue = 100.0
region = "EU"
""", "parameters"),
        md("A small helper: map order dates to a `YYYY-MM` month key."),
        code('''
def month_key(dates: pd.Series) -> pd.Series:
    """Return the calendar month of each timestamp as a 'YYYY-MM' string."""
    return dates.dt.to_period("M").astype(str)
''', "functions"),
        md("""
## Extract

Raw orders arrive with dates as strings and a few missing quantities
(about 2%), like the real feed.
"""),
        code("""
rng = np.random.default_rng(seed)
catalog = {"widget": 12.5, "gadget": 39.0, "gizmo": 7.25, "doohickey": 59.9,
           "sprocket": 4.5, "flange": 18.0, "bracket": 9.75, "valve": 27.0}
products = np.array(list(catalog))
picked = rng.choice(products, size=n_orders)
base_price = np.array([catalog[p] for p in picked])
order_dates = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 365, size=n_orders), unit="D")
quantity = rng.integers(1, 25, size=n_orders).astype(float)
quantity[rng.random(n_orders) < 0.02] = np.nan
raw = pd.DataFrame({
    "order_id": np.arange(100_000, 100_000 + n_orders),
    "order_date": order_dates.strftime("%Y-%m-%d"),
    "region": rng.choice(["EU", "US", "APAC"], size=n_orders, p=[0.4, 0.4, 0.2]),
    "product": picked,
    "quantity": quantity,
    "unit_price": (base_price * rng.normal(1.0, 0.05, size=n_orders)).round(2),
})
print(raw.shape, "missing quantities:", int(raw["quantity"].isna().sum()))
""", "step:extract"),
        code('raw["region"].value_counts()', "skip"),
        md("""
## Clean

Drop incomplete orders, fix the types, compute revenue per order, then keep
only the target region and orders above the revenue floor.
"""),
        code("""
orders = raw.dropna(subset=["quantity"]).copy()
orders["order_date"] = pd.to_datetime(orders["order_date"])
orders["quantity"] = orders["quantity"].astype(int)
orders["revenue"] = (orders["quantity"] * orders["unit_price"]).round(2)
orders = orders[(orders["region"] == region) & (orders["revenue"] >= min_revenue)]
print(f"{len(orders)} of {len(raw)} orders kept for region {region}")
""", "step:clean"),
        md("## Aggregate\n\nMonthly revenue per product (timed, this is the heavy bit on real data)."),
        code("""
%%time
orders["month"] = month_key(orders["order_date"])
monthly = (
    orders.groupby(["month", "product"], as_index=False)["revenue"]
    .sum()
    .sort_values(["month", "product"], ignore_index=True)
)
""", "step:aggregate"),
        code("""
monthly_wide = monthly.pivot(index="month", columns="product", values="revenue").fillna(0.0)
monthly_wide.head()
"""),
        md("## Report"),
        code("""
product_totals = monthly.groupby("product")["revenue"].sum().sort_values(ascending=False)
total_revenue = float(round(product_totals.sum(), 2))
n_products = int(product_totals.size)
top_product = str(product_totals.index[0])
print(f"{region}: {total_revenue:,.2f} revenue over {n_products} products; top seller: {top_product}")
""", "step:report"),
        code("""
print(total_revenue)
print(n_products)
print(top_product)
""", "metrics"),
        code("""
assert total_revenue > 0
assert 1 <= n_products <= 8
assert top_product in set(monthly["product"])
assert (orders["region"] == region).all()
assert (orders["revenue"] >= min_revenue).all()
assert abs(monthly["revenue"].sum() - total_revenue) < 0.01
assert monthly["month"].str.match(r"^2023-\\d\\d$").all()
""", "test"),
    ])


# --------------------------------------------------------------------------- #
# 3. kale_iris.ipynb (Kale vocabulary only)
# --------------------------------------------------------------------------- #
def kale_iris() -> nbformat.NotebookNode:
    return build([
        md("""
# Iris classifier (Kale-annotated)

Written for Kubeflow Kale: cells use Kale's tags (`imports`,
`pipeline-parameters`, `block:` / `step:` + `prev:`, `pipeline-metrics`,
`skip`). Data is scikit-learn's bundled iris set, so nothing is downloaded.
"""),
        code("""
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
""", "imports"),
        code("""
test_size = 0.3
seed = 0
C = 1.0
max_iter = 500
""", "pipeline-parameters"),
        md("## Load data\n\nLoad iris as a DataFrame and hold out a stratified test set."),
        code("""
iris = load_iris(as_frame=True)
X, y = iris.data, iris.target
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=test_size, random_state=seed, stratify=y
)
""", "block:load_data"),
        code('print("train:", X_train.shape, "test:", X_test.shape)'),
        code("X.describe()", "skip"),
        md("## Train\n\nStandardise, then a multinomial logistic regression."),
        code("""
model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
model.fit(X_train, y_train)
print("train accuracy:", round(model.score(X_train, y_train), 3))
""", "step:train", "prev:load_data"),
        md("## Evaluate"),
        code("""
y_pred = model.predict(X_test)
accuracy = float(accuracy_score(y_test, y_pred))
f1_macro = float(f1_score(y_test, y_pred, average="macro"))
""", "step:evaluate", "prev:train"),
        code("""
print(accuracy)
print(f1_macro)
""", "pipeline-metrics"),
    ])


# --------------------------------------------------------------------------- #
# 4. nbdev_textutils.ipynb (nbdev directives, no tags)
# --------------------------------------------------------------------------- #
def nbdev_textutils() -> nbformat.NotebookNode:
    return build([
        code("#| default_exp textutils"),
        md("""
# textutils

> Small, dependency-free helpers for cleaning and summarising short texts.
"""),
        code("""
#| hide
import doctest
"""),
        code("""
#| export
import re
import unicodedata
from collections import Counter
"""),
        md("Internal tokenizer shared by the public functions (not exported in `__all__`)."),
        code('''
#| exporti
_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _tokenize(text: str) -> list[str]:
    """Lower-case `text` and split it into word tokens."""
    return _WORD_RE.findall(text.lower())
'''),
        code("""
assert _tokenize("Hello, World! It's 2024.") == ["hello", "world", "it's", "2024"]
"""),
        md("## slugify\n\nTurn a title into a URL-safe slug."),
        code('''
#| export
def slugify(text: str, sep: str = "-") -> str:
    """ASCII-fold `text`, lower-case it and join its words with `sep`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return sep.join(re.findall(r"[a-z0-9]+", ascii_text.lower()))
'''),
        code("""
assert slugify("Hello, World!") == "hello-world"
assert slugify("  Crème brûlée recipes 2024 ") == "creme-brulee-recipes-2024"
assert slugify("a b", sep="_") == "a_b"
slugify("Notebooks to Production!")
"""),
        md("## word_count"),
        code('''
#| export
def word_count(text: str) -> int:
    """Number of word tokens in `text`."""
    return len(_tokenize(text))
'''),
        code("""
assert word_count("") == 0
assert word_count("One fish, two fish; red fish, blue fish.") == 8
"""),
        md("## top_words\n\nMost frequent words, ties broken alphabetically so results are stable."),
        code('''
#| export
def top_words(text: str, n: int = 3, stopwords: frozenset[str] = frozenset()) -> list[tuple[str, int]]:
    """The `n` most common words of `text` (minus `stopwords`) with their counts."""
    counts = Counter(w for w in _tokenize(text) if w not in stopwords)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
'''),
        code("""
sample = "One fish, two fish; red fish, blue fish. Blue is my favourite."
assert top_words(sample, n=2) == [("fish", 4), ("blue", 2)]
assert top_words(sample, n=1, stopwords=frozenset({"fish"})) == [("blue", 2)]
top_words(sample)
"""),
    ])


# --------------------------------------------------------------------------- #
# 5. untagged fixtures
# --------------------------------------------------------------------------- #
def untagged_regression() -> nbformat.NotebookNode:
    return build([
        code("""
import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import train_test_split
"""),
        code("""
n_samples = 600
noise = 15.0
test_size = 0.2
seed = 0
"""),
        md("## Load data\n\nSynthetic house prices (in k€) from size, rooms, age and distance to the centre."),
        code("""
rng = np.random.default_rng(seed)
houses = pd.DataFrame({
    "sqm": rng.uniform(30, 200, n_samples).round(1),
    "rooms": rng.integers(1, 7, n_samples),
    "age_years": rng.integers(0, 80, n_samples),
    "km_to_centre": rng.exponential(5.0, n_samples).round(2),
})
houses["price_k"] = (
    50 + 2.5 * houses["sqm"] + 8 * houses["rooms"] - 0.6 * houses["age_years"]
    - 4 * houses["km_to_centre"] + rng.normal(0, noise, n_samples)
).round(1)
houses.loc[rng.choice(n_samples, 12, replace=False), "age_years"] = np.nan
"""),
        code("houses.head()"),
        md("## Clean\n\nDrop rows with a missing age and a handful of implausibly cheap listings."),
        code("""
houses = houses.dropna(subset=["age_years"])
houses = houses[houses["price_k"] > 20].reset_index(drop=True)
print(len(houses), "rows after cleaning")
"""),
        md("## Model"),
        code("""
features = ["sqm", "rooms", "age_years", "km_to_centre"]
X_train, X_test, y_train, y_test = train_test_split(
    houses[features], houses["price_k"], test_size=test_size, random_state=seed
)
reg = LinearRegression()
reg.fit(X_train, y_train)
pd.Series(reg.coef_, index=features).round(3)
"""),
        md("## Evaluate"),
        code("""
y_pred = reg.predict(X_test)
r2 = float(r2_score(y_test, y_pred))
mae = float(mean_absolute_error(y_test, y_pred))
"""),
        code("""
print(f"r2 = {r2:.4f}")
print(f"mae = {mae:.4f}")
"""),
    ])


def untagged_wrangling() -> nbformat.NotebookNode:
    return build([
        code("""
import numpy as np
import pandas as pd
"""),
        code("""
n_visits = 3000
n_stores = 12
seed = 3
start_date = "2024-01-01"
"""),
        md("## Load data\n\nDaily footfall log from the store sensors, with duplicated uploads and dropouts."),
        code("""
rng = np.random.default_rng(seed)
visits = pd.DataFrame({
    "store": rng.integers(1, n_stores + 1, n_visits).astype(str),
    "date": (pd.Timestamp(start_date) + pd.to_timedelta(rng.integers(0, 90, n_visits), unit="D")).astype(str),
    "visitors": rng.poisson(120, n_visits).astype(float),
    "temp_c": rng.normal(8, 5, n_visits).round(1),
})
visits.loc[rng.random(n_visits) < 0.03, "visitors"] = np.nan
visits = pd.concat([visits, visits.sample(150, random_state=seed)], ignore_index=True)
visits["store"] = "S" + visits["store"].str.zfill(2)
"""),
        code("visits.info()"),
        md("## Clean\n\nDrop duplicate uploads and sensor dropouts, parse dates."),
        code("""
visits = visits.drop_duplicates().dropna(subset=["visitors"])
visits["date"] = pd.to_datetime(visits["date"])
visits["visitors"] = visits["visitors"].astype(int)
visits = visits.groupby(["store", "date"], as_index=False).agg(visitors=("visitors", "sum"), temp_c=("temp_c", "mean"))
"""),
        md("## Reshape\n\nWeekly visitors per store, stores as columns."),
        code("""
visits["week"] = visits["date"].dt.to_period("W").dt.start_time
weekly = visits.pivot_table(index="week", columns="store", values="visitors", aggfunc="sum", fill_value=0)
weekly.iloc[:5, :6]
"""),
        md("## Summary"),
        code("""
busiest_store = str(weekly.sum().idxmax())
mean_weekly_visitors = float(weekly.sum(axis=1).mean().round(2))
n_weeks = int(len(weekly))
print(f"busiest_store = {busiest_store}")
print(f"mean_weekly_visitors = {mean_weekly_visitors}")
print(f"n_weeks = {n_weeks}")
"""),
    ])


# --------------------------------------------------------------------------- #
# loans.ipynb: a scikit-learn Pipeline fitted on a DataFrame with a text column
# --------------------------------------------------------------------------- #
def loans() -> nbformat.NotebookNode:
    return build([
        md("""
# Loan default: a pipeline on raw columns

The preprocessing lives inside the scikit-learn `Pipeline`, so the served model
takes the raw columns (a text column included). A scaler is fitted too, for a
chart; the `model` tag says which fitted value is the model.
"""),
        code("""
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
""", "imports"),
        code("""
n_loans = 600
seed = 3
""", "parameters"),
        code("""
rng = np.random.default_rng(seed)
loans = pd.DataFrame({
    "income": rng.normal(50_000, 15_000, size=n_loans).round(0),
    "amount": rng.normal(12_000, 5_000, size=n_loans).clip(500).round(0),
    "years_employed": rng.integers(0, 30, size=n_loans),
    "purpose": rng.choice(["car", "home", "education", "other"], size=n_loans),
})
risk = 0.00008 * loans["amount"] - 0.00004 * loans["income"] - 0.05 * loans["years_employed"]
risk = risk + (loans["purpose"] == "other") * 0.8 + rng.normal(0, 0.5, size=n_loans)
loans["default"] = (risk > np.median(risk)).astype(int)
X = loans[["income", "amount", "years_employed", "purpose"]]
y = loans["default"]
""", "step:load"),
        code("""
scaler = StandardScaler()
scaler.fit(X[["income", "amount"]])
""", "step:explore"),
        code("""
pipeline = Pipeline([
    ("prepare", ColumnTransformer([
        ("numbers", StandardScaler(), ["income", "amount", "years_employed"]),
        ("purpose", OneHotEncoder(handle_unknown="ignore"), ["purpose"]),
    ])),
    ("classify", LogisticRegression(max_iter=500)),
])
pipeline.fit(X, y)
accuracy = float(pipeline.score(X, y))
""", "step:train", "model"),
        code('''
def predict(model, batch):
    """Serve the default probability, rounded, next to the class."""
    proba = model.predict_proba(batch)[:, 1]
    return [{"default": int(p > 0.5), "probability": round(float(p), 4)} for p in proba]
''', "predict"),
        code("print(accuracy)", "metrics"),
    ])


NOTEBOOKS = {
    HERE / "churn.ipynb": churn,
    HERE / "sales_etl.ipynb": sales_etl,
    HERE / "kale_iris.ipynb": kale_iris,
    HERE / "nbdev_textutils.ipynb": nbdev_textutils,
    HERE / "loans.ipynb": loans,
    UNTAGGED / "untagged_regression.ipynb": untagged_regression,
    UNTAGGED / "untagged_wrangling.ipynb": untagged_wrangling,
}


def execute(nb: nbformat.NotebookNode, workdir: Path) -> None:
    client = nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
        record_timing=False,  # keep regenerated files diff-stable
    )
    client.execute()


def main(argv: list[str]) -> int:
    wanted = set(argv)
    for path, factory in NOTEBOOKS.items():
        if wanted and path.stem not in wanted:
            continue
        nb = factory()
        nbformat.validate(nb)
        path.parent.mkdir(parents=True, exist_ok=True)
        execute(nb, path.parent)
        nbformat.write(nb, str(path))
        print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
