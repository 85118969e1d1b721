import json


def nb(cells):
    out = []
    for i, (tags, src) in enumerate(cells):
        out.append({"cell_type": "code", "execution_count": None, "id": f"c{i:02d}",
                    "metadata": {"tags": tags} if tags else {}, "outputs": [],
                    "source": src.strip("\n").splitlines(keepends=True)})
    return {"cells": out, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
IMPORTS = """
import pandas as pd
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
"""
orders = [
 (["imports"], IMPORTS),
 (["parameters"], 'data_path = "orders.csv"\nseed = 7\n'),
 (["step:load"], 'df = pd.read_csv(data_path)\nprint(df.shape)\n'),
 (["step:features"], '''
df["signup_date"] = pd.to_datetime(df["signup_date"])
df["signup_month"] = df["signup_date"].dt.month
df["signup_dow"] = df["signup_date"].dt.day_of_week
df["region"] = df["region"].fillna("unknown")
df["spend"] = df["spend"].fillna(df["spend"].median())
df["spend_per_visit"] = df["spend"] / (df["visits"] + 1)
df = pd.get_dummies(df, columns=["region", "plan"], dtype=int, drop_first=True)
X = df.drop(columns=["order_id", "signup_date", "churned"])
y = df["churned"]
'''),
 (["step:split"], 'X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed)\n'),
 (["step:train"], '''
scaler = StandardScaler()
X_train_s = scaler.fit_transform(X_train)
X_test_s = scaler.transform(X_test)
model = LogisticRegression(max_iter=500).fit(X_train_s, y_train)
baseline = DummyClassifier().fit(X_train_s, y_train)
'''),
 (["step:evaluate"], '''
pred = model.predict(X_test_s)
accuracy = float(accuracy_score(y_test, pred))
baseline_accuracy = float(accuracy_score(y_test, baseline.predict(X_test_s)))
'''),
 (["metrics"], 'print(accuracy)\nprint(baseline_accuracy)\n'),
]
window = [
 (["imports"], "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"),
 (["parameters"], 'data_path = "orders.csv"\n'),
 (["step:load"], 'df = pd.read_csv(data_path)\n'),
 (["step:features"], '''
df["spend"] = df["spend"].fillna(0.0)
df["spend_avg3"] = df["spend"].rolling(3, min_periods=1).mean()
X = df[["spend", "spend_avg3", "visits"]]
y = df["churned"]
'''),
 (["step:train"], 'model = LogisticRegression().fit(X, y)\nscore = float(model.score(X, y))\n'),
 (["metrics"], 'print(score)\n'),
]
rowcount = [
 (["imports"], ("import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"
  "from sklearn.model_selection import train_test_split\n")),
 (["parameters"], 'data_path = "orders.csv"\n'),
 (["step:load"], 'df = pd.read_csv(data_path)\n'),
 (["step:features"], '''
df["spend"] = df["spend"].fillna(0.0)
df["spend_share"] = df["spend"] * 100 / len(df)
X = df[["spend_share", "visits"]]
y = df["churned"]
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
'''),
 (["step:train"], ('model = LogisticRegression().fit(X_train, y_train)\n'
  'score = float(model.score(X_test, y_test))\n')),
 (["metrics"], 'print(score)\n'),
]
window_input = [*window[:3], (["step:features", "serve-input:df"], '''
df["spend"] = df["spend"].fillna(0.0)
df["spend_avg3"] = df["spend"].rolling(3, min_periods=1).mean()
'''), (None, '''
X = df[["spend", "spend_avg3", "visits"]]
y = df["churned"]
'''), *window[4:]]
scaled = [*orders[:4], (["step:train"], '''
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed)
scaler = StandardScaler().fit(X_train)
model = LogisticRegression(max_iter=500)
model.fit(scaler.transform(X_train), y_train)
'''), (["step:evaluate"], '''
accuracy = float(accuracy_score(y_test, model.predict(scaler.transform(X_test))))
'''), (["metrics"], 'print(accuracy)\n')]
notebooks = (("orders", orders), ("window", window), ("rowcount", rowcount),
             ("window_input", window_input), ("scaled", scaled))
for name, cells in notebooks:
    with open(f"tests/data/infer/{name}.ipynb", "w") as f:
        json.dump(nb(cells), f, indent=1)
        f.write("\n")
