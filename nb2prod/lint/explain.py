"""`nb2prod rules [CODE]`: the catalog as a table, or one rule explained."""

from __future__ import annotations

import json
import textwrap

from nb2prod.errors import UserError
from nb2prod.lint.registry import CATALOG, LINT_RULES
from nb2prod.problems import CONVERSION_RULES, Rule


def _tags() -> list[str]:
    from nb2prod.analysis.tags import vocabulary

    return ["Valid tags:", *(f"  {line}" for line in vocabulary())]


APPENDICES = {"NB606": _tags}
"""Code -> the lines `nb2prod rules CODE` adds after the fix: what the rule checks against."""


def scope(code: str) -> str:
    if code in LINT_RULES and code in CONVERSION_RULES:
        return "lint+build"
    return "lint" if code in LINT_RULES else "build"


def severity(code: str) -> str:
    """The severity lint reports (build's, for build-only codes)."""
    return (LINT_RULES.get(code) or CATALOG[code]).severity


def rule_dict(rule: Rule) -> dict:
    return {"code": rule.code, "name": rule.name, "severity": severity(rule.code),
            "scope": scope(rule.code), "summary": rule.summary, "why": rule.why,
            "bad": rule.bad, "good": rule.good, "fix": rule.fix}


def lookup(code: str) -> Rule:
    """A rule by code (`NB201`, any case) or name (`undefined-name`)."""
    key = code.strip()
    rule = CATALOG.get(key.upper()) or next(
        (r for r in CATALOG.values() if r.name == key.lower()), None)
    if rule is None:
        raise UserError(f"unknown rule {code!r} (neither a code nor a name)", hint="`nb2prod rules` lists them all",
                        exit_code=2)
    return rule


def render_table(fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps([rule_dict(r) for r in CATALOG.values()], indent=2)
    width = max(len(r.name) for r in CATALOG.values())
    lines = [f"{'code':<6} {'severity':<8} {'scope':<10} {'name':<{width}}  summary"]
    lines += [f"{r.code:<6} {severity(r.code):<8} {scope(r.code):<10} {r.name:<{width}}  "
              f"{r.summary}" for r in CATALOG.values()]
    lines.append(f"\n{len(LINT_RULES)} lint rules, {len(CATALOG)} codes in all. "
                 "`nb2prod rules CODE` explains one.")
    return "\n".join(lines)


def render_rule(code: str, fmt: str = "text") -> str:
    rule = lookup(code)
    if fmt == "json":
        return json.dumps(rule_dict(rule), indent=2)
    reported = scope(rule.code).replace("+", " and ")
    parts = [f"{rule.code} {rule.name} ({severity(rule.code)}; reported by {reported})",
             "", rule.summary]
    if rule.why:
        parts += ["", "Why it matters in production:", textwrap.indent(
            textwrap.fill(rule.why, 76), "  ")]
    if rule.bad:
        parts += ["", "Bad:", textwrap.indent(rule.bad, "    ")]
    if rule.good:
        parts += ["", "Good:", textwrap.indent(rule.good, "    ")]
    parts += ["", f"Fix: {rule.fix}"]
    if rule.code in APPENDICES:
        parts += ["", *APPENDICES[rule.code]()]
    if rule.code in LINT_RULES:
        silence = (f"Silence one line with `# noqa: {rule.code}`, a cell with the tag "
                   f"`nb2prod:ignore={rule.code}`, a repository with "
                   f"`ignore = [\"{rule.code}\"]` in [tool.nb2prod.lint].")
        parts += ["", silence]
    return "\n".join(parts)
