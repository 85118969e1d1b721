"""The one walk of a cell's tree behind `analyze_cell` and lint's facts.

`CellWalk(tree).run()` visits the cell in evaluation order with a stack of
`Scope`s and resolves every name the way CPython does (function locals are
static, module and class bodies are ordered, class scopes are invisible to
nested scopes; `Binder` in scopes.py finds what a scope binds). It records
what dataflow.py turns into a `CellFlow`, and on the way, for lint only
(`facts=True`), the calls, string literals, decorators and import statements
lint's rules look up (facts.py).

Why it is written as it is: this walk runs over every node of every cell
(~45,000 nodes on the shared corpus, most of them names, constants, calls and
attributes), so it is the analysis's inner loop. `_walk_all` is one loop over
an explicit stack, not a visitor recursing through `visit`/`generic_visit`:
names, constants, calls, attributes, subscripts and plain assignments are
handled inline, nodes with a rule of their own (walk_rules.py) go through a
table from node class to method (`_HANDLERS`), and every other node just has
its children pushed, read from a per-class table of the fields that can hold
nodes (contexts and operators are never visited). Children are pushed
last-first, so nodes are popped in the order a recursive visitor would visit
them: the order of first uses and of the facts depends on it. Uses are kept
as (name, node) until the end: most never become a `NameUse`. The visitor
this replaced is kept in tests/dataflow_oracle.py, and the results are
compared with it on every corpus cell.
"""

from __future__ import annotations

import ast

from nb2prod.analysis.scopes import Binder, Scope, child_fields
from nb2prod.analysis.walk_rules import WalkRules

_Assign, _Lambda = ast.Assign, ast.Lambda
_INLINE = (ast.Name, ast.Constant, ast.Call, ast.Attribute, ast.Subscript, ast.Load, ast.Store)
"""The node classes `_walk_all` handles itself, as it unpacks them into locals."""
_NONE: frozenset[int] = frozenset()
_EMPTY: dict[str, ast.AST] = {}

_FIELDS: dict[type, tuple[str, ...]] = {}
"""Node class -> the fields that may hold child nodes, last first (filled lazily)."""


def _reversed_fields(node_class: type) -> tuple[str, ...]:
    fields = _FIELDS[node_class] = child_fields(node_class)[::-1]
    return fields


