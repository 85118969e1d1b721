"""`--target serve` on raw rows (issue 22), end to end over real HTTP on loopback.

tests/data/infer/orders.ipynb loads orders.csv and engineers features before the
split (date parts, fillna with a median, get_dummies with drop_first, a ratio),
scales with a StandardScaler and fits a LogisticRegression next to a Dummy
baseline. Built, installed into a fresh venv, trained with `--model-out`, served:
every held-out raw row of the notebook, sent one at a time and as one batch, must
get the notebook's own prediction (computed in-process from its own engineered
test frame, not through the generated feature code). Contract breaks get 422
naming the row and field. A notebook with a rolling window is reported at its
line and not served; one whose feature code divides by `len(df)` is refused at
`--model-out` with nothing saved.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from nb2prod.cli import main
from tests.e2e.test_serve import _wait_ready, free_port, request, run

pytestmark = pytest.mark.e2e

DATA = __import__("pathlib").Path(__file__).parent.parent / "data" / "infer"

NOTEBOOK_PATH = """
import json
import pandas as pd
from orders import model_io
from orders.pipeline import Params, run_steps
values = run_steps(Params())
model, _ = model_io.fitted(values)
raw = pd.read_csv("orders.csv").drop(columns=["churned"])
rows = raw.loc[values["X_test"].index]
print(json.dumps({
    "rows": json.loads(rows.to_json(orient="records", double_precision=15)),
    "predictions": model.predict(values["X_test_s"]).tolist(),
    "probabilities": model.predict_proba(values["X_test_s"]).tolist(),
    "model": type(model).__name__}))
"""
"""In the venv: the held-out raw rows and what the notebook's own path predicts for them."""


def close(got, expected, tolerance=1e-6) -> bool:
    """Nested lists of numbers equal within `tolerance`."""
    if isinstance(expected, list):
        return isinstance(got, list) and len(got) == len(expected) and all(
            close(g, e, tolerance) for g, e in zip(got, expected))
    return abs(got - expected) <= tolerance


@pytest.fixture(scope="module")
def orders(tmp_path_factory, venv_factory):
    """(python, work dir, model dir, the notebook's held-out rows and predictions)."""
    python = venv_factory("serve_raw")
    work = tmp_path_factory.mktemp("orders")
    assert main(["build", str(DATA / "orders.ipynb"), "-o", str(work / "orders"),
                 "--target", "serve", "-q"]) == 0
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-build-isolation",
                    f"{work / 'orders'}[serve,test]"], check=True)
    shutil.copy(DATA / "orders.csv", work / "orders.csv")
    run(python, "-m", "orders", "--model-out", str(work / "model"), cwd=work)
    probe = run(python, "-c", NOTEBOOK_PATH, cwd=work)
    return python, work, work / "model", json.loads(probe.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def server(orders, tmp_path_factory):
    python, work, model, _ = orders
    port = free_port()
    log_path = tmp_path_factory.mktemp("log") / "serve.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([str(python), "-m", "orders.serve", "--model", str(model),
                                 "--port", str(port), "--workers", "1"],  # ready is ready
                                stdout=log, stderr=log, cwd=work)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_ready(proc, url, log_path)
            yield f"{url}/v1/models/orders:predict", url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def test_the_served_model_is_the_evaluated_one_not_the_baseline(orders):
    *_, notebook = orders
    assert notebook["model"] == "LogisticRegression"


def test_every_heldout_raw_row_gets_the_notebook_prediction(server, orders):
    predict, _ = server
    *_, notebook = orders
    rows = notebook["rows"]
    assert len(rows) == 150 and "churned" not in rows[0] and "plan" in rows[0]
    status, batch = request(predict, {"instances": rows})
    assert status == 200
    assert batch["predictions"] == notebook["predictions"]
    assert close(batch["probabilities"], notebook["probabilities"])
    for row, prediction, probability in zip(rows, notebook["predictions"],
                                            notebook["probabilities"]):
        status, one = request(predict, {"instances": [row]})
        assert status == 200, one
        assert one["predictions"] == [prediction], row
        assert close(one["probabilities"][0], probability), row


