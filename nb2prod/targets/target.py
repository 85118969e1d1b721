"""The record every build target is, and the options `build` passes to targets.

A leaf: the target modules (`kubeflow.py`, ...) each define one `Target`;
`registry.py` is the table of them, looked up by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nb2prod.plan.records import Plan
from nb2prod.problems import Problem


@dataclass(frozen=True)
class TargetOptions:
    """Orchestration targets for `build`, carried next to the plan (not inside it)."""

    targets: tuple[str, ...] = ()
    image: str | None = None  # the image every component and the Job run
    volume: str | None = None  # shared volume mount path: components run in it


@dataclass(frozen=True)
class Refusal:
    """Why a target cannot be built from this plan (nothing is written)."""

    message: str
    hint: str = ""


@dataclass(frozen=True)
class Target:
    """What `build --target NAME` adds to the package.

    `context(plan, options)` is the template variable named `name` (None when the
    target is not requested); `files` are rendered only when it is; `extra` becomes
    the generated package's optional dependency group (`pip install PKG[group]`)
    and goes into the wheelhouse; `options` names the `TargetOptions` fields only
    this target reads (a build flag for another target is refused); `validate`
    refuses plans the target cannot run. `active(plan)` False: requested, but there
    is nothing to build from this plan (serve without a model): no files, no extra, a
    None context; `notes(plan)` are the problems reported only when it is requested.
    """

    name: str
    summary: str
    files: tuple[tuple[str, str], ...]  # template -> output path (`{import_name}` filled)
    context: Callable[[Plan, TargetOptions], object]
    extra: tuple[str, tuple[str, ...]] | None = None  # (group, requirements)
    options: tuple[str, ...] = ()
    validate: Callable[[Plan, TargetOptions], Refusal | None] = lambda plan, options: None
    template_help: tuple[tuple[str, str], ...] = ()  # template -> what it reads (`templates list`)
    active: Callable[[Plan], bool] = lambda plan: True
    notes: Callable[[Plan], tuple[Problem, ...]] = lambda plan: ()
