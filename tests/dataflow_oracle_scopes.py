"""The old binder and scope record of the dataflow oracle (tests/dataflow_oracle.py):
nb2prod.analysis.scopes at commit 21d9f1e on a plain `ast.NodeVisitor`. Not to be edited."""

from __future__ import annotations

import ast
from dataclasses import dataclass


def import_binding(alias: ast.alias) -> str:
    return alias.asname or alias.name.split(".")[0]


def param_names(args: ast.arguments) -> set[str]:
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return {a.arg for a in params if a is not None}


class Binder(ast.NodeVisitor):

    def __init__(self, in_function: bool) -> None:
        self.in_function = in_function
        self.names: dict[str, None] = {}
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()

    def scan(self, nodes: list[ast.AST]) -> Binder:
        for node in nodes:
            self.visit(node)
        return self

    def visit_Name(self, node: ast.Name) -> None:
        if node.ctx.__class__ is not ast.Load:
            self.names[node.id] = None

    def _visit_def(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.names[node.name] = None
        for expr in node.decorator_list:
            self.visit(expr)
        for expr in getattr(node, "bases", []):
            self.visit(expr)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _visit_def

    def visit_Lambda(self, node: ast.Lambda) -> None:
        pass  # its body is its own scope

    def _visit_comprehension(self, node: ast.expr) -> None:
        for sub in ast.walk(node):
            if sub.__class__ is ast.NamedExpr and isinstance(sub.target, ast.Name):
                self.names[sub.target.id] = None

    visit_ListComp = visit_SetComp = visit_DictComp = _visit_comprehension
    visit_GeneratorExp = _visit_comprehension

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                self.names[import_binding(alias)] = None

    visit_ImportFrom = visit_Import

    def visit_Global(self, node: ast.Global) -> None:
        self.globals.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.nonlocals.update(node.names)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None or self.in_function:
            self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name and self.in_function:
            self.names[node.name] = None
        self.generic_visit(node)

    def _visit_capture(self, node: ast.MatchAs | ast.MatchStar) -> None:
        if node.name:
            self.names[node.name] = None
        self.generic_visit(node)

    visit_MatchAs = visit_MatchStar = _visit_capture

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self.names[node.rest] = None
        self.generic_visit(node)


@dataclass
class Scope:
    kind: str  # "module" | "class" | "function" | "comprehension"
    parent: Scope | None
    local: set[str]  # static for function/comprehension, "bound so far" otherwise
    globals: frozenset[str] = frozenset()
    node: ast.AST | None = None

    def enclosing(self) -> Scope:
        scope = self.parent
        while scope is not None and scope.kind == "class":
            scope = scope.parent
        assert scope is not None
        return scope
