"""IPython syntax is recognised only where IPython itself recognises it: at the
start of a logical line. Each case is checked against our expectation and
against IPython's own input transformer (a test dependency through ipykernel)."""

import ast

import pytest
from IPython.core.inputtransformer2 import TransformerManager

from nb2prod.analysis.magics import DROP, REFUSE, UNWRAP, split_ipython

# (cell source, {line: action} of the IPython constructs in it)
CASES = {
    "modulo continuation inside parens": (
        'print(\n    "Test correlation: %.2f"\n    % val\n)', {}),
    "modulo at line start in a dict literal": ('d = {\n "a": 1\n % 2,\n}', {}),
    "inside a triple-quoted string": ('s = """\n%not a magic\n!nor this\ndf?\n"""', {}),
    "inside a triple-quoted f-string": ("s = f'''{x}\n%d'''", {}),
    "after a backslash": ("x = 10 \\\n    % 3", {}),
    "real magic after a closed multi-line call": ("f(a,\n  b)\n%time x = 1", {3: UNWRAP}),
    "real magic after a string that closed": ('s = """\n%x\n"""\n%time y = 2', {4: UNWRAP}),
    "shell inside a list literal": ("files = [\n    !ls\n]", {}),
    "not-equal continuation": ("y = (x\n!= 3)", {}),
    "shell after a multi-line expression": ("x = (1 if a\n else 2)\n!echo hi", {3: REFUSE}),
    "shell output assigned": ("x = !ls", {1: REFUSE}),
    "magic output assigned": ("x = %env", {1: REFUSE}),
    "not valid anyway": ("a ? b", {}),
    "help suffix": ("df?", {1: DROP}),
    "help on a call result": ('df.groupby("a").mean?', {1: DROP}),
    "help prefix": ("?df", {1: DROP}),
    "question mark in a comment": ("x = 1  # why?", {}),
    "question mark in a string": ('print("what?")', {}),
    "magic in an indented block": ("for i in range(3):\n    %time f(i)", {2: UNWRAP}),
    "shell with backslash continuation": ("!ls \\\n  -la\nx = 1", {1: REFUSE}),
    "display magic": ("%matplotlib inline\nx = 1", {1: DROP}),
}


@pytest.mark.parametrize("name", CASES)
def test_magic_only_at_logical_line_start(name):
    source, expected = CASES[name]
    code = split_ipython(source)
    assert {m.line: m.action for m in code.magics} == expected
    assert len(code.python.split("\n")) == len(source.split("\n"))  # line numbers kept
    if name not in ("not valid anyway", "shell inside a list literal"):
        ast.parse(code.python)  # what is left is Python


@pytest.mark.parametrize("name", CASES)
def test_ipython_agrees(name):
    """IPython transforms exactly the lines we take for IPython syntax."""
    source, expected = CASES[name]
    transformed = TransformerManager().transform_cell(source)
    assert transformed.count("get_ipython()") == len(expected), transformed


def test_python_lines_pass_through_unchanged():
    source = 'print(\n    "r = %.2f"\n    % r\n)\n%time y = f(x)'
    code = split_ipython(source)
    assert code.python.split("\n")[:4] == source.split("\n")[:4]
    assert code.python.split("\n")[4] == "y = f(x)"


def test_cell_magic_only_on_the_first_line():
    assert [m.action for m in split_ipython("%%time\ny = 2").magics] == [UNWRAP]
    late = split_ipython("x = 1\n%%time\ny = 2").magics
    assert [(m.line, m.action) for m in late] == [(2, REFUSE)]
    assert "first line" in late[0].reason


def test_backslash_continued_magic_is_one_construct():
    code = split_ipython("!pip install \\\n    requests\nx = 1")
    assert code.python.split("\n")[1:] == ["", "x = 1"]
    assert [m.packages for m in code.magics] == [("requests",)]


def test_timeit_is_a_benchmark_its_assignments_do_not_leak():
    """IPython runs %timeit / %%timeit in a function of its own: `counts, edges = ...`
    there never rebinds the notebook's `counts`, so the package must not run it."""
    code = split_ipython("counts = [0] * 20\n%timeit counts, edges = f(x)\nprint(len(counts))")
    assert code.python.split("\n")[1] == "" and [m.action for m in code.magics] == [DROP]
    assert split_ipython("%%timeit\ncounts = f(x)").python == "\n"
    assert split_ipython("%time counts = f(x)").python == "counts = f(x)"  # %time: once, here
    namespace = {"f": lambda x: (x, x)}
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.user_ns.update(namespace, counts=[0] * 20, x=1)
    shell.run_cell("%timeit -n 1 -r 1 counts, edges = f(x)")
    assert shell.user_ns["counts"] == [0] * 20  # what the drop reproduces


def test_modulo_continuation_builds_and_prints(notebook_factory, tmp_path):
    """The issue's notebook: a `%` continuing a print's argument is a modulo."""
    import subprocess
    import sys

    from nb2prod.cli import main

    path = notebook_factory(["a = [1.0, 2.0, 3.0]\nb = [2.0, 4.0, 6.5]",
                             'print(\n    "Test correlation: %.2f"\n    % (sum(a) / sum(b))\n)',
                             "%time total = sum(a)\nprint(total)"])
    assert main(["build", str(path), "-o", str(tmp_path / "out"), "--name", "corr", "-q"]) == 0
    report = (tmp_path / "out" / "nb2prod-report.md").read_text()
    assert "NB601" not in report and "NB002" not in report
    run = subprocess.run([sys.executable, "-m", "corr"], capture_output=True, text=True,
                         env={"PYTHONPATH": str(tmp_path / "out" / "src")}, check=True)
    assert run.stdout == "Test correlation: 0.48\n6.0\n"


def test_dropped_magic_takes_its_bracket_continuation_lines():
    code = split_ipython("%timeit np.fromiter((xi + yi for xi, yi in zip(x, y)),\n"
                         "                     dtype=x.dtype, count=len(x))\nz = 1")
    assert code.python.split("\n") == ["", "", "z = 1"]
    assert [m.line for m in code.magics] == [1]