def test_ids_are_optional_and_the_target_is_ignored(server, orders):
    predict, _ = server
    *_, notebook = orders
    row = notebook["rows"][0]
    without_id = {k: v for k, v in row.items() if k != "order_id"}
    with_label = {**row, "churned": 1}
    status, answer = request(predict, {"instances": [without_id, with_label]})
    assert status == 200 and answer["predictions"] == [notebook["predictions"][0]] * 2


def test_contract_breaks_get_422_naming_row_and_field(server, orders):
    predict, url = server
    *_, notebook = orders
    row = {**notebook["rows"][0], "region": "north", "spend": 12.5}
    cases = [
        ({**row, "plan": "enterprise"}, "plan", "'enterprise' is not one of free, plus, pro"),
        ({**row, "spend": "a lot"}, "spend", "expected a number"),
        ({**row, "visits": 2.5}, "visits", "expected an integer"),
        ({k: v for k, v in row.items() if k != "visits"}, "visits", "missing column"),
        ({**row, "signup_date": "last tuesday"}, "signup_date", "is not a date"),
        ({**row, "plan": None}, "plan", "no missing values"),
        ({**row, "colour": "red"}, "colour", "unknown column"),
    ]
    for bad, field, words in cases:
        status, answer = request(predict, {"instances": [row, row, bad]})
        assert status == 422, (bad, answer)
        assert answer["field"] == f"instances[2].{field}" and words in answer["error"], answer
    status, answer = request(predict, {"instances": [{**row, "spend": 10_000.0}]})
    assert status == 200  # out of range: answered, and counted
    status, metadata = request(f"{url}/metadata")
    assert metadata["out_of_range"] == {"spend": 1}
    plan = next(c for c in metadata["contract"]["columns"] if c["name"] == "plan")
    assert plan["categories"] == ["free", "plus", "pro"]


def test_the_model_folder_holds_the_state_and_a_readable_contract(orders):
    *_, model, _ = orders
    card = json.loads((model / "features.json").read_text())
    assert card["proof"]["rows"] == 150 and card["proof"]["one_at_a_time"] == 150
    assert "4:5:1" in card["recorded"]  # the training median of spend
    contract = json.loads((model / "contract.json").read_text())
    required = {c["name"]: c["required"] for c in contract["columns"]}
    assert required == {"order_id": False, "signup_date": True, "region": True,
                        "plan": True, "spend": True, "visits": True}


def test_the_generated_tests_pass(orders):
    python, work, _, _ = orders
    shutil.copy(DATA / "orders.csv", work / "orders" / "orders.csv")
    done = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests",
               cwd=work / "orders")
    assert " passed" in done.stdout and "skipped" not in done.stdout, done.stdout


def test_a_window_feature_is_reported_at_its_line_and_not_served(tmp_path):
    done = subprocess.run([sys.executable, "-m", "nb2prod", "build",
                           str(DATA / "window.ipynb"), "-o", str(tmp_path / "w"),
                           "--target", "serve"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr  # the batch package is fine
    output = done.stdout + done.stderr
    assert "window.ipynb:cell 4:2" in output and "NB626" in output and "rolling" in output
    assert "Traceback" not in output
    assert not (tmp_path / "w" / "src" / "window" / "serve.py").exists()


def test_a_feature_no_row_can_reproduce_is_refused_at_model_out(orders, tmp_path):
    python, _, _, _ = orders
    assert main(["build", str(DATA / "rowcount.ipynb"), "-o", str(tmp_path / "rowcount"),
                 "--target", "serve", "-q"]) == 0
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-build-isolation",
                    "--no-deps", str(tmp_path / "rowcount")], check=True)
    shutil.copy(DATA / "orders.csv", tmp_path / "orders.csv")
    done = run(python, "-m", "rowcount", "--model-out", str(tmp_path / "model"),
               cwd=tmp_path, ok=False)
    assert done.returncode == 1
    (line,) = [x for x in done.stderr.splitlines() if "error" in x]
    assert "'spend_share'" in line and "cell 4, line 2" in line and "not saved" in line
    assert not (tmp_path / "model").exists()


