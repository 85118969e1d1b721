"""Property tests for nb2prod.analysis.dataflow: random straight-line notebooks.

Programs come from a small grammar over a few int variables (a, b, c), list
variables (L, M) and functions (f, g), and are split into random cells. A
function is only called in the unit (hence the cell) that defines it: a
per-cell analysis cannot know what a function from another cell reads.
`if` blocks bind the same names on both branches, because `analyze_cell`
treats a conditional binding as a binding (may-define, documented).
"""

from __future__ import annotations

import ast
import copy

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from nb2prod.analysis.dataflow import analyze_cell

INTS = ("a", "b", "c")
LISTS = ("L", "M")
FUNCS = ("f", "g")
PRELUDE = "a, b, c = 1, 2, 3\nL, M = [1], [2]"


@st.composite
def exprs(draw, depth: int = 2) -> str:
    kind = draw(st.integers(0, 4 if depth else 2))
    if kind == 0:
        return str(draw(st.integers(0, 9)))
    if kind == 1:
        return draw(st.sampled_from(INTS))
    if kind == 2:
        return f"len({draw(st.sampled_from(LISTS))})"
    if kind == 3:
        return f"({draw(exprs(depth - 1))} + {draw(exprs(depth - 1))})"
    # A comprehension: `w` is local, the element may read globals.
    return f"sum([w + {draw(exprs(depth - 1))} for w in {draw(st.sampled_from(LISTS))}])"


@st.composite
def simple_stmts(draw) -> str:
    v, u = draw(st.lists(st.sampled_from(INTS), min_size=2, max_size=2, unique=True))
    lst, e1, e2 = draw(st.sampled_from(LISTS)), draw(exprs()), draw(exprs())
    return draw(
        st.sampled_from(
            [
                f"{v} = {e1}",
                f"{v} += {e1}",
                f"{v}, {u} = {e1}, {e2}",
                f"{v}, *{lst} = [{e1}, {e2}, 1]",
                f"del {draw(st.sampled_from(INTS + LISTS))}",
                f"{lst} = []",
                f"{lst} = [{e1}, {e2}]",
                f"{lst} = [w * {e1} for w in range({draw(st.integers(0, 3))})]",
                f"{lst} = [w for w in {draw(st.sampled_from(LISTS))} if w > {e1}]",
                f"{lst}.append({e1})",
                f"{v} = max([({u} := w + {e1}) for w in range(1, 3)])",
            ]
        )
    )


@st.composite
def def_units(draw) -> str:
    """A def reading globals, maybe a statement, then a call of it."""
    name, v = draw(st.sampled_from(FUNCS)), draw(st.sampled_from(INTS))
    lines = [f"def {name}(p={draw(exprs(1))}):", f"    return p + {draw(exprs())}"]
    if draw(st.booleans()):
        lines.append(draw(simple_stmts()))
    lines.append(f"{v} = {name}()")
    return "\n".join(lines)


@st.composite
def if_units(draw) -> str:
    test = f"{draw(exprs())} % 2"  # either branch, about equally often
    if draw(st.booleans()):  # no new bindings: mutation / augmented only
        body = draw(st.sampled_from([f"{x}.append({test})" for x in LISTS] + ["a += 1"]))
        return f"if {test}:\n    {body}"
    v = draw(st.sampled_from(INTS))
    # `else` reading `v`: branches are alternatives, not a sequence.
    other = draw(st.sampled_from([v, draw(exprs())]))
    return f"if {test}:\n    {v} = {draw(exprs())}\nelse:\n    {v} = {other} + 1"


@st.composite
def programs(draw, conditional: bool) -> list[str]:
    """A list of cells; each cell is source text made of whole units.

    The first cell binds every variable, so most programs run far enough to
    exercise later cells (a program stops at its first failing cell).
    """
    units = [simple_stmts(), def_units()] + ([if_units()] if conditional else [])
    body = draw(st.lists(st.one_of(units), min_size=1, max_size=12))
    cuts = draw(st.lists(st.booleans(), min_size=len(body), max_size=len(body)))
    cells, current = [PRELUDE], []
    for unit, cut in zip(body, cuts):
        current.append(unit)
        if cut:
            cells.append("\n".join(current))
            current = []
    if current:
        cells.append("\n".join(current))
    return cells


def _run(src: str, ns: dict) -> BaseException | None:
    try:
        exec(compile(src, "<cell>", "exec"), ns)
    except Exception as err:  # noqa: BLE001 - any failure ends the program
        return err
    return None


def _check_program(cells: list[str], unconditional: bool) -> None:
    ns: dict = {}
    for index, src in enumerate(cells):
        note(f"cell {index}:\n{src}")
        flow = analyze_cell(ast.parse(src))  # property 1: never raises
        needed = {u.name for u in flow.reads}
        alone = copy.deepcopy({k: v for k, v in ns.items() if k in needed})
        alone_err = _run(src, alone)
        if _run(src, ns) is not None:
            return  # later cells would only see a broken namespace
        # Property 2: the cell's reads are all it needs from outside.
        assert not isinstance(alone_err, NameError), (src, flow.reads, alone_err)
        if unconditional:
            # Property 3: unconditional bindings exist after the cell.
            missing = set(flow.defines) - set(flow.deletes) - ns.keys()
            assert not missing, (src, flow.defines, missing)


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(programs(conditional=True))
def test_reads_are_sufficient(cells):
    _check_program(cells, unconditional=False)


@FUZZ
@given(programs(conditional=False))
def test_unconditional_defines_are_bound(cells):
    _check_program(cells, unconditional=True)


def test_reads_property_catches_a_missing_read():
    """The harness itself works: dropping a needed name yields NameError."""
    ns: dict = {}
    _run("a = 1", ns)
    assert isinstance(_run("b = a + 1", {}), NameError)
