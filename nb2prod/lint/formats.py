"""Findings -> text for people and for CI: text, json, github, sarif, junit.

Value in, text out: `render(findings, fmt, rules=..., files=N)`. Only the
github and sarif formats read the notebooks again, to place each finding on
the line of the `.ipynb` file where its cell source line sits, which is what
a pull-request diff shows (ruff collapses notebook findings to line 1).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from nb2prod import __version__, problems
from nb2prod.lint.findings import Finding
from nb2prod.problems import ERROR, INFO, WARNING, Rule

# XML (junit), URL quoting (sarif) and the `.ipynb` line index (github, sarif) are
# imported by the formats that use them: the text and json reports do not pay for them.

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/nb2prod/nb2prod"
_GITHUB_LEVEL = {ERROR: "error", WARNING: "warning", INFO: "notice"}
_SARIF_LEVEL = {ERROR: "error", WARNING: "warning", INFO: "note"}


def location(finding: Finding) -> str:
    """`path:cell 3:12:5` (ruff's notebook convention), or just `path`."""
    if finding.cell is None:
        return problems.location(finding.path)
    return problems.location(finding.path, finding.cell, finding.line or 1, finding.column or 1)


def render_text(findings: list[Finding], rules: Mapping[str, Rule], files: int) -> str:
    lines = [f"{location(f)}: {f.code} {f.message}" for f in findings]
    counts = Counter(f.severity for f in findings)
    plural = "s" if files != 1 else ""
    if findings:
        lines += rule_counts(findings, rules)
        detail = ", ".join(f"{counts[s]} {s}" for s in (ERROR, WARNING, INFO) if counts[s])
        lines.append(f"Found {len(findings)} finding{'s' if len(findings) != 1 else ''} "
                     f"({detail}) in {files} notebook{plural}.")
    else:
        lines.append(f"All checks passed ({files} notebook{plural}).")
    return "\n".join(lines)


def rule_counts(findings: list[Finding], rules: Mapping[str, Rule]) -> list[str]:
    """A line per rule, most frequent first, then how to ignore the first of them: what
    a person reads after a long listing to decide what to fix or switch off."""
    by_code = Counter(f.code for f in findings).most_common()
    width = len(str(by_code[0][1]))
    lines = [f"{n:>{width}}  {code}  {rules[code].name if code in rules else ''}".rstrip()
             for code, n in by_code]
    top = by_code[0][0]
    hint = (f"Ignore a rule: --ignore {top}, or `ignore = [\"{top}\"]` under "
            f"[tool.nb2prod.lint] in pyproject.toml; one line: `# noqa: {top}`.")
    return [*lines, hint]


def render_json(findings: list[Finding], rules: Mapping[str, Rule], files: int) -> str:
    """`json.dumps([...], indent=2, ensure_ascii=False)`, byte for byte, 5x faster: with
    `indent` json falls back to its pure-Python encoder; a finding is one flat object,
    so its scalars go through the C one and the layout is written here."""
    if not findings:
        return "[]"
    encode = json.JSONEncoder(ensure_ascii=False).encode
    return "[\n" + ",\n".join(
        "  {\n" + ",\n".join(f"    {encode(key)}: {encode(value)}"
                              for key, value in f.to_dict().items()) + "\n  }"
        for f in findings) + "\n]"


class _FileLines:
    """Cached `.ipynb` line lookup, one scan per notebook."""

    def __init__(self) -> None:
        self.cache: dict[str, object] = {}

    def __call__(self, finding: Finding) -> int:
        from nb2prod.lint.positions import cell_lines, file_line

        if finding.path not in self.cache:
            try:
                text = Path(finding.path).read_text(encoding="utf-8-sig")
                self.cache[finding.path] = cell_lines(text)
            except (OSError, UnicodeDecodeError):
                self.cache[finding.path] = None
        return file_line(self.cache[finding.path], finding.cell, finding.line)


def _prefixed(finding: Finding) -> str:
    """The message with its place in the notebook: `cell 3, line 12: ...`."""
    if finding.cell is None:
        return finding.message
    return f"cell {finding.cell}, line {finding.line or 1}: {finding.message}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(findings: list[Finding], rules: Mapping[str, Rule], files: int) -> str:
    """GitHub Actions workflow commands: `::error file=..,line=..,title=..::message`."""
    line_of = _FileLines()
    out = []
    for f in findings:
        rule = rules.get(f.code)
        title = f"{f.code} {rule.name}" if rule else f.code
        props = f"file={_escape_property(f.path)},line={line_of(f)},title={_escape_property(title)}"
        out.append(f"::{_GITHUB_LEVEL[f.severity]} {props}::{_escape_data(_prefixed(f))}")
    return "\n".join(out)


def _sarif_rule(rule: Rule) -> dict:
    help_text = rule.fix + (f"\n\nBad:\n{rule.bad}\n\nGood:\n{rule.good}" if rule.bad else "")
    return {
        "id": rule.code, "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.why or rule.summary},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
        "properties": {"tags": [rule.severity]},
    }


def _artifact_uri(path: str) -> str:
    from urllib.parse import quote

    p = Path(path)
    if p.is_absolute():
        try:
            p = p.relative_to(Path.cwd())
        except ValueError:
            return p.as_uri()
    return quote(p.as_posix())


def render_sarif(findings: list[Finding], rules: Mapping[str, Rule], files: int) -> str:
    """SARIF 2.1.0 for code-scanning upload; rules carry their explanation."""
    line_of = _FileLines()
    ordered = sorted(rules)
    index = {code: i for i, code in enumerate(ordered)}
    results = []
    for f in findings:
        result = {
            "ruleId": f.code, "level": _SARIF_LEVEL[f.severity],
            "message": {"text": _prefixed(f)},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": _artifact_uri(f.path)},
                "region": {"startLine": line_of(f)}}}],
            "properties": {"cell": f.cell, "cellId": f.cell_id, "cellLine": f.line,
                           "cellColumn": f.column},
        }
        if f.code in index:
            result["ruleIndex"] = index[f.code]
        results.append(result)
    driver = {"name": "nb2prod", "version": __version__, "informationUri": INFORMATION_URI,
              "rules": [_sarif_rule(rules[code]) for code in ordered]}
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0",
           "runs": [{"tool": {"driver": driver}, "results": results,
                     "columnKind": "unicodeCodePoints"}]}
    return json.dumps(log, indent=2, ensure_ascii=False)


