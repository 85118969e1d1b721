"""What every rule gets: the shared analysis plus facts gathered once.

`LintContext` wraps one `NotebookAnalysis` and gives the facts several rules
need (calls, string literals, import aliases: nb2prod.analysis.facts, gathered
in the analysis's dataflow walk), so a notebook's syntax trees are walked once
however many rules run.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from nb2prod.lint.config import LintConfig
from nb2prod.problems import Problem, Rule

if TYPE_CHECKING:  # imported when a notebook is linted: a run answered from the cache
    from nb2prod.analysis.analyze import CellAnalysis, NotebookAnalysis  # does not need them
    from nb2prod.analysis.facts import CellFacts


class Check(NamedTuple):
    """A rule function and the codes it can emit (skipped when none is enabled).

    NamedTuple, not a frozen dataclass: made at every start-up of `nb2prod lint`, where
    `dataclass()` costs ~0.6 ms a class (it compiles each method) and NamedTuple ~0.1 ms."""

    codes: tuple[str, ...]
    run: Callable[[LintContext], Iterable[Problem]]


@dataclass(frozen=True)
class LintContext:
    """One notebook's analysis and what its rules share, for `Check.run`."""

    path: Path
    analysis: NotebookAnalysis
    config: LintConfig
    root: Path  # repository root: where relative data paths may also resolve
    enabled: frozenset[str] = field(default_factory=frozenset)
    memo: dict = field(default_factory=dict, compare=False, repr=False)
    """Per-notebook memo for rule helpers (e.g. binding tables), filled lazily."""

    @cached_property
    def code_cells(self) -> tuple[CellAnalysis, ...]:
        return self.analysis.code_cells

    @cached_property
    def parsed(self) -> tuple[CellAnalysis, ...]:
        return tuple(c for c in self.code_cells if c.tree is not None)

    @cached_property
    def facts(self) -> dict[int, CellFacts]:
        """Cell index -> facts, for cells whose Python parsed (gathered by the analysis
        during its dataflow walk; walked again only for an analysis made without)."""
        from nb2prod.analysis.facts import analyze_cell_with_facts

        return {c.cell.index: c.facts if c.facts is not None
                else analyze_cell_with_facts(c.tree, c.code.python)[1] for c in self.parsed}

    @cached_property
    def aliases(self) -> dict[str, str]:
        """Local name -> dotted module path, from every import in the notebook."""
        table: dict[str, str] = {}
        for c in self.parsed:
            for node in self.facts[c.cell.index].imports:
                _add_aliases(node, table)
        return table

    @cached_property
    def python(self) -> str:
        """The Python of every parsed cell, one text: rules look for words in it first."""
        return "\n".join([c.code.python for c in self.parsed])

    def may_call(self, names: Iterable[tuple[str, ...]]) -> bool:
        """Can `qualified` give one of `names` (each split at its dots) in this notebook?

        Every part of a qualified name is an identifier of the Python (an attribute, a
        name, or a module or name in an import), so a name with a part missing from
        the text cannot occur: a rule about a few calls skips a notebook that lacks
        them without walking its calls (NB304 in most notebooks). Non-ASCII text: True,
        since the parser normalises identifiers (NFKC) and the text may spell them
        otherwise."""
        text = self.python
        return not text.isascii() or any(all(part in text for part in parts)
                                         for parts in names)

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
