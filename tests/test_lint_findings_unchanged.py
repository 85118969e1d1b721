"""Lint finds what it found before the speed work (issue 16), finding for finding.

`tests/data/lint/expected_findings.json` holds every finding, all rules
enabled, on ../shared/corpus, ../shared/realworld and every lint test case
(tests/data/lint/cases, each with its own limits as in test_lint_rules),
paths relative to the folder. It was written by the code before the speed
work (commit 71f491b) and is refreshed only on purpose, when a rule is meant
to change:

    python tests/test_lint_findings_unchanged.py   # rewrites the expected file

Review its diff: a finding that disappears is a finding users lose.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data" / "lint"
EXPECTED = DATA / "expected_findings.json"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FOLDERS = {"corpus": SHARED / "corpus", "realworld": SHARED / "realworld"}


def _record(finding, root: Path) -> dict:
    path = Path(finding.path)
    return {**finding.to_dict(), "path": path.relative_to(root).as_posix(),
            "hint": finding.hint}


def folder_findings(folder: Path, jobs: int = 1) -> list[dict]:
    """Every finding of one `nb2prod lint FOLDER --no-cache` run."""
    from nb2prod.lint.api import LintOptions, run_lint

    outcome = run_lint(LintOptions(paths=(folder,), jobs=jobs, format="json", cache=False))
    return [_record(f, folder) for f in outcome.result.findings]


def _cases_module():
    spec = importlib.util.spec_from_file_location("lint_make_cases", DATA / "make_cases.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def case_findings() -> list[dict]:
    """Every finding of every lint test case, linted with that case's settings."""
    from nb2prod.lint.config import parse_table
    from nb2prod.lint.engine import LintPlan, lint_file
    from nb2prod.lint.registry import resolve

    cases = _cases_module()
    found = []
    for case in sorted(cases.CASES, key=lambda c: (c.kind, c.code, c.name)):
        config = parse_table({"limits": case.limits, "require-tags": case.require_tags},
                             DATA / "pyproject.toml")
        plan = LintPlan(config, resolve(None, ()), cases.CASES_DIR)
        path = cases.CASES_DIR / case.kind / case.code / case.name
        found.extend(_record(f, cases.CASES_DIR) for f in lint_file(path, plan))
    return found


def collect() -> dict[str, list[dict]]:
    found = {name: folder_findings(folder) for name, folder in FOLDERS.items()
             if folder.is_dir()}
    return {**found, "cases": case_findings()}


@pytest.fixture(scope="module")
def expected() -> dict[str, list[dict]]:
    return json.loads(EXPECTED.read_text(encoding="utf-8"))


def _diff(got: list[dict], want: list[dict]) -> str:
    key = (lambda f: json.dumps(f, sort_keys=True))
    lost = sorted({key(f) for f in want} - {key(f) for f in got})
    new = sorted({key(f) for f in got} - {key(f) for f in want})
    return f"lost {len(lost)}: {lost[:3]}; new {len(new)}: {new[:3]}"


def test_expected_file_covers_every_folder(expected):
    assert set(expected) == {*FOLDERS, "cases"}
    assert len(expected["cases"]) > 30 and len(expected["corpus"]) > 300
    assert len({f["code"] for f in expected["cases"]}) >= 30  # the failing cases' rules


def test_lint_cases_findings_unchanged(expected):
    got = case_findings()
    assert got == expected["cases"], _diff(got, expected["cases"])


@pytest.mark.parametrize("name,jobs", [("corpus", 1), ("realworld", 1), ("corpus", 2)])
def test_shared_notebooks_findings_unchanged(expected, name, jobs):
    """Serial and in worker processes (`--jobs 2`): the same findings, in the same order."""
    if not FOLDERS[name].is_dir():
        pytest.skip(f"../shared/{name} not available")
    got = folder_findings(FOLDERS[name], jobs)
    assert got == expected[name], _diff(got, expected[name])


if __name__ == "__main__":
    EXPECTED.write_text(json.dumps(collect(), indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    print(f"wrote {EXPECTED}")


def test_json_report_is_what_json_dumps_writes():
    """render_json lays out the findings itself (speed): the bytes json.dumps would write."""
    from nb2prod.lint.findings import Finding
    from nb2prod.lint.formats import render

    records = [r for name in ("corpus", "cases") for r in json.loads(
        EXPECTED.read_text(encoding="utf-8")).get(name, [])]
    findings = [Finding(r["path"], r["cell"], r["line"], r["column"], r["code"], r["severity"],
                        r["message"], r["hint"], r["cell_id"]) for r in records]
    findings.append(Finding("ü/\"x\".ipynb", None, None, None, "NB001", "error", "tab\there\n"))
    for chosen in (findings, findings[:1], []):
        assert render(chosen, "json", rules={}, files=1) == json.dumps(
            [f.to_dict() for f in chosen], indent=2, ensure_ascii=False)
