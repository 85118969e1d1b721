"""Every rule `lint` knows, as one table, and rule selection.

Lint's own rules come from the `rules_*` modules; codes that mean the same
thing in `build` are reused from `nb2prod.problems.CONVERSION_RULES`, so one
code never has two meanings. `CATALOG` is what `nb2prod rules` lists: lint
rules plus the conversion codes only `build` reports.
"""

from __future__ import annotations

from dataclasses import replace

from nb2prod.errors import UserError
from nb2prod.lint import (
    rules_cells,
    rules_execution,
    rules_files,
    rules_flows,
    rules_names,
    rules_outputs,
    rules_paths,
    rules_random,
    rules_secrets,
    rules_structure,
)
from nb2prod.lint.context import Check
from nb2prod.problems import CONVERSION_RULES, Rule

_MODULES = (rules_files, rules_cells, rules_execution, rules_names, rules_paths,
            rules_random, rules_secrets, rules_flows, rules_outputs, rules_structure)

CHECKS: tuple[Check, ...] = tuple(check for m in _MODULES for check in m.CHECKS)

REUSED = ("NB002", "NB201", "NB202", "NB203", "NB601", "NB604", "NB606", "NB607", "NB608",
          "NB609", "NB613", "NB617", "NB624", "NB625", "NB630", "NB631", "NB632")
"""Conversion codes lint reports with the same meaning as build."""

LINT_RULES: dict[str, Rule] = dict(sorted(
    [(r.code, r) for m in _MODULES for r in m.RULES]
    + [(code, replace(CONVERSION_RULES[code],
                      severity=rules_cells.LINT_SEVERITY.get(code, CONVERSION_RULES[code].severity)))
       for code in REUSED]))
"""Code -> rule, for every code `nb2prod lint` can report."""

CATALOG: dict[str, Rule] = dict(sorted({**CONVERSION_RULES, **LINT_RULES}.items()))
"""Every code nb2prod reports, from lint or build."""

ENGINE_CODES = ("NB001", "NB003")
"""Emitted by the engine itself when a notebook cannot be loaded."""
PROJECT_CODES = ("NB630", "NB631", "NB632")
"""Emitted once per folder of notebooks that is a project (lint/project.py)."""

_emitted = {code for check in CHECKS for code in check.codes} | set(ENGINE_CODES) | \
    set(PROJECT_CODES)
assert _emitted == set(LINT_RULES), f"rules without checks: {set(LINT_RULES) ^ _emitted}"


def expand(selectors: tuple[str, ...], what: str) -> set[str]:
    """`("NB1", "NB201")` -> every lint code they name; unknown ids are a usage error."""
    codes: set[str] = set()
    for selector in selectors:
        key = selector.strip().upper()
        if key in ("ALL", ""):
            codes.update(LINT_RULES)
            continue
        matched = {code for code in LINT_RULES if code.startswith(key)}
        if not matched:
            known = "build-only code" if key in CATALOG else "unknown rule id"
            raise UserError(f"{known} {selector!r} in {what}",
                            hint="`nb2prod rules` lists the lint rules", exit_code=2)
        codes.update(matched)
    return codes


def resolve(select: tuple[str, ...] | None, ignore: tuple[str, ...]) -> frozenset[str]:
    """The enabled codes: `select` (default: all), minus `ignore`."""
    selected = expand(select, "select") if select is not None else set(LINT_RULES)
    return frozenset(selected - expand(ignore, "ignore"))


def checks_for(enabled: frozenset[str]) -> tuple[Check, ...]:
    """The checks worth running: those that can emit an enabled code."""
    return tuple(c for c in CHECKS if enabled.intersection(c.codes))
