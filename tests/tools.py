"""The external tools tests run, found the way a fresh machine has them.

Tools of the `test` extra live next to the interpreter running the tests (the
venv's `bin/`), which need not be on PATH: `.venv/bin/pytest` from a plain
shell must work. System tools come from the machine's packages; `.ci/run`
installs them. A missing tool is a failure that says how to get it, never a
skip: a check that quietly vanishes is worse than a red one.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

# ruff is importable as a module of the running interpreter.
RUFF = (sys.executable, "-m", "ruff")


def extra_tool(name: str) -> str:
    """A console script installed by the `test` extra, beside sys.executable."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.fail(f"{name} not found next to {sys.executable}: "
                    f"pip install -e '.[test]' (bash .ci/run does)")
    return str(path)


def system_tool(name: str, debian_package: str) -> str:
    """A program from the machine's packages, which `.ci/run` installs."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found on PATH: apt-get install {debian_package} "
                    f"(bash .ci/run does, as root)")
    return path
