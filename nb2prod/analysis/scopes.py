"""Building blocks of the dataflow analysis (nb2prod.analysis.dataflow): a fast AST
visitor, the static binder of one scope, and the scope record.

`FastVisitor` is `ast.NodeVisitor` with the same `visit_<Class>` convention,
minus its per-node costs: the method for a node class is looked up once per
visitor class (not with `getattr` on every node), children are read from
`_fields` without a generator, and expression contexts and operators
(`Load`, `Store`, `Add`, ...), which carry nothing, are never visited. The
visitors here define no `visit_Load`/`visit_Add`-style methods, so skipping
those nodes changes nothing.
"""

from __future__ import annotations

import ast
import typing
from collections import deque
from dataclasses import dataclass

_AST = ast.AST
_LEAF_FIELDS = frozenset([
    "ctx", "op", "ops", "type_ignores",  # contexts, operators, type-ignore comments
    # identifiers, numbers and flags (never nodes in any node class):
    "id", "attr", "arg", "name", "asname", "module", "level", "kind", "rest",
    "type_comment", "simple", "is_async", "conversion", "kwd_attrs", "tag"])
"""Fields that never hold a node worth visiting."""
_NO_CHILDREN = (ast.Constant, ast.MatchSingleton)  # their `value` is a Python constant


def _child_fields(cls: type) -> tuple[str, ...]:
    if issubclass(cls, _NO_CHILDREN):
        return ()
    return tuple(f for f in cls._fields if f not in _LEAF_FIELDS)


CHILD_FIELDS: dict[type, tuple[str, ...]] = {}
"""Node class -> the fields that may hold child nodes (filled lazily)."""


def child_fields(node_class: type) -> tuple[str, ...]:
    """The fields of `node_class` that may hold child nodes, in `_fields` order."""
    fields = CHILD_FIELDS.get(node_class)
    if fields is None:
        fields = CHILD_FIELDS[node_class] = _child_fields(node_class)
    return fields


def _leaf(self, node: ast.AST) -> None:
    """Stands for `generic_visit` of a node without children: nothing to do."""


class FastVisitor:
    """`ast.NodeVisitor` semantics (`visit_<Class>` else `generic_visit`), faster."""

    _methods: typing.ClassVar[dict[type, object]] = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls._methods = {}  # node class -> function, filled on first sight

    def visit(self, node: ast.AST) -> None:
        method = self._methods.get(node.__class__)
        if method is None:
            method = self._method_for(node.__class__)
        method(self, node)

    @classmethod
    def _method_for(cls, node_class: type):
        method = getattr(cls, "visit_" + node_class.__name__, None)
        if method is None:
            method = cls.generic_visit if child_fields(node_class) else _leaf
        cls._methods[node_class] = method
        return method

    def generic_visit(self, node: ast.AST) -> None:
        # `visit` inlined: one Python call per child instead of two.
        methods = self._methods
        fields = CHILD_FIELDS.get(node.__class__)
        if fields is None:
            fields = child_fields(node.__class__)
        for name in fields:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, _AST):
                        method = methods.get(item.__class__) or self._method_for(item.__class__)
                        if method is not _leaf:
                            method(self, item)
            elif isinstance(value, _AST):
                method = methods.get(value.__class__) or self._method_for(value.__class__)
                if method is not _leaf:
                    method(self, value)


def import_binding(alias: ast.alias) -> str:
    # `import a.b` binds `a`; any `as` name is bound as is.
    return alias.asname or alias.name.split(".")[0]


def param_names(args: ast.arguments) -> set[str]:
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return {a.arg for a in params if a is not None}


class Binder(FastVisitor):
    """Names one scope binds, without entering nested function/class bodies.

    `in_function` selects function rules: there a bare annotation `x: int` and
    an `except ... as e` name make the name local; at module level neither
    leaves a binding behind.
    """

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
        # Decorators, defaults and bases run here; only a walrus could bind.
        for expr in node.decorator_list:
            self.visit(expr)
        for expr in getattr(node, "bases", []):
            self.visit(expr)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _visit_def

    def visit_Lambda(self, node: ast.Lambda) -> None:
        pass  # its body is its own scope

    def _visit_comprehension(self, node: ast.expr) -> None:
        # Loop targets stay inside; a walrus escapes to this scope (PEP 572).
        # (`ast.walk` order, without its generator and with leaves skipped.)
        todo = deque([node])
        pop, extend = todo.popleft, todo.extend
        while todo:
            sub = pop()
            if sub.__class__ is ast.NamedExpr and isinstance(sub.target, ast.Name):
                self.names[sub.target.id] = None
            for name in CHILD_FIELDS.get(sub.__class__) or child_fields(sub.__class__):
                value = getattr(sub, name, None)
                if type(value) is list:
                    extend([v for v in value if isinstance(v, _AST)])
                elif isinstance(value, _AST):
                    todo.append(value)

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


@dataclass(slots=True)  # one per cell, function, class body and comprehension
class Scope:
    kind: str  # "module" | "class" | "function" | "comprehension"
    parent: Scope | None
    local: set[str]  # static for function/comprehension, "bound so far" otherwise
    globals: frozenset[str] = frozenset()
    node: ast.AST | None = None

    def enclosing(self) -> Scope:
        # Names bound in a class body are invisible to nested scopes.
        scope = self.parent
        while scope is not None and scope.kind == "class":
            scope = scope.parent
        assert scope is not None
        return scope