SCORE_FILES = """
import json, sys
import pandas as pd
rows = json.loads(open(sys.argv[1]).read())
rows[3] = {**rows[3], "plan": "enterprise"}  # breaks the contract: a reject
frame = pd.DataFrame(rows)
frame.to_csv("heldout.csv", index=False)
frame.to_json("heldout.jsonl", orient="records", lines=True, double_precision=15)
frame.to_parquet("heldout.parquet", index=False)
"""


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_scoring_a_file_gives_the_notebook_predictions(orders, tmp_path, suffix):
    python, _, model, notebook = orders
    (tmp_path / "rows.json").write_text(json.dumps(notebook["rows"]))
    run(python, "-c", SCORE_FILES, "rows.json", cwd=tmp_path)
    done = run(python, "-m", "orders.score", "--model", str(model), f"heldout{suffix}",
               "--output", f"scored{suffix}", "--rejects", "rejects.csv", "--chunk-rows",
               "40", cwd=tmp_path)
    summary = json.loads(done.stderr.strip().splitlines()[-1])
    assert (summary["rows"], summary["rejected"]) == (150, 1)
    read = {".csv": "pd.read_csv", ".jsonl": "lambda p: pd.read_json(p, lines=True)",
            ".parquet": "pd.read_parquet"}[suffix]
    probe = run(python, "-c", f"import pandas as pd, json; f = ({read})('scored{suffix}'); "
                "print(json.dumps([f['prediction'].tolist(), f['probability_1'].tolist(), "
                "list(f.columns)]))", cwd=tmp_path)
    predictions, probabilities, columns = json.loads(probe.stdout)
    expected = [p for i, p in enumerate(notebook["predictions"]) if i != 3]
    assert predictions == expected
    assert close(probabilities, [p[1] for i, p in enumerate(notebook["probabilities"])
                                 if i != 3])
    assert columns[:6] == list(notebook["rows"][0]) and "probability_0" in columns
    rejects = (tmp_path / "rejects.csv").read_text().splitlines()
    assert rejects == ["row,column,reason",
                       "3,plan,\"'enterprise' is not one of free, plus, pro\""]


def test_scoring_refuses_unusable_input_in_one_line(orders, tmp_path):
    python, _, model, _ = orders
    (tmp_path / "ids.csv").write_text("order_id\n1\n2\n")
    done = run(python, "-m", "orders.score", "--model", str(model), "ids.csv", "--output",
               "out.csv", cwd=tmp_path, ok=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "ids.csv" in line and "missing column" in line


def test_prometheus_metrics_count_requests_rows_and_rejects(server, orders):
    import urllib.request

    predict, url = server
    *_, notebook = orders
    request(predict, {"instances": notebook["rows"][:4]})
    request(predict, {"instances": [{**notebook["rows"][0], "plan": "enterprise"}]})
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        text = response.read().decode()
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines()
                   if line and not line.startswith("#"))
    rejects = 'orders_contract_rejects_total{field="plan",reason="unseen_category"}'
    assert float(samples[rejects]) >= 1
    assert float(samples["orders_rows_scored_total"]) >= 4
    assert float(samples['orders_requests_total{path="/v1/models/orders:predict",'
                         'status="422"}']) >= 1
    assert 'orders_request_seconds_bucket{le="0.005",path="/v1/models/orders:predict"}' \
        in samples


def test_check_contract_stops_training_on_data_that_breaks_it(orders, tmp_path):
    python, work, model, _ = orders
    run(python, "-c", "import pandas as pd; d = pd.read_csv('orders.csv'); "
        "d.loc[5, 'plan'] = 'enterprise'; d.to_csv('bad.csv', index=False)", cwd=work)
    done = run(python, "-m", "orders", "--check-contract", str(model), "--data-path",
               str(work / "bad.csv"), cwd=tmp_path, ok=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "row 5, plan: 'enterprise' is not one of free, plus, pro" in line
    assert "[1/" not in done.stderr  # no step ran
    run(python, "-m", "orders", "--check-contract", str(model), "--data-path",
        str(work / "orders.csv"), cwd=tmp_path)
