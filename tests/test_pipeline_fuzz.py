"""Property: for straight-line programs split into random steps, the generated
pipeline computes what running the cells in order computes, and always compiles."""

from __future__ import annotations

import importlib
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from nb2prod.notebook import load_notebook
from nb2prod.plan.build import build_plan
from nb2prod.render.templates import render
from tests.conftest import make_notebook

INTS = [f"v{i}" for i in range(4)]
LISTS = ["items", "more"]


@st.composite
def programs(draw):
    """A list of cells (source, tags); every statement only reads defined names."""
    defined: set[str] = set()
    statements = []
    for _ in range(draw(st.integers(3, 14))):
        ints = sorted(defined & set(INTS))
        lists = sorted(defined & set(LISTS))
        options = ["assign_const", "new_list"]
        if ints:
            options += ["assign_sum", "aug", "comprehension"]
        if ints and lists:
            options += ["append", "from_list"]
        if len(defined) > 1:
            options += ["delete"]
        kind = draw(st.sampled_from(options))
        target = draw(st.sampled_from(INTS))
        if kind == "assign_const":
            statements.append(f"{target} = {draw(st.integers(-5, 5))}")
        elif kind == "new_list":
            target = draw(st.sampled_from(LISTS))
            statements.append(f"{target} = []")
        elif kind == "assign_sum":
            a, b = draw(st.sampled_from(ints)), draw(st.sampled_from(ints))
            statements.append(f"{target} = {a} + {b} * 2")
        elif kind == "aug":
            target = draw(st.sampled_from(ints))
            statements.append(f"{target} += {draw(st.integers(1, 3))}")
        elif kind == "comprehension":
            source = draw(st.sampled_from(ints))
            statements.append(f"{target} = sum(x * {source} for x in range(3))")
        elif kind == "append":
            statements.append(f"{draw(st.sampled_from(lists))}.append("
                              f"{draw(st.sampled_from(ints))})")
        elif kind == "from_list":
            statements.append(f"{target} = len({draw(st.sampled_from(lists))})")
        else:
            target = draw(st.sampled_from(sorted(defined)))
            statements.append(f"del {target}")
            defined.discard(target)
            continue
        defined.add(statements[-1].split()[0].split(".")[0])
    cells, current = [], []
    for statement in statements:
        current.append(statement)
        if draw(st.booleans()):
            cells.append("\n".join(current))
            current = []
    if current:
        cells.append("\n".join(current))
    tagged = [(code, [f"step:s{i}"] if i == 0 or draw(st.booleans()) else [])
              for i, code in enumerate(cells)]
    metrics = sorted(defined)
    return tagged, metrics


@settings(max_examples=60, deadline=None)
@given(programs())
def test_pipeline_computes_what_the_cells_compute(tmp_path_factory, program):
    cells, metrics = program
    expected: dict = {}
    for code, _ in cells:
        exec(code, expected)
    notebook_cells = cells + ([("\n".join(f"print({m})" for m in metrics), ["metrics"])]
                              if metrics else [])
    work = tmp_path_factory.mktemp("fuzz")
    path = make_notebook(work / "fuzz.ipynb", notebook_cells)
    plan = build_plan(load_notebook(path))
    assert not [p for p in plan.problems if p.severity == "error"], plan.problems
    for name, text in render(plan).items():  # the package: pipeline.py imports its runtime
        if name.startswith("src/"):
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_text(text, encoding="utf-8")
    for module in [m for m in sys.modules if m == "fuzz" or m.startswith("fuzz.")]:
        del sys.modules[module]
    sys.path.insert(0, str(work / "src"))
    try:
        result = importlib.import_module("fuzz.pipeline").run()
    finally:
        sys.path.remove(str(work / "src"))
    assert result == {m: expected[m] for m in metrics}
