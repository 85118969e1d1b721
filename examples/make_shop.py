"""Generate, execute and save the `shop/` example: one project of three notebooks.

Usage:  python examples/make_shop.py

    examples/shop/data/transactions.csv   raw data (seeded numpy, no network)
    examples/shop/01_ingest.ipynb         reads the CSV, cleans it, writes work/clean.parquet
    examples/shop/02_features.ipynb       reads it, one row per customer, writes work/features.csv
    examples/shop/03_train.ipynb          reads the features, fits and evaluates a classifier

No tags: the notebooks are written as people write them, handing data on through
files. `nb2prod build examples/shop` makes one package of the three.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbclient
import numpy as np
import pandas as pd
from make_examples import KERNELSPEC, code, md
from nbformat import v4

SHOP = Path(__file__).resolve().parent / "shop"

INGEST = [
    md("# Ingest\nRead the raw transactions, drop broken rows, keep typed columns."),
    code("""
import os

import pandas as pd
"""),
    code("""
raw = pd.read_csv("data/transactions.csv", parse_dates=["date"])
print("raw rows:", len(raw))
"""),
    code("""
clean = raw.dropna(subset=["customer", "amount"])
clean = clean[clean["amount"] > 0].copy()
clean["customer"] = clean["customer"].astype(int)
print("clean rows:", len(clean))
"""),
    code("""
os.makedirs("work", exist_ok=True)
clean.to_parquet("work/clean.parquet", index=False)
"""),
]

FEATURES = [
    md("# Features\nOne row per customer: recency, frequency, monetary value."),
    code("""
import pandas as pd
"""),
    code("""
snapshot_date = "2024-07-01"
"""),
    code("""
tx = pd.read_parquet("work/clean.parquet")
now = pd.Timestamp(snapshot_date)
rfm = tx.groupby("customer").agg(
    recency=("date", lambda d: (now - d.max()).days),
    frequency=("date", "count"),
    monetary=("amount", "sum"),
    region=("region", "first"),
).reset_index()
print("customers:", len(rfm))
"""),
    code("""
rfm.to_csv("work/features.csv", index=False)
rfm.head()
"""),
]

TRAIN = [
    md("# Train\nWho comes back? A classifier on the customer features."),
    code("""
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
"""),
    code("""
features = pd.read_csv("work/features.csv")
features["returned"] = (features["frequency"] > features["frequency"].median()).astype(int)
X = features[["recency", "monetary"]]
y = features["returned"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
"""),
    code("""
model = LogisticRegression(max_iter=1000).fit(X_train, y_train)
accuracy = model.score(X_test, y_test)
print(f"accuracy: {accuracy:.3f}")
"""),
]


def transactions(n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    customers = rng.integers(1, 400, n).astype(float)
    customers[rng.random(n) < 0.01] = np.nan  # a few broken rows, as raw data has
    return pd.DataFrame({
        "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 180, n), "D"),
        "customer": customers,
        "amount": np.round(rng.gamma(2.0, 20.0, n) - 2.0, 2),
        "region": rng.choice(["north", "south", "east", "west"], n),
    })


def main() -> None:
    (SHOP / "data").mkdir(parents=True, exist_ok=True)
    transactions().to_csv(SHOP / "data" / "transactions.csv", index=False)
    for name, cells in (("01_ingest", INGEST), ("02_features", FEATURES), ("03_train", TRAIN)):
        notebook = v4.new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC})
        for index, cell in enumerate(notebook.cells):
            cell.id = f"{name}-{index}"
        nbclient.NotebookClient(notebook, kernel_name="python3",
                                resources={"metadata": {"path": str(SHOP)}}).execute()
        (SHOP / f"{name}.ipynb").write_text(v4.writes(notebook) + "\n", encoding="utf-8")
    shutil.rmtree(SHOP / "work")  # what the notebooks hand on is not part of the example


if __name__ == "__main__":
    main()
