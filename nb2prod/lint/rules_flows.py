"""NB625 in lint: a secret's value passed from one step to another, as `build` finds it.

Only notebooks with `secret:` tags pay for it: for those the plan is built (its
modules imported on first use) and `plan/secret_flows.py` follows the value.
"""

from __future__ import annotations

from collections.abc import Iterator

from nb2prod.lint.context import Check, LintContext
from nb2prod.problems import Problem

RULES = ()  # NB625 is a conversion code lint reuses (registry.REUSED)


def check_secret_flows(ctx: LintContext) -> Iterator[Problem]:
    """NB625, as `build` reports it, for notebooks with `secret:` tags (the others pay
    nothing: the plan is built, and its modules imported, only for those)."""
    if not any(key.startswith("secret:") for cell in ctx.code_cells
               for key, _ in cell.tags.settings):
        return
    from nb2prod.errors import UserError
    from nb2prod.plan.build import assign_units
    from nb2prod.plan.records import PlanOptions
    from nb2prod.plan.secret_flows import with_secret_flow_problems
    from nb2prod.plan.steps import assemble

    try:
        units, problems = assign_units(ctx.analysis)
        plan = assemble(ctx.analysis.notebook, ctx.analysis, units, problems, PlanOptions())
    except UserError:  # what build refuses, other rules report
        return
    yield from (p for p in with_secret_flow_problems(plan, ctx.analysis).problems
                if p.code == "NB625")


CHECKS = (Check(("NB625",), check_secret_flows),)
