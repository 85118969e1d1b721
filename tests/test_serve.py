"""`--target serve`, in-process: which value is the model, the notes when none is,
what is rendered, and deploy/serve.yaml against the Kubernetes API models.

The generated service itself is installed and run in tests/e2e/test_serve.py.
"""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from nb2prod.cli.build import BuildFlags, run_build
from nb2prod.notebook import load_notebook
from nb2prod.plan.build import build_plan
from nb2prod.plan.records import PlanOptions
from nb2prod.render.templates import render
from nb2prod.targets.target import TargetOptions
from tests.conftest import EXAMPLES
from tests.tools import RUFF, extra_tool

IMPORTS = (("from sklearn.linear_model import LogisticRegression\n"
           "from sklearn.preprocessing import StandardScaler"), ["imports"])
DATA = ("X = [[0.0, 1.0], [1.0, 0.0]]\ny = [0, 1]", ["step:data"])


def plan_for(notebook_factory, cells, model=None):
    return build_plan(load_notebook(notebook_factory(cells)), PlanOptions(model=model))


@pytest.mark.parametrize("cells, name, x", [
    ([IMPORTS, DATA, ("clf = LogisticRegression()\nclf.fit(X, y)", ["step:train"])],
     "clf", "X"),
    ([IMPORTS, DATA, ("clf = LogisticRegression().fit(X=X, y=y)", ["step:train"])],
     "clf", "X"),
    ([IMPORTS, DATA, (("for c in [1.0]:\n    clf = LogisticRegression(C=c)\n"
                      "    clf.fit(X, y)"), ["step:train"])], "clf", "X"),
])
def test_the_fitted_step_value_is_the_model(notebook_factory, cells, name, x):
    plan = plan_for(notebook_factory, cells)
    assert (plan.model.name, plan.model.x, plan.model.origin) == (name, x, "fit")
    assert plan.model_notes == ()
    # the run returns the model and what it was fitted on
    assert {name, x} <= set(plan.results)
    assert name in plan.steps[-1].outputs


def test_a_fit_inside_a_function_is_not_a_step_value(notebook_factory):
    plan = plan_for(notebook_factory, [
        IMPORTS, DATA, (("def train(X, y):\n    m = LogisticRegression()\n    m.fit(X, y)\n"
                        "    return m\nmodel = train(X, y)"), ["step:train"])])
    assert plan.model is None
    (note,) = plan.model_notes
    assert (note.code, note.cell) == ("NB621", 3)


TWO_FITS = [IMPORTS, DATA,
            ("scaler = StandardScaler()\nscaler.fit(X)", ["step:scale"]),
            ("clf = LogisticRegression()\nclf.fit(X, y)", ["step:train"])]


def test_several_fits_serve_the_last_with_a_note(notebook_factory):
    plan = plan_for(notebook_factory, TWO_FITS)
    assert plan.model.name == "clf" and plan.model.candidates == ("scaler", "clf")
    (note,) = plan.model_notes
    assert (note.code, note.severity, note.cell, note.line) == ("NB622", "info", 4, 2)


@pytest.mark.parametrize("tag", ["model", "model:scaler"])
def test_a_model_tag_chooses(notebook_factory, tag):
    cells = [*TWO_FITS]
    cells[2] = (cells[2][0], ["step:scale", tag])
    plan = plan_for(notebook_factory, cells)
    assert (plan.model.name, plan.model.origin, plan.model_notes) == ("scaler", "tag", ())


def test_config_chooses_and_a_tag_wins_over_it(notebook_factory):
    assert plan_for(notebook_factory, TWO_FITS, model="scaler").model.origin == "config"
    cells = [*TWO_FITS]
    cells[3] = (cells[3][0], ["step:train", "model"])
    assert plan_for(notebook_factory, cells, model="scaler").model.name == "clf"


def test_a_model_tag_may_name_a_value_not_fitted_with_fit(notebook_factory):
    plan = plan_for(notebook_factory, [IMPORTS, DATA, (
        "import pickle\nmodel = pickle.loads(pickle.dumps(LogisticRegression().fit(X, y)))",
        ["step:train", "model:model"])])
    assert (plan.model.name, plan.model.x) == ("model", None)


