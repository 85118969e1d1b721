"""Step setting tags -> a checked `StepSettings`, or NB617 at the cell.

Kale spells a step's settings as tags: `retry:3`, `cache:disabled`,
`secret:SECRET:KEY:ENV`, `label:KEY:VALUE`, `annotation:KEY:VALUE`,
`limit:cpu:2`, `limit:memory:4Gi`, `limit:nvidia.com/gpu:1`, `image:NAME`.
Each kind is one record in SETTINGS: the pattern its value must match and
the fields it sets. The plan parses every cell's setting tags here (`plan`,
`build` and `lint` report the same NB617), so render and the targets read
typed values and cannot fail on a tag. Kinds no target reads (`timeout:`,
`report:`, other `limit:` keys) are kept in `ignored`, listed by Kubeflow.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from nb2prod.plan.records import NO_SETTINGS, Secret, StepSettings
from nb2prod.problems import Problem, make_problem

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?"
                       r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
COUNT = re.compile(r"^\d+$")
SWITCH = re.compile(r"^(enabled|disabled)$")
CPU = re.compile(r"^(\d+(\.\d+)?|\d+m)$")
MEMORY = re.compile(r"^\d+(\.\d+)?(E|P|T|G|M|K|k|Ei|Pi|Ti|Gi|Mi|Ki)?$")
EXAMPLES = ("e.g. retry:3, cache:disabled, secret:db-credentials:password:DB_PASSWORD, "
            "label:team:ml, annotation:owner:ml@example.com, limit:cpu:2, "
            "limit:memory:4Gi, limit:nvidia.com/gpu:1")


class Invalid(ValueError):
    """Why a setting tag's value is refused (the message of NB617)."""


def _checked(value: str, pattern: re.Pattern, what: str) -> str:
    if not pattern.match(value):
        raise Invalid(f"`{value}` is not {what}")
    return value


def _secret(rest: str, found: dict) -> dict:
    parts = rest.split(":")
    if len(parts) != 3:
        raise Invalid("a secret tag is secret:SECRET:KEY:ENV")
    name, key, env = parts
    secret = Secret(_checked(name, SECRET_NAME, "a Kubernetes Secret name"),
                    _checked(key, SECRET_KEY, "a Secret key"),
                    _checked(env, ENV_NAME, "an environment variable name"))
    return {"secrets": (*found.get("secrets", ()), secret)}


def _pair(field: str, value_pattern: re.Pattern | None):
    def parse(rest: str, found: dict) -> dict:
        key, _, text = rest.partition(":")
        _checked(key, LABEL_KEY, f"a valid {field[:-1]} key")
        if value_pattern is not None:
            _checked(text, value_pattern, f"a valid {field[:-1]} value")
        return {field: {**dict(found.get(field, ())), key: text}}
    return parse


def _accelerator(rest: str, found: dict) -> dict:
    kind, _, count = rest.partition(":")
    return {"accelerator": kind,
            "accelerator_count": int(_checked(count, COUNT, "a whole number"))}


@dataclass(frozen=True)
class SettingKind:
    """One setting tag: whether it applies to `rest` (the tag after `kind:`) and how it
    parses into StepSettings fields (raising Invalid)."""

    kind: str
    applies: Callable[[str], bool]
    parse: Callable[[str, dict], dict]


SETTINGS: tuple[SettingKind, ...] = (
    SettingKind("retry", lambda rest: True,
                lambda rest, found: {"retry": int(_checked(rest, COUNT, "a whole number"))}),
    SettingKind("cache", lambda rest: True, lambda rest, found: {
        "cache": _checked(rest, SWITCH, "enabled or disabled") == "enabled"}),
    SettingKind("secret", lambda rest: True, _secret),
    SettingKind("label", lambda rest: True, _pair("labels", LABEL_VALUE)),
    SettingKind("annotation", lambda rest: True, _pair("annotations", None)),
    SettingKind("limit", lambda rest: rest.startswith("cpu:"), lambda rest, found: {
        "cpu": _checked(rest[4:], CPU, "a CPU quantity (2, 0.5, 500m)")}),
    SettingKind("limit", lambda rest: rest.startswith("memory:"), lambda rest, found: {
        "memory": _checked(rest[7:], MEMORY, "a memory quantity (4Gi, 512Mi)")}),
    SettingKind("limit", lambda rest: "/" in rest.partition(":")[0], _accelerator),
    SettingKind("image", lambda rest: True, lambda rest, found: {"image": rest}),
)
"""Setting kind -> how its value parses; the first record that applies wins. A setting
tag no record applies to is kept in `StepSettings.ignored`."""


def parse_settings(pairs: tuple[tuple[str, str], ...]) -> tuple[StepSettings, list[str]]:
    """`(key, value)` pairs as analysis/tags.py splits them -> settings, and one message
    per invalid tag (the tag is then left out)."""
    if not pairs:
        return NO_SETTINGS, []
    found: dict = {}
    ignored: list[str] = []
    errors: list[str] = []
    for key, value in pairs:
        tag = f"{key}:{value}"
        kind, _, rest = tag.partition(":")
        record = next((r for r in SETTINGS if r.kind == kind and r.applies(rest)), None)
        if record is None:
            ignored.append(tag)
            continue
        try:
            found.update(record.parse(rest, found))
        except Invalid as why:
            errors.append(f"tag `{tag}`: {why}")
    for field in ("labels", "annotations"):
        if field in found:
            found[field] = tuple(sorted(found[field].items()))
    return replace(NO_SETTINGS, **found, ignored=tuple(ignored)), errors


def cell_settings(cell) -> tuple[StepSettings, list[Problem]]:
    """A code cell's settings, and NB617 at the cell for each invalid setting tag:
    the one function `plan` and `lint` report them with."""
    settings, errors = parse_settings(cell.tags.settings)
    number, cell_id = cell.cell.number, cell.cell.cell_id
    return settings, [make_problem("NB617", message, number, cell_id=cell_id,
                                   hint=EXAMPLES) for message in errors]
