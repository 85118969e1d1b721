"""Which reads of a cell run only when a helper is called (function, method and
lambda bodies) rather than when the cell runs: a helper may read a global
that a later cell binds, as long as it is called after that."""

from __future__ import annotations

import ast

from nb2prod.analysis.dataflow import NameUse


def lazy_spans(tree: ast.Module) -> list[tuple[str, tuple[int, int], tuple[int, int]]]:
    """(helper, start, end) of the code in `tree` that runs only when called:
    function bodies, method bodies, and lambda bodies assigned to a name."""
    spans = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            spans.append((node.name, _start(node.body[0]), _end(node.body[-1])))
        elif isinstance(node, ast.ClassDef):
            spans.extend((node.name, _start(m.body[0]), _end(m.body[-1])) for m in node.body
                         if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)))
        elif (isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda)
              and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            body = node.value.body
            spans.append((node.targets[0].id, _start(body), _end(body)))
    return spans


def _start(node: ast.AST) -> tuple[int, int]:
    return node.lineno, node.col_offset + 1


def _end(node: ast.AST) -> tuple[int, int]:
    return node.end_lineno, node.end_col_offset + 1


def helper_of(use: NameUse, spans) -> str | None:
    """The helper whose body makes this read, or None for an import-time read."""
    where = (use.line, use.column)
    return next((h for h, start, end in spans if start <= where <= end), None)
