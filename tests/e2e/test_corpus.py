"""Real notebooks from other projects: lint, plan and build never crash, and every
outcome is a clean success, located problems, or one clear line of error."""

from __future__ import annotations

import json
import py_compile

import pytest

from nb2prod.cli import main
from tests.conftest import CORPUS

NOTEBOOKS = sorted(CORPUS.rglob("*.ipynb"))


def test_corpus_is_present():
    assert len(NOTEBOOKS) >= 60


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_plan_and_build(path, tmp_path, capsys):
    out = tmp_path / "out"
    plan_code = main(["plan", str(path), "--format", "json"])
    captured = capsys.readouterr()
    build_code = main(["build", str(path), "-o", str(out), "-q"])
    build_err = capsys.readouterr().err
    assert plan_code == build_code
    if plan_code == 2:
        for err in (captured.err, build_err):
            assert err.count("\n") == 1 and str(path) in err and "Traceback" not in err
        assert not out.exists()
        return
    assert plan_code in (0, 1)
    report = json.loads(captured.out)
    for problem in report["problems"]:
        assert problem["code"] and problem["severity"] in ("error", "warning", "info")
        assert problem["cell"] is None or 1 <= problem["cell"]
    for generated in out.rglob("*.py"):
        py_compile.compile(str(generated), doraise=True)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_lint(path, capsys):
    code = main(["lint", str(path), "--format", "json"])
    out = capsys.readouterr().out
    assert code in (0, 1)
    for finding in json.loads(out):
        assert finding["path"] == str(path) and finding["code"].startswith("NB")
