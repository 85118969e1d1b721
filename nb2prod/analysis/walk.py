"""The one walk of a cell's tree behind `analyze_cell` and lint's facts.

`CellWalk(tree).run()` visits the cell in evaluation order with a stack of
`Scope`s and resolves every name the way CPython does (function locals are
static, module and class bodies are ordered, class scopes are invisible to
nested scopes; `Binder` in scopes.py finds what a scope binds). It records
what dataflow.py turns into a `CellFlow`, and on the way the calls, string
literals, decorators and import statements lint's rules look up (facts.py).

Why it is written as it is: this walk runs over every node of every cell
(~45,000 nodes on the shared corpus, most of them names, constants, calls and
attributes), so it is the analysis's inner loop. `_walk_all` is one loop over
an explicit stack, not a visitor recursing through `visit`/`generic_visit`:
names and constants are handled inline, nodes with a rule of their own go
through a table from node class to method (`_HANDLERS`), and every other node
just has its children pushed, read from a per-class table of the fields that
can hold nodes (contexts and operators are never visited). Children are
pushed last-first, so nodes are popped in the order a recursive visitor
would visit them: the order of first uses and of the facts depends on it.
Uses are kept as (name, node) until the end: most never become a `NameUse`.
"""

from __future__ import annotations

import ast

from nb2prod.analysis.scopes import Binder, Scope, child_fields, import_binding, param_names

_Name, _Constant, _Load = ast.Name, ast.Constant, ast.Load
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


