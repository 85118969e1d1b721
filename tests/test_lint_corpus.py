"""Lint every notebook of ../shared/corpus (real notebooks we did not write)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nb2prod.lint.api import LintOptions, run_lint
from nb2prod.lint.formats import render
from nb2prod.lint.positions import cell_lines, file_line
from nb2prod.notebook import load_notebook

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not available")


@pytest.fixture(scope="module")
def outcome():
    return run_lint(LintOptions(paths=(CORPUS,), jobs=1, format="json"))


def test_whole_corpus_is_linted(outcome):
    assert outcome.result.files == len(list(CORPUS.rglob("*.ipynb")))
    assert json.loads(outcome.report)  # the report is valid JSON with findings


def test_every_finding_is_located(outcome):
    cache: dict[str, list] = {}
    for finding in outcome.result.findings:
        if finding.code in ("NB001", "NB003") or finding.cell is None:
            assert finding.line is None
            continue
        if finding.path not in cache:
            cache[finding.path] = load_notebook(finding.path, validate=False).cells
        cells = cache[finding.path]
        assert 1 <= finding.cell <= len(cells), finding
        source = cells[finding.cell - 1].source
        assert 1 <= finding.line <= source.count("\n") + 1, finding
        assert finding.column >= 1


def test_known_corpus_findings(outcome):
    got = {(Path(f.path).name, f.code, f.cell) for f in outcome.result.findings}
    assert ("test2.ipynb", "NB002", 6) in got  # python 2 print: syntax error in that cell only
    assert ("Notebook_with_R_magic.ipynb", "NB601", 3) in got  # %%R cell magic
    assert ("iris.ipynb", "NB303", 9) in got  # train_test_split without random_state


def test_github_lines_are_inside_the_files(outcome):
    by_path: dict[str, int] = {}
    for finding in outcome.result.findings[:400]:
        if finding.path not in by_path:
            by_path[finding.path] = Path(finding.path).read_text("utf-8-sig").count("\n") + 1
        text = Path(finding.path).read_text("utf-8-sig")
        line = file_line(cell_lines(text), finding.cell, finding.line)
        assert 1 <= line <= by_path[finding.path]
    assert render(outcome.result.findings, "github", rules={}, files=1)
