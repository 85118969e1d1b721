"""The README's troubleshooting table is the conversion catalog, row for row."""

from __future__ import annotations

from nb2prod.problems import CONVERSION_RULES
from tests.conftest import ROOT


def test_troubleshooting_table_matches_the_catalog():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for rule in CONVERSION_RULES.values():
        row = f"| {rule.code} `{rule.name}` | {rule.severity} | {rule.summary} | {rule.fix} |"
        assert row in readme, f"README troubleshooting is missing or stale for {rule.code}"
    assert readme.count("| NB6") + readme.count("| NB0") + readme.count("| NB2") == len(
        CONVERSION_RULES)


def test_exactly_two_setup_commands_near_the_top():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = readme[readme.index("## Set up"):readme.index("## Quickstart")]
    blocks = setup.split("```bash")[1:]
    assert len(blocks) == 2
    assert "nb2prod build examples/" in blocks[0] and "bash .ci/run" in blocks[1]


def test_every_rule_explains_itself():
    """`nb2prod rules CODE` shows why, a bad and a good example for every code."""
    from nb2prod.lint import registry

    assert len(registry.LINT_RULES) >= 25
    for rule in registry.CATALOG.values():
        assert rule.why and rule.bad and rule.good and rule.fix, rule.code


def test_the_first_command_installs_what_the_example_imports_before_building_it():
    """Else the build reads an environment without them: NB623 warnings, nothing pinned."""
    from nb2prod.notebook import load_notebook
    from nb2prod.plan.build import build_plan
    from nb2prod.plan.dependencies import requirement_name

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = readme[readme.index("## Set up"):].split("```bash")[1].split("```")[0]
    before_build = command.split("nb2prod build")[0].split()
    notebook = command.split("nb2prod build")[1].split()[0]
    plan = build_plan(load_notebook(ROOT / notebook))
    assert plan.dependencies
    for requirement in plan.dependencies:
        assert requirement_name(requirement) in before_build, requirement