def render_junit(findings: list[Finding], rules: Mapping[str, Rule], files: int,
                 paths: Iterable[str] = (), fail_on: str = ERROR) -> str:
    """JUnit XML: one test suite per notebook, one test case per finding; a failure only
    at `fail_on` or worse (what makes lint exit 1), so a passing lint is a green CI run.
    The findings below it are passing test cases that carry their line as output."""
    from xml.etree import ElementTree as ET

    by_path: dict[str, list[Finding]] = {p: [] for p in paths}
    for f in findings:
        by_path.setdefault(f.path, []).append(f)
    failing = sum(f.at_least(fail_on) for f in findings)
    root = ET.Element("testsuites", name="nb2prod lint", tests=str(max(len(findings), 0)),
                      failures=str(failing))
    for path, items in by_path.items():
        suite = ET.SubElement(root, "testsuite", name=path, tests=str(max(len(items), 1)),
                              failures=str(sum(f.at_least(fail_on) for f in items)),
                              errors="0", skipped="0")
        if not items:
            ET.SubElement(suite, "testcase", name="lint", classname=path)
        for f in items:
            case = ET.SubElement(suite, "testcase", classname=path,
                                 name=f"{f.code} {location(f)[len(path) + 1:] or 'notebook'}")
            line = f"{location(f)}: {f.code} [{f.severity}] {f.message}\n{f.hint}"
            if f.at_least(fail_on):
                ET.SubElement(case, "failure", message=f.message, type=f.code).text = line
            else:
                ET.SubElement(case, "system-out").text = line
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


FORMATS: dict[str, Callable[..., str]] = {
    "text": render_text, "json": render_json, "github": render_github,
    "sarif": render_sarif, "junit": render_junit,
}


def render(findings: Iterable[Finding], fmt: str, *, rules: Mapping[str, Rule],
           files: int = 0, paths: Iterable[str] = (), fail_on: str = ERROR) -> str:
    """The report for `findings` in format `fmt` (a key of `FORMATS`)."""
    findings = list(findings)
    if fmt == "junit":
        return render_junit(findings, rules, files, paths, fail_on)
    return FORMATS[fmt](findings, rules, files)
