"""The kubeflow target: component and type mapping, Kale resources, DAG edges, Job manifest.

Offline and in-process: the generated kubeflow.py is imported from a file (its
components only import the package when they run) and compiled with kfp; the
Job is deserialized with the official `kubernetes` client models.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import yaml

from nb2prod.errors import UserError
from nb2prod.notebook import load_notebook
from nb2prod.plan.build import build_plan
from nb2prod.plan.records import Block, Step
from nb2prod.plan.settings import parse_settings
from nb2prod.render.templates import render
from nb2prod.targets.kubeflow import build_kubeflow, job_args, resources
from nb2prod.targets.registry import parse_targets
from nb2prod.targets.target import TargetOptions
from nb2prod.targets.value_types import ARTIFACT, value_types

ROOT = Path(__file__).resolve().parent.parent
KUBEFLOW = TargetOptions(("kubeflow",))


def plan_of(name: str):
    return build_plan(load_notebook(ROOT / "examples" / f"{name}.ipynb"))


def one_step(code: str, settings=()) -> Step:
    parsed, errors = parse_settings(tuple(settings))
    assert not errors
    return Step("s", "s", (Block(1, None, code),), settings=parsed)


def test_parse_targets_accepts_repeats_and_commas():
    assert parse_targets(["kubeflow", "Kubeflow,kubeflow"]) == ("kubeflow",)
    assert parse_targets([]) == ()
    with pytest.raises(UserError, match="unknown target argo"):
        parse_targets(["argo"])


def test_churn_components_map_values_to_parameters_and_artifacts():
    kf = build_kubeflow(plan_of("churn"), KUBEFLOW)
    by_name = {c.name: c for c in kf.components}
    assert list(by_name) == ["load_data", "features", "split", "train", "evaluate"]
    split = by_name["split"]
    assert [(v.name, v.kind, v.source) for v in split.inputs] == [
        ("df", ARTIFACT, "features"), ("feature_cols", ARTIFACT, "features"),
        ("test_size", "float", ""), ("seed", "int", "")]
    # features takes and returns df: the output is renamed so KFP names stay distinct
    assert [v.kfp_name for v in by_name["features"].outputs] == ["df_out", "feature_cols"]
    assert split.inputs[0].argument == 'features_task.outputs["df_out"]'
    evaluate = by_name["evaluate"]
    assert evaluate.metrics == ("accuracy", "roc_auc")
    assert [(v.name, v.kind) for v in evaluate.parameter_outputs] == [
        ("accuracy", "float"), ("roc_auc", "float")]
    assert [(p.name, p.kind, p.default) for p in kf.params][:2] == [
        ("n_customers", "int", "1000"), ("test_size", "float", "0.25")]
    assert kf.image == "churn:0.1.0"


@pytest.mark.parametrize("code, expected", [
    ("x = float(a)", {"x": "float"}),
    ("n = len(rows)", {"n": "int"}),
    ("name = f'{a}-b'", {"name": "str"}),
    ("flag = True\nk: int = 3", {"flag": "bool", "k": "int"}),
    ("x = 1\nx = compute()", {}),  # one non-scalar assignment makes it an artifact
    ("x = 1\nx = 2.5", {}),  # two types: artifact
    ("a, b = 1, 2", {}),  # unpacking: element types unknown
    ("total = 0\nfor v in vs:\n    total += v", {}),
    ("def f():\n    y = 1.0\n    return y\nz = f()", {}),  # y is local to f
])
def test_value_types_only_trust_visible_scalars(code, expected):
    assert value_types(one_step(code)) == expected


def test_resources_from_kale_spelled_tags():
    r = resources(one_step("", [("limit:cpu", "2"), ("limit:memory", "4Gi"),
                                ("limit:nvidia.com/gpu", "1"), ("retry", "3"),
                                ("cache", "disabled"), ("label:team", "ml"),
                                ("report:x", "y")]))
    assert (r.cpu, r.memory, r.accelerator, r.accelerator_count) == ("2", "4Gi",
                                                                     "nvidia.com/gpu", 1)
    # labels are pod settings now (stepsettings); `report:` still has no KFP equivalent
    assert (r.retry, r.cache, r.ignored) == (3, False, ("report:x:y",))
    assert resources(one_step("", [("limit:cpu", "500m")])).cpu == "500m"
    assert resources(one_step("", [("image:repo/img", "1.0")])).image == "repo/img:1.0"


@pytest.mark.parametrize("setting", [("limit:cpu", "two"), ("limit:memory", "4GB"),
                                     ("retry", "x"), ("cache", "off"),
                                     ("limit:nvidia.com/gpu", "0.5")])
def test_invalid_resource_values_are_refused_by_the_plan(setting):
    settings, errors = parse_settings((setting,))
    assert errors == [f"tag `{setting[0]}:{setting[1]}`: `{setting[1]}` is not "
                      + errors[0].split(" is not ", 1)[1]]
    assert settings.cpu is settings.memory is settings.retry is settings.cache is None


def test_job_args_spell_parameters_for_the_package_cli():
    plan = plan_of("churn")
    assert job_args(plan) == ["--n-customers", "1000", "--test-size", "0.25", "--seed", "42",
                              "--n-estimators", "50"]


def test_render_adds_files_and_extra_only_when_targeted():
    plan = plan_of("kale_iris")
    plain = render(plan)
    assert "deploy/job.yaml" not in plain and "src/kale_iris/kubeflow.py" not in plain
    assert "kubeflow" not in plain["pyproject.toml"]
    files = render(plan, targets=KUBEFLOW)
    assert {"deploy/job.yaml", "src/kale_iris/kubeflow.py"} <= set(files)
    assert 'kubeflow = ["kfp>=2", "kfp-kubernetes>=1.2"]' in files["pyproject.toml"]
    assert files == render(plan, targets=KUBEFLOW)  # deterministic
    assert files["src/kale_iris/pipeline.py"] == plain["src/kale_iris/pipeline.py"]


def load_generated(tmp_path: Path, plan, options=KUBEFLOW):
    """Import the generated kubeflow.py from a file (kfp needs its source on disk)."""
    path = tmp_path / f"kf_{plan.import_name}.py"
    path.write_text(render(plan, targets=options)[f"src/{plan.import_name}/kubeflow.py"])
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def compiled_tasks(module, tmp_path: Path) -> dict:
    out = tmp_path / "pipeline.yaml"
    module.compile_pipeline(out)
    return yaml.safe_load(out.read_text())["root"]["dag"]["tasks"]


@pytest.mark.parametrize("name", ["churn", "kale_iris"])
def test_compiled_dag_follows_the_dataflow(tmp_path, name):
    plan = plan_of(name)
    tasks = compiled_tasks(load_generated(tmp_path, plan), tmp_path)
    assert set(tasks) == {s.function.replace("_", "-") for s in plan.steps}
    for s in plan.steps:
        expected = {f.replace("_", "-") for f, _ in s.edges} | {a.replace("_", "-")
                                                                for a in s.after}
        assert set(tasks[s.function.replace("_", "-")].get("dependentTasks", [])) == expected
        assert tasks[s.function.replace("_", "-")]["taskInfo"]["name"] == s.name


FILE_FLOW = [
    ("import pandas as pd", ["imports"]),
    ("n = 3", ["parameters"]),
    ("pd.DataFrame({'a': range(n)}).to_csv('c.csv')", ["step:write"]),
    ("other = float(n) * 2", ["step:independent"]),
    ("total = float(pd.read_csv('c.csv').a.sum())",
     ["step:read", "limit:cpu:2", "limit:memory:4Gi", "limit:nvidia.com/gpu:1", "retry:3",
      "cache:disabled"]),
    ("print(total)\nprint(other)", ["metrics"]),
]


def test_volume_orders_file_readers_and_resources_reach_the_yaml(tmp_path, notebook_factory):
    plan = build_plan(load_notebook(notebook_factory(FILE_FLOW)))
    options = TargetOptions(("kubeflow",), "reg.example.com/x:1", "/mnt/shared")
    module = load_generated(tmp_path, plan, options)
    assert module.VOLUME == "/mnt/shared"
    tasks = compiled_tasks(module, tmp_path)
    assert tasks["read"]["dependentTasks"] == ["write"]
    assert "dependentTasks" not in tasks["independent"]  # runs in parallel
    assert tasks["read"]["retryPolicy"]["maxRetryCount"] == 3
    assert tasks["read"]["cachingOptions"] == {}  # caching disabled
    spec = yaml.safe_load((tmp_path / "pipeline.yaml").read_text())
    executor = spec["deploymentSpec"]["executors"]["exec-read"]["container"]
    assert executor["image"] == "reg.example.com/x:1"
    assert executor["resources"]["resourceCpuLimit"] == "2"
    assert executor["resources"]["resourceMemoryLimit"] == "4Gi"
    assert executor["resources"]["accelerator"]["resourceType"] == "nvidia.com/gpu"
    assert "pip install" not in " ".join(executor["command"])


class _Response:
    def __init__(self, data):
        self.data = json.dumps(data)


def job_of(plan):
    from kubernetes.client import ApiClient

    raw = yaml.safe_load(render(plan, targets=KUBEFLOW)["deploy/job.yaml"])
    return raw, ApiClient().deserialize(_Response(raw), "V1Job")


def test_job_yaml_is_a_valid_batch_v1_job(notebook_factory):
    from kubernetes.client import ApiClient
    from kubernetes.utils import parse_quantity

    plan = build_plan(load_notebook(notebook_factory(FILE_FLOW)))
    raw, job = job_of(plan)
    assert (job.api_version, job.kind) == ("batch/v1", "Job")
    assert job.spec.backoff_limit == 3
    pod = job.spec.template.spec
    assert pod.restart_policy == "Never"
    assert pod.security_context.run_as_non_root and pod.security_context.run_as_user == 10001
    (container,) = pod.containers
    assert container.image == "nb:0.1.0"  # default: DIST:VERSION
    assert container.args == ["--n", "3", "--metrics-out", "/data/metrics.json"]
    assert container.resources.limits == {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"}
    for quantity in [*container.resources.limits.values(), *container.resources.requests.values()]:
        parse_quantity(quantity)
    assert container.security_context.allow_privilege_escalation is False
    mounts = {m.mount_path: m.name for m in container.volume_mounts}
    assert mounts["/data"] in {v.name for v in pod.volumes}
    # every key of the YAML is one the API knows (deserialize drops unknown keys)
    assert _keys(raw) <= _keys(ApiClient().sanitize_for_serialization(job))


def _keys(data, prefix="") -> set[str]:
    if isinstance(data, dict):
        return {k for key, value in data.items()
                for k in {f"{prefix}.{key}"} | _keys(value, f"{prefix}.{key}")}
    if isinstance(data, list):
        return {k for item in data for k in _keys(item, prefix + "[]")}
    return set()


def test_job_defaults_without_resource_tags():
    _, job = job_of(plan_of("churn"))
    container = job.spec.template.spec.containers[0]
    assert container.resources.requests == {"cpu": "1", "memory": "1Gi"}
    assert job.spec.backoff_limit == 2
    assert container.args[-2:] == ["--metrics-out", "/data/metrics.json"]
