"""The rules of `CellWalk` (walk.py) for the nodes that have one of their own:
statements that bind, branch or import, scopes (functions, lambdas, classes,
comprehensions), and the few expressions whose children are walked in another
order. A mixin: the state, the loop and name resolution are in walk.py, which
maps each `visit_<Class>` here to its node class (`_HANDLERS`).

A rule walks what it must walk at a given moment itself (before a binding, in
another scope) and may return the nodes to walk after that, in order, in the
current scope: the loop pushes those on its own stack instead of starting a
nested one.
"""

from __future__ import annotations

import ast

from nb2prod.analysis.scopes import Binder, Scope, child_fields, import_binding, param_names

_Constant = ast.Constant


class WalkRules:
    __slots__ = ()  # CellWalk's slots stay its only storage

    # ---- statements and expressions ----------------------------------------

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
        if self.facts:
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
        if not self.facts:
            return
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
        if not self.facts:
            return
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
