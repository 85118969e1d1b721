"""What `--target kubeflow` adds, computed from the Plan: components, DAG, resources, Job.

A new target is a new renderer over the same plan, never a new analysis: this
module only re-reads what `plan/steps.py` decided (each step's inputs, outputs,
edges, `after:` and Kale-spelled settings) and shapes it for two templates,
`kubeflow.py.j2` (a KFP v2 pipeline, one component per step) and `job.yaml.j2`
(the whole pipeline as one Kubernetes Job). Pure: no I/O, no kfp import.

Values between steps: notebook parameters keep their literal type; a step
output is a KFP parameter only when visibly a scalar (`value_types.py`),
else an artifact whose serializer the generated code picks by type at run time.
`TARGET` is this module's record in `registry.py`.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field

from nb2prod.plan.records import Plan, Step
from nb2prod.plan.stepsettings import RunSettings, Secret, run_settings
from nb2prod.targets.target import Refusal, Target, TargetOptions
from nb2prod.targets.value_types import ARTIFACT, value_types

KUBEFLOW = "kubeflow"

FILES: tuple[tuple[str, str], ...] = (
    ("kubeflow.py.j2", "src/{import_name}/kubeflow.py"),
    ("job.yaml.j2", "deploy/job.yaml"),
)
"""Template -> output path, added only when the target is requested."""

EXTRA = ("kubeflow", ("kfp>=2", "kfp-kubernetes>=1.2"))
"""The optional dependency the generated package gets: `pip install PKG[kubeflow]`
(kfp-kubernetes: secrets, pod labels and annotations, --pvc)."""

PARAMETER_TYPES = {"int": "int", "float": "float", "str": "str", "bool": "bool",
                   "list": "list", "dict": "dict", "str | None": "Optional[str]"}
"""Plan parameter type -> KFP parameter annotation."""

MODULE_NAMES = frozenset([
    "FULL_SDK", "component", "FORMATS", "log_metrics", "IMAGE", "VOLUME", "STEPS", "METRICS",
    "PipelineOutputs", "pipeline", "build_pipeline", "main", "run_component",
    "save_value", "load_value", "serializer_for", "compile_pipeline", "run_local", "dsl",
    "Artifact", "Input", "Output", "Metrics", "NamedTuple", "Optional", "argparse", "json", "os",
    "sys", "pickle", "tempfile", "Path",
])
"""Names the generated kubeflow.py defines or imports: a component must not shadow them."""

MEMORY_FACTORS = {"": 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
                  "E": 1e18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
                  "Pi": 2**50, "Ei": 2**60}
JOB_DEFAULTS = {"cpu": "1", "memory": "1Gi"}
"""Job requests/limits when no step declares any (edit deploy/job.yaml to taste)."""
JOB_BACKOFF = 2


@dataclass(frozen=True)
class Value:
    name: str  # the variable in the notebook and in pipeline.py
    kind: str  # a KFP parameter annotation, or ARTIFACT
    kfp_name: str = ""  # the component's input/output name (outputs renamed on clashes)
    source: str = ""  # inputs: "" for a pipeline parameter, else the producing component
    argument: str = ""  # inputs: the pipeline expression passed (`seed`, `t.outputs["df"]`)

    @property
    def is_artifact(self) -> bool:
        return self.kind == ARTIFACT


@dataclass(frozen=True)
class Resources:
    cpu: str | None = None
    memory: str | None = None
    accelerator: str | None = None  # e.g. nvidia.com/gpu
    accelerator_count: int | None = None
    retry: int | None = None
    cache: bool | None = None
    image: str | None = None
    ignored: tuple[str, ...] = ()  # settings KFP v2 core cannot express (labels, secrets, ...)


@dataclass(frozen=True)
class Component:
    step: str  # the notebook's step name (task display name)
    function: str  # the step function in pipeline.py
    name: str  # the component function in kubeflow.py (the KFP task name)
    task: str  # the pipeline's local variable for the task
    cells: tuple[int, ...]
    inputs: tuple[Value, ...]  # in the step function's argument order
    returns: tuple[str, ...]  # everything the step function returns, in order
    outputs: tuple[Value, ...]  # what later steps or metrics need, sent through KFP
    metrics: tuple[str, ...]  # metrics this step provides, logged to a Metrics artifact
    after: tuple[str, ...]  # components to wait for without a data edge
    after_tasks: tuple[str, ...]  # the same, as the pipeline's task variables
    resources: Resources
    settings: RunSettings = field(default_factory=RunSettings)  # secrets, pod labels, annotations
    code_hash: str = ""  # passed to the task as an input: part of KFP's cache key
    int_lists: tuple[str, ...] = ()  # list parameters of ints (KFP turns them to floats)

    @property
    def parameter_outputs(self) -> tuple[Value, ...]:
        return tuple(v for v in self.outputs if not v.is_artifact)

    @property
    def artifact_outputs(self) -> tuple[Value, ...]:
        return tuple(v for v in self.outputs if v.is_artifact)


@dataclass(frozen=True)
class PipelineParam:
    name: str
    kind: str  # KFP parameter annotation
    default: str  # Python source


@dataclass(frozen=True)
class Job:
    name: str  # DNS-1123 name
    args: tuple[str, ...]
    requests: tuple[tuple[str, str], ...]
    limits: tuple[tuple[str, str], ...]
    backoff_limit: int
    secrets: tuple[Secret, ...] = ()  # every step's, as env vars from secretKeyRef
    labels: tuple[tuple[str, str], ...] = ()  # pod labels (all steps run in the pod)
    annotations: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Kubeflow:
    """Everything the kubeflow templates need beyond the plan."""

    image: str
    volume: str | None
    pipeline_name: str
    params: tuple[PipelineParam, ...]
    components: tuple[Component, ...]
    job: Job

    @property
    def metrics_components(self) -> tuple[Component, ...]:
        return tuple(c for c in self.components if c.metrics)


def default_image(plan: Plan) -> str:
    """The tag users give `build --image` by convention: `DIST:VERSION`."""
    return f"{plan.dist_name}:{plan.version}"


def k8s_name(text: str) -> str:
    """A DNS-1123 label (Job and pipeline names)."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:63].strip("-")
    return name or "pipeline"


