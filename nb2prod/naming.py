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


DANGLING = frozenset(["a", "an", "the", "and", "or", "of", "on", "to", "for", "with", "in",
                      "by", "from", "at", "into", "it", "its", "vs", "per", "as", "using", "via"])
"""Words a name cut short must not end with: it would stop mid-phrase."""

SHORT_NAME = 30
"""A package name made from a file name is cut (at a word) to this many characters:
`2024-03-01 Bike rentals - exploratory analysis (final, v3).ipynb` is typed in
`pip install` and `python -m`, so it becomes `bike-rentals-exploratory`."""


def package_name(name: str | None, notebook: Path | str) -> str:
    """The package's name as given (`--name`), else from the notebook's file name (short
    and readable); refused in one line when `--name` is too long for a folder name."""
    text = name or short_name(Path(notebook).stem)
    if len(dist_name(text)) > MAX_NAME:
        given = "--name" if name else "the notebook's file name"
        raise UserError(f"package name from {given} is {len(dist_name(text))} characters "
                        f"long, over the {MAX_NAME}-character limit", path=notebook,
                        hint="pass a shorter --name")
    return text


def short_name(stem: str) -> str:
    """`stem`, or when its distribution name is over SHORT_NAME characters, its words
    without numbers (dates, versions) up to SHORT_NAME characters, cut at a word."""
    words = dist_name(stem).split("-")
    if len("-".join(words)) <= SHORT_NAME:
        return stem
    words = [w for w in words if not re.fullmatch(r"v?\d+", w)] or words
    kept = [words[0][:SHORT_NAME]]
    for word in words[1:]:
        if len("-".join([*kept, word])) > SHORT_NAME:
            break
        kept.append(word)
    while len(kept) > 1 and kept[-1] in DANGLING:
        kept.pop()
    return "-".join(kept)


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
                         "--log-level", "--debug", "--metrics-out", "--model-out", "--help",
                         "--verbose"])  # --verbose: Kubeflow's run-local
"""Options of the generated command line that are not parameters."""


def cli_option(name: str) -> str:
    """`n_customers` -> `--n-customers`; `cache` -> `--param-cache` (a run option's name)."""
    option = "--" + name.strip("_").replace("_", "-").lower()
    return f"--param-{option[2:]}" if option in RUN_OPTIONS else option
