"""Files the pipeline reads and no step writes become path options of the package.

`pd.read_csv("data/transactions.csv")` works only where the notebook ran. The
literal becomes a parameter `transactions_path` (option `--transactions-path`,
default the notebook's literal, so a run from the notebook's folder is the
notebook's run) and the read becomes `pd.read_csv(transactions_path)`. A
relative path is resolved against the working directory, as the notebook's was.

Decided here (pure, `ast` only):
  - only reads by a literal path in step code at a cell's top level: a read in a
    function body (a helper) keeps its literal, as module code cannot see a
    parameter; the parameters, module-level, skipped and test cells are left alone;
  - a file some step writes before it is read is an edge between steps, not an
    input; URLs and glob patterns are not files;
  - one option per file however many steps read it; named after the file
    (`transactions_path`), with its folder when the name is taken
    (`raw_transactions_path`);
  - the rewrite is of the cell's text at the literal's exact place, so every
    other line and column stays where the notebook has it.
"""

from __future__ import annotations

import ast
import posixpath
from dataclasses import dataclass, replace

from nb2prod import naming
from nb2prod.analysis.analyze import CellAnalysis, NotebookAnalysis
from nb2prod.analysis.tags import EXPORT, FUNCTIONS, IMPORTS, PARAMETERS, SKIP, TEST
from nb2prod.notebook import Notebook
from nb2prod.plan import codegen
from nb2prod.plan.file_flows import (
    CALLS,
    READ,
    WRITE,
    call_access,
    literal_argument,
    path_constants,
)
from nb2prod.plan.records import Param

LEFT_ALONE = frozenset([SKIP, TEST, PARAMETERS, IMPORTS, FUNCTIONS, EXPORT])
"""Cells whose reads keep their literal: not run, run at import time, or tests."""
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


@dataclass(frozen=True)
class Read:
    path: str  # normalised, as file_flows compares paths
    file: str  # the path as the notebook has it
    node: ast.expr  # what the option's name replaces: the string, or a name's value
    cell: int  # 1-based cell number


def data_options(analysis: NotebookAnalysis) -> tuple[Notebook, tuple[Param, ...]]:
    """The notebook with each input file's literal replaced by its option's name, and
    the options (empty, and the notebook unchanged, when it reads no input file)."""
    reads = input_reads(analysis)
    if not reads:
        return analysis.notebook, ()
    taken = _names(analysis)
    names: dict[str, str] = {}
    params: list[Param] = []
    for read in reads:
        if read.path not in names:
            names[read.path] = _option_name(read.path, taken)
            params.append(Param(names[read.path], naming.cli_option(names[read.path]), "str",
                                codegen.python_literal(read.file), read.cell,
                                read.node.lineno, file=read.file))
    sources = {c.cell.number: c.cell.source for c in analysis.code_cells}
    places = {(r.cell, r.node.lineno, r.node.col_offset): r for r in reads}  # once each
    for read in sorted(places.values(), key=lambda r: (r.cell, -r.node.lineno,
                                                       -r.node.col_offset)):
        sources[read.cell] = _replaced(sources[read.cell], read.node, names[read.path])
    cells = tuple(replace(c, source=sources[c.number]) if c.number in sources else c
                  for c in analysis.notebook.cells)
    return replace(analysis.notebook, cells=cells), tuple(params)


