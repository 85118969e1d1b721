"""Write tests/data/infer/orders.csv: the raw rows the orders notebook loads."""
import numpy as np
import pandas as pd

rng = np.random.default_rng(20261207)
n = 600
days = rng.integers(0, 700, size=n)
dates = (pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d")
region = rng.choice(["north", "south", "east", "west"], size=n).astype(object)
region[rng.random(n) < 0.1] = None
plan = rng.choice(["free", "plus", "pro"], size=n, p=[0.5, 0.3, 0.2])
spend = np.round(rng.gamma(2.0, 30.0, size=n), 2)
spend[rng.random(n) < 0.08] = np.nan
visits = rng.poisson(4, size=n)
score = 0.02 * np.nan_to_num(spend, nan=50) + 0.3 * visits - 1.5 * (plan == "free") + rng.normal(0, 1, n)
churned = (score < 2.0).astype(int)
pd.DataFrame({"order_id": np.arange(1, n + 1), "signup_date": dates, "region": region,
              "plan": plan, "spend": spend, "visits": visits, "churned": churned}
             ).to_csv("tests/data/infer/orders.csv", index=False)
