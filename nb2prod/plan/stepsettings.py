"""Per-step settings every target honours: retries, cache, secrets, pod labels/annotations.

Read from a step's Kale-spelled tags (`retry:3`, `cache:disabled`,
`secret:SECRET:KEY:ENV`, `label:KEY:VALUE`, `annotation:KEY:VALUE`). The plain
package uses retry, cache and the secrets' variable names; Kubeflow and the
Job also mount the secrets and set the labels and annotations. Pure.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from nb2prod.errors import UserError
from nb2prod.plan.file_flows import CALLS, PATH_METHODS, READ, WRITE, block_accesses
from nb2prod.plan.read_paths import NO_PATHS, ReadPaths, read_paths
from nb2prod.plan.records import Plan, Step

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?"
                       r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
EXAMPLES = ("e.g. retry:3, cache:disabled, secret:db-credentials:password:DB_PASSWORD, "
            "label:team:ml, annotation:owner:ml@example.com")


@dataclass(frozen=True)
class Secret:
    name: str  # the Kubernetes Secret
    key: str  # the key inside it
    env: str  # the environment variable the step reads


@dataclass(frozen=True)
class RunSettings:
    retry: int = 0
    cache: bool = True
    secrets: tuple[Secret, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    writes: tuple[str, ...] = ()  # calls writing files: the step is never cached locally
    reads: tuple[str, ...] = ()  # literal paths it reads: their content is in its cache key
    paths: ReadPaths = NO_PATHS  # paths made of parameters it reads (or why not known)

    @property
    def local_cache(self) -> bool:
        """The step cache of a plain run skips steps that write files: a cache hit
        would not write them again."""
        return self.cache and not self.writes


def run_settings(step: Step, params: frozenset[str] = frozenset()) -> RunSettings:
    """The step's settings; `params`, the plan's parameter names, for its read paths."""
    retry, cache = 0, True
    secrets: list[Secret] = []
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    for key, value in step.settings:
        tag = f"{key}:{value}"
        kind, _, rest = tag.partition(":")
        if kind == "retry":
            retry = int(_checked(step, tag, rest, re.compile(r"^\d+$")))
        elif kind == "cache":
            cache = _checked(step, tag, rest, re.compile(r"^(enabled|disabled)$")) == "enabled"
        elif kind == "secret":
            secrets.append(_secret(step, tag, rest))
        elif kind in ("label", "annotation"):
            name, _, text = rest.partition(":")
            _checked(step, tag, name, LABEL_KEY)
            if kind == "label":
                _checked(step, tag, text, LABEL_VALUE)
            (labels if kind == "label" else annotations)[name] = text
    writes = sorted({w for block in step.blocks for w in file_writes(block.code)})
    reads = sorted({a.path for block in step.blocks for a in block_accesses(block)
                    if a.mode == READ})
    return RunSettings(retry, cache, tuple(secrets), tuple(sorted(labels.items())),
                       tuple(sorted(annotations.items())), tuple(writes), tuple(reads),
                       read_paths(step, params))


def file_writes(code: str) -> set[str]:
    """Calls that write files, whatever their path (`to_csv()`, `open(..., "w")`)."""
    try:
        tree = ast.parse(code) if code.strip() else None
    except SyntaxError:
        return set()
    found = set()
    for node in ast.walk(tree) if tree else ():
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        mode = next((a for a in [*node.args[1:2], *(k.value for k in node.keywords
                                                   if k.arg == "mode")]), None)
        if name == "open" and isinstance(mode, ast.Constant) and any(
                c in str(mode.value) for c in "wax"):
            found.add("open()")
        elif WRITE in (CALLS.get(name), PATH_METHODS.get(name)):
            found.add(f"{name}()")
    return found


def plan_settings(plan: Plan) -> dict[str, RunSettings]:
    """Step function -> its settings (checked: a bad tag stops the build)."""
    params = frozenset(p.name for p in plan.params)
    return {step.function: run_settings(step, params) for step in plan.steps}


def all_secrets(plan: Plan) -> tuple[Secret, ...]:
    found = {s: None for step in plan.steps for s in run_settings(step).secrets}
    return tuple(sorted(found, key=lambda s: (s.env, s.name, s.key)))


def _secret(step: Step, tag: str, rest: str) -> Secret:
    parts = rest.split(":")
    if len(parts) != 3:
        raise _error(step, tag, "a secret tag is secret:SECRET:KEY:ENV")
    name, key, env = parts
    _checked(step, tag, name, SECRET_NAME)
    _checked(step, tag, key, SECRET_KEY)
    _checked(step, tag, env, ENV_NAME)
    return Secret(name, key, env)


def _checked(step: Step, tag: str, value: str, pattern: re.Pattern) -> str:
    if not pattern.match(value):
        raise _error(step, tag, f"`{value}` is not valid there")
    return value


def _error(step: Step, tag: str, why: str) -> UserError:
    cell = step.cells[0] if step.cells else None
    where = f" (notebook cell {cell})" if cell else ""
    return UserError(f"step `{step.name}`{where}: tag `{tag}`: {why}", hint=EXAMPLES,
                     exit_code=2)
