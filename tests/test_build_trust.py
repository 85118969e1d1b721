"""`nb2prod build`: bad input writes nothing, hostile text is carried verbatim,
names are sanitised, output is deterministic, and user edits are never lost."""

from __future__ import annotations

import importlib
import os
import py_compile
import sys
from pathlib import Path

import pytest

from nb2prod.cli import main
from nb2prod.render import write
from tests.tools import RUFF


def build(*args) -> int:
    return main(["build", *map(str, args), "-q"])


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


BAD_INPUTS = {
    "missing": None,
    "empty": b"",
    "not_json": b"print('hi')",
    "truncated": b'{"cells": [{"cell_type": "code", "sou',
    "binary": bytes(range(256)),
    "schema": b'{"cells": [{"cell_type": "code"}], "metadata": {}, "nbformat": 4,'
              b' "nbformat_minor": 5}',
    "no_code": b'{"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# hi",'
               b' "id": "a"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
}


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, capsys, kind):
    path = tmp_path / f"{kind}.ipynb"
    if BAD_INPUTS[kind] is not None:
        path.write_bytes(BAD_INPUTS[kind])
    out = tmp_path / "out"
    assert build(path, "-o", out) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err
    assert "Traceback" not in err
    assert not out.exists()


def test_directory_without_notebooks_given(tmp_path, capsys):
    assert build(tmp_path, "-o", tmp_path / "out") == 2
    assert "no notebooks in the folder (empty)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_plan_and_build_report_syntax_errors_but_still_build(notebook_factory, tmp_path):
    path = notebook_factory([("x = 1", ["step:a"]), "y = (", ("print(x)", ["step:b"])])
    out = tmp_path / "out"
    assert build(path, "-o", out) == 1
    report = (out / "nb2prod-report.md").read_text()
    assert "NB002" in report and "cell 2" in report
    pipeline = out / "src" / "nb" / "pipeline.py"
    py_compile.compile(str(pipeline), doraise=True)
    assert "print(x)" in pipeline.read_text()


HOSTILE = '''text = """{{ x }} {% raw %}{% endraw %} {% for %}"""
path = "C:\\\\new\\\\table"
greeting = "grüß dich — ☃"
tail = \'\'\'a\\\\
b\'\'\'
pattern = r"\\d+\\s*{{"
'''


def test_hostile_text_is_verbatim_and_compiles(notebook_factory, tmp_path, monkeypatch):
    path = notebook_factory([(HOSTILE, ["step:load"]), ("print(text, path, greeting)",
                                                        ["step:show"])])
    out = tmp_path / "out"
    assert build(path, "-o", out) == 0
    pipeline = (out / "src" / "nb" / "pipeline.py").read_text(encoding="utf-8")
    for line in HOSTILE.splitlines():
        assert line.strip() in pipeline
    py_compile.compile(str(out / "src" / "nb" / "pipeline.py"), doraise=True)
    namespace: dict = {}
    monkeypatch.syspath_prepend(str(out / "src"))  # pipeline.py imports nb.runtime
    for module in [m for m in sys.modules if m == "nb" or m.startswith("nb.")]:
        monkeypatch.delitem(sys.modules, module)
    exec(compile(pipeline, "pipeline.py", "exec"), namespace)
    for module in [m for m in sys.modules if m == "nb" or m.startswith("nb.")]:
        del sys.modules[module]  # imported from this test's output: not for the next test
    expected: dict = {}
    exec(HOSTILE, expected)
    values = namespace["load"]()
    assert values == (expected["text"], expected["path"], expected["greeting"])


def test_names_are_sanitised(tmp_path):
    from tests.conftest import make_notebook

    path = make_notebook(tmp_path / "My Notebook (v2)-final.ipynb", [
        ("id = 3\ntype = 'x'\nlist_ = [1, 2]", ["parameters"]),
        ("a = id * 2", ["step:../../x y"]),
        ("b = a + len(type)", ["step:class"]),
        ("c = b", ["step:class"]),
        ("print(c, list_)", ["step:2nd"]),
    ])
    out = tmp_path / "out"
    assert build(path, "-o", out) == 0
    package = out / "src" / "my_notebook_v2_final"
    text = (package / "pipeline.py").read_text()
    assert 'name = "my-notebook-v2-final"' in (out / "pyproject.toml").read_text()
    for function in ("def x_y(", "def class_(", "def step_2nd("):
        assert function in text
    for file in out.rglob("*"):
        assert file.resolve().is_relative_to(out.resolve())
    py_compile.compile(str(package / "pipeline.py"), doraise=True)
    py_compile.compile(str(package / "__main__.py"), doraise=True)


def test_output_is_deterministic(tmp_path):
    from tests.conftest import EXAMPLES

    for name in ("churn", "sales_etl", "nbdev_textutils"):
        assert build(EXAMPLES / f"{name}.ipynb", "-o", tmp_path / "a" / name) == 0
        assert build(EXAMPLES / f"{name}.ipynb", "-o", tmp_path / "b" / name) == 0
        assert tree(tmp_path / "a" / name) == tree(tmp_path / "b" / name)


