"""The dataflow and facts walk as it was before issue 16's rewrite: the oracle.

`analyze_cell(tree)` and `analyze_cell_with_facts(tree, source)` here are
nb2prod.analysis.dataflow/facts/scopes at commit 21d9f1e, on a plain
`ast.NodeVisitor` instead of the hand-made fast visitor (same `visit_<Class>`
dispatch; the extra visits of contexts and operators do nothing), docstrings
trimmed. tests/test_dataflow_oracle.py compares the real walk with it on every
corpus cell. Not to be edited: it is what "unchanged" means.
"""

from __future__ import annotations

import ast

from nb2prod.analysis.dataflow import CellFlow, NameUse
from nb2prod.analysis.facts import CellFacts
from tests.dataflow_oracle_scopes import Binder, Scope, import_binding, param_names


def analyze_cell(tree: ast.Module) -> CellFlow:
    analyzer = OracleAnalyzer(tree)
    analyzer.visit(tree)
    return analyzer.result()


def analyze_cell_with_facts(tree: ast.Module, source: str) -> tuple[CellFlow, CellFacts]:
    if "(" not in source and "'" not in source and '"' not in source:
        flow = OracleAnalyzer(tree)
        flow.visit(tree)
        return flow.result(), CellFacts(imports=tuple(
            n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))))
    analyzer = OracleFactsAnalyzer(tree)
    analyzer.visit(tree)
    return analyzer.result(), analyzer.facts()


def _use(name: str, node: ast.AST) -> NameUse:
    return NameUse(name, node.lineno, node.col_offset + 1)


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


_NONE: frozenset[int] = frozenset()


