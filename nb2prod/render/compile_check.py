"""A clean build is a promise: every generated module compiles (issue 26).

`render_checked` renders, compiles each generated `.py` text (`compile()`, no
import: nothing runs) and, when one fails, adds NB640 to the plan and renders
again, so the report and the exit code say so. The error is placed at the
notebook cell and line the bad code came from when that line is in a cell
verbatim (steps, helpers and tests keep the notebook's lines); otherwise at the
generated file's line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from nb2prod.plan.records import Plan
from nb2prod.problems import Problem, make_problem


def render_checked(plan: Plan, render: Callable[[Plan], dict[str, str]],
                   notebook: Path) -> tuple[Plan, dict[str, str]]:
    files = render(plan)
    found = compile_problems(files, notebook)
    if not found:
        return plan, files
    plan = replace(plan, problems=plan.problems + tuple(found))
    return plan, render(plan)


def compile_problems(files: Mapping[str, str], notebook: Path) -> list[Problem]:
    problems = []
    for path, text in sorted(files.items()):
        if not path.endswith(".py"):
            continue
        try:
            compile(text, path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            problems.append(_located(notebook, path, exc.msg, exc.lineno, exc.text))
        except (ValueError, RecursionError, MemoryError) as exc:  # NUL, nested too deep
            problems.append(_located(notebook, path, str(exc) or type(exc).__name__,
                                     None, None))
    return problems


def _located(notebook: Path, path: str, reason: str, line: int | None,
             text: str | None) -> Problem:
    where = f"{path}:{line}" if line else path
    message = f"generated {where} does not compile: {reason}"
    cell, cell_line, cell_id = _origin(notebook, (text or "").strip())
    return make_problem("NB640", message, cell, cell_line, None, cell_id)


def _origin(notebook: Path, text: str) -> tuple[int | None, int | None, str | None]:
    """The first code cell line that is `text` (stripped), if the generated line was
    copied from the notebook."""
    if not text:
        return None, None, None
    from nb2prod.notebook import load_notebook  # only when a module failed

    for cell in load_notebook(notebook, validate=False, digest=False).code_cells:
        for number, line in enumerate(cell.source.split("\n"), start=1):
            if line.strip() == text:
                return cell.number, number, cell.cell_id
    return None, None, None
