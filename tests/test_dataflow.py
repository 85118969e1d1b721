"""Unit tests for nb2prod.analysis.dataflow.analyze_cell (def/use of one cell)."""

from __future__ import annotations

import ast
import json
import textwrap
from pathlib import Path

import pytest

from nb2prod.analysis.dataflow import CellFlow, NameUse, analyze_cell
from tests.conftest import CORPUS


def flow(src: str) -> CellFlow:
    return analyze_cell(ast.parse(textwrap.dedent(src)))


def reads(src: str) -> tuple[tuple[str, int, int], ...]:
    return tuple((u.name, u.line, u.column) for u in flow(src).reads)


def read_names(src: str) -> tuple[str, ...]:
    return tuple(u.name for u in flow(src).reads)


# ---- order at top level -------------------------------------------------------


def test_read_before_bind_is_free():
    assert reads("print(y); y = 1") == (("print", 1, 1), ("y", 1, 7))
    assert flow("print(y); y = 1").defines == ("y",)


def test_read_after_bind_is_not_free():
    assert reads("y = 1; print(y)") == (("print", 1, 8),)


def test_self_referencing_assignment_reads():
    assert reads("x = x + 1") == (("x", 1, 5),)
    assert flow("x = x + 1").defines == ("x",)


def test_each_name_once_at_first_use_sorted_by_position():
    src = """\
    b(a)
    a(b)
    """
    assert reads(src) == (("b", 1, 1), ("a", 1, 3))


def test_empty_cell():
    assert flow("") == CellFlow((), (), (), (), (), (), (), ())


def test_defines_in_order_of_first_binding():
    assert flow("b = 1\na = 2\nb = 3").defines == ("b", "a")


def test_conditional_binding_counts_as_bound():
    src = """\
    if c:
        y = 1
    print(y)
    """
    assert read_names(src) == ("c", "print")
    assert flow(src).defines == ("y",)


def test_if_branches_are_alternatives():
    # The else branch runs instead of the if branch, never after it.
    src = """\
    if c:
        y = 1
    else:
        y = y + 1
    z = y
    """
    assert reads(src) == (("c", 1, 4), ("y", 4, 9))
    assert flow(src).defines == ("y", "z")


def test_elif_chain():
    src = "if a:\n    v = 1\nelif b:\n    w = v\nprint(v, w)"
    assert read_names(src) == ("a", "b", "v", "print")


def test_handler_sees_only_state_before_try():
    src = """\
    try:
        conn = connect()
    except OSError:
        conn.close()
    else:
        conn.ping()
    """
    assert reads(src) == (("connect", 2, 12), ("OSError", 3, 8), ("conn", 4, 5))


def test_finally_sees_bindings_of_try():
    assert read_names("try:\n    x = 1\nfinally:\n    print(x)") == ("print",)


def test_match_cases_are_alternatives():
    src = "match p:\n    case 1:\n        r = 1\n    case _:\n        r = r + 1\nprint(r)"
    assert read_names(src) == ("p", "r", "print")


def test_loop_body_textual_order():
    src = """\
    for i in range(3):
        print(total)
        total = i
    """
    assert reads(src) == (("range", 1, 10), ("print", 2, 5), ("total", 2, 11))
    src2 = "total = 0\nwhile total < 3:\n    total = total + 1\n"
    assert reads(src2) == ()


def test_for_else_and_while_else():
    src = """\
    for i in xs:
        pass
    else:
        found = i
    while cond:
        break
    else:
        other = found
    """
    assert read_names(src) == ("xs", "cond")
    assert flow(src).defines == ("i", "found", "other")


# ---- targets ---------------------------------------------------------------------


def test_tuple_list_and_starred_unpacking():
    f = flow("a, (b, [c, *d]) = e\n[x, *y] = z")
    assert f.defines == ("a", "b", "c", "d", "x", "y")
    assert read_names("a, (b, [c, *d]) = e\n[x, *y] = z") == ("e", "z")


