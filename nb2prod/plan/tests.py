"""The generated tests: which cells, which pipeline values each reads, and what
they import.

A test cell reads values as they were at its place in the notebook: when a
later step rebinds a name the test reads (`series = series.diff()`),
`run_steps` keeps the earlier value under a snapshot key for that test.
nbdev example cells a test needs are copied into it, like `nbdev_test` runs
them.
"""

from __future__ import annotations

import ast

from nb2prod import naming
from nb2prod.analysis.analyze import CellAnalysis
from nb2prod.analysis.tags import TEST
from nb2prod.plan import codegen
from nb2prod.plan.records import Block, TestCase, Unit

Snapshot = tuple[str, str, str]  # (step function or "params", name, results key)


def plan_tests(body, units: list[Unit], provider: dict[str, str],
               history: list[tuple[int, dict[str, str]]], taken: set[str],
               ) -> tuple[tuple[TestCase, ...], tuple[Snapshot, ...]]:
    """`body(cell)` gives a cell's code; `history` is (first cell index of a step,
    providers after it) in step order; `taken` the names run_steps may not use."""
    tests = []
    snapshots: dict[tuple[str, str], str] = {}
    examples = [c for u in units if u.role == "example" for c in u.cells if c.tree is not None]
    for u in units:
        if u.role != TEST:
            continue
        for cell in u.cells:
            if cell.tree is None:
                continue
            earlier = [e for e in examples if e.cell.index < cell.cell.index]
            setup = needed_examples(cell, earlier)
            reads = tuple(dict.fromkeys(use.name for use in cell.flow.reads
                                        if use.name in provider))
            at = provider_at(history, provider, cell.cell.index)
            keys = []
            for name in reads:
                source = at.get(name, provider[name])
                if source == provider[name]:
                    keys.append(name)
                    continue
                if (source, name) not in snapshots:
                    snapshots[source, name] = naming.unique(f"{name}_after_{source}", taken)
                keys.append(snapshots[source, name])
            tests.append(TestCase(f"test_cell_{cell.cell.number}", cell.cell.number, body(cell),
                                  reads,
                                  tuple(Block(e.cell.number, e.cell.cell_id, body(e))
                                        for e in setup),
                                  keys=tuple(keys)))
    return tuple(tests), tuple((s, n, k) for (s, n), k in snapshots.items())


def provider_at(history: list[tuple[int, dict[str, str]]], provider: dict[str, str],
                index: int) -> dict[str, str]:
    """Who provides each name just before cell `index` (0-based) runs."""
    found = {n: p for n, p in provider.items() if p == "params"}
    for first, after in history:
        if first >= index:
            break
        found = after
    return found


def needed_examples(test: CellAnalysis, examples: list[CellAnalysis]) -> list[CellAnalysis]:
    """The example cells a test needs, transitively, in notebook order (nbdev)."""
    needed = {u.name for u in test.flow.reads}
    chosen = []
    for cell in reversed(examples):
        if needed & set(cell.flow.defines + cell.flow.mutates):
            chosen.append(cell)
            needed |= {u.name for u in cell.flow.reads}
    return list(reversed(chosen))


def bound_by_import(text: str) -> set[str]:
    node = ast.parse(text).body[0]
    return {a.asname or a.name.split(".")[0] for a in node.names if a.name != "*"}


def imports_for_tests(imports: list[str], helpers, tests, package: str) -> list[str]:
    """The pipeline's import lines and helper names that the test code uses."""
    loaded: set[str] = set()
    for test in tests:  # names a test imports itself need no module-level import
        code = "\n".join([*(b.code for b in test.setup), test.code])
        if code.strip():
            loaded |= codegen.loaded_names(code) - codegen.imported_names(code)
    lines = []
    for text in imports:
        used = bound_by_import(text) & loaded
        if used:
            lines.append(codegen.mark_unused(text, bound_by_import(text) - used, "F401"))
    helper_names = sorted({n.name for h in helpers if h.code for n in ast.parse(h.code).body
                           if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                           and n.name in loaded})
    if helper_names:
        lines.append(f"from {package}.pipeline import {', '.join(helper_names)}")
    return lines