def test_a_later_rebinding_keeps_the_fitted_values_as_snapshots(notebook_factory):
    plan = plan_for(notebook_factory, [*TWO_FITS, ("X = None\nclf = None", ["step:reset"])])
    assert (plan.model.key, plan.model.x_key) == ("clf_fitted", "X_fitted")
    assert ("train", "clf", "clf_fitted") in plan.snapshots


def test_no_model_skips_the_target_with_a_located_warning(notebook_factory, tmp_path):
    nb = notebook_factory([("x = 1", ["step:a"]), ("print(x)", ["metrics"])])
    out = tmp_path / "out"
    code = run_build(BuildFlags(nb, out, targets=("serve",), quiet=True))
    assert code == 0
    report = json.loads((out / "nb2prod-report.json").read_text())
    (note,) = [p for p in report["problems"] if p["code"] == "NB621"]
    assert (note["severity"], note["cell"]) == ("warning", 1)
    assert not (out / "src/nb/serve.py").exists() and "serve" not in (
        out / "pyproject.toml").read_text()
    assert "NB621" in (out / "nb2prod-report.md").read_text()
    # without the target the notebook gets no such note
    plain = tmp_path / "plain"
    run_build(BuildFlags(nb, plain, quiet=True))
    assert "NB621" not in (plain / "nb2prod-report.json").read_text()


def test_config_model_is_read_from_pyproject(tmp_path):
    from nb2prod.plan.build import make_plan
    from tests.conftest import make_notebook

    (tmp_path / "pyproject.toml").write_text('[tool.nb2prod]\nmodel = "scaler"\n')
    nb = make_notebook(tmp_path / "nb.ipynb", TWO_FITS)
    assert make_plan(nb, None).model.name == "scaler"


def rendered(name="churn", image=None):
    plan = build_plan(load_notebook(EXAMPLES / f"{name}.ipynb"))
    return render(plan, targets=TargetOptions(("serve",), image))


def test_serve_files_and_extra_are_rendered_only_when_asked():
    files = rendered()
    assert {"src/churn/serve.py", "src/churn/model_io.py", "tests/test_serve.py",
            "deploy/serve.yaml"} <= set(files)
    assert 'churn-serve = "churn.serve:main"' in files["pyproject.toml"]
    assert "serve = [" in files["pyproject.toml"]
    assert "--model-out" in files["src/churn/__main__.py"]
    assert 'EXPOSE 8000' in files["Dockerfile"] and "HEALTHCHECK" in files["Dockerfile"]
    plain = render(build_plan(load_notebook(EXAMPLES / "churn.ipynb")))
    assert not {p for p in plain if "serve" in p and "/_runtime/" not in p}  # vendored
    assert "--model-out" not in plain["src/churn/__main__.py"]
    assert "HEALTHCHECK" not in plain["Dockerfile"]


