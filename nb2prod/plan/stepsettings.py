"""Per-step run settings every target honours: retries, cache, secrets, pod labels and
annotations (the step's checked tags, plan/settings.py), plus what its code shows: the
files it writes and reads. The plain package uses retry, cache and the secrets'
variable names; Kubeflow and the Job also mount the secrets and set the labels and
annotations. Pure, and cannot fail: the plan checked every tag.
"""

from __future__ import annotations

import ast
import posixpath
from dataclasses import dataclass

from nb2prod.plan.file_flows import (
    CALLS,
    PATH_METHODS,
    READ,
    WRITE,
    block_accesses,
    path_constants,
)
from nb2prod.plan.read_paths import NO_PATHS, ReadPaths, read_paths
from nb2prod.plan.records import Plan, Secret, Step


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
    folders: tuple[str, ...] = ()  # relative folders it writes files into by literal path

    @property
    def local_cache(self) -> bool:
        """The step cache of a plain run skips steps that write files: a cache hit
        would not write them again."""
        return self.cache and not self.writes


def run_settings(step: Step, params: frozenset[str] = frozenset(),
                 constants: dict[str, str] | None = None) -> RunSettings:
    """The step's settings; `params`, the plan's parameter names, for its read paths;
    `constants`, the paths names hold (file_flows.path_constants), for the folders it
    writes into."""
    tags = step.settings  # parsed and checked by plan/settings.py
    writes = sorted({w for block in step.blocks for w in file_writes(block.code)})
    reads = sorted({a.path for block in step.blocks for a in block_accesses(block)
                    if a.mode == READ})
    written = [a.path for block in step.blocks for a in block_accesses(block, constants)
               if a.mode == WRITE]
    folders = sorted({posixpath.dirname(p) for p in written
                      if posixpath.dirname(p) and not posixpath.isabs(p)})
    return RunSettings(tags.retry or 0, tags.cache is not False, tags.secrets, tags.labels,
                       tags.annotations, tuple(writes), tuple(reads), read_paths(step, params),
                       tuple(folders))


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
    """Step function -> its settings."""
    params = frozenset(p.name for p in plan.params)
    constants = path_constants([*(h.code for h in plan.helpers),
                                *(b.code for s in plan.steps for b in s.blocks)])
    return {step.function: run_settings(step, params, constants) for step in plan.steps}


def all_secrets(plan: Plan) -> tuple[Secret, ...]:
    found = {s: None for step in plan.steps for s in step.settings.secrets}
    return tuple(sorted(found, key=lambda s: (s.env, s.name, s.key)))