def test_chained_assignment_binds_all_targets():
    assert flow("a = b = f()").defines == ("a", "b")


def test_with_and_async_targets():
    src = """\
    with open(p) as fh, lock:
        data = fh.read()
    async def main():
        async with s() as conn:
            await conn.go()
        async for row in conn2:
            pass
    """
    f = flow(src)
    assert f.defines == ("fh", "data", "main")
    assert read_names(src) == ("open", "p", "lock", "s", "conn2")


def test_annotation_without_value_binds_nothing():
    f = flow("x: int\ny: int = 3")
    assert f.defines == ("y",)
    assert reads("x: int\ny: int = 3") == (("int", 1, 4),)


def test_annotated_read_after_bare_annotation_is_free():
    assert read_names("x: int\nprint(x)") == ("int", "print", "x")


def test_walrus_binds_at_top_level():
    f = flow("if (n := len(a)) > 3:\n    print(n)")
    assert f.defines == ("n",)
    assert read_names("if (n := len(a)) > 3:\n    print(n)") == ("len", "a", "print")


# ---- comprehensions --------------------------------------------------------------


def test_comprehension_loop_var_is_local():
    src = "r = [x * k for x in xs if x]"
    assert flow(src).defines == ("r",)
    assert reads(src) == (("k", 1, 10), ("xs", 1, 21))


@pytest.mark.parametrize(
    "src",
    [
        "{x for x in xs}",
        "{x: x for x in xs}",
        "list(x for x in xs)",
    ],
)
def test_all_comprehension_kinds(src):
    f = flow(src)
    assert f.defines == ()
    assert "x" not in read_names(src)
    assert "xs" in read_names(src)


def test_comprehension_var_does_not_leak():
    src = "[x for x in xs]\nprint(x)"
    assert reads(src) == (("xs", 1, 13), ("print", 2, 1), ("x", 2, 7))


def test_nested_comprehension_second_iter_sees_first_target():
    src = "[y for row in rows for y in row]"
    assert reads(src) == (("rows", 1, 15),)


def test_walrus_in_comprehension_binds_in_cell():
    src = "[last := v for v in vs]\nprint(last)"
    f = flow(src)
    assert f.defines == ("last",)
    assert read_names(src) == ("vs", "print")


def test_comprehension_element_sees_walrus_from_condition():
    assert read_names("[y for x in xs if (y := x)]") == ("xs",)


def test_comprehension_first_iterable_sees_earlier_binding():
    assert reads("xs = [1]\n[x for x in xs]") == ()


def test_comprehension_shadowing_outer_name():
    # The first iterable `x` is the outer x; inner x is the loop var.
    assert reads("[x for x in x]") == (("x", 1, 13),)


# ---- functions -------------------------------------------------------------------


def test_function_free_global_not_bound_in_cell_is_read():
    src = """\
    def f(a, b=1):
        return a + b + scale
    """
    assert reads(src) == (("scale", 2, 20),)
    assert flow(src).defines == ("f",)
    assert flow(src).functions == ("f",)


def test_function_global_bound_later_is_not_read():
    src = """\
    def f():
        return scale
    scale = 2
    """
    assert reads(src) == ()


def test_calling_function_before_its_global_is_bound_reads_it():
    src = """\
    def f():
        return scale
    f()
    scale = 2
    """
    assert reads(src) == (("scale", 2, 12),)


def test_calling_function_after_its_global_is_bound_is_fine():
    src = """\
    def f():
        return g()
    def g():
        return scale
    scale = 2
    f()
    """
    assert reads(src) == ()


def test_transitive_call_before_binding():
    src = """\
    def g():
        return scale
    def f():
        return g()
    f()
    scale = 2
    """
    assert reads(src) == (("scale", 2, 12),)


