"""What every rule gets: the shared analysis plus facts gathered once.

`LintContext` wraps one `NotebookAnalysis` and computes, lazily and at most
once, the facts several rules need (calls, string literals, import aliases),
so a notebook's syntax trees are walked once however many rules run.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from nb2prod.analysis import CellAnalysis, NotebookAnalysis
from nb2prod.lint.config import LintConfig
from nb2prod.problems import Problem, Rule


@dataclass(frozen=True)
class Check:
    """A rule function and the codes it can emit (skipped when none is enabled)."""

    codes: tuple[str, ...]
    run: Callable[[LintContext], Iterable[Problem]]


@dataclass(frozen=True)
class CellFacts:
    calls: tuple[ast.Call, ...] = ()
    strings: tuple[ast.Constant, ...] = ()  # str literals outside f-strings and docstrings
    decorators: tuple[ast.expr, ...] = ()
    loads: frozenset[str] = frozenset()  # every name the cell reads, anywhere


@dataclass(frozen=True)
class LintContext:
    path: Path
    analysis: NotebookAnalysis
    config: LintConfig
    root: Path  # repository root: where relative data paths may also resolve
    enabled: frozenset[str] = field(default_factory=frozenset)

    @cached_property
    def code_cells(self) -> tuple[CellAnalysis, ...]:
        return self.analysis.code_cells

    @cached_property
    def parsed(self) -> tuple[CellAnalysis, ...]:
        return tuple(c for c in self.code_cells if c.tree is not None)

    @cached_property
    def facts(self) -> dict[int, CellFacts]:
        """Cell index -> facts, for cells whose Python parsed."""
        return {c.cell.index: _gather(c.tree) for c in self.parsed}

    @cached_property
    def aliases(self) -> dict[str, str]:
        """Local name -> dotted module path, from every import in the notebook."""
        table: dict[str, str] = {}
        for c in self.parsed:
            if "import" in c.cell.source:
                for node in ast.walk(c.tree):
                    _add_aliases(node, table)
        return table

    def qualified(self, func: ast.expr) -> str | None:
        """`np.random.rand` -> `numpy.random.rand` (via the import aliases)."""
        parts: list[str] = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if not isinstance(func, ast.Name):
            return None
        parts.append(self.aliases.get(func.id, func.id))
        return ".".join(reversed(parts))


def found(rule: Rule, cell: CellAnalysis | None, message: str,
          line: int | None = None, column: int | None = None) -> Problem:
    """A problem for `rule`; a cell-wide finding points at the cell's line 1."""
    if cell is None:
        return Problem(None, None, None, rule.code, rule.severity, message, rule.fix)
    return Problem(cell.cell.number, line or 1, column or 1, rule.code, rule.severity,
                   message, rule.fix, cell.cell.cell_id)


def node_column(cell: CellAnalysis, node: ast.AST) -> int:
    """1-based character column of `node` (ast offsets count UTF-8 bytes)."""
    offset = node.col_offset
    lines = cell.code.python.split("\n") if cell.code else []
    if node.lineno <= len(lines):
        text = lines[node.lineno - 1]
        if not text.isascii():
            return len(text.encode()[:offset].decode(errors="ignore")) + 1
    return offset + 1


def _gather(tree: ast.Module) -> CellFacts:
    calls: list[ast.Call] = []
    strings: list[ast.Constant] = []
    decorators: list[ast.expr] = []
    loads: set[str] = set()
    skip: set[int] = set()  # ids of constants that are docstrings or f-string parts
    for node in ast.walk(tree):
        kind = type(node)
        if kind is ast.Name:
            if type(node.ctx) is ast.Load:
                loads.add(node.id)
        elif kind is ast.Call:
            calls.append(node)
        elif kind is ast.Constant:
            if isinstance(node.value, str) and id(node) not in skip:
                strings.append(node)
        elif kind is ast.JoinedStr:
            skip.update(id(v) for v in node.values)
        elif kind is ast.Expr and isinstance(node.value, ast.Constant):
            skip.add(id(node.value))
        elif kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
            decorators.extend(node.decorator_list)
    return CellFacts(tuple(calls), tuple(strings), tuple(decorators), frozenset(loads))


def _add_aliases(node: ast.AST, table: dict[str, str]) -> None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                table[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                table[top] = top
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
        for alias in node.names:
            if alias.name != "*":
                table[alias.asname or alias.name] = f"{node.module}.{alias.name}"