def refusal(plan: Plan, options: TargetOptions) -> Refusal | None:
    """Files passed between steps stop a kubeflow build without a shared volume."""
    flows = [p for p in plan.problems if p.code in ("NB618", "NB633")]
    if flows and not options.volume:
        return Refusal(
            f"--target kubeflow: {len(flows)} file(s) pass between steps, which run in "
            "separate pods; nothing written",
            "pass the values as variables, or declare a shared volume: --volume PATH")
    return None


def build_kubeflow(plan: Plan, options: TargetOptions) -> Kubeflow:
    components = _components(plan, options)
    return Kubeflow(
        image=options.image or default_image(plan),
        volume=options.volume,
        pipeline_name=k8s_name(plan.dist_name),
        params=tuple(PipelineParam(p.name, PARAMETER_TYPES.get(p.type_name, "str"), p.default)
                     for p in plan.params),
        components=components,
        job=_job(plan, components),
    )


def _components(plan: Plan, options: TargetOptions) -> tuple[Component, ...]:
    taken = set(MODULE_NAMES) | {p.name for p in plan.params}
    names = {s.function: _unique(s.function, taken) for s in plan.steps}
    tasks = {s.function: _unique(f"{names[s.function]}_task", taken) for s in plan.steps}
    needed = _needed_outputs(plan)
    metric_source = _metric_sources(plan)
    int_lists = _int_lists(plan)
    file_after = _file_after(plan) if options.volume else {}
    components: dict[str, Component] = {}
    for step in plan.steps:
        types = value_types(step)
        inputs = _inputs(step, plan, components, tasks)
        input_names = {v.name for v in inputs}
        outputs = tuple(
            Value(name, types.get(name, ARTIFACT), _output_name(name, input_names))
            for name in step.outputs if name in needed.get(step.function, ())
        )
        data_sources = {v.source for v in inputs if v.source}
        after = tuple(dict.fromkeys(
            f for f in (*step.after, *file_after.get(step.function, ()))
            if names[f] not in data_sources))
        components[step.function] = Component(
            step=step.name, function=step.function, name=names[step.function],
            task=tasks[step.function], cells=step.cells, inputs=inputs, returns=step.outputs,
            outputs=outputs,
            metrics=tuple(m for m in plan.metrics if metric_source.get(m) == step.function),
            after=tuple(names[f] for f in after), after_tasks=tuple(tasks[f] for f in after),
            resources=resources(step), settings=run_settings(step), code_hash=step.code_hash,
            int_lists=tuple(v.name for v in inputs if v.name in int_lists and not v.source))
    return tuple(components.values())


def _int_lists(plan: Plan) -> set[str]:
    """List parameters whose notebook default holds only integers."""
    found = set()
    for p in plan.params:
        value = ast.literal_eval(p.default)
        if isinstance(value, list) and value and all(
                type(v) is int for v in value):
            found.add(p.name)
    return found


def _unique(name: str, taken: set[str]) -> str:
    candidate, counter = name, 2
    while candidate in taken:
        candidate = f"{name}_{counter}"
        counter += 1
    taken.add(candidate)
    return candidate


def _output_name(name: str, input_names: set[str]) -> str:
    # A step that updates `df` takes and returns it; KFP needs distinct names.
    return f"{name}_out" if name in input_names else name


