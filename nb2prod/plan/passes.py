"""The plan's last stage: a chain of passes over the assembled plan.

Each pass is a record (name, function `(Plan, NotebookAnalysis) -> Plan`) that adds
the problems of one concern, in the plan's one problem order; a new check is a new
record here, not an edit of the assembler (nbdev's processor chain is the model).
Render and the targets then only shape the plan: every refusal is decided here or
before (see nb2prod/build.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from nb2prod.analysis.credentials import parameter_credentials
from nb2prod.plan.file_flows import with_file_flow_problems
from nb2prod.plan.records import Plan
from nb2prod.plan.secret_flows import with_secret_flow_problems
from nb2prod.problems import in_order


@dataclass(frozen=True)
class Pass:
    name: str
    run: Callable[[Plan, object], Plan]  # (plan, its NotebookAnalysis) -> plan


def with_credential_problems(plan: Plan, analysis) -> Plan:
    """NB624: a parameter default that looks like a credential would be written into the
    package, its CLI help and the Kubeflow YAML (the build refuses it)."""
    cells = {p.cell for p in plan.params}
    added = parameter_credentials([c for c in analysis.cells if c.cell.number in cells])
    return replace(plan, problems=in_order([*plan.problems, *added])) if added else plan


PASSES: tuple[Pass, ...] = (
    Pass("credential defaults (NB624)", with_credential_problems),
    Pass("files passed between steps (NB618)", lambda plan, _: with_file_flow_problems(plan)),
    Pass("secret values passed between steps (NB625)", with_secret_flow_problems),
)


def run_passes(plan: Plan, analysis, passes: tuple[Pass, ...] = PASSES) -> Plan:
    for step in passes:
        plan = step.run(plan, analysis)
    return plan
