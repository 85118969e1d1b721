"""Issue 26: a step that fails at run time is named at the notebook cell and line of the
failing statement (`# cell N` / `# cell N, line L` comments in pipeline.py), not at the
step's last cell."""

from __future__ import annotations

import importlib.util
import textwrap

import pytest

from nb2prod.notebook import load_notebook
from nb2prod.plan.build import build_plan
from nb2prod.runtime.runner import Runner, StepFailed, StepSpec

PIPELINE = '''\
# cell 1, line 3
def helper(table):
    return table["missing"]


def step(a):
    # cell 2, line 2
    b = a + 1
    # cell 2, line 6
    c = {}
    c[b]
    return b


def uses_helper(a):
    # cell 3
    d = helper({})
    return d


def unbound(a):
    # cell 4
    if a > 5:
        e = 1
    return e
'''


@pytest.fixture
def module(tmp_path):
    path = tmp_path / "toy_places.py"
    path.write_text(PIPELINE, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("toy_places", path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def fail(module, name, *args) -> str:
    spec = StepSpec(name, name, (2, 3), ("a",), (), "h")
    with pytest.raises(StepFailed) as raised:
        Runner({name: spec}).call(name, getattr(module, name), *args)
    return str(raised.value)


def test_a_line_after_a_cut_maps_to_its_own_notebook_line(module):
    assert "(notebook cell 2, line 7) failed: KeyError: 2" in fail(module, "step", 1)


def test_a_failure_inside_a_helper_is_named_at_the_helper_line(module):
    assert "(notebook cell 1, line 4) failed: KeyError" in fail(module, "uses_helper", 1)


def test_the_generated_return_names_the_cell_without_a_line(module):
    assert "(notebook cell 4) failed: UnboundLocalError" in fail(module, "unbound", 1)


def test_cut_lines_leave_markers_that_keep_the_notebook_lines(notebook_factory):
    cells = ["import os\nx = 1\ndisplay(x)\nimport sys\ny = x + 1\nprint(os.sep, sys.platform, y)"]
    plan = build_plan(load_notebook(notebook_factory(cells)))
    block = plan.steps[0].blocks[0]
    assert (block.line, block.code) == (2, textwrap.dedent("""\
        x = 1
        # cell 1, line 5
        y = x + 1
        print(os.sep, sys.platform, y)"""))


def test_block_lines_map_to_cell_lines():
    from nb2prod.plan.records import Block

    block = Block(4, None, "x = 1\n# cell 4, line 7\ny = 2\nz = 3", line=3)
    assert [block.cell_line(n) for n in (1, 3, 4)] == [3, 7, 8]