class OracleAnalyzer(ast.NodeVisitor):
    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.module = Scope("module", None, set())
        self.scope = self.module
        self._module_bound: set[str] | None = None  # computed when a function needs it
        self.late: list[tuple[NameUse, int]] = []
        self.writers: dict[str, set[int]] = {}
        self.defines: dict[str, None] = {}
        self.reads: dict[str, NameUse] = {}
        self.mutates: dict[str, None] = {}
        self.deleted: dict[str, None] = {}
        self.imports: dict[str, None] = {}
        self.star_imports: dict[str, None] = {}
        self.functions: dict[str, None] = {}
        self.global_writes: dict[str, NameUse] = {}
        self.funcs: dict[str, dict[str, NameUse]] = {}
        self.collector: dict[str, NameUse] | None = None
        self._pending: dict[str, NameUse] = {}


    def _add_read(self, use: NameUse) -> None:
        old = self.reads.get(use.name)
        if old is None or (use.line, use.column) < (old.line, old.column):
            self.reads[use.name] = use

    @property
    def module_bound(self) -> set[str]:
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
                self._add_read(_use(name, node))
            if name in self.funcs:
                self._expand_call(name, {name})
            return
        use = _use(name, node)
        if self.collector is not None:
            self.collector.setdefault(name, use)
        if name not in self.module_bound:
            self.late.append((use, id(func.node)))

    def _expand_call(self, name: str, seen: set[str]) -> None:
        for ref, use in self.funcs.get(name, {}).items():
            if ref not in seen:
                seen.add(ref)
                if ref not in self.module.local:
                    self._add_read(use)
                self._expand_call(ref, seen)

    def _bind(self, name: str, node: ast.AST, scope: Scope | None = None) -> None:
        scope = scope or self.scope
        if scope.kind == "function" and name in scope.globals:
            self.global_writes.setdefault(name, _use(name, node))
        if scope.kind not in ("module", "class"):
            return  # function/comprehension locals are static
        scope.local.add(name)
        if scope is self.module:
            self.defines.setdefault(name)
            self.deleted.pop(name, None)
            self.funcs.pop(name, None)
            self._sync_global_writes()

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


    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self._load(node.id, node)
        elif isinstance(node.ctx, ast.Store):
            self._bind(node.id, node)
        else:
            self._delete(node.id, node)

    def _visit_item_target(self, node: ast.Attribute | ast.Subscript) -> None:
        if not isinstance(node.ctx, ast.Load):
            self._mutate(node)  # df["x"] = .., obj.a = .., del df["x"]
        self.generic_visit(node)

    visit_Attribute = visit_Subscript = _visit_item_target

    def visit_Assign(self, node: ast.Assign) -> None:
        target = node.targets[0]
        named = isinstance(target, ast.Name) and len(node.targets) == 1
        if named and isinstance(node.value, ast.Lambda):  # `f = lambda: ..` is a def
            self._visit_signature(node.value.args, None)
            self._visit_function(node.value, target.id)
            self._bind(target.id, target)
            self._register(target.id)
            return
        self.visit(node.value)  # the value is evaluated before any target
        for target in node.targets:
            self.visit(target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):
            self._load(node.target.id, node.target)
            self.visit(node.value)
            self._bind(node.target.id, node.target)
            if self.scope is self.module:
                self.mutates.setdefault(node.target.id)
        else:
            self.visit(node.target)
            self.visit(node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if self.scope.kind != "function":  # local annotations are not evaluated
            self.visit(node.annotation)
        if node.value is not None:
            self.visit(node.value)
            self.visit(node.target)
        elif not isinstance(node.target, ast.Name):
            self.generic_visit(node.target)  # `df["a"]: int` evaluates df only

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        scope = self.scope
        while scope.kind == "comprehension":  # PEP 572: bind outside the comp
            scope = scope.parent
        self._bind(node.target.id, node.target, scope)

    def visit_Expr(self, node: ast.Expr) -> None:
        call = node.value.value if isinstance(node.value, ast.Await) else node.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
            self._mutate(call.func.value)
        self.generic_visit(node)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)  # the iterable is evaluated before the target
        self.visit(node.target)
        self._visit_all(node.body + node.orelse)

    visit_AsyncFor = visit_For

    def _visit_alternatives(self, branches: list[list[ast.AST]]) -> None:
        scope = self.scope
        if scope.kind not in ("module", "class"):
            self._visit_all([node for branch in branches for node in branch])
            return
        before, after = set(scope.local), set()
        for branch in branches:
            scope.local.clear()
            scope.local.update(before)
            self._visit_all(branch)
            after |= scope.local
        scope.local.update(after)

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        self._visit_alternatives([node.body, node.orelse])

    def visit_Try(self, node: ast.Try) -> None:
        self._visit_alternatives([node.body + node.orelse, *([h] for h in node.handlers)])
        self._visit_all(node.finalbody)

    visit_TryStar = visit_Try

    def visit_Match(self, node: ast.Match) -> None:
        self.visit(node.subject)
        self._visit_alternatives([[case] for case in node.cases])

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if not node.name or self.scope.kind not in ("module", "class"):
            self._visit_all(node.body)
            return
        scope, was_bound = self.scope, node.name in self.scope.local
        scope.local.add(node.name)
        self._visit_all(node.body)
        if not was_bound:
            scope.local.discard(node.name)

    def _visit_capture(self, node: ast.MatchAs | ast.MatchStar) -> None:
        self.generic_visit(node)
        if node.name:
            self._bind(node.name, node)

    visit_MatchAs = visit_MatchStar = _visit_capture

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        self.generic_visit(node)
        if node.rest:
            self._bind(node.rest, node)


    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
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


    def _visit_all(self, nodes: list[ast.AST]) -> None:
        for node in nodes:
            self.visit(node)

    def _in_scope(self, scope: Scope, nodes: list[ast.AST]) -> None:
        outer, self.scope = self.scope, scope
        try:
            self._visit_all(nodes)
        finally:
            self.scope = outer

    def _visit_signature(self, args: ast.arguments, returns: ast.expr | None) -> None:
        defaults = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        annotations = [p.annotation for p in params if p is not None and p.annotation]
        self._visit_all([*defaults, *annotations, *([returns] if returns else [])])

    def _visit_function(self, node: ast.AST, name: str | None) -> None:
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

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._visit_all(node.decorator_list)
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
        self._visit_all([*node.decorator_list, *node.bases, *node.keywords])
        self._in_scope(Scope("class", self.scope, set()), node.body)
        self._bind(node.name, node)
        if self.scope is self.module:
            self.functions.setdefault(node.name)

    def _visit_comprehension(self, node: ast.expr) -> None:
        first, *rest = node.generators
        self.visit(first.iter)  # the first iterable runs in the enclosing scope
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

    def result(self) -> CellFlow:
        for use, func in self.late:
            if not self.writers.get(use.name, _NONE) - {func}:
                self._add_read(use)
        self._sync_global_writes()
        return CellFlow(
            defines=tuple(self.defines),
            reads=tuple(sorted(self.reads.values(), key=lambda u: (u.line, u.column))),
            mutates=tuple(self.mutates),
            deletes=tuple(n for n in self.deleted if n not in self.module.local),
            imports=tuple(self.imports),
            star_imports=tuple(self.star_imports),
            functions=tuple(self.functions),
            global_writes=tuple(self.global_writes.values()),
        )


def _position(node: ast.AST) -> tuple[int, int]:
    return node.lineno, node.col_offset


class OracleFactsAnalyzer(OracleAnalyzer):

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
            todo.extend(ast.iter_child_nodes(sub))
