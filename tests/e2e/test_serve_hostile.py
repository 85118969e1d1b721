"""The generated service under attack and bad luck, over real processes and HTTP.

Build churn with `--target serve`, train it once, then: start `python -m
churn.serve` on 32 tampered copies of the model folder (hostile skops files
among them) and require a one-line refusal, exit 2, no traceback and nothing
run; send malformed bodies on one keep-alive connection and require a 4xx naming
the field, and the next request answered; watch /healthz answer before /readyz;
stop a server that a client stalls mid-body and require it to exit in bounded
time. The package runs from its source folder (PYTHONPATH) with this interpreter.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from nb2prod.cli import main
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.e2e

STOPPED = (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM once it has shut down


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """(environment for subprocesses, trained model folder, a bigger one)."""
    out = tmp_path_factory.mktemp("hostile")
    assert main(["build", str(EXAMPLES / "churn.ipynb"), "-o", str(out / "churn"),
                 "--target", "serve", "-q"]) == 0
    env = {**os.environ, "PYTHONPATH": str(out / "churn" / "src")}
    for name, trees in (("model", "50"), ("big", "600")):
        subprocess.run([sys.executable, "-m", "churn", "--model-out", str(out / name),
                        "--n-estimators", trees], env=env, cwd=out, check=True,
                       capture_output=True, timeout=600)
    return env, out / "model", out / "big"


RAW_ROW = """
import json
from churn import inference
from churn.pipeline import Params
raw = inference.load(Params()).drop(columns=[inference.TARGET], errors="ignore").head(1)
print(json.dumps({"row": json.loads(raw.to_json(orient="values", double_precision=15))[0],
                  "columns": list(raw.columns), "kinds": [t.kind for t in raw.dtypes]}))
