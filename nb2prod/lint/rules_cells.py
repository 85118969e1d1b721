"""Per-cell problems the shared analysis already found: syntax, IPython syntax.

NB002 is reported for each cell that does not parse, and every other cell is
still checked (ruff stops at the first syntax error in a notebook). IPython
syntax that `build` cannot convert is NB601; `!pip install` is NB604. Cells
tagged `skip` are left out of the package, so their IPython syntax is fine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from nb2prod.analysis.tags import SKIP
from nb2prod.lint.context import Check, LintContext
from nb2prod.problems import WARNING, Problem

LINT_SEVERITY = {"NB604": WARNING}
"""Where lint is stricter than build: build turns `!pip install x` into a
declared dependency (info); in a repository gate the notebook itself should
not install packages."""

_REPORTED = ("NB002", "NB601", "NB604")


def check_cell_problems(ctx: LintContext) -> Iterator[Problem]:
    for cell in ctx.code_cells:
        for problem in cell.problems:
            if problem.code not in _REPORTED:
                continue
            if problem.code != "NB002" and cell.tags.role == SKIP:
                continue
            severity = LINT_SEVERITY.get(problem.code, problem.severity)
            yield replace(problem, severity=severity)


RULES = ()
CHECKS = (Check(_REPORTED, check_cell_problems),)