def input_reads(analysis: NotebookAnalysis) -> list[Read]:
    """Reads of files no cell writes, by a literal path or a name bound once to a path
    (`RAW = os.path.join("data", "raw.csv")`), in notebook order (a file written after
    it is read is NB631's business, not an input)."""
    cells = [c for c in analysis.code_cells if c.tree is not None and c.tags.role != SKIP]
    constants = path_constants(c.code.python for c in cells)
    accesses = [(cell, node, call_access(node)) for cell in cells
                for node in _top_level_calls(cell.tree)]
    written = {access[0] for cell in cells for node in ast.walk(cell.tree)
               if isinstance(node, ast.Call) and (access := call_access(node, constants))
               and access[1] == WRITE}
    bindings = _bindings(cells, constants)
    found: list[Read] = []
    for cell, node, access in accesses:
        if cell.tags.role in LEFT_ALONE:
            continue
        if access is None:  # through a name: its binding's value becomes the option
            read = _read_through_name(node, bindings)
            if read is not None and read.path not in written:
                found.append(read)
            continue
        if access[1] != READ or access[0] in written:
            continue
        literal = literal_argument(node)
        if literal is not None and _is_file(literal.value) and _exact(cell, literal):
            found.append(Read(access[0], literal.value, literal, cell.cell.number))
    return found


def _bindings(cells: list[CellAnalysis], constants: dict[str, str]) -> dict[str, Read]:
    """Name -> its one binding to a path, when a step cell binds it on one line."""
    found = {}
    for cell in cells:
        if cell.tags.role in LEFT_ALONE:
            continue
        for node in cell.tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name) and \
                    node.targets[0].id in constants and _exact(cell, node.value):
                path = constants[node.targets[0].id]
                if _is_file(path):
                    found[node.targets[0].id] = Read(posixpath.normpath(path), path,
                                                     node.value, cell.cell.number)
    return found


def _read_through_name(call: ast.Call, bindings: dict[str, Read]) -> Read | None:
    """`pd.read_csv(RAW)` (a reader whose path is a bound name): that name's binding."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if CALLS.get(name) != READ or not call.args or not isinstance(call.args[0], ast.Name):
        return None
    return bindings.get(call.args[0].id)


def _top_level_calls(tree: ast.Module) -> list[ast.Call]:
    """Calls outside function, class and lambda bodies, in source order."""
    calls, stack = [], list(reversed(tree.body))
    while stack:
        node = stack.pop()
        if isinstance(node, SCOPES):
            continue
        if isinstance(node, ast.Call):
            calls.append(node)
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return sorted(calls, key=lambda c: (c.lineno, c.col_offset))


def _is_file(path: str) -> bool:
    return "://" not in path and not any(c in path for c in "*?[")


def _exact(cell: CellAnalysis, node: ast.expr) -> bool:
    """The expression stands on one line of the cell's text as the parsed code has it
    (a line IPython syntax rewrote, or a string over several lines, is not rewritten)."""
    lines = cell.cell.source.split("\n")
    if node.lineno != node.end_lineno or node.lineno > len(lines):
        return False
    text = lines[node.lineno - 1][node.col_offset:node.end_col_offset]
    try:
        return ast.dump(ast.parse(text, mode="eval").body) == ast.dump(node)
    except SyntaxError:
        return False


def _replaced(source: str, node: ast.expr, name: str) -> str:
    lines = source.split("\n")
    line = lines[node.lineno - 1]
    lines[node.lineno - 1] = line[:node.col_offset] + name + line[node.end_col_offset:]
    return "\n".join(lines)


def _option_name(path: str, taken: set[str]) -> str:
    """`data/transactions.csv` -> `transactions_path`; `raw_transactions_path` when taken."""
    stem = posixpath.splitext(posixpath.basename(path))[0] or "data"
    folder = posixpath.basename(posixpath.dirname(path))
    for candidate in (f"{stem}_path", f"{folder}_{stem}_path" if folder else ""):
        name = naming.identifier(candidate) if candidate else ""
        if name and name not in taken and name not in naming.RESERVED:
            taken.add(name)
            return name
    return naming.unique(naming.identifier(f"{stem}_path"), taken)


def _names(analysis: NotebookAnalysis) -> set[str]:
    """Every name the notebook's code binds or reads: an option must shadow none."""
    return {node.id for cell in analysis.code_cells if cell.tree is not None
            for node in ast.walk(cell.tree) if isinstance(node, ast.Name)} | {
        arg.arg for cell in analysis.code_cells if cell.tree is not None
        for arg in ast.walk(cell.tree) if isinstance(arg, ast.arg)}
