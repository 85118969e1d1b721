"""What `--target serve` adds, computed from the Plan: model I/O, the service, its tests.

The served value and the value it was fitted on are decided while planning
(`model_choice.py`); this module only shapes that choice for the templates:
`model_io.py.j2` (which value is the model: saving and loading it checked are
the vendored runtime's `model_io.py` and `model_trust.py`), `serve.py.j2` (the
service's names; the FastAPI app on the KServe v1 data plane is the runtime's
`serve_app.py`),
`test_serve.py.j2` and `serve.yaml.j2` (Deployment, Service, InferenceService).
Every container there gets every `secret:` tag of the notebook as a `secretKeyRef`
environment variable: the init container runs every step, and the server imports
the notebook's module-level code and predict cell (and the image may retrain).
When no model is found the files are not written and NB621 says why
(`TARGET.active`, `TARGET.notes`). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from nb2prod.plan import inference_code
from nb2prod.plan.inference import InferencePath
from nb2prod.plan.inference_names import free_names
from nb2prod.plan.records import Plan
from nb2prod.plan.stepsettings import Secret, all_secrets
from nb2prod.targets.kubeflow import default_image, k8s_name
from nb2prod.targets.target import Target, TargetOptions

SERVE = "serve"

FILES: tuple[tuple[str, str], ...] = (
    ("model_io.py.j2", "src/{import_name}/model_io.py"),
    ("serve.py.j2", "src/{import_name}/serve.py"),
    ("test_serve.py.j2", "tests/test_serve.py"),
    ("serve.yaml.j2", "deploy/serve.yaml"),
    ("inference.py.j2", "src/{import_name}/inference.py"),
    ("test_inference.py.j2", "tests/test_inference.py"),
    ("score.py.j2", "src/{import_name}/score.py"),
)
"""Template -> output path, added when the target is requested and a model was found."""

EXTRA = (SERVE, ("fastapi>=0.110", "uvicorn>=0.29", "skops>=0.10", "joblib", "httpx",
                 "prometheus-client>=0.17"))
"""`pip install 'PKG[serve]'`: the service, the trusted model format, TestClient, /metrics."""

PORT = 8000
RESOURCES = {"cpu": "500m", "memory": "512Mi"}
"""The training init container's requests (edit deploy/serve.yaml to taste)."""
WORKERS = 2
"""Server processes per pod, each with the model and its micro-batcher; the server
container requests and is limited to one CPU per worker, so the pod's CPU use is what
the HorizontalPodAutoscaler scales on."""
REQUESTS_PER_WORKER = 32
"""KServe's containerConcurrency is this many in-flight requests per worker: enough to
fill micro-batches, few enough that a request waits at most a few model calls (beyond
it KServe queues or scales out rather than piling requests into one pod)."""


@dataclass(frozen=True)
class Inference:
    """`inference.py.j2`: the notebook's feature code as the generated module runs it."""

    path: InferencePath
    load_body: str
    features_body: str
    load_params: tuple[str, ...]
    features_params: tuple[str, ...]
    features_frozen: tuple[str, ...]
    imports: tuple[str, ...]  # module-level names taken from pipeline.py
    import_lines: tuple[str, ...] = ()  # the notebook's import lines for the others
    heldout_reads: tuple[str, ...] = ()  # run values the notebook's held-out input reads
    train_reads: tuple[str, ...] = ()  # run values the notebook's fit input reads


