"""The `parameters` cell -> typed `Param`s: `name = literal` lines, optionally annotated."""

from __future__ import annotations

import ast

from nb2prod import naming
from nb2prod.analysis.analyze import CellAnalysis
from nb2prod.places import origin
from nb2prod.plan import codegen
from nb2prod.plan.records import Param
from nb2prod.problems import Problem, make_problem

LITERAL_TYPES = {bool: "bool", int: "int", float: "float", str: "str", list: "list",
                 dict: "dict", tuple: "list", type(None): "str | None"}


def read_params(cells: list[CellAnalysis], parts=()) -> tuple[tuple[Param, ...], list[Problem]]:
    """The `parameters` cells -> typed `Param`s, and NB607 for lines that are not
    `name = literal` (the last assignment of a name wins). With several notebooks
    (`parts`), one name with two defaults in two notebooks is NB630."""
    params: dict[str, Param] = {}
    problems: list[Problem] = []
    for cell in cells:
        if cell.tree is None:
            continue
        for node in cell.tree.body:
            param = _param(node, cell.cell.number)
            earlier = params.get(param.name) if param else None
            if earlier and earlier.default != param.default and \
                    origin(parts, None, earlier.cell)[0] != origin(parts, None, param.cell)[0]:
                problems.append(make_problem(
                    "NB630", f"parameter `{param.name}` = {param.default} here and "
                    f"{earlier.default} in cell {earlier.cell}: one option cannot have two "
                    "defaults", param.cell, param.line, cell_id=cell.cell.cell_id))
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
