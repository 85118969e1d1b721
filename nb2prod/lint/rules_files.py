"""NB0xx and NB5xx: the notebook file itself, before and around its cells.

NB001 and NB003 are emitted by the engine when loading fails (a notebook
that cannot be read is a finding, and the other notebooks are still linted).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from nb2prod.lint.context import Check, LintContext, found
from nb2prod.problems import ERROR, INFO, WARNING, Problem, Rule

UNREADABLE = Rule(
    "NB001", "unreadable-notebook", ERROR,
    "The file cannot be read as a Jupyter notebook.",
    "Fix the file (often a merge conflict left in the JSON) or remove it.",
    "A notebook that does not load cannot be linted, built or run; tools that skip it "
    "silently hide the breakage.",
    '<<<<<<< HEAD\n  "cells": [', '{\n  "cells": [')
NOT_PYTHON = Rule(
    "NB003", "non-python-notebook", INFO,
    "The notebook runs a kernel other than Python and was not linted.",
    "Nothing to do; exclude it in `[tool.nb2prod.lint] exclude` to silence this.",
    "nb2prod converts and lints Python notebooks only.",
    'kernelspec: {"language": "R"}', 'kernelspec: {"language": "python"}')
UNTITLED = Rule(
    "NB501", "untitled-notebook", WARNING,
    "The notebook is still called `Untitled`.",
    "Rename it after what it does (`churn_model.ipynb`).",
    "The file name becomes the package and step names; `untitled3` tells nobody anything.",
    "Untitled3.ipynb", "churn_model.ipynb")
COPY = Rule(
    "NB502", "copy-notebook", WARNING,
    "The notebook is an editor copy (`-Copy1`, `copy of`).",
    "Rename it, or delete it if it is a stale duplicate.",
    "Copies drift from their original; reviewers cannot tell which one is authoritative.",
    "churn_model-Copy1.ipynb", "churn_model_v2.ipynb (or one notebook, in git history)")
NON_PORTABLE = Rule(
    "NB503", "non-portable-filename", INFO,
    "The file name has spaces or characters outside `[A-Za-z0-9_.-]`.",
    "Rename it with letters, digits, `_`, `-` and `.` only.",
    "Spaces and special characters break shell commands, URLs, module and package names.",
    "Churn Model (final).ipynb", "churn_model_final.ipynb")

RULES = (UNREADABLE, NOT_PYTHON, UNTITLED, COPY, NON_PORTABLE)

_UNTITLED = re.compile(r"^untitled\d*$", re.IGNORECASE)
_COPY = re.compile(r"(-copy\d*$|^copy of |[ _(]copy\)?\d*$)", re.IGNORECASE)
_PORTABLE = re.compile(r"^[A-Za-z0-9_.\-]+$")


def check_filename(ctx: LintContext) -> Iterator[Problem]:
    yield from filename_problems(ctx.path.name)


def filename_problems(name: str) -> Iterator[Problem]:
    stem = name[: -len(".ipynb")] if name.lower().endswith(".ipynb") else name
    if _UNTITLED.match(stem) or stem.lower().startswith("untitled"):
        yield found(UNTITLED, None, f"notebook is named {name!r}")
    if _COPY.search(stem):
        yield found(COPY, None, f"{name!r} looks like an editor copy")
    if not _PORTABLE.match(name):
        yield found(NON_PORTABLE, None, f"{name!r} has spaces or special characters")


CHECKS = (Check(("NB501", "NB502", "NB503"), check_filename),)
