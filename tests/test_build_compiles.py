"""A clean build is a promise (issue 26): every generated module compiles, and hoisted
imports stay valid Python whatever the mix of star and named imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nb2prod.cli import main
from nb2prod.render import compile_check
from nb2prod.render.imports import import_block
from tests.conftest import make_notebook
from tests.tools import RUFF

STAR_THEN_NAMED = [("from math import *", []), ("from math import pi\nprint(pi)", [])]


def run_package(out: Path, module: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(out / "src")}
    return subprocess.run([sys.executable, "-m", module], capture_output=True, text=True,
                          env=env, cwd=out, timeout=120)


@pytest.mark.parametrize("cells", [
    STAR_THEN_NAMED,
    [("from math import pi\nprint(pi)", []), ("from math import *\nprint(tau)", [])],
    [("from math import *\nfrom math import pi as p, tau", []),
     ("from os.path import *\nfrom os.path import join\nprint(p, tau, join('a', 'b'))", [])],
])
def test_star_and_named_imports_of_one_module_build_and_run(tmp_path, capsys, cells):
    notebook = make_notebook(tmp_path / "stars.ipynb", cells)
    out = tmp_path / "out"
    assert main(["build", str(notebook), "-o", str(out), "-q"]) == 0
    assert "NB640" not in capsys.readouterr().out
    pipeline = (out / "src" / "stars" / "pipeline.py").read_text()
    assert "import *," not in pipeline
    lint = subprocess.run([*RUFF, "check", "--no-cache", "--isolated", "--select", "I,E9,F63",
                           "src"], cwd=out, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout  # isort order, and no syntax error
    run = run_package(out, "stars")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "3.14159" in run.stdout


def test_import_block_keeps_a_star_on_its_own_line():
    block = import_block(["from math import pi", "from math import *  # noqa: F403",
                          "from math import tau as t"], "pkg")
    assert block.splitlines() == ["from math import *  # noqa: F403",
                                  "from math import pi", "from math import tau as t"]
    compile(block, "block", "exec")


def test_a_generated_module_that_does_not_compile_is_a_located_error(tmp_path):
    notebook = make_notebook(tmp_path / "nb.ipynb", [("x = 1", []), ("print(x)\ny = 2", [])])
    files = {"src/nb/pipeline.py": "def main(:\n    print(x)\n", "README.md": "def (:"}
    (problem,) = compile_check.compile_problems(files, notebook)
    assert problem.code == "NB640" and problem.severity == "error"
    assert "generated src/nb/pipeline.py:1 does not compile" in problem.message
    assert problem.cell is None  # `def main(:` is no notebook line
    files = {"src/nb/pipeline.py": "def main():\n    x = 1\n  y = 2\n"}
    (problem,) = compile_check.compile_problems(files, notebook)
    assert (problem.cell, problem.line) == (2, 2)  # the line came from cell 2, line 2


def test_build_never_says_0_errors_for_a_module_that_does_not_compile(
        tmp_path, capsys, monkeypatch):
    """The merge bug of issue 26, put back: the build reports it and exits 1."""
    from nb2prod.render import templates

    def old_merge(statements, own_package):
        return "from math import *, pi"

    monkeypatch.setattr(templates, "import_block", old_merge, raising=False)
    monkeypatch.setattr("nb2prod.render.imports.import_block", old_merge)
    notebook = make_notebook(tmp_path / "stars.ipynb", STAR_THEN_NAMED)
    out = tmp_path / "out"
    assert main(["build", str(notebook), "-o", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "NB640" in printed and "0 error(s)" not in printed
    assert "NB640" in (out / "nb2prod-report.md").read_text()


@pytest.mark.parametrize("source, keyword", [
    ("x = 1\nif x:\n    return x", "return"), ("for i in range(3):\n    yield i", "yield")])
def test_return_or_yield_in_a_cell_is_a_syntax_error_as_in_jupyter(tmp_path, capsys, source,
                                                                   keyword):
    """In a step function it would compile (and return early): Jupyter refuses it."""
    notebook = make_notebook(tmp_path / "nb.ipynb", [
        ("def f():\n    return 1\n\nclass A:\n    def g(self):\n        yield 2", []),
        (source, [])])
    assert main(["build", str(notebook), "-o", str(tmp_path / "out"), "-q"]) == 1
    printed = capsys.readouterr().out
    assert f"cell 2:{source.count(chr(10)) + 1}:5: NB002 [error] syntax error: '{keyword}' " \
           "outside function" in printed
    assert "cell 1" not in printed


def test_infinite_and_nan_parameter_defaults_run(tmp_path):
    """`1e999` is a literal: its default was written as `inf`, a NameError at import."""
    notebook = make_notebook(tmp_path / "inf.ipynb", [
        ("big = 1e999\nlow = -1e999\nsizes = [1.5, 1e999]", ["parameters"]),
        ("print(big, low, sizes)", ["step:show"])])
    out = tmp_path / "out"
    assert main(["build", str(notebook), "-o", str(out), "-q"]) == 0
    run = run_package(out, "inf")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "inf -inf [1.5, inf]" in run.stdout