def _root_name(node: ast.expr) -> str | None:
    """`df.loc[m, "c"]` -> "df". Stops at calls: `f().x = 1` changes no name."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


class CellWalk(WalkRules):
    # Slots: one walker per cell, ~20 attributes set up for each and read in
    # every handler (a few percent cheaper than an instance dict).
    __slots__ = ("_module_bound", "_pending", "calls", "collector", "decorators", "defines",
                 "deleted", "facts", "funcs", "functions", "global_writes", "import_nodes",
                 "imports",
                 "late", "module", "mutates", "reads", "scope", "star_imports", "strings",
                 "tree", "writers")

    def __init__(self, tree: ast.Module, facts: bool = False) -> None:
        self.tree = tree
        self.facts = facts  # also record lint's facts (facts.py); build does not
        self.module = Scope("module", None, set())
        self.scope = self.module
        self._module_bound: set[str] | None = None  # computed when a function needs it
        # Loads inside functions of names no top-level statement binds, as
        # (name, node, id of the function): a read unless another function
        # writes the name `global`, known once every function was seen.
        self.late: list[tuple[str, ast.AST, int]] = []
        self.writers: dict[str, set[int]] = {}  # name -> ids of functions writing it global
        self.defines: dict[str, None] = {}
        self.reads: dict[str, ast.AST] = {}  # name -> node of its first free read
        self.mutates: dict[str, None] = {}
        self.deleted: dict[str, None] = {}
        self.imports: dict[str, None] = {}
        self.star_imports: dict[str, None] = {}
        self.functions: dict[str, None] = {}
        self.global_writes: dict[str, ast.AST] = {}
        # Module names the bodies of the cell's own functions look up when
        # called (name -> node): calling one before they are bound is a read.
        self.funcs: dict[str, dict[str, ast.AST]] = {}
        self.collector: dict[str, ast.AST] | None = None
        self._pending: dict[str, ast.AST] = {}
        # lint's facts, in walk order (facts.py sorts them); empty unless `facts`
        self.calls: list[ast.Call] = []
        self.strings: list[ast.Constant] = []
        self.decorators: list[ast.expr] = []
        self.import_nodes: list[ast.stmt] = []

    def run(self) -> CellWalk:
        self._walk_all(self.tree.body)
        for name, node, func in self.late:
            if not self.writers.get(name, _NONE) - {func}:  # no other function writes it
                self._add_read(name, node)
        if self.global_writes:
            self._sync_global_writes()
        return self

    # ---- the walk ----------------------------------------------------------

    def _walk(self, node: ast.AST) -> None:
        self._walk_all([node])

    def _walk_all(self, nodes: list[ast.AST]) -> None:
        """Visit `nodes` and their subtrees, in order, in the current scope.

        The hot loop (see the module docstring): the commonest node classes
        are handled inline, in order of frequency, and everything it touches
        per node is a local. The scope and the containers are read once: a
        handler that enters another scope restores this one before it
        returns, and the containers are only ever changed in place.
        """
        stack = nodes[::-1]
        pop, push, extend = stack.pop, stack.append, stack.extend
        Name, Constant, Call, Attribute, Subscript, Load, Store = _INLINE
        scope, handlers, fields_of = self.scope, _HANDLERS, _FIELDS
        top_level, local, reads, funcs = scope is self.module, scope.local, self.reads, self.funcs
        facts, string, call = self.facts, self.strings.append, self.calls.append
        while stack:
            node = pop()
            kind = node.__class__
            if kind is Name:
                ctx, name = node.ctx.__class__, node.id
                if ctx is Store:
                    self._bind(name, node)
                elif ctx is not Load:
                    self._delete(name, node)
                elif not top_level:
                    self._load(name, node)
                else:  # `_load` and `_add_read` at the top level, inlined
                    if name not in local:
                        old = reads.get(name)
                        if old is None or (node.lineno, node.col_offset) < (
                                old.lineno, old.col_offset):
                            reads[name] = node
                    if name in funcs:
                        self._expand_call(name, {name})
            elif kind is Constant:
                if facts and node.value.__class__ is str:
                    string(node)
            elif kind is Call:
                if facts:
                    call(node)  # before its parts: `f(a)(b)` lists the outer call first
                if node.keywords:
                    for keyword in reversed(node.keywords):
                        push(keyword.value)  # a keyword node holds nothing else to visit
                extend(node.args[::-1])
                push(node.func)
            elif kind is Attribute or kind is Subscript:
                if node.ctx.__class__ is not Load:
                    self._mutate(node)  # df["x"] = .., obj.a = .., del df["x"]
                if kind is Subscript:
                    push(node.slice)
                push(node.value)
            elif kind is _Assign and node.value.__class__ is not _Lambda:
                extend(node.targets[::-1])  # `visit_Assign`'s order, without the call
                push(node.value)
            elif kind in handlers:
                following = handlers[kind](self, node)
                if following:  # walked next, here: no nested loop for them
                    extend(following[::-1])
            else:
                fields = fields_of.get(kind)
                for field in _reversed_fields(kind) if fields is None else fields:
                    value = getattr(node, field)
                    if value.__class__ is list:
                        extend(value[::-1])
                    elif value is not None:
                        push(value)

    # ---- resolution ------------------------------------------------------

    def _add_read(self, name: str, node: ast.AST) -> None:
        old = self.reads.get(name)
        if old is None or (node.lineno, node.col_offset) < (old.lineno, old.col_offset):
            self.reads[name] = node

    @property
    def module_bound(self) -> set[str]:
        """Every name a top-level statement of the cell binds, anywhere in it."""
        if self._module_bound is None:
            self._module_bound = set(Binder(in_function=False).scan(self.tree.body).names)
        return self._module_bound

    def _load(self, name: str, node: ast.AST) -> None:
        scope, func = self.scope, None
        while scope is not self.module:
            if scope.kind == "function":
                func = scope
                if name in scope.globals:
                    break
            if name in scope.local:
                return
            scope = scope.enclosing()
        if func is None:  # evaluated right now, at the cell's top level
            if name not in self.module.local:
                self._add_read(name, node)
            if name in self.funcs:
                self._expand_call(name, {name})
            return
        # Inside a function: late binding, any top-level binding in the cell
        # (or a `global` write by another function) satisfies it.
        if self.collector is not None:
            self.collector.setdefault(name, node)
        if name not in self.module_bound:
            self.late.append((name, node, id(func.node)))

    def _expand_call(self, name: str, seen: set[str]) -> None:
        """Using a cell function may call it: its globals must be bound now."""
        for ref, node in self.funcs.get(name, _EMPTY).items():
            if ref not in seen:
                seen.add(ref)
                if ref not in self.module.local:
                    self._add_read(ref, node)
                self._expand_call(ref, seen)

    def _bind(self, name: str, node: ast.AST, scope: Scope | None = None) -> None:
        scope = scope or self.scope
        if scope is self.module:  # the common case first
            scope.local.add(name)
            self.defines.setdefault(name)
            self.deleted.pop(name, None)
            self.funcs.pop(name, None)
            if self.global_writes:
                self._sync_global_writes()
            return
        if scope.kind == "function" and name in scope.globals:
            # Joins `defines` after the enclosing def's own name (_sync).
            self.global_writes.setdefault(name, node)
        if scope.kind not in ("module", "class"):
            return  # function/comprehension locals are static
        scope.local.add(name)

    def _sync_global_writes(self) -> None:
        for name in self.global_writes:
            self.defines.setdefault(name)

    def _delete(self, name: str, node: ast.AST) -> None:
        scope = self.scope
        if scope.kind not in ("module", "class"):
            return
        if name not in scope.local:
            self._load(name, node)  # `del x` of an unbound x raises NameError
        scope.local.discard(name)
        if scope is self.module:
            self.deleted[name] = None
            self.funcs.pop(name, None)

    def _mutate(self, target: ast.expr) -> None:
        root = _root_name(target)
        if root is not None and self.scope is self.module:
            self.mutates.setdefault(root)


_HANDLERS: dict[type, object] = {
    getattr(ast, name[len("visit_"):]): method for name, method in vars(WalkRules).items()
    if name.startswith("visit_") and hasattr(ast, name[len("visit_"):])}
"""Node class -> the rule (walk_rules.py) for nodes with one of their own (TryStar: 3.11+)."""