class CellWalk:
    # Slots: one walk per cell, and ~20 attributes set up for each (a third of
    # the cost of an empty cell without them).
    __slots__ = ("_module_bound", "_pending", "calls", "collector", "decorators", "defines",
                 "deleted", "funcs", "functions", "global_writes", "import_nodes", "imports",
                 "late", "module", "mutates", "reads", "scope", "star_imports", "strings",
                 "tree", "writers")

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
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
        # lint's facts, in walk order (facts.py sorts them)
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
        string, call = self.strings.append, self.calls.append
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
                if node.value.__class__ is str:
                    string(node)
            elif kind is Call:
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

    # ---- statements and expressions with rules of their own ----------------
    # `_HANDLERS` maps each `visit_<Class>` below to its node class. A handler
    # walks what it must walk at a given moment itself (before a binding, in
    # another scope) and may return the nodes to walk after that, in order, in
    # the current scope: `_walk_all` pushes those on its own stack.

    def visit_Assign(self, node: ast.Assign) -> list[ast.AST] | None:
        target = node.targets[0]
        named = isinstance(target, ast.Name) and len(node.targets) == 1
        if named and isinstance(node.value, ast.Lambda):  # `f = lambda: ..` is a def
            self._visit_signature(node.value.args, None)
            self._visit_function(node.value, target.id)
            self._bind(target.id, target)
            self._register(target.id)
            return None
        return [node.value, *node.targets]  # the value is evaluated first

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):
            self._load(node.target.id, node.target)
            self._walk(node.value)
            self._bind(node.target.id, node.target)
            if self.scope is self.module:
                self.mutates.setdefault(node.target.id)
        else:
            self._walk_all([node.target, node.value])

    def visit_AnnAssign(self, node: ast.AnnAssign) -> list[ast.AST]:
        following = []
        if self.scope.kind != "function":  # local annotations are not evaluated
            following.append(node.annotation)
        else:
            self._facts_only(node.annotation)
        if node.value is not None:
            following += [node.value, node.target]
        elif not isinstance(node.target, ast.Name):
            following += _child_nodes(node.target)  # `df["a"]: int` evaluates df only
        return following

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._walk(node.value)
        scope = self.scope
        while scope.kind == "comprehension":  # PEP 572: bind outside the comp
            scope = scope.parent
        self._bind(node.target.id, node.target, scope)

    def visit_Expr(self, node: ast.Expr) -> list[ast.AST] | None:
        value = node.value
        if value.__class__ is _Constant:  # a docstring (or `...`): no name, not a string
            return None
        # A statement-level method call is usually called for its effect on
        # the receiver: `model.fit(X, y)`, `lst.append(1)`.
        call = value.value if isinstance(value, ast.Await) else value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
            self._mutate(call.func.value)
        return [value]

    def visit_JoinedStr(self, node: ast.JoinedStr) -> list[ast.AST]:
        # The literal parts of an f-string are not string literals for lint.
        return [v for v in node.values if v.__class__ is not _Constant]

    def visit_Dict(self, node: ast.Dict) -> list[ast.AST]:
        # A `**mapping` entry has no key (None): the one list field that holds a non-node.
        return [*(k for k in node.keys if k is not None), *node.values]

    def visit_For(self, node: ast.For | ast.AsyncFor) -> list[ast.AST]:
        # The iterable is evaluated before the target.
        return [node.iter, node.target, *node.body, *node.orelse]

    visit_AsyncFor = visit_For

    def _visit_alternatives(self, branches: list[list[ast.AST]]) -> None:
        """Branches of which at most one runs: each starts from the state
        before them; afterwards a name bound in any branch counts as bound."""
        scope = self.scope
        if scope.kind not in ("module", "class"):
            self._walk_all([node for branch in branches for node in branch])
            return
        before, after = set(scope.local), set()
        for branch in branches:
            scope.local.clear()
            scope.local.update(before)
            self._walk_all(branch)
            after |= scope.local
        scope.local.update(after)

    def visit_If(self, node: ast.If) -> None:
        self._walk(node.test)
        self._visit_alternatives([node.body, node.orelse])

    def visit_Try(self, node: ast.Try) -> None:
        # A handler may start before any body statement ran: it sees only
        # the state before the `try`; `else` runs after the whole body.
        self._visit_alternatives([node.body + node.orelse, *([h] for h in node.handlers)])
        self._walk_all(node.finalbody)

    visit_TryStar = visit_Try

    def visit_Match(self, node: ast.Match) -> None:
        self._walk(node.subject)
        self._visit_alternatives([[case] for case in node.cases])

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self._walk(node.type)
        if not node.name or self.scope.kind not in ("module", "class"):
            self._walk_all(node.body)
            return
        # Python 3 deletes `e` when the handler ends: visible inside only,
        # never in `defines`; outside, the binding state is as before.
        scope, was_bound = self.scope, node.name in self.scope.local
        scope.local.add(node.name)
        self._walk_all(node.body)
        if not was_bound:
            scope.local.discard(node.name)

    def _visit_capture(self, node: ast.MatchAs | ast.MatchStar) -> None:
        self._walk_all(_child_nodes(node))
        if node.name:
            self._bind(node.name, node)

    visit_MatchAs = visit_MatchStar = _visit_capture

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        self._walk_all(_child_nodes(node))
        if node.rest:
            self._bind(node.rest, node)

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        self.import_nodes.append(node)
        for alias in node.names:
            if alias.name == "*":
                module = "." * getattr(node, "level", 0) + (getattr(node, "module", "") or "")
                self.star_imports.setdefault(module)
                continue
            name = import_binding(alias)
            self._bind(name, node)
            if self.scope is self.module:
                self.imports.setdefault(name)

    visit_ImportFrom = visit_Import

    def visit_Global(self, node: ast.Global) -> None:
        pass  # collected by Binder; at top level a no-op

    visit_Nonlocal = visit_Global

    # ---- scopes ------------------------------------------------------------

    def _in_scope(self, scope: Scope, nodes: list[ast.AST]) -> None:
        outer, self.scope = self.scope, scope
        try:
            self._walk_all(nodes)
        finally:
            self.scope = outer

    def _visit_signature(self, args: ast.arguments, returns: ast.expr | None) -> None:
        # Defaults and annotations are evaluated when the `def` runs, here.
        defaults = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        annotations = [p.annotation for p in params if p is not None and p.annotation]
        self._walk_all([*defaults, *annotations, *([returns] if returns else [])])

    def _visit_function(self, node: ast.AST, name: str | None) -> None:
        """Body of a def/lambda. `name` is None for an anonymous lambda."""
        body = node.body if isinstance(node.body, list) else [node.body]
        binder = Binder(in_function=True).scan(body)
        if binder.globals and not isinstance(node, ast.Lambda):
            for written in binder.globals & binder.names.keys():
                self.writers.setdefault(written, set()).add(id(node))
        local = (param_names(node.args) | binder.names.keys()) - binder.globals
        scope = Scope(
            "function", self.scope, local - binder.nonlocals, frozenset(binder.globals), node
        )
        top_level = self.collector is None and self.scope is self.module
        if top_level:
            self.collector = {}
        self._in_scope(scope, body)
        if top_level:
            self._pending, self.collector = self.collector, None
            if name is None:  # a lambda passed along is most likely called now
                self.funcs["<lambda>"] = self._pending
                self._expand_call("<lambda>", set())
                del self.funcs["<lambda>"]

    def _register(self, name: str) -> None:
        if self.scope is self.module:
            self.funcs[name] = self._pending

    def _definition(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.decorators.extend(node.decorator_list)
        for param in getattr(node, "type_params", ()):  # Python 3.12: not evaluated here
            self._facts_only(param)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._definition(node)
        self._walk_all(node.decorator_list)
        self._visit_signature(node.args, node.returns)
        self._visit_function(node, node.name)
        self._bind(node.name, node)
        self._register(node.name)
        if self.scope is self.module:
            self.functions.setdefault(node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_signature(node.args, None)
        self._visit_function(node, None)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._definition(node)
        self._walk_all([*node.decorator_list, *node.bases, *node.keywords])
        # The class body runs now, in order, in its own (ordered) namespace.
        self._in_scope(Scope("class", self.scope, set()), node.body)
        self._bind(node.name, node)
        if self.scope is self.module:
            self.functions.setdefault(node.name)

    def _visit_comprehension(self, node: ast.expr) -> None:
        first, *rest = node.generators
        self._walk(first.iter)  # the first iterable runs in the enclosing scope
        targets = Binder(in_function=True).scan([g.target for g in node.generators])
        scope = Scope("comprehension", self.scope, set(targets.names))
        parts: list[ast.AST] = [first.target, *first.ifs]
        for gen in rest:
            parts += [gen.iter, gen.target, *gen.ifs]
        if isinstance(node, ast.DictComp):
            parts += [node.key, node.value]
        else:
            parts.append(node.elt)
        self._in_scope(scope, parts)  # in evaluation order: the element last

    visit_ListComp = visit_SetComp = visit_DictComp = _visit_comprehension
    visit_GeneratorExp = _visit_comprehension

    def _facts_only(self, node: ast.AST) -> None:
        """Facts of a subtree the dataflow walk does not visit (no names resolved)."""
        todo = [node]
        while todo:
            sub = todo.pop()
            kind = sub.__class__
            if kind is ast.Call:
                self.calls.append(sub)
            elif kind is _Constant:
                if type(sub.value) is str:
                    self.strings.append(sub)
                continue
            elif kind is ast.JoinedStr:
                todo.extend(v for v in sub.values if v.__class__ is not _Constant)
                continue
            todo.extend(_child_nodes(sub))


def _child_nodes(node: ast.AST) -> list[ast.AST]:
    """The child nodes of `node`, in field order (contexts and operators left out)."""
    children = []
    for field in child_fields(node.__class__):
        value = getattr(node, field, None)
        if type(value) is list:
            children += [v for v in value if isinstance(v, ast.AST)]
        elif isinstance(value, ast.AST):
            children.append(value)
    return children


_HANDLERS: dict[type, object] = {
    getattr(ast, name[len("visit_"):]): method for name, method in vars(CellWalk).items()
    if name.startswith("visit_") and hasattr(ast, name[len("visit_"):])}
"""Node class -> the method for nodes with a rule of their own (TryStar: 3.11+)."""
