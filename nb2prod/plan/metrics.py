"""The metrics cell: which values a pipeline reports, and how it printed them.

Accepted lines print one value: `print(name)`, `print(f"r2 = {r2:.4f}")`,
`print("r2 =", r2)`, or a bare `name` (Kale writes `print(name)`). The lines
are kept so the generated CLI prints its metrics the way the notebook did (a
bare name as its value, as Jupyter showed it: stdout stays the notebook's);
the printed outputs of plain `print(name)` lines become golden test values.
"""

from __future__ import annotations

import ast
import dataclasses

from nb2prod.analysis.analyze import CellAnalysis
from nb2prod.analysis.dataflow import analyze_cell
from nb2prod.plan.records import Block
from nb2prod.problems import Problem, make_problem


def read_metrics(cells: list[CellAnalysis]):
    """Metric names come from the `print(name)`, `print(f"... {name}")`,
    `print("label", name)` or bare `name` lines of metrics cells. The lines are
    kept too, so the package prints its metrics the way the notebook did."""
    names: list[str] = []
    problems: list[Problem] = []
    golden: list[tuple[str, str]] = []
    code: list = []
    for cell in cells:
        if cell.tree is None:
            continue
        printed, lines = [], []
        for node in cell.tree.body:
            found = metric_name(node)
            if found is None:
                problems.append(make_problem(
                    "NB608", "metrics cell line does not print one value: ignored",
                    cell.cell.number, node.lineno, node.col_offset + 1, cell.cell.cell_id,
                    hint="compute values in a step; list them here, one print(name) per line"))
                continue
            name, kind = found
            names.extend(metric_names(node))
            printed.append((name, kind))
            lines.append(f"print({name})" if kind == "bare" else ast.unparse(node))
        golden.extend(_golden(cell, printed))
        code.append(Block(cell.cell.number, cell.cell.cell_id, "\n".join(lines)))
    return tuple(dict.fromkeys(names)), tuple(golden), tuple(code), problems


def metric_location(cells: list[CellAnalysis], name: str) -> tuple:
    """(cell, line, column, cell_id) of the first metrics line that names `name`."""
    for cell in cells:
        for node in cell.tree.body if cell.tree is not None else ():
            if name in metric_names(node):
                return cell.cell.number, node.lineno, node.col_offset + 1, cell.cell.cell_id
    first = cells[0].cell if cells else None
    return (first.number, None, None, first.cell_id) if first else (None, None, None, None)


def split_metrics_cell(cell: CellAnalysis) -> tuple[CellAnalysis | None, CellAnalysis]:
    """(computation, report): a metrics cell that also computes (`acc = ...`,
    loops, prints of expressions) gives its other statements to a step of their
    own, run before the metrics are read; the metric lines stay. Both parts keep
    the cell's line numbers. (None, cell) when the cell only reports."""
    if cell.tree is None or all(metric_name(n) for n in cell.tree.body):
        return None, cell
    keep = [bool(metric_name(n)) for n in cell.tree.body]
    return (_part(cell, [not k for k in keep]), _part(cell, keep))


def _part(cell: CellAnalysis, chosen: list[bool]) -> CellAnalysis:
    lines = cell.code.python.split("\n")
    kept = [""] * len(lines)
    for node, take in zip(cell.tree.body, chosen):
        if take:
            for i in range(node.lineno - 1, node.end_lineno):
                kept[i] = lines[i]
    python = "\n".join(kept)
    tree = ast.parse(python)
    code = dataclasses.replace(cell.code, python=python)
    return dataclasses.replace(cell, code=code, tree=tree, flow=analyze_cell(tree))


def metric_names(node: ast.stmt) -> list[str]:
    """Every value a metric line prints: `print("acc", acc, "f1", f1)` gives both."""
    found = metric_name(node)
    if found is None:
        return []
    if found[1] != "formatted":
        return [found[0]]
    args = node.value.args
    return list(dict.fromkeys(n.id for arg in args for n in ast.walk(arg)
                              if isinstance(n, ast.Name)))


def metric_name(node: ast.stmt) -> tuple[str, str] | None:
    """(name, kind): kind is "bare", "plain" (`print(name)`) or "formatted"."""
    if not isinstance(node, ast.Expr):
        return None
    value = node.value
    if isinstance(value, ast.Name):
        return value.id, "bare"
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
            and value.func.id == "print" and not value.keywords):
        return None
    if len(value.args) == 1 and isinstance(value.args[0], ast.Name):
        return value.args[0].id, "plain"
    names = [n.id for arg in value.args for n in ast.walk(arg) if isinstance(n, ast.Name)]
    simple = all(isinstance(a, (ast.Constant, ast.Name, ast.JoinedStr)) for a in value.args)
    if not simple or not names:
        return None
    if len(names) > 1 and not all(isinstance(v.value, ast.Name) for arg in value.args
                                  for v in ast.walk(arg) if isinstance(v, ast.FormattedValue)):
        return None  # several names, some in expressions: not one value per name
    return names[0], "formatted"


def _golden(cell: CellAnalysis, printed: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Pair printed lines with plain `print(name)` metrics, when unambiguous."""
    stdout = "".join(_text(o) for o in cell.cell.outputs
                     if o.get("output_type") == "stream" and o.get("name") == "stdout")
    prints = [(name, kind) for name, kind in printed if kind != "bare"]
    lines = stdout.splitlines()
    pairs = []
    if len(lines) == len(prints):
        pairs = [(name, line) for (name, kind), line in zip(prints, lines) if kind == "plain"]
    if printed and printed[-1][1] == "bare":
        for output in cell.cell.outputs:
            if output.get("output_type") == "execute_result":
                text = _text(output.get("data", {}).get("text/plain", ""))
                pairs.append((printed[-1][0], text))
    return pairs


def _text(output) -> str:
    value = output.get("text", "") if isinstance(output, dict) else output
    return "".join(value) if isinstance(value, list) else str(value)


def unnamed_prints(computation: CellAnalysis) -> list[Problem]:
    """Prints of expressions in a metrics cell still print, but report no value."""
    return [
        make_problem("NB620", f"`{ast.unparse(node)[:60]}` prints a value that is not a "
                     "named metric: it is not in run()'s result or --metrics-out",
                     computation.cell.number, node.lineno, node.col_offset + 1,
                     computation.cell.cell_id)
        for node in computation.tree.body
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name) and node.value.func.id == "print"
    ]
