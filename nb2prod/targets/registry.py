"""The table of build targets, looked up by name: `build --target NAME`.

Adding a target = one module defining a `Target` record + one line in TARGETS.
Rendering, the wheelhouse, `templates list` and the command line loop over
this table; none of them names a target.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

from nb2prod.errors import UserError
from nb2prod.plan.records import Plan
from nb2prod.problems import in_order
from nb2prod.targets import kubeflow, serve
from nb2prod.targets.target import Target, TargetOptions

TARGETS: dict[str, Target] = {target.name: target for target in (
    kubeflow.TARGET,
    serve.TARGET,
)}


def parse_targets(values: Iterable[str]) -> tuple[str, ...]:
    """`["kubeflow", "a,b"]` -> validated, de-duplicated, sorted target names."""
    names = {v.strip().lower() for value in values for v in value.split(",") if v.strip()}
    unknown = sorted(names - set(TARGETS))
    if unknown:
        raise UserError(f"unknown target {', '.join(unknown)}: choose from {', '.join(TARGETS)}",
                        exit_code=2)
    return tuple(sorted(names))


def target_options(values: Iterable[str], image: str | None = None,
                   volume: str | None = None) -> TargetOptions:
    """The build's target options; a flag only another target reads is a usage error."""
    options = TargetOptions(parse_targets(values), image, volume)
    for option in sorted({o for target in TARGETS.values() for o in target.options}):
        if getattr(options, option) and not any(option in TARGETS[t].options
                                                for t in options.targets):
            readers = [t.name for t in TARGETS.values() if option in t.options]
            raise UserError(f"--{option} only applies to --target {' or '.join(readers)}",
                            exit_code=2)
    return options


def selected(options: TargetOptions, plan: Plan | None = None) -> tuple[Target, ...]:
    """The requested targets; with `plan`, only those with something to build from it."""
    chosen = tuple(TARGETS[name] for name in options.targets)
    return chosen if plan is None else tuple(t for t in chosen if t.active(plan))


def with_notes(plan: Plan, options: TargetOptions) -> Plan:
    """The plan with the notes of the requested targets among its problems."""
    notes = tuple(p for target in selected(options) for p in target.notes(plan))
    if not notes:
        return plan
    return dataclasses.replace(plan, problems=in_order((*plan.problems, *notes)))


def check(plan: Plan, options: TargetOptions, notebook: Path | str | None = None) -> None:
    """Raise the first refusal of a requested target (exit 1, nothing written)."""
    for target in selected(options):
        refusal = target.validate(plan, options)
        if refusal is not None:
            raise UserError(refusal.message, path=notebook, exit_code=1, hint=refusal.hint)


def target_files(options: TargetOptions, plan: Plan) -> tuple[tuple[str, str], ...]:
    """Template -> output path of every requested target."""
    return tuple(pair for target in selected(options, plan) for pair in target.files)


def template_context(plan: Plan, options: TargetOptions) -> dict:
    """Template variables: `optional_dependencies`, and one per target (None unless requested)."""
    chosen = selected(options, plan)
    context: dict[str, object] = {
        "optional_dependencies": tuple(t.extra for t in chosen if t.extra is not None)}
    for target in TARGETS.values():
        context[target.name] = target.context(plan, options) if target in chosen else None
    return context


def extra_requirements(options: TargetOptions, plan: Plan) -> list[str]:
    """What the requested targets add to the image (the wheelhouse downloads them too)."""
    return [req for target in selected(options, plan) if target.extra
            for req in target.extra[1]]
