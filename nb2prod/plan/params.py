"""The `parameters` cell -> typed `Param`s: `name = literal` lines, optionally annotated."""

from __future__ import annotations

import ast

from nb2prod import naming
from nb2prod.analysis.analyze import CellAnalysis
from nb2prod.plan import codegen
from nb2prod.plan.records import Param
from nb2prod.problems import Problem, make_problem

LITERAL_TYPES = {bool: "bool", int: "int", float: "float", str: "str", list: "list",
                 dict: "dict", tuple: "list", type(None): "str | None"}


def read_params(cells: list[CellAnalysis]) -> tuple[tuple[Param, ...], list[Problem]]:
    """The `parameters` cells -> typed `Param`s, and NB607 for lines that are not
    `name = literal` (the last assignment of a name wins)."""
    params: dict[str, Param] = {}
    problems: list[Problem] = []
    for cell in cells:
        if cell.tree is None:
            continue
        for node in cell.tree.body:
            param = _param(node, cell.cell.number)
            if param:
                params[param.name] = param
            else:
                problems.append(make_problem(
                    "NB607", "not a `name = literal` assignment: left out of the parameters",
                    cell.cell.number, node.lineno, node.col_offset + 1, cell.cell.cell_id))
    return tuple(params.values()), problems


def literal_assignment(node: ast.stmt) -> tuple[str, object, ast.expr | None] | None:
    """`name = literal` or `name: T = literal` -> (name, value, annotation); else None."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target, value, annotation = node.targets[0], node.value, None
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        target, value, annotation = node.target, node.value, node.annotation
    else:
        return None
    if not isinstance(target, ast.Name):
        return None
    try:
        return target.id, ast.literal_eval(value), annotation
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _param(node: ast.stmt, cell: int) -> Param | None:
    found = literal_assignment(node)
    if found is None:
        return None
    name, literal, annotation = found
    type_name = LITERAL_TYPES.get(type(literal))
    if type_name is None:
        return None
    if isinstance(annotation, ast.Name) and annotation.id in ("int", "float", "str", "bool"):
        type_name = annotation.id
        literal = {"int": int, "float": float, "str": str, "bool": bool}[type_name](literal)
    if isinstance(literal, tuple):
        literal = list(literal)
    return Param(name, naming.cli_option(name), type_name,
                 codegen.python_literal(literal), cell,
                 node.lineno)
