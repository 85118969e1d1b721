"""NB1xx: how the notebook was executed, read from execution counts and outputs.

A notebook run with "Restart & Run All" numbers its code cells 1, 2, 3, ...
in document order. Anything else means the outputs in the file came from a
kernel whose state the file does not describe.
"""

from __future__ import annotations

from collections.abc import Iterator

from nb2prod.analysis.tags import SKIP
from nb2prod.lint.context import Check, LintContext, found
from nb2prod.problems import INFO, WARNING, Problem, Rule

OUT_OF_ORDER = Rule(
    "NB101", "execution-out-of-order", WARNING,
    "A cell was executed before a cell above it.",
    "Restart the kernel and run all cells top to bottom, then commit.",
    "The outputs were produced by a different order than the file shows; a fresh run "
    "(and the generated package) executes top to bottom and may compute something else.",
    "[2] df = load()\n[1] df = clean(df)", "[1] df = load()\n[2] df = clean(df)")
REPEATED = Rule(
    "NB102", "execution-count-repeated", WARNING,
    "Two cells show the same execution count: outputs from several kernel sessions.",
    "Restart the kernel and run all cells, then commit.",
    "Outputs from different sessions cannot all be reproduced by one run.",
    "[3] train()\n[3] evaluate()", "[3] train()\n[4] evaluate()")
GAP = Rule(
    "NB103", "execution-count-gap", INFO,
    "The execution count skips numbers: code that is no longer in the notebook ran.",
    "Restart the kernel and run all cells, then commit.",
    "A deleted, edited or re-run cell may have left state the notebook now depends on.",
    "[1] import pandas as pd\n[7] df = pd.read_csv(path)",
    "[1] import pandas as pd\n[2] df = pd.read_csv(path)")
OUTPUTS_NOT_EXECUTED = Rule(
    "NB104", "outputs-without-execution", WARNING,
    "A cell that was never executed carries outputs.",
    "Clear the outputs (`jupyter nbconvert --clear-output`) or run the cell.",
    "Outputs that no execution produced cannot be trusted as a record of the run.",
    "[ ] print(total)  -> output: 42", "[5] print(total)  -> output: 42")
NOT_TOP_TO_BOTTOM = Rule(
    "NB105", "not-run-top-to-bottom", WARNING,
    "A code cell was never executed although cells below it were.",
    "Run all cells top to bottom (or tag the cell `skip` if it is not part of the run).",
    "Later outputs were computed without this cell; a fresh run executes it and may "
    "give different results, or fail.",
    "[1] df = load()\n[ ] df = df.dropna()\n[2] df.mean()",
    "[1] df = load()\n[2] df = df.dropna()\n[3] df.mean()")

RULES = (OUT_OF_ORDER, REPEATED, GAP, OUTPUTS_NOT_EXECUTED, NOT_TOP_TO_BOTTOM)


def check_counts(ctx: LintContext) -> Iterator[Problem]:
    highest = 0
    seen: dict[int, int] = {}  # execution count -> cell number
    for cell in ctx.code_cells:
        count = cell.cell.execution_count
        if count is None:
            continue
        if count in seen:
            yield found(REPEATED, cell,
                        f"execution count [{count}] also shown by cell {seen[count]}")
        elif count < highest:
            yield found(OUT_OF_ORDER, cell,
                        f"executed as [{count}] after a cell above it ran as [{highest}]")
        elif count > highest + 1:
            yield found(GAP, cell, _gap_message(highest, count))
        seen.setdefault(count, cell.cell.number)
        highest = max(highest, count)


def _gap_message(highest: int, count: int) -> str:
    if highest == 0:
        return f"first executed cell ran as [{count}]: {count - 1} executions happened before"
    return f"execution count jumps from [{highest}] to [{count}]: {count - highest - 1} " \
           "executions are not in the notebook"


def check_unexecuted(ctx: LintContext) -> Iterator[Problem]:
    cells = ctx.code_cells
    last_executed = max((i for i, c in enumerate(cells) if c.cell.execution_count is not None),
                        default=-1)
    for i, cell in enumerate(cells):
        if cell.cell.execution_count is not None:
            continue
        if cell.cell.outputs:
            yield found(OUTPUTS_NOT_EXECUTED, cell,
                        f"never executed but has {len(cell.cell.outputs)} output(s)")
        elif i < last_executed and cell.cell.source.strip() and cell.tags.role != SKIP:
            later = cells[last_executed].cell.number
            yield found(NOT_TOP_TO_BOTTOM, cell,
                        f"never executed, but cell {later} below it was")


CHECKS = (
    Check(("NB101", "NB102", "NB103"), check_counts),
    Check(("NB104", "NB105"), check_unexecuted),
)