def test_function_locals_params_and_builtins():
    src = """\
    def f(a, /, b, *args, c=0, **kw):
        x = len(a)
        return x, b, args, c, kw
    """
    assert reads(src) == (("len", 2, 9),)


def test_function_local_is_static_not_ordered():
    # `y` is local to f (assigned in it): reading it first is UnboundLocalError,
    # never a read of a global.
    src = """\
    def f():
        print(y)
        y = 1
    """
    assert read_names(src) == ("print",)


def test_defaults_decorators_annotations_evaluated_at_def_time():
    src = """\
    @deco(opt)
    def f(a: T = d1, *, b: U = d2) -> R:
        return a
    d1 = 1
    """
    assert read_names(src) == ("deco", "opt", "T", "d1", "U", "d2", "R")


def test_decorator_order_matters():
    assert reads("deco = id\n@deco\ndef f():\n    pass") == (("id", 1, 8),)


def test_nested_functions_and_closures():
    src = """\
    def outer(a):
        b = 1
        def inner():
            return a + b + c
        return inner
    """
    assert reads(src) == (("c", 4, 24),)


def test_nonlocal():
    src = """\
    def outer():
        n = 0
        def inc():
            nonlocal n
            n += 1
            return n
        return inc
    """
    f = flow(src)
    assert f.reads == ()
    assert f.defines == ("outer",)
    assert f.global_writes == ()


def test_lambda_free_names_and_defaults():
    src = "key = lambda r, w=weight: r[col] * w"
    assert reads(src) == (("weight", 1, 19), ("col", 1, 29))
    assert flow(src).defines == ("key",)


def test_anonymous_lambda_is_assumed_called_now():
    src = "rows.sort(key=lambda r: r[col])\ncol = 0"
    assert reads(src) == (("rows", 1, 1), ("col", 1, 27))


def test_recursive_function_does_not_read_itself():
    assert reads("def f(n):\n    return f(n - 1)") == ()


def test_dunder_names_are_reads():
    assert reads('if __name__ == "__main__":\n    main()') == (
        ("__name__", 1, 4),
        ("main", 2, 5),
    )


# ---- global statements -----------------------------------------------------------


def test_global_write_inside_function():
    src = """\
    def setup():
        global counter
        counter = 0
    """
    f = flow(src)
    assert f.defines == ("setup", "counter")
    assert f.global_writes == (NameUse("counter", 3, 5),)
    assert f.reads == ()


def test_global_augmented_write_reads_outside_value():
    src = """\
    def bump():
        global counter
        counter += 1
    """
    f = flow(src)
    assert f.reads == (NameUse("counter", 3, 5),)
    assert f.global_writes == (NameUse("counter", 3, 5),)


def test_global_read_only_is_not_a_write():
    src = "def f():\n    global g\n    return g"
    f = flow(src)
    assert f.global_writes == ()
    assert f.defines == ("f",)
    assert f.reads == (NameUse("g", 3, 12),)


def test_global_written_by_another_function_satisfies_read():
    src = """\
    def init():
        global cfg
        cfg = {}
    def use():
        return cfg
    """
    assert reads(src) == ()


def test_global_at_top_level_is_noop():
    f = flow("global x\nx = 1")
    assert f.defines == ("x",)
    assert f.global_writes == ()


# ---- classes ---------------------------------------------------------------------


def test_class_body_names_are_class_local():
    src = """\
    class C(Base, metaclass=M):
        size = 3
        doubled = size * 2
        def m(self):
            return size
    """
    f = flow(src)
    assert f.defines == ("C",)
    assert f.functions == ("C",)
    # The method does not see the class-body `size`: a global read.
    assert reads(src) == (("Base", 1, 9), ("M", 1, 25), ("size", 5, 16))


def test_class_body_reads_are_immediate():
    src = "class C:\n    x = y\ny = 1"
    assert reads(src) == (("y", 2, 9),)