"""
"""A raw row the service takes (the frame the notebook loaded, without the target)."""


@pytest.fixture(scope="module")
def raw(package):
    env, _, _ = package
    done = subprocess.run([sys.executable, "-c", RAW_ROW], env=env, check=True,
                          capture_output=True, text=True, timeout=600)
    return json.loads(done.stdout.splitlines()[-1])


def serve(env, model, *args, port=None, **kwargs):
    command = [sys.executable, "-m", "churn.serve", "--model", str(model),
               "--port", str(port or free_port()), *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- tampered model folders -------------------------------------------------------

def card_of(folder: Path) -> dict:
    return json.loads((folder / "model.json").read_text())


def write_card(folder: Path, card) -> None:
    (folder / "model.json").write_text(json.dumps(card))


def edit_card(change):
    def tamper(folder: Path, outside: Path) -> None:
        card = card_of(folder)
        change(card)
        write_card(folder, card)
    return tamper


def replace_artifact(data: bytes, types=None):
    """A new model.skops, with the card updated to match it (an attacker who can write
    both files, or a careless re-save)."""
    def tamper(folder: Path, outside: Path) -> None:
        (folder / "model.skops").write_bytes(data)
        card = card_of(folder)
        card["artifact"]["sha256"] = hashlib.sha256(data).hexdigest()
        if types is not None:
            card["artifact"]["types"] = types
        write_card(folder, card)
    return tamper


def node(loader, module, cls, **extra):
    return {"__class__": cls, "__module__": module, "__loader__": loader, **extra}


def skops_zip(schema: dict | str) -> bytes:
    """A skops file of this schema (or schema text) at the protocol skops writes."""
    import skops.io as sio

    with zipfile.ZipFile(io.BytesIO(sio.dumps(0))) as real:
        protocol = json.loads(real.read("schema.json"))["protocol"]
    text = schema if isinstance(schema, str) else json.dumps({**schema, "protocol": protocol})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", text)
    return buffer.getvalue()


def runs_code(module: str, name: str, marker: Path) -> bytes:
    """A skops file whose root calls module.name(code, {}) when built; with an exec
    (numpy.testing's runstring, builtins.exec) the code creates `marker`."""
    code = node("JsonNode", "builtins", "str", is_json=True,
                content=json.dumps(f"open({str(marker)!r}, 'w').close()"))
    namespace = node("DictNode", "builtins", "dict", content={},
                     key_types=node("ListNode", "builtins", "list", content=[]))
    return skops_zip(node("ConstructorFromReduceNode", module, name,
                          content=node("TupleNode", "builtins", "tuple",
                                       content=[code, namespace])))


def hostile(module: str, name: str):
    def tamper(folder: Path, outside: Path) -> None:
        data = runs_code(module, name, outside / "ran")
        replace_artifact(data, [f"{module}.{name}"])(folder, outside)
    return tamper


def in_skops(change):
    """Rewrite the real schema.json (card updated)."""
    def tamper(folder: Path, outside: Path) -> None:
        with zipfile.ZipFile(folder / "model.skops") as archive:
            files = {n: archive.read(n) for n in archive.namelist()}
        schema = json.loads(files["schema.json"])
        change(schema)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in {**files, "schema.json": json.dumps(schema).encode()}.items():
                archive.writestr(name, data)
        replace_artifact(buffer.getvalue())(folder, outside)
    return tamper


def special(kind: str, name: str = "model.skops"):
    def tamper(folder: Path, outside: Path) -> None:
        target = folder / name
        real = target.read_bytes()
        target.unlink()
        if kind == "fifo":
            os.mkfifo(target)
        elif kind == "directory":
            target.mkdir()
        elif kind == "symlink out":
            (outside / name).write_bytes(real)  # the right bytes, in the wrong place
            target.symlink_to(outside / name)
    return tamper


def flip_byte(folder: Path, outside: Path) -> None:
    data = bytearray((folder / "model.skops").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "model.skops").write_bytes(bytes(data))


def truncated(folder: Path, outside: Path) -> None:
    data = (folder / "model.skops").read_bytes()
    replace_artifact(data[: len(data) // 2])(folder, outside)


def joblib_model(folder: Path, outside: Path) -> None:
    import joblib
    from sklearn.linear_model import LogisticRegression

    buffer = io.BytesIO()
    joblib.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), buffer)
    (folder / "model.skops").unlink()
    (folder / "model.joblib").write_bytes(buffer.getvalue())
    card = card_of(folder)
    card["artifact"].update(file="model.joblib", format="joblib",
                            sha256=hashlib.sha256(buffer.getvalue()).hexdigest())
    write_card(folder, card)


def deep(depth: int) -> str:
    """Schema text of lists nested `depth` deep (too deep for json.dumps to write)."""
    opening = '{"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", ' \
        '"protocol": 2, "content": ['
    return opening * depth + "]}" * depth


TAMPERED = {
    "card is []": (lambda f, o: (f / "model.json").write_text("[]"), "not an object"),
    "card is a string": (lambda f, o: (f / "model.json").write_text('"x"'), "not an object"),
    "card is not JSON": (lambda f, o: (f / "model.json").write_text("{"), "not JSON"),
    "card is not UTF-8": (lambda f, o: (f / "model.json").write_bytes(b"\xff\xfe{"),
                          "not JSON"),
    "card nested 100k deep": (lambda f, o: (f / "model.json").write_text(
        "[" * 100_000 + "]" * 100_000), "not JSON"),
    "card missing": (lambda f, o: (f / "model.json").unlink(), "cannot open"),
    "card of an older format": (edit_card(lambda c: c.update(format="nb2prod-model/1")),
                                "format: expected"),
    "card without model_type": (edit_card(lambda c: c.pop("model_type")), "model_type"),
    "card without input_schema": (edit_card(lambda c: c.pop("input_schema")),
                                  "input_schema"),
    "card with a bad dtype": (edit_card(
        lambda c: c["input_schema"]["columns"][0].update(dtype="no such dtype")),
        "input_schema.columns[0].dtype"),
    "card naming a path": (edit_card(lambda c: c["artifact"].update(file="../model.skops")),
                           "artifact.file"),
    "card without types": (edit_card(lambda c: c["artifact"].pop("types")),
                           "artifact.types"),
    "card is a FIFO": (special("fifo", "model.json"), "not a regular file"),
    "artifact missing": (lambda f, o: (f / "model.skops").unlink(), "cannot open"),
    "artifact is a FIFO": (special("fifo"), "not a regular file"),
    "artifact is a directory": (special("directory"), "not a regular file"),
    "artifact links out of the folder": (special("symlink out"), "outside the model"),
    "wrong sha256": (flip_byte, "does not match model.json"),
    "damaged zip, card updated": (truncated, "not a skops file"),
    "not a zip, card updated": (replace_artifact(b"PK\x03\x04 nothing"), "not a skops file"),
    "runstring (an exec)": (hostile("numpy.testing._private.utils", "runstring"),
                            "type numpy.testing._private.utils.runstring is not on the"),
    "builtins.exec": (hostile("builtins", "exec"), "type builtins.exec is not on the"),
    "os.system": (hostile("os", "system"), "type os.system is not on the"),
    "a bound method node": (replace_artifact(skops_zip(node(
        "MethodNode", "sklearn.pipeline", "Pipeline",
        content={"func": "predict", "obj": {}})), []), "node kind MethodNode"),
    "a type the card did not record": (edit_card(
        lambda c: c["artifact"].update(types=c["artifact"]["types"][1:])),
        "not among the types model.json recorded"),
    "a dict, not a model": (replace_artifact(skops_zip(node(
        "DictNode", "builtins", "dict", content={},
        key_types=node("ListNode", "builtins", "list", content=[]))),
        ["builtins.dict", "builtins.list"]), "not a model with predict()"),
    "an older skops protocol": (in_skops(lambda s: s.update(protocol=0)), "skops protocol 0"),
    "schema nested 100k deep": (replace_artifact(skops_zip(deep(100_000))), "not a skops file"),
    "a pickle without --trust-pickle": (joblib_model, "--trust-pickle"),
    "feature state card is a FIFO": (special("fifo", "features.json"), "not a regular file"),
    "contract links out of the folder": (special("symlink out", "contract.json"),
                                         "outside the model"),
    "feature state card is not JSON": (lambda f, o: (f / "features.json").write_text("{"),
                                       "cannot read the feature state"),
}
"""How a model folder is tampered with -> what the one-line refusal says."""


@pytest.mark.parametrize("case", list(TAMPERED))
def test_a_tampered_model_folder_is_refused_in_one_line(package, tmp_path, case):
    env, model, _ = package
    folder, outside = tmp_path / "model", tmp_path / "outside"
    shutil.copytree(model, folder)
    outside.mkdir()
    tamper, expected = TAMPERED[case]
    tamper(folder, outside)
    proc = serve(env, folder)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, stderr
    (line,) = stderr.strip().splitlines()
    assert line.startswith("churn-serve: error: ") and expected in line, line
    assert "Traceback" not in stderr
    assert not (outside / "ran").exists()  # nothing the file named has run


def test_the_hostile_files_would_run_code_if_trusted(tmp_path):
    """The probe is real: skops trusting the file's own list runs the exec."""
    import skops.io as sio

    marker = tmp_path / "ran"
    data = runs_code("numpy.testing._private.utils", "runstring", marker)
    sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    assert marker.exists()


def test_a_pickle_loads_with_trust_pickle(package, tmp_path):
    env, model, _ = package
    folder = tmp_path / "model"
    shutil.copytree(model, folder)
    joblib_model(folder, tmp_path)
    port = free_port()
    proc = serve(env, folder, "--trust-pickle", port=port)
    try:
        wait_ready(proc, port)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    assert proc.returncode in STOPPED


class RunsCode:
    """Unpickling it creates `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("kind", ["pickle", "exec", "runstring", "unrecorded"])
def test_a_hostile_feature_state_runs_nothing_and_is_refused_in_one_line(package, tmp_path,
                                                                         kind):
    """The feature state's fitted objects (features.skops) pass the model's allow-list and
    the types recorded at save before anything is built; a pickle is no skops file."""
    import pickle

    env, model, _ = package
    folder, marker = tmp_path / "model", tmp_path / "ran"
    shutil.copytree(model, folder)
    card = json.loads((folder / "features.json").read_text())
    if kind == "pickle":
        data = pickle.dumps(RunsCode(marker))
    elif kind == "unrecorded":  # an allowed type the card never recorded
        import skops.io as sio
        from sklearn.preprocessing import StandardScaler

        data = sio.dumps([StandardScaler()])
    else:
        module, name = {"exec": ("builtins", "exec"),
                        "runstring": ("numpy.testing._private.utils", "runstring")}[kind]
        data = runs_code(module, name, marker)
        card["objects"]["types"].append(f"{module}.{name}")  # recorded: still not allowed
    (folder / "features.skops").write_bytes(data)
    card["objects"]["sha256"] = hashlib.sha256(data).hexdigest()
    (folder / "features.json").write_text(json.dumps(card))
    proc = serve(env, folder)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    assert not marker.exists()
    assert proc.returncode == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


def damaged_tree(folder: Path, outside: Path) -> None:
    """A forest whose first tree links a node to itself, saved as a real skops file
    with a matching card: only building it shows the damage."""
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier

    forest = RandomForestClassifier(n_estimators=2, random_state=0)
    forest.fit([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [1.0, 1.0]] * 5, [0, 1, 0, 1] * 5)
    left = forest.estimators_[0].tree_.children_left
    left[0] = 0  # a cycle: predict would never reach a leaf
    data = sio.dumps(forest)
    replace_artifact(data, names_in(data))(folder, outside)


def names_in(data: bytes) -> list[str]:
    """Every type name a skops file's nodes carry (what the card records at save)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        stack, names = [json.loads(archive.read("schema.json"))], set()
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if "__loader__" in value:
                names.add(f"{value['__module__']}.{value['__class__']}")
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return sorted(names)


def test_a_model_that_fails_to_build_stops_the_server_with_exit_2(package, tmp_path):
    env, model, _ = package
    folder = tmp_path / "model"
    shutil.copytree(model, folder)
    damaged_tree(folder, tmp_path)
    proc = serve(env, folder)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("churn-serve: error: ") and "refusing a damaged model" in last
    assert "Traceback" not in stderr


# --- a running server -------------------------------------------------------------

def wait_ready(proc, port, timeout=120.0) -> list[tuple[int, int]]:
    """Poll /healthz and /readyz until ready; the (healthz, readyz) statuses seen."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            statuses = tuple(get(port, path)[0] for path in ("/healthz", "/readyz"))
        except OSError:
            time.sleep(0.02)
            continue
        seen.append(statuses)
        if statuses[1] == 200:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"not ready in {timeout}s: {seen[-3:]}")


def get(port, path):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def server(package):
    """(port, statuses seen while it started) of a server of the big forest."""
    env, _, big = package
    port = free_port()
    proc = serve(env, big, "--graceful-timeout", "3", port=port)
    try:
        seen = wait_ready(proc, port)
        yield port, seen
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)


def test_healthz_answers_while_the_model_loads(server):
    _, seen = server
    assert (200, 503) in seen, seen  # alive, not ready: not a refused connection
    assert seen[-1] == (200, 200)


def with_value(row: list, position: int, text: str) -> bytes:
    """A body whose first row holds `text` (JSON) at `position`."""
    row = [*row[:position], "SLOT", *row[position + 1:]]
    return json.dumps({"instances": [row]}).replace('"SLOT"', text).encode()


def malformed(raw: dict) -> list[tuple[bytes, int, str | None]]:
    """Body -> status -> the field the answer names (None: any field)."""
    row, columns, kinds = raw["row"], raw["columns"], raw["kinds"]
    integer = next(j for j, kind in enumerate(kinds) if kind in "iu")
    number = next(j for j, kind in enumerate(kinds) if kind == "f")
    as_int, as_float = f"instances[0].{columns[integer]}", f"instances[0].{columns[number]}"
    return [
        (b'{"instances": [', 400, "body"),
        (b"\xff\xfe not UTF-8", 400, "body"),
        (b"[" * 5000 + b"]" * 5000, 400, "body"),
        (b'{"instances": ' + b"[" * 3000 + b"]" * 3000 + b"}", 400, "body"),
        (b'{"instances": [' + b'{"a": ' * 3000 + b"1" + b"}" * 3000 + b"]}", 400, "body"),
        (with_value(row, number, "NaN"), 400, "body"),
        (with_value(row, number, "Infinity"), 400, "body"),
        (with_value(row, integer, "9" * 5000), 400, "body"),  # beyond Python's int parsing
        (with_value(row, integer, "9" * 30), 422, as_int),  # beyond int64
        (with_value(row, integer, "-" + "9" * 20), 422, as_int),
        (with_value(row, number, "9" * 400), 422, as_float),  # beyond float64
        (with_value(row, number, "1e400"), 422, as_float),
        (with_value(row, integer, "1.5"), 422, as_int),
        (with_value(row, integer, "true"), 422, as_int),
        (with_value(row, integer, '"\\ud800"'), 422, as_int),
        (b'{"instances": [{"\\ud800": 1}]}', 422, "instances[0].\\ud800"),
        (b'{"instances": [{"\\udfff\\ud800x": 1}]}', 422, "instances[0].\\udfff\\ud800x"),
        (b'{"instances": [{"' + b"k" * 5000 + b'": 2}]}', 422, None),
        (b'{"instances": {"a": 1}}', 422, "instances"),
        (b'{"instances": []}', 422, "instances"),
        (b'{"instances": [[]]}', 422, None),
        (json.dumps({"instances": [row] * 10_001}).encode(), 422, "instances"),
        (b"[]", 422, "body"),
        (b"null", 422, "body"),
    ]


def test_malformed_bodies_get_a_4xx_naming_the_field_on_one_connection(server, raw):
    port, _ = server
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    path = "/v1/models/churn:predict"
    headers = {"content-type": "application/json"}
    for body, status, field in malformed(raw):
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        answer = json.loads(response.read())  # the body is JSON even when the input was not
        assert response.status == status, (body[:80], answer)
        assert answer["field"] == field if field else answer["field"], (body[:80], answer)
        good = json.dumps({"instances": [raw["row"]]})
        connection.request("POST", path, body=good, headers=headers)
        good = connection.getresponse()  # the same keep-alive connection still works
        assert good.status == 200 and json.loads(good.read())["predictions"], body[:80]
    connection.close()


def test_a_client_stalled_mid_body_does_not_hold_shutdown(package):
    env, model, _ = package
    port = free_port()
    proc = serve(env, model, "--graceful-timeout", "2", "--body-timeout", "600", port=port)
    try:
        wait_ready(proc, port)
        stalled = socket.create_connection(("127.0.0.1", port))
        stalled.sendall(b"POST /v1/models/churn:predict HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                        b'{"instances": [')
        time.sleep(0.5)  # the request is in flight, its body never completes
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        assert time.monotonic() - start < 10
        stalled.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode in STOPPED


def test_a_body_not_sent_in_time_gets_408(package):
    env, model, _ = package
    port = free_port()
    proc = serve(env, model, "--body-timeout", "1", port=port)
    try:
        wait_ready(proc, port)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as slow:
            slow.sendall(b"POST /v1/models/churn:predict HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Length: 100\r\n\r\n{")
            answer = b""
            while not answer.endswith(b"}") and (chunk := slow.recv(4096)):
                answer += chunk  # headers and body may arrive apart
            answer = answer.decode()
        assert answer.startswith("HTTP/1.1 408") and '"field":"body"' in answer, answer
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
