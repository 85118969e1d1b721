"""Building blocks of the dataflow analysis (nb2prod.analysis.walk): the table of
the fields that can hold child nodes, the static binder of one scope, and the
scope record.

Child-field tables leave out expression contexts and operators (`Load`,
`Store`, `Add`, ...) and fields that hold identifiers or numbers: they carry
nothing a walk looks for, so they are never visited.
"""

from __future__ import annotations

import ast

_LEAF_FIELDS = frozenset([
    "ctx", "op", "ops", "type_ignores",  # contexts, operators, type-ignore comments
    # identifiers, numbers and flags (never nodes in any node class):
    "id", "attr", "arg", "name", "asname", "module", "level", "kind", "rest",
    "type_comment", "simple", "is_async", "conversion", "kwd_attrs", "tag",
    "str"])  # Python 3.14 `Interpolation.str`: the walk pushes any other non-list value
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


def import_binding(alias: ast.alias) -> str:
    # `import a.b` binds `a`; any `as` name is bound as is.
    return alias.asname or alias.name.split(".")[0]


def param_names(args: ast.arguments) -> set[str]:
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return {a.arg for a in params if a is not None}


class Binder:
    """Names one scope binds, without entering nested function/class bodies.

    `in_function` selects function rules: there a bare annotation `x: int` and
    an `except ... as e` name make the name local; at module level neither
    leaves a binding behind. Only the sets of names matter (never their
    order), so `scan` walks in whatever order its stack gives.
    """

    def __init__(self, in_function: bool) -> None:
        self.in_function = in_function
        self.names: dict[str, None] = {}
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()

    def scan(self, nodes: list[ast.AST]) -> Binder:
        # An explicit stack (as in walk.py): this runs over every function body.
        stack = list(nodes)
        pop, push, extend, rules = stack.pop, stack.append, stack.extend, _BINDER_RULES
        while stack:
            node = pop()
            kind = node.__class__
            if kind is _Name:
                if node.ctx.__class__ is not _Load:
                    self.names[node.id] = None
            elif kind in rules:
                rules[kind](self, node, stack)
            elif kind is not _Constant:
                for field in CHILD_FIELDS.get(kind) or child_fields(kind):
                    value = getattr(node, field)
                    if value.__class__ is list:
                        extend(value)
                    elif value is not None:
                        push(value)
        return self

    # Rules: (self, node, stack); a rule pushes what is still to be scanned.

    def _definition(self, node: ast.AST, stack: list[ast.AST]) -> None:
        self.names[node.name] = None
        # Decorators and bases run here; only a walrus could bind.
        stack += node.decorator_list
        stack += getattr(node, "bases", ())

    def _lambda(self, node: ast.Lambda, stack: list[ast.AST]) -> None:
        pass  # its body is its own scope

    def _comprehension(self, node: ast.expr, stack: list[ast.AST]) -> None:
        # Loop targets stay inside; a walrus escapes to this scope (PEP 572).
        for sub in ast.walk(node):
            if sub.__class__ is ast.NamedExpr and sub.target.__class__ is _Name:
                self.names[sub.target.id] = None

    def _import(self, node: ast.Import | ast.ImportFrom, stack: list[ast.AST]) -> None:
        for alias in node.names:
            if alias.name != "*":
                self.names[import_binding(alias)] = None

    def _global(self, node: ast.Global, stack: list[ast.AST]) -> None:
        self.globals.update(node.names)

    def _nonlocal(self, node: ast.Nonlocal, stack: list[ast.AST]) -> None:
        self.nonlocals.update(node.names)

    def _annotated(self, node: ast.AnnAssign, stack: list[ast.AST]) -> None:
        if node.value is not None or self.in_function:
            stack += [node.target, node.annotation, *([node.value] if node.value else [])]

    def _handler(self, node: ast.ExceptHandler, stack: list[ast.AST]) -> None:
        if node.name and self.in_function:
            self.names[node.name] = None
        stack += [*([node.type] if node.type else []), *node.body]

    def _dict(self, node: ast.Dict, stack: list[ast.AST]) -> None:
        # A `**mapping` entry has no key (None): the one list field that holds a non-node.
        stack += [key for key in node.keys if key is not None]
        stack += node.values

    def _capture(self, node: ast.MatchAs | ast.MatchStar | ast.MatchMapping,
                 stack: list[ast.AST]) -> None:
        name = node.rest if node.__class__ is ast.MatchMapping else node.name
        if name:
            self.names[name] = None
        stack += [child for field in child_fields(node.__class__)
                  for child in _as_list(getattr(node, field))]


def _as_list(value: object) -> list:
    if value.__class__ is list:
        return value
    return [] if value is None else [value]


_Name, _Load, _Constant = ast.Name, ast.Load, ast.Constant
_BINDER_RULES = {
    ast.FunctionDef: Binder._definition, ast.AsyncFunctionDef: Binder._definition,
    ast.ClassDef: Binder._definition, ast.Lambda: Binder._lambda,
    ast.ListComp: Binder._comprehension, ast.SetComp: Binder._comprehension,
    ast.DictComp: Binder._comprehension, ast.GeneratorExp: Binder._comprehension,
    ast.Import: Binder._import, ast.ImportFrom: Binder._import,
    ast.Global: Binder._global, ast.Nonlocal: Binder._nonlocal,
    ast.AnnAssign: Binder._annotated, ast.ExceptHandler: Binder._handler,
    ast.MatchAs: Binder._capture, ast.MatchStar: Binder._capture,
    ast.MatchMapping: Binder._capture, ast.Dict: Binder._dict,
}
"""Node class -> the Binder rule for it; other nodes have their children scanned."""


class Scope:
    """One scope of the walk: a mutable record, one per cell, function, class
    body and comprehension. A plain slotted class, not a dataclass: nothing
    compares or prints it, and `nb2prod lint` imports this module at start-up."""

    __slots__ = ("globals", "kind", "local", "node", "parent")

    def __init__(self, kind: str, parent: Scope | None, local: set[str],
                 globals: frozenset[str] = frozenset(), node: ast.AST | None = None) -> None:
        self.kind = kind  # "module" | "class" | "function" | "comprehension"
        self.parent = parent
        self.local = local  # static for function/comprehension, "bound so far" otherwise
        self.globals = globals
        self.node = node

    def enclosing(self) -> Scope:
        # Names bound in a class body are invisible to nested scopes.
        scope = self.parent
        while scope is not None and scope.kind == "class":
            scope = scope.parent
        assert scope is not None
        return scope