def test_class_body_comprehension_does_not_see_class_names():
    src = "class C:\n    n = 2\n    xs = [n for _ in range(n)]"
    # `range(n)` (first iterable) runs in the class body: n is bound there;
    # the element `n` runs in the comprehension scope: a global read.
    assert reads(src) == (("n", 3, 11), ("range", 3, 22))


# ---- del ------------------------------------------------------------------------


def test_del_top_level():
    f = flow("x = 1\ndel x")
    assert f.defines == ("x",)
    assert f.deletes == ("x",)
    assert f.reads == ()


def test_del_then_rebind_is_not_deleted():
    assert flow("x = 1\ndel x\nx = 2").deletes == ()


def test_del_unbound_name_is_a_read():
    assert reads("del tmp") == (("tmp", 1, 5),)
    assert flow("del tmp").deletes == ("tmp",)


def test_read_after_del_is_a_read_again():
    src = "x = 1\ndel x\nprint(x)"
    assert reads(src) == (("print", 3, 1), ("x", 3, 7))


def test_del_subscript_is_mutation():
    f = flow('del df["a"]')
    assert f.mutates == ("df",)
    assert f.deletes == ()
    assert f.reads == (NameUse("df", 1, 5),)


def test_del_inside_function_is_local():
    f = flow("def f(x):\n    del x")
    assert f.deletes == ()
    assert f.reads == ()


# ---- mutation --------------------------------------------------------------------


def test_augmented_assignment_reads_defines_mutates():
    f = flow("x += 1")
    assert f.reads == (NameUse("x", 1, 1),)
    assert f.defines == ("x",)
    assert f.mutates == ("x",)
    g = flow("x = 0\nx += 1")
    assert g.reads == ()
    assert g.mutates == ("x",)


def test_subscript_and_attribute_assignment_mutate_root():
    src = """\
    df["x"] = 1
    df.loc[m, "c"] = 2
    obj.attr = 3
    a.b.c[0].d = 4
    """
    f = flow(src)
    assert f.mutates == ("df", "obj", "a")
    assert read_names(src) == ("df", "m", "obj", "a")
    assert f.defines == ()


def test_subscript_augmented_assignment():
    f = flow('df["n"] += 1')
    assert f.mutates == ("df",)
    assert f.reads == (NameUse("df", 1, 1),)


def test_statement_level_method_calls_mutate_root():
    src = """\
    model.fit(X, y)
    lst.append(1)
    np.random.seed(0)
    print(z)
    z2 = other.method()
    """
    f = flow(src)
    assert f.mutates == ("model", "lst", "np")
    assert "other" not in f.mutates


def test_mutation_of_name_bound_earlier_is_not_a_read():
    f = flow("lst = []\nlst.append(1)")
    assert f.mutates == ("lst",)
    assert f.reads == ()


def test_call_result_method_call_mutates_nothing():
    assert flow("get().close()").mutates == ()


def test_await_method_call_mutates_root():
    src = "async def f():\n    pass\nawait client.close()"
    # top-level await is valid in notebooks
    assert flow(src).mutates == ("client",)


def test_mutation_inside_function_is_not_cell_mutation():
    assert flow("def f():\n    df['a'] = 1\n    lst.append(2)").mutates == ()


# ---- imports ---------------------------------------------------------------------


def test_imports_bind_names():
    src = """\
    import os
    import a.b
    import a.b.c as abc
    from m import x as y, z
    from . import rel
    """
    f = flow(src)
    assert f.defines == ("os", "a", "abc", "y", "z", "rel")
    assert f.imports == f.defines
    assert f.reads == ()


def test_star_import():
    f = flow("from pylab import *\nfrom .pkg import *")
    assert f.star_imports == ("pylab", ".pkg")
    assert f.defines == ()


def test_import_inside_function_is_local():
    f = flow("def f():\n    import json\n    return json.dumps(1)")
    assert f.imports == ()
    assert f.defines == ("f",)
    assert f.reads == ()


