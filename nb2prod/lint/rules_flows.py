"""NB625 in lint: a secret's value passed from one step to another, as `build` finds it.

Only notebooks with `secret:` tags pay for it: for those the whole plan is made
from lint's analysis (`plan.build.plan_analysis`, its modules imported on first
use), and its NB625 problems are lint's.
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
    from nb2prod.plan.build import plan_analysis

    try:
        plan = plan_analysis(ctx.analysis)  # the plan `build` makes, passes and all
    except UserError:  # what build refuses, other rules report
        return
    yield from (p for p in plan.problems if p.code == "NB625")


CHECKS = (Check(("NB625",), check_secret_flows),)