def _inputs(step: Step, plan: Plan, done: dict[str, Component],
            tasks: dict[str, str]) -> tuple[Value, ...]:
    """Step inputs: pipeline parameters, or outputs of the earlier components `done`."""
    source = {name: producer for producer, flowing in step.edges for name in flowing}
    param_types = {p.name: PARAMETER_TYPES.get(p.type_name, "str") for p in plan.params}
    values = []
    for name in step.inputs:
        if name not in source:
            values.append(Value(name, param_types.get(name, ARTIFACT), name, "", name))
            continue
        producer = done[source[name]]
        output = next(v for v in producer.outputs if v.name == name)
        argument = f'{tasks[source[name]]}.outputs["{output.kfp_name}"]'
        values.append(Value(name, output.kind, name, producer.name, argument))
    return tuple(values)


def _needed_outputs(plan: Plan) -> dict[str, set[str]]:
    """Per step function: outputs a later step reads, or metrics it provides."""
    needed: dict[str, set[str]] = {}
    for step in plan.steps:
        for producer, flowing in step.edges:
            needed.setdefault(producer, set()).update(flowing)
    for metric, producer in _metric_sources(plan).items():
        needed.setdefault(producer, set()).add(metric)
    return needed


def _metric_sources(plan: Plan) -> dict[str, str]:
    """Metric -> step function that provides it: the last step returning that name."""
    sources = {}
    for step in plan.steps:
        for name in step.outputs:
            if name in plan.metrics:
                sources[name] = step.function
    return sources


def _file_after(plan: Plan) -> dict[str, tuple[str, ...]]:
    """With a shared volume, a step reading a file waits for the step writing it."""
    after: dict[str, list[str]] = {}
    for flow in plan.file_flows:
        after.setdefault(flow.reader_function, []).append(flow.writer_function)
    return {k: tuple(v) for k, v in after.items()}


def resources(step: Step) -> Resources:
    """Kale-spelled settings (`limit:cpu:2`, `limit:nvidia.com/gpu:1`, `retry:3`, ...),
    checked by the plan (plan/settings.py)."""
    s = step.settings
    return Resources(cpu=s.cpu, memory=s.memory, accelerator=s.accelerator,
                     accelerator_count=s.accelerator_count, retry=s.retry, cache=s.cache,
                     image=s.image, ignored=s.ignored)


def _job(plan: Plan, components: tuple[Component, ...]) -> Job:
    """One pod runs every step in turn: it needs the largest of the steps' resources."""
    cpu = max((c.resources.cpu for c in components if c.resources.cpu), key=_cpu_cores,
              default=JOB_DEFAULTS["cpu"])
    memory = max((c.resources.memory for c in components if c.resources.memory),
                 key=_memory_bytes, default=JOB_DEFAULTS["memory"])
    limits = {"cpu": cpu, "memory": memory}
    for c in components:
        r = c.resources
        if r.accelerator and r.accelerator_count:
            limits[r.accelerator] = str(max(r.accelerator_count, int(limits.get(r.accelerator, 0))))
    retries = [c.resources.retry for c in components if c.resources.retry is not None]
    return Job(
        name=k8s_name(plan.dist_name),
        args=(*job_args(plan), "--metrics-out", "/data/metrics.json"),
        requests=(("cpu", cpu), ("memory", memory)),
        limits=tuple(sorted(limits.items())),
        backoff_limit=max(retries, default=JOB_BACKOFF),
        secrets=tuple(dict.fromkeys(s for c in components for s in c.settings.secrets)),
        labels=tuple(sorted(dict(kv for c in components for kv in c.settings.labels).items())),
        annotations=tuple(sorted(dict(kv for c in components
                                      for kv in c.settings.annotations).items())),
    )


def job_args(plan: Plan) -> list[str]:
    """The notebook's parameter values as `python -m PKG` arguments (explicit in the Job)."""
    args = []
    for p in plan.params:
        value = ast.literal_eval(p.default)
        if value is None:
            continue
        if p.type_name == "bool":
            args.append(p.cli if value else f"--no-{p.cli[2:]}")
            continue
        args += [p.cli, json.dumps(value) if p.type_name in ("list", "dict") else str(value)]
    return args


def _cpu_cores(text: str) -> float:
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


def _memory_bytes(text: str) -> float:
    number, suffix = re.match(r"^([\d.]+)(\w*)$", text).groups()
    return float(number) * MEMORY_FACTORS[suffix]


TARGET = Target(
    name=KUBEFLOW,
    summary="KFP v2 pipeline in PKG/kubeflow.py and deploy/job.yaml",
    files=FILES,
    context=lambda plan, options: build_kubeflow(plan, options),
    extra=EXTRA,
    options=("volume",),
    validate=refusal,
    template_help=(
        ("kubeflow.py.j2", ("plan, kubeflow: components, params, pipeline_name, image, "
                            "volume (only with the kubeflow target)")),
        ("job.yaml.j2", ("plan, kubeflow: job (name, args, requests, limits, secrets, "
                         "labels, annotations), image, volume (only with the kubeflow target)")),
    ),
)
"""`build --target kubeflow`: this module's record in `registry.TARGETS`."""