def test_conditional_import_counts():
    src = "try:\n    import ujson as json\nexcept ImportError:\n    import json"
    f = flow(src)
    assert f.imports == ("json",)
    assert read_names(src) == ("ImportError",)


# ---- try / except / match --------------------------------------------------------


def test_except_name_is_not_defined_after_block():
    src = """\
    try:
        r = risky()
    except ValueError as e:
        log(e)
    else:
        ok = r
    finally:
        done = True
    """
    f = flow(src)
    assert f.defines == ("r", "ok", "done")
    assert read_names(src) == ("risky", "ValueError", "log")


def test_except_name_read_after_block_is_free():
    src = "try:\n    pass\nexcept E as e:\n    pass\nprint(e)"
    assert reads(src) == (("E", 3, 8), ("print", 5, 1), ("e", 5, 7))


def test_except_star():
    src = "try:\n    pass\nexcept* OSError as eg:\n    h(eg)"
    assert read_names(src) == ("OSError", "h")
    assert flow(src).defines == ()


def test_match_capture_patterns():
    src = """\
    match cmd:
        case [first, *rest]:
            pass
        case {"k": v, **others}:
            pass
        case Point(x=px) | Point(y=px):
            pass
        case Color.RED:
            pass
        case (1 | 2) as num:
            pass
        case _:
            pass
    """
    f = flow(src)
    assert f.defines == ("first", "rest", "v", "others", "px", "num")
    assert read_names(src) == ("cmd", "Point", "Color")


def test_match_guard_sees_capture():
    src = "match p:\n    case (a, b) if a > lim:\n        pass"
    assert read_names(src) == ("p", "lim")


# ---- misc expressions ------------------------------------------------------------


def test_fstrings():
    assert reads('x = 1\ns = f"{x} {y!r:>{w}}"') == (("y", 2, 12), ("w", 2, 18))


def test_async_function_and_await():
    src = """\
    async def fetch(url):
        async with session.get(url) as r:
            return await r.json()
    res = await fetch(u)
    """
    f = flow(src)
    assert f.defines == ("fetch", "res")
    assert reads(src) == (("session", 2, 16), ("u", 4, 19))


def test_generator_and_yield():
    src = "def gen():\n    yield from items\n    x = yield\n"
    assert read_names(src) == ("items",)


def test_notebook_style_cell():
    src = """\
    import pandas as pd
    df = pd.read_csv(path)
    df["total"] = df.a + df.b
    df.dropna(inplace=True)
    summary = df.groupby("k").sum()
    summary
    """
    f = flow(src)
    assert f.defines == ("pd", "df", "summary")
    assert f.imports == ("pd",)
    assert f.mutates == ("df",)
    assert f.reads == (NameUse("path", 2, 18),)


# ---- real code: must not crash ----------------------------------------------------


def _code_cells(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = nb.get("cells")
    if cells is None:  # nbformat v3
        cells = [c for ws in nb.get("worksheets", []) for c in ws.get("cells", [])]
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", cell.get("input", ""))
        yield "".join(src) if isinstance(src, list) else src


def _parsable_corpus_cells():
    for path in sorted(CORPUS.glob("**/*.ipynb")):
        try:
            sources = list(_code_cells(path))
        except (ValueError, UnicodeDecodeError):
            continue
        for src in sources:
            if src.lstrip().startswith(("%", "!")):
                continue
            try:
                yield path, ast.parse(src)
            except SyntaxError:
                continue


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning")
@pytest.mark.skipif(not CORPUS.exists(), reason="shared corpus not available")
def test_real_notebook_cells_do_not_crash():
    count = 0
    for path, tree in _parsable_corpus_cells():
        result = analyze_cell(tree)
        assert set(result.imports) <= set(result.defines), path
        assert set(result.functions) <= set(result.defines), path
        positions = [(u.line, u.column) for u in result.reads]
        assert positions == sorted(positions), path
        count += 1
    assert count > 0
