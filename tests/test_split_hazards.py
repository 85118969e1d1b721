"""A split never changes the output: each pattern that behaves differently in
step functions than in one notebook namespace, tagged by `tag`, built, and run
in-process, prints what the untagged (one-step) build prints."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nb2prod.notebook import load_notebook
from nb2prod.plan.build import build_plan
from nb2prod.problems import ERROR
from nb2prod.render.templates import render
from nb2prod.tag.suggest import suggest_notebook
from nb2prod.tag.write import write_tags


def md(text: str) -> dict:
    return {"cell_type": "markdown", "source": text}


CASES = {
    "function reads a global a later step rebinds": [
        md("## Load"), "data = [1, 2]\ndef count():\n    return len(data)",
        md("## Grow"), "data = data + [3]\nprint(count())"],
    "helper defined twice": [
        "import math", "def f(x):\n    return x + 1", md("## A"), "a = f(1)\nprint(a)",
        "def f(x):\n    return x * 10", md("## B"), "b = f(a)\nprint(b)"],
    "assert that mutates": [
        "xs = [1, 2, 3]", md("## A"), "ys = list(xs)", "assert ys.pop() == 3",
        md("## B"), "print(len(ys))"],
    "function writes a global": [
        "import math", "total = 0\ndef add(x):\n    global total\n    total += x",
        md("## A"), "add(2)", md("## B"), "add(3)\nprint(total)"],
    "module-level state in a helper": [
        "import math", "seen = []\ndef note(x):\n    seen.append(x)\n    return x",
        md("## A"), "a = note(1)", md("## B"), "b = note(2)\nprint(len(seen), a + b)"],
    "object mutated through an alias": [
        md("## A"), "a = [1]\nb = a", md("## B"), "a.append(2)", md("## C"), "print(b)"],
    "global random generator": [
        "import random", md("## A"), "random.seed(3)\nx = random.random()",
        md("## B"), "y = random.random()\nprint(round(x + y, 12))"],
    "file written then read": [
        "import json", md("## Write"), "with open('v.json', 'w') as f:\n    json.dump([1, 2], f)",
        md("## Read"), "with open('v.json') as f:\n    v = json.load(f)\nprint(v)"],
    "plot that draws from the generator": [
        "import random\nimport matplotlib.pyplot as plt", md("## A"),
        "random.seed(0)\nx = random.random()", "plt.hist([random.random() for _ in range(9)])",
        md("## B"), "y = random.random()\nprint(round(x + y, 12))"],
    "display of a draw": [
        "import random", md("## A"), "random.seed(0)\nx = random.random()",
        "display(random.random())", md("## B"), "y = random.random()\nprint(round(x + y, 12))"],
    "class attribute state": [
        "class Counter:\n    n = 0\n    def hit(self):\n        Counter.n += 1",
        md("## A"), "c = Counter()\nc.hit()", md("## B"), "c.hit()\nprint(Counter.n)"],
}


def printed(path) -> tuple[str, object]:
    """(stdout of `python -m PKG`, the plan) for the notebook at `path`."""
    plan = build_plan(load_notebook(path))
    assert [p for p in plan.problems if p.severity == ERROR] == []
    out = path.parent / f"out_{plan.import_name}"
    for name, text in render(plan).items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)
    run = subprocess.run([sys.executable, "-m", plan.import_name], cwd=path.parent,
                         env={**os.environ, "PYTHONPATH": str(out / "src")},
                         capture_output=True, text=True, check=True)
    return run.stdout, plan


@pytest.mark.parametrize("name", CASES)
def test_tagged_build_prints_what_the_untagged_build_prints(name, notebook_factory,
                                                            monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    plain = notebook_factory(CASES[name], name="plain.ipynb")
    tagged = notebook_factory(CASES[name], name="tagged.ipynb")
    suggestions = suggest_notebook(load_notebook(tagged))
    write_tags(tagged, {s.cell - 1: s.tags for s in suggestions})
    want, _ = printed(plain)
    got, plan = printed(tagged)
    assert want and got == want
    assert len(plan.steps) >= 1


def test_hazards_give_fewer_steps_not_none(notebook_factory):
    """The closure case keeps `Grow` in `Load`'s step; the rest still splits."""
    path = notebook_factory(CASES["function reads a global a later step rebinds"])
    tags = [s.tags for s in suggest_notebook(load_notebook(path))]
    assert tags == [("step:load",), ()]
    path = notebook_factory(CASES["object mutated through an alias"], name="alias.ipynb")
    assert len([s for s in suggest_notebook(load_notebook(path)) if s.tags]) == 3


def test_step_rebinding_a_module_constant_rebinds_it_for_everyone(notebook_factory,
                                                                 tmp_path, monkeypatch):
    """A tagged notebook: `LIMIT` and `clip` are module-level; a step binds
    `LIMIT` again; the helper and a later step see the new value, as in the notebook."""
    monkeypatch.chdir(tmp_path)
    path = notebook_factory([
        ("LIMIT = 5\ndef clip(x):\n    return min(x, LIMIT)", ["functions"]),
        ("a = clip(9)", ["step:one"]), ("LIMIT = 7\nb = clip(9)", ["step:two"]),
        ("print(a, b, clip(8), LIMIT)", ["step:three"])])
    out, plan = printed(path)
    assert out == "5 7 7 7\n"
    assert plan.steps[1].global_names == ("LIMIT",)


def test_display_of_a_draw_still_draws(notebook_factory, tmp_path, monkeypatch):
    """As in the notebook: `display(...)` shows nothing in a package, but what it
    computes (here a draw from the global generator) still happens."""
    import random

    monkeypatch.chdir(tmp_path)
    out, _ = printed(notebook_factory(CASES["display of a draw"]))
    random.seed(0)
    x, _, y = random.random(), random.random(), random.random()
    assert out == f"{round(x + y, 12)}\n"
