"""NB4xx and tag rules: the notebook's shape as `build` will see it.

Tags decide how a notebook becomes a package, so a tag typo (NB606), an invalid
step setting (NB617, checked by the plan's own function), a
`parameters` cell that is not plain literals (NB607) or a step nothing uses
(NB404) changes the package silently. Size rules keep cells reviewable.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from nb2prod.analysis.tags import (
    AFTER_PREFIXES,
    FOREIGN_TAGS,
    IGNORE_PREFIX,
    PARAMETERS,
    ROLE_TAGS,
    SETTING_PREFIXES,
    STEP,
    STEP_PREFIXES,
    unknown_tag_message,
)
from nb2prod.lint.context import Check, LintContext, found
from nb2prod.problems import ERROR, INFO, WARNING, Problem, Rule, make_problem

if TYPE_CHECKING:
    from nb2prod.analysis.analyze import CellAnalysis

EMPTY = Rule(
    "NB401", "empty-cell", INFO, "A code cell is empty.", "Delete the cell.",
    "Empty cells are noise in reviews and in the cell numbers every report refers to.",
    "[ ]", "(no cell)")
LONG_CELL = Rule(
    "NB402", "cell-too-long", INFO, "A code cell has more lines than the limit.",
    "Split the cell, or move helpers into a `functions` cell.",
    "Long cells become long step functions that are hard to review, test and re-run; the "
    "limit is `max-cell-lines` in `[tool.nb2prod.lint.limits]`.",
    "# one 200-line cell that loads, cleans, trains and plots",
    "# load / clean / train / evaluate: one step tag each")
UNTAGGED = Rule(
    "NB403", "untagged-notebook", ERROR,
    "The repository requires tags (`require-tags = true`) and the notebook has none.",
    "Add `step:NAME` tags (`nb2prod tag NOTEBOOK --suggest` proposes them).",
    "Without tags, `build` makes one `main` step: no reusable steps, no parameters, no "
    "metrics, which this repository has opted out of.",
    "(no cell tags)", "tags: [\"parameters\"], [\"step:load\"], [\"step:train\"], [\"metrics\"]")
UNUSED_STEP = Rule(
    "NB404", "step-outputs-unused", WARNING,
    "A step defines values that no later cell uses.",
    "Use its results in a later step, or tag the cells `skip` if they are exploration.",
    "A step whose outputs nobody reads is dead code in the pipeline: it costs time on "
    "every run and often hides a typo in the name a later step reads.",
    "# step:explore\nsummary = df.describe()\n# (summary never used)",
    "# skip\nsummary = df.describe()")
TOO_MANY_CELLS = Rule(
    "NB405", "notebook-too-long", INFO, "The notebook has more code cells than the limit.",
    "Split it into several notebooks, or move shared code into a module.",
    "Very long notebooks hide hidden state and make review impractical; the limit is "
    "`max-code-cells` in `[tool.nb2prod.lint.limits]`.",
    "# one notebook of 120 code cells: exploration, training and reporting",
    "# explore.ipynb, train.ipynb, report.ipynb; shared helpers in a module")

RULES = (EMPTY, LONG_CELL, UNTAGGED, UNUSED_STEP, TOO_MANY_CELLS)

KNOWN_TAGS = (*ROLE_TAGS, *(p + "NAME" for p in STEP_PREFIXES + AFTER_PREFIXES),
              *(p + "VALUE" for p in SETTING_PREFIXES), IGNORE_PREFIX + "=CODE",
              *sorted(FOREIGN_TAGS))


def check_sizes(ctx: LintContext) -> Iterator[Problem]:
    limit = ctx.config.limits.max_cell_lines
    for cell in ctx.code_cells:
        source = cell.cell.source
        if not source.strip():
            yield found(EMPTY, cell, "empty code cell")
            continue
        lines = source.rstrip("\n").count("\n") + 1
        if limit and lines > limit:
            yield found(LONG_CELL, cell, f"cell has {lines} lines (limit {limit})",
                        limit + 1)
    most = ctx.config.limits.max_code_cells
    if most and len(ctx.code_cells) > most:
        yield found(TOO_MANY_CELLS, None,
                    f"{len(ctx.code_cells)} code cells (limit {most})")


def check_tags(ctx: LintContext) -> Iterator[Problem]:
    for cell in ctx.analysis.cells:
        for tag in cell.tags.unknown:  # the message plan and build give too
            yield make_problem("NB606", unknown_tag_message(tag), cell.cell.number, 1, 1,
                               cell.cell.cell_id)
    if ctx.config.require_tags and ctx.code_cells and not _is_tagged(ctx):
        yield found(UNTAGGED, None, "no step or role tags; the repository requires them")


def _is_tagged(ctx: LintContext) -> bool:
    return any(c.tags.role is not None for c in ctx.analysis.cells)


def check_parameters(ctx: LintContext) -> Iterator[Problem]:
    for cell in ctx.parsed:
        if cell.tags.role != PARAMETERS:
            continue
        for stmt in cell.tree.body:
            if not _is_literal_assignment(stmt):
                text = ast.unparse(stmt).split("\n")[0][:60]
                yield make_problem("NB607", f"`{text}` is not a `name = literal` assignment",
                                   cell.cell.number, stmt.lineno, stmt.col_offset + 1,
                                   cell.cell.cell_id)


def _is_literal_assignment(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr)
                                      and isinstance(stmt.value, ast.Constant)):
        return True
    if isinstance(stmt, ast.Assign):
        targets_ok = all(isinstance(t, ast.Name) for t in stmt.targets)
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        targets_ok = isinstance(stmt.target, ast.Name)
    else:
        return False
    try:
        ast.literal_eval(stmt.value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return targets_ok


def check_steps(ctx: LintContext) -> Iterator[Problem]:
    steps = _steps(ctx.parsed)
    for position, (name, cells) in enumerate(steps[:-1]):
        defines = {n for c in cells for n in c.flow.defines}
        last = cells[-1].cell.index
        later = [c for c in ctx.parsed if c.cell.index > last]
        used = {u.name for c in later for u in c.flow.reads}
        used |= {u.name for c in ctx.parsed if c.flow.functions for u in c.flow.reads}
        named = {a for c in ctx.analysis.cells for a in c.tags.after}
        if defines and not defines & used and name not in named:
            shown = ", ".join(sorted(defines)[:3])
            yield found(UNUSED_STEP, cells[0], f"step {name!r} defines {shown} but no later "
                        "cell uses them")


def _steps(cells: tuple[CellAnalysis, ...]) -> list[tuple[str, list[CellAnalysis]]]:
    steps: list[tuple[str, list[CellAnalysis]]] = []
    current: list[CellAnalysis] | None = None
    for cell in cells:
        if cell.tags.role == STEP:
            current = [cell]
            steps.append((cell.tags.step or "", current))
        elif cell.tags.role is None and current is not None:
            current.append(cell)
        else:
            current = None
    return steps


def check_settings(ctx: LintContext) -> Iterator[Problem]:
    """NB617: an invalid step setting tag, as `plan` and `build` report it (one function)."""
    for cell in ctx.code_cells:
        if cell.tags.settings:  # most cells have none: plan/settings.py loads for the others
            from nb2prod.plan.settings import cell_settings

            yield from cell_settings(cell)[1]


CHECKS = (
    Check(("NB401", "NB402", "NB405"), check_sizes),
    Check(("NB606", "NB403"), check_tags),
    Check(("NB617",), check_settings),
    Check(("NB607",), check_parameters),
    Check(("NB404",), check_steps),
)
