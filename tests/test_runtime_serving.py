"""The serving half of the package runtime, imported directly (`nb2prod.runtime.model_io`,
`batches`, `serve_app`): a model saved with its card loads back checked, a tampered
card or artifact is refused in one line, requests become batches or 4xx naming the
field, and the service answers on a real model. Generated packages run the same code
(vendored), tested end to end in tests/e2e/test_serve*.py."""

from __future__ import annotations

import dataclasses
import json
import time

import numpy as np
import pandas as pd
import pytest

from nb2prod.runtime import batches, model_io

pytest.importorskip("skops")
sklearn = pytest.importorskip("sklearn.linear_model")

SPEC = model_io.ModelSpec(value="model", key="model", input_key="X", package="toy",
                          notebook="toy.ipynb", notebook_sha256="0" * 64,
                          nb2prod_version="0.1.0")


@dataclasses.dataclass(frozen=True)
class Params:
    seed: int = 1


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A model directory written by model_io.save_model, and the values it came from."""
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1, 0, 1, 0]})
    model = sklearn.LogisticRegression().fit(X, [0, 0, 1, 1])
    out = tmp_path_factory.mktemp("model")
    card = model_io.save_model(SPEC, {"model": model, "X": X}, Params(), {"acc": 1.0}, out)
    assert card == out / model_io.CARD
    return out, model, X


def test_a_saved_model_loads_back_with_its_card(saved):
    out, model, X = saved
    loaded, card = model_io.load_model(out)
    assert card["model_value"] == "model" and card["params"] == {"seed": 1}
    assert card["input_schema"]["columns"] == [{"name": "a", "dtype": "float64"},
                                               {"name": "b", "dtype": "int64"}]
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize(("damage", "message"), [
    (lambda card: card.pop("model_type"), "model_type: expected the model's type name"),
    (lambda card: card["artifact"].update(sha256="f" * 64), "does not match model.json"),
    (lambda card: card["input_schema"].update(kind="tensor"), "input_schema: expected"),
])
def test_a_tampered_card_is_refused_in_one_line(saved, tmp_path, damage, message):
    out, _, _ = saved
    for path in out.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    card = json.loads((tmp_path / model_io.CARD).read_text())
    damage(card)
    (tmp_path / model_io.CARD).write_text(json.dumps(card))
    with pytest.raises(model_io.ModelError) as refused:
        model_io.check_model(tmp_path)
    assert message in str(refused.value) and "\n" not in str(refused.value)


SCHEMA = {"kind": "dataframe", "columns": [{"name": "a", "dtype": "float64"},
                                           {"name": "b", "dtype": "int64"}]}


def test_rows_become_the_training_frame():
    frame = batches.to_batch({"instances": [[0.5, 1], {"b": 2, "a": 1}]}, SCHEMA)
    assert list(frame.dtypes.astype(str)) == ["float64", "int64"]
    assert frame.to_dict("list") == {"a": [0.5, 1.0], "b": [1, 2]}


@pytest.mark.parametrize(("payload", "field"), [
    ([], "body"),
    ({"rows": []}, "instances"),
    ({"instances": [[1.0, True]]}, "instances[0].b"),
    ({"instances": [{"a": 1.0}]}, "instances[0].b"),
    ({"instances": [{"a": 1.0, "b": 1, "c": 2}]}, "instances[0].c"),
    ({"instances": [[1.0, 2 ** 70]]}, "instances[0].b"),
    ({"instances": [[1e308 * 10, 1]]}, "instances[0].a"),
])
def test_a_bad_request_names_its_field(payload, field):
    with pytest.raises(batches.InputError) as bad:
        batches.to_batch(payload, SCHEMA)
    assert bad.value.field == field


def test_the_service_answers_on_a_real_model(saved):
    testclient = pytest.importorskip("fastapi.testclient")
    from nb2prod.runtime import serve_app

    out, model, X = saved
    service = serve_app.Service(model_name="toy", package="toy", prog="toy-serve",
                                version="0.1.0", description="a toy")
    with testclient.TestClient(serve_app.create_app(service, out)) as client:
        deadline = time.monotonic() + 60
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        rows = X.to_dict("records")
        answer = client.post(service.predict_path, json={"instances": rows})
        assert answer.status_code == 200
        assert answer.json()["predictions"] == model.predict(X).tolist()
        bad = client.post(service.predict_path, json={"instances": [{"a": "x", "b": 1}]})
        assert bad.status_code == 422 and bad.json()["field"] == "instances[0].a"
        deep = client.post(service.predict_path, content=b"[" * 5000 + b"]" * 5000)
        assert deep.status_code == 400 and deep.json()["field"] == "body"
        assert client.get("/healthz").json() == {"status": "alive"}


def _ready(client) -> None:
    deadline = time.monotonic() + 60
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_metrics_count_rows_rejects_and_requests_shed_past_their_deadline(saved):
    """/metrics sees what the handler answered: rows scored, a contract reject by column
    and reason, and a request the micro-batcher gave up on (504) by its cause."""
    testclient = pytest.importorskip("fastapi.testclient")
    pytest.importorskip("prometheus_client")
    from concurrent.futures import ThreadPoolExecutor

    from nb2prod.runtime import serve_app
    from nb2prod.runtime.batching import BatchSettings

    def slow(model, batch):  # the notebook's predict cell, slower than the deadline
        time.sleep(1.0)
        return model.predict(batch)

    out, _, X = saved
    service = serve_app.Service(model_name="toy", package="toy", prog="toy-serve",
                                version="0.1.0", description="a toy", predict=slow)
    app = serve_app.create_app(service, out, batching=BatchSettings(max_wait=0.0,
                                                                    timeout=1.6))
    with testclient.TestClient(app) as client:
        _ready(client)
        rows = X.to_dict("records")
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(client.post, service.predict_path, json={"instances": rows})
            time.sleep(0.2)  # queued behind the first one's model call: done too late
            second = pool.submit(client.post, service.predict_path, json={"instances": rows})
            statuses = sorted([first.result().status_code, second.result().status_code])
        assert statuses == [200, 504]
        bad = client.post(service.predict_path, json={"instances": [{"a": 1.0, "c": 1}]})
        assert bad.status_code == 422
        text = client.get("/metrics").text
    assert "toy_rows_scored_total 4.0" in text
    assert 'toy_shed_requests_total{reason="deadline"} 1.0' in text
    assert 'toy_requests_total{path="/v1/models/toy:predict",status="504"} 1.0' in text
    assert 'toy_contract_rejects_total{field="c",reason="unknown_column"} 1.0' in text


def test_raw_rows_saved_without_their_state_are_served_as_fitted(saved):
    """A model whose feature code could not run on the loaded frame (Unserved) is saved
    without the features files; the service then validates rows against the card."""
    testclient = pytest.importorskip("fastapi.testclient")
    from nb2prod.runtime import raw_rows, serve_app

    out, model, X = saved
    assert raw_rows.load_state(out) == (None, None)
    path = raw_rows.FeaturePath(
        frame="df", frame_cell=1, frame_line=1, target=None, frozen=(), train_rows=(),
        heldout_rows=(), renumbered=False, statements=(), load=lambda params: None,
        features=lambda frame, state: frame, heldout_input=lambda values: None,
        train_input=lambda values: None)
    with pytest.raises(raw_rows.Unserved, match="`df` is a NoneType, not a DataFrame"):
        raw_rows.fit(path, {}, Params(), model)
    service = serve_app.Service(model_name="toy", package="toy", prog="toy-serve",
                                version="0.1.0", description="a toy", inference=path)
    with testclient.TestClient(serve_app.create_app(service, out)) as client:
        _ready(client)
        answer = client.post(service.predict_path, json={"instances": X.to_dict("records")})
        assert answer.json() == {"predictions": model.predict(X).tolist(),
                                 "probabilities": model.predict_proba(X).tolist()}
        assert "contract" not in client.get("/metadata").json()