@pytest.mark.parametrize("name", ["v4_5_no_cell_id.ipynb", "invalid_unique_cell_id.ipynb"])
def test_output_is_deterministic_when_cell_ids_are_missing_or_repeated(name, tmp_path):
    """nbformat's validator fills missing ids with random ones: never in the report."""
    from tests.conftest import CORPUS

    notebook = CORPUS / "nbformat" / name
    assert build(notebook, "-o", tmp_path / "a") == 0
    assert build(notebook, "-o", tmp_path / "b") == 0
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_rebuild_drops_the_bytecode_of_the_modules_it_rewrites(notebook_factory, tmp_path):
    """A one-digit edit rebuilt within the second keeps pipeline.py's size and mtime
    second: Python would run the old .pyc."""
    import compileall

    path = notebook_factory([("n = 2", ["parameters"]), ("x = n * 3", ["step:a"])])
    out = tmp_path / "out"
    assert build(path, "-o", out) == 0
    package = out / "src" / "nb"
    assert compileall.compile_dir(package, quiet=1)
    cached = {p.name.partition(".")[0] for p in (package / "__pycache__").iterdir()}
    assert {"pipeline", "__init__"} <= cached
    notebook_factory([("n = 2", ["parameters"]), ("x = n * 4", ["step:a"])])
    assert build(path, "-o", out) == 0
    left = {p.name.partition(".")[0] for p in (package / "__pycache__").iterdir()}
    assert "pipeline" not in left
    assert "__init__" in left  # a module the rebuild did not rewrite keeps its own


@pytest.fixture
def built(notebook_factory, tmp_path):
    path = notebook_factory([("n = 3", ["parameters"]), ("x = list(range(n))", ["step:a"]),
                             ("total = sum(x)", ["step:b"]), ("print(total)", ["metrics"])])
    out = tmp_path / "out"
    assert build(path, "-o", out) == 0
    return path, out


def test_rebuild_keeps_user_edits_until_force(built, capsys):
    path, out = built
    pipeline = out / "src" / "nb" / "pipeline.py"
    pipeline.write_text(pipeline.read_text() + "# my edit\n")
    (out / "NOTES.md").write_text("mine")
    capsys.readouterr()
    assert build(path, "-o", out) == 1
    err = capsys.readouterr().err
    assert "src/nb/pipeline.py" in err and "--force" in err
    assert pipeline.read_text().endswith("# my edit\n")
    assert build(path, "-o", out, "--force") == 0
    assert "# my edit" not in pipeline.read_text()
    assert (out / "NOTES.md").read_text() == "mine"


def test_untouched_files_are_updated_when_the_notebook_changes(built):
    path, out = built
    path.write_text(path.read_text().replace("n = 3", "n = 4"))
    assert main(["build", str(path), "-o", str(out), "--check"]) == 1
    assert build(path, "-o", out) == 0
    assert "n: int = 4" in (out / "src" / "nb" / "pipeline.py").read_text()
    assert main(["build", str(path), "-o", str(out), "--check"]) == 0


def test_check_writes_nothing(notebook_factory, tmp_path):
    path = notebook_factory([("x = 1", ["step:a"])])
    out = tmp_path / "never"
    assert main(["build", str(path), "-o", str(out), "--check"]) == 1
    assert not out.exists()


def test_interrupted_build_leaves_the_old_output(built, monkeypatch):
    path, out = built
    before = tree(out)
    path.write_text(path.read_text().replace("n = 3", "n = 5"))
    calls = {"n": 0}
    real = write._write_text

    def flaky(target, text):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        real(target, text)

    monkeypatch.setattr(write, "_write_text", flaky)
    assert build(path, "-o", out) == 130  # Ctrl-C: "Aborted!", exit 128 + SIGINT
    assert tree(out) == before
    leftovers = [p for p in out.parent.iterdir() if p.name.endswith(".nb2prod-tmp")]
    assert leftovers == []


def test_paths_outside_the_output_are_refused(tmp_path):
    from nb2prod.errors import UserError

    for bad in ("../x.py", "/etc/passwd", "a/../../b"):
        with pytest.raises(UserError):
            write.safe_relative(bad)
    assert os.fspath(write.safe_relative("src/a.py")) == "src/a.py"


def test_generated_code_is_lint_clean(tmp_path):
    """ruff with its default rules finds nothing in what nb2prod generates."""
    import subprocess

    from tests.conftest import EXAMPLES

    for name in ("churn", "sales_etl", "kale_iris", "nbdev_textutils", "pricing"):
        out = tmp_path / name
        assert build(EXAMPLES / f"{name}.ipynb", "-o", out) == 0
        result = subprocess.run([*RUFF, "check", "--no-cache", "."], cwd=out,
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stdout
        for file in out.rglob("*.py"):
            py_compile.compile(str(file), doraise=True)


def test_parameters_named_like_builtins_or_the_argument(notebook_factory, tmp_path):
    path = notebook_factory([("params = 2\nid = 3\nlist = [1]", ["parameters"]),
                             ("total = params * id + len(list)", ["step:a"]),
                             ("print(total)", ["metrics"])])
    out = tmp_path / "out"
    assert build(path, "-o", out) == 0
    sys.path.insert(0, str(out / "src"))
    for module in [m for m in sys.modules if m == "nb" or m.startswith("nb.")]:
        del sys.modules[module]  # another test's package `nb`
    try:
        pipeline = importlib.import_module("nb.pipeline")
        assert pipeline.run() == {"total": 7}
        assert pipeline.run(pipeline.Params(params=5, id=1, list=[])) == {"total": 5}
    finally:
        sys.path.remove(str(out / "src"))
        for module in [m for m in sys.modules if m == "nb" or m.startswith("nb.")]:
            del sys.modules[module]