def test_rendering_is_deterministic_and_ruff_clean(tmp_path):
    assert rendered("loans") == rendered("loans")
    for name, files in (("churn", rendered()), ("loans", rendered("loans"))):
        out = tmp_path / name
        for path, text in files.items():
            (out / path).parent.mkdir(parents=True, exist_ok=True)
            (out / path).write_text(text)
        run = subprocess.run([*RUFF, "check", "--no-cache", "--isolated", "."], cwd=out,
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stdout


def test_serve_dockerfile_passes_hadolint(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(rendered()["Dockerfile"])
    proc = subprocess.run([extra_tool("hadolint"), "--no-color", "--failure-threshold",
                           "warning", str(dockerfile)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


class _Response:
    def __init__(self, data):
        self.data = json.dumps(data)


def test_serve_yaml_is_a_valid_deployment_service_and_inference_service():
    from kubernetes.client import ApiClient
    from kubernetes.utils import parse_quantity

    docs = list(yaml.safe_load_all(rendered(image="reg/churn:1")["deploy/serve.yaml"]))
    assert [d["kind"] for d in docs] == ["Deployment", "Service", "InferenceService"]
    api = ApiClient()
    deployment = api.deserialize(_Response(docs[0]), "V1Deployment")
    pod = deployment.spec.template.spec
    assert pod.security_context.run_as_non_root and pod.security_context.run_as_user == 10001
    (server,) = pod.containers
    assert server.image == "reg/churn:1" and server.args[0] == "serve"
    assert server.readiness_probe.http_get.path == "/readyz"
    assert server.liveness_probe.http_get.path == "/healthz"
    for quantity in server.resources.requests.values():
        parse_quantity(quantity)
    assert pod.init_containers[0].args == ["--model-out", "/model"]
    assert deployment.spec.selector.match_labels.items() <= \
        deployment.spec.template.metadata.labels.items()
    service = api.deserialize(_Response(docs[1]), "V1Service")
    assert service.spec.selector == deployment.spec.selector.match_labels
    assert service.spec.ports[0].target_port == server.ports[0].name
    isvc = docs[2]
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1"
    (predictor,) = isvc["spec"]["predictor"]["containers"]
    container = api.deserialize(_Response(predictor), "V1Container")
    assert container.image == "reg/churn:1" and container.args[0] == "serve"
    assert _keys(predictor) <= _keys(api.sanitize_for_serialization(container))
    for raw, model in ((docs[0], deployment), (docs[1], service)):
        assert _keys(raw) <= _keys(api.sanitize_for_serialization(model))
    assert not any(c.env for c in (*pod.init_containers, server))  # churn has no secrets
    assert [e.name for e in container.env] == ["STORAGE_URI"]


SECRET_CELLS = [
    ("import os\nfrom sklearn.linear_model import LogisticRegression", ["imports"]),
    ("X = [[0.0, 1.0], [1.0, 0.0]]\ny = [0, 1]\nrows = len(os.environ['API_TOKEN'])",
     ["step:data", "secret:api-credentials:token:API_TOKEN"]),
    ("clf = LogisticRegression(C=len(os.environ['DB_PASSWORD']))\nclf.fit(X, y)",
     ["step:train", "secret:db-credentials:password:DB_PASSWORD",
      "secret:api-credentials:token:API_TOKEN"]),
]


def test_serve_yaml_mounts_every_secret_in_every_container(notebook_factory):
    """The init container trains (every step), the server and the KServe predictor run
    the notebook's module code: each gets every `secret:` tag as a secretKeyRef, once."""
    from kubernetes.client import ApiClient

    plan = build_plan(load_notebook(notebook_factory(SECRET_CELLS)))
    text = render(plan, targets=TargetOptions(("serve",), "reg/s:1"))["deploy/serve.yaml"]
    deployment, _, isvc = yaml.safe_load_all(text)
    api = ApiClient()
    pod = api.deserialize(_Response(deployment), "V1Deployment").spec.template.spec
    predictor = api.deserialize(_Response(isvc["spec"]["predictor"]["containers"][0]),
                                "V1Container")
    expected = [("API_TOKEN", "api-credentials", "token"),
                ("DB_PASSWORD", "db-credentials", "password")]
    for container in (*pod.init_containers, *pod.containers, predictor):
        refs = [e for e in container.env if e.value_from is not None]
        assert [(e.name, e.value_from.secret_key_ref.name, e.value_from.secret_key_ref.key)
                for e in refs] == expected, container.name
        assert all(e.value is None for e in refs)
    assert predictor.env[0].name == "STORAGE_URI"
    assert "kubectl create secret generic db-credentials --from-literal=password=..." in text


def _keys(data, prefix="") -> set[str]:
    if isinstance(data, dict):
        return {k for key, value in data.items()
                for k in {f"{prefix}.{key}"} | _keys(value, f"{prefix}.{key}")}
    if isinstance(data, list):
        return {k for item in data for k in _keys(item, prefix + "[]")}
    return set()
