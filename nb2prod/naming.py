"""Names that reach generated code or file paths: always valid, never unsafe."""

from __future__ import annotations

import keyword
import re
from pathlib import Path

from nb2prod.errors import UserError

RESERVED = frozenset(["run", "run_steps", "Params", "METRICS", "_set_globals", "annotations",
                      "dataclasses", "typing", "_STEPS", "_runtime", "_run_step"])
"""Module-level names the generated pipeline itself defines."""


MAX_NAME = 100
"""Longest package name: it names the output folder, `src/<name>/` and a temporary
sibling folder (22 characters more), and a file name may have at most 255 bytes."""


def package_name(name: str | None, notebook: Path | str) -> str:
    """The package's name as given (`--name`), else the notebook's file name; refused in
    one line when its distribution name would be too long for a folder name."""
    text = name or Path(notebook).stem
    if len(dist_name(text)) > MAX_NAME:
        given = "--name" if name else "the notebook's file name"
        raise UserError(f"package name from {given} is {len(dist_name(text))} characters "
                        f"long, over the {MAX_NAME}-character limit", path=notebook,
                        hint="pass a shorter --name")
    return text


def dist_name(text: str) -> str:
    """A valid distribution name: `My Notebook (v2)-final` -> `my-notebook-v2-final`."""
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return name or "pipeline"


def import_name(text: str) -> str:
    """A valid, non-keyword Python package name derived from `text`."""
    name = dist_name(text).replace("-", "_")
    if name[0].isdigit() or keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name = f"nb_{name}"
    return name


def identifier(text: str) -> str:
    """`../../x y` -> `x_y`; `class` -> `class_`; `2nd` -> `step_2nd`."""
    name = re.sub(r"\W+", "_", text, flags=re.ASCII).strip("_") or "step"
    if name[0].isdigit():
        name = f"step_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name = f"{name}_"
    return name


def unique(name: str, taken: set[str]) -> str:
    """`name`, or `name_step`, `name_step_2`, ... whichever is not taken; records it."""
    candidate = name if name not in taken and name not in RESERVED else f"{name}_step"
    counter = 2
    base = candidate
    while candidate in taken or candidate in RESERVED:
        candidate = f"{base}_{counter}"
        counter += 1
    taken.add(candidate)
    return candidate


RUN_OPTIONS = frozenset(["--cache", "--resume", "--from-step", "--only-step", "--log-format",
                         "--log-level", "--debug", "--metrics-out", "--model-out", "--help"])
"""Options of the generated command line that are not parameters."""


def cli_option(name: str) -> str:
    """`n_customers` -> `--n-customers`; `cache` -> `--param-cache` (a run option's name)."""
    option = "--" + name.strip("_").replace("_", "-").lower()
    return f"--param-{option[2:]}" if option in RUN_OPTIONS else option
