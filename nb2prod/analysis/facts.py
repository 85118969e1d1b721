"""Facts lint's rules look up in a cell's tree, gathered during the dataflow walk.

`analyze_cell_with_facts(tree, source)` is `dataflow.analyze_cell` plus a
`CellFacts`: the calls, string literals, decorators and import statements
of the cell, at any depth. The dataflow visitor already visits (nearly)
every node, so collecting them there replaces a second walk of every tree
(which cost lint ~15% of a cold run: docs/lint.md). The few subtrees the
dataflow walk skips (annotations inside functions, type parameters) are
walked here. `build` uses plain `analyze_cell` and pays nothing for this.

The facts are exactly what lint's former separate walk gave, order
included (tests/test_lint_facts.py compares them on every corpus cell):
calls, strings and decorators sorted by position (an enclosing call before the
one it starts with; decorators were in walk order, which no rule depends on), strings outside f-string parts and expression statements
(docstrings), imports in reverse source order (so the first import of an
alias wins in `LintContext.aliases`), and for a cell with no `(` and no quote,
only its top-level imports, in source order.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from nb2prod.analysis.dataflow import CellFlow, _Analyzer  # subclassed: one walk for both
from nb2prod.analysis.scopes import CHILD_FIELDS, child_fields


@dataclass(frozen=True)
class CellFacts:
    calls: tuple[ast.Call, ...] = ()
    strings: tuple[ast.Constant, ...] = ()  # str literals outside f-strings and docstrings
    decorators: tuple[ast.expr, ...] = ()
    imports: tuple[ast.stmt, ...] = ()  # import statements at any depth


def analyze_cell_with_facts(tree: ast.Module, source: str) -> tuple[CellFlow, CellFacts]:
    """`analyze_cell(tree)` and the cell's facts, from one walk of `tree`."""
    if "(" not in source and "'" not in source and '"' not in source:
        # No call and no string literal can be in there.
        flow = _Analyzer(tree)
        flow.visit(tree)
        return flow.result(), CellFacts(imports=tuple(
            n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))))
    analyzer = _FactsAnalyzer(tree)
    analyzer.visit(tree)
    return analyzer.result(), analyzer.facts()


def _position(node: ast.AST) -> tuple[int, int]:
    return node.lineno, node.col_offset


class _FactsAnalyzer(_Analyzer):
    """The dataflow analyzer, also recording calls, strings, decorators and imports."""

    def __init__(self, tree: ast.Module) -> None:
        super().__init__(tree)
        self.calls: list[ast.Call] = []
        self.strings: list[ast.Constant] = []
        self.decorators: list[ast.expr] = []
        self.import_nodes: list[ast.stmt] = []

    def facts(self) -> CellFacts:
        return CellFacts(tuple(sorted(self.calls, key=_position)),
                         tuple(sorted(self.strings, key=_position)),
                         tuple(sorted(self.decorators, key=_position)),
                         tuple(sorted(self.import_nodes, key=_position, reverse=True)))

    def visit_Call(self, node: ast.Call) -> None:
        self.calls.append(node)  # before its parts: `f(a)(b)` lists the outer call first
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if type(node.value) is str:
            self.strings.append(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        for value in node.values:  # the literal parts of an f-string are not strings here
            if value.__class__ is not ast.Constant:
                self.visit(value)

    def visit_Expr(self, node: ast.Expr) -> None:
        if node.value.__class__ is not ast.Constant:  # a docstring is not a string here
            super().visit_Expr(node)

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        self.import_nodes.append(node)
        super().visit_Import(node)

    visit_ImportFrom = visit_Import

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._definition(node)
        super().visit_FunctionDef(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._definition(node)
        super().visit_ClassDef(node)

    def _definition(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.decorators.extend(node.decorator_list)
        for param in getattr(node, "type_params", ()):  # Python 3.12: not evaluated here
            self._facts_only(param)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if self.scope.kind == "function":  # dataflow skips it: never evaluated
            self._facts_only(node.annotation)
        super().visit_AnnAssign(node)

    def _facts_only(self, node: ast.AST) -> None:
        """Facts of a subtree the dataflow walk does not visit (no names resolved)."""
        todo = [node]
        while todo:
            sub = todo.pop()
            kind = sub.__class__
            if kind is ast.Call:
                self.calls.append(sub)
            elif kind is ast.Constant:
                if type(sub.value) is str:
                    self.strings.append(sub)
                continue
            elif kind is ast.JoinedStr:
                todo.extend(v for v in sub.values if v.__class__ is not ast.Constant)
                continue
            for name in CHILD_FIELDS.get(kind) or child_fields(kind):
                value = getattr(sub, name, None)
                if type(value) is list:
                    todo.extend(v for v in value if isinstance(v, ast.AST))
                elif isinstance(value, ast.AST):
                    todo.append(value)