def _import_lines(plan: Plan, names: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(names still taken from pipeline.py, import lines binding the rest): `pd` is
    `import pandas as pd`, so inference.py need not import the notebook's module (and
    everything it imports) to run the feature code."""
    lines, rest = [], []
    for name in names:
        line = next((text for text in plan.imports if name in _bound(text)), None)
        (lines if line else rest).append(line or name)
    return tuple(rest), tuple(sorted(set(lines)))


def _bound(line: str) -> set[str]:
    import ast

    try:
        nodes = ast.parse(line).body
    except SyntaxError:
        return set()
    return {(a.asname or a.name).split(".")[0] for n in nodes
            if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names if a.name != "*"}


OWN_NAMES = frozenset({"state", "frame", "params", "values"})
"""Names the generated functions bind themselves (their parameters)."""


def inference_context(plan: Plan) -> Inference | None:
    path = plan.inference
    if path is None or plan.predict_cell is not None:  # the notebook's predict() decides
        return None
    load, body = inference_code.load_body(path), inference_code.features_body(path)
    reads_load, reads_body = free_names([load]), free_names([body]) - {path.frame}
    heldout = free_names([path.heldout]) if path.heldout else set()
    trained = free_names([path.trained_on])
    values = set(plan.results)
    modules = (reads_load | reads_body | heldout | trained) - values - OWN_NAMES
    names, lines = _import_lines(plan, tuple(n for n in sorted(
        set(path.imports) | modules) if n in reads_load | reads_body | heldout | trained
        and n not in path.params))
    return Inference(path, load, body, tuple(p for p in path.params if p in reads_load),
                     tuple(p for p in path.params if p in reads_body),
                     tuple(n for n in path.frozen if n in reads_body), names, lines,
                     tuple(sorted(heldout & values)), tuple(sorted(trained & values)))


@dataclass(frozen=True)
class Serve:
    model: str  # the notebook's name for the model
    model_key: str  # its key in run_steps' values
    x_key: str | None  # key of the value it was fitted on (None: unknown)
    model_name: str  # NAME in /v1/models/NAME
    cell: int
    origin: str
    predict: bool  # the notebook's `predict` cell routes requests
    app_name: str  # Kubernetes object names
    image: str
    secrets: tuple[Secret, ...] = ()  # every step's: env vars from secretKeyRef, all containers
    inference: Inference | None = None  # raw rows -> the model's input (None: as fitted)
    port: int = PORT
    cpu: str = RESOURCES["cpu"]
    memory: str = RESOURCES["memory"]
    workers: int = WORKERS
    container_concurrency: int = WORKERS * REQUESTS_PER_WORKER


def template_context(plan: Plan, options: TargetOptions) -> Serve:
    """The `serve` template variable (the registry only calls it when a model was found)."""
    model = plan.model
    return Serve(
        model=model.name, model_key=model.key, x_key=model.x_key, model_name=plan.dist_name,
        cell=model.cell, origin=model.origin, predict=plan.predict_cell is not None,
        app_name=k8s_name(plan.dist_name), image=options.image or default_image(plan),
        secrets=all_secrets(plan), inference=inference_context(plan),
    )


TARGET = Target(
    name=SERVE,
    summary="the fitted model over HTTP: PKG/serve.py, PKG/model_io.py, deploy/serve.yaml",
    files=FILES,
    context=template_context,
    extra=EXTRA,
    active=lambda plan: plan.model is not None and not any(
        p.code == "NB626" for p in plan.model_notes),  # a window feature: not served
    notes=lambda plan: plan.model_notes,
    template_help=(
        ("model_io.py.j2", ("plan, serve: model, model_key, x_key, cell, origin "
                           "(only with the serve target and a model)")),
        ("serve.py.j2", ("plan, serve: model_name, port, predict, inference (only with the "
                         "serve target)")),
        ("test_serve.py.j2", "plan, serve: predict (only with the serve target)"),
        ("serve.yaml.j2", ("plan, serve: app_name, image, port, cpu, memory, workers, "
                          "container_concurrency, model_name, secrets (only with the serve "
                          "target)")),
        ("inference.py.j2", ("plan, serve: inference (path, load_body, features_body, "
                             "load_params, features_params, features_frozen, imports, "
                             "import_lines, heldout_reads, train_reads; None when the model "
                             "takes its input as fitted)")),
        ("score.py.j2", "plan, serve: inference (batch scoring needs it)"),
        ("test_inference.py.j2", "plan, serve: inference"),
    ),
)
"""`build --target serve`: this module's record in `registry.TARGETS`."""
