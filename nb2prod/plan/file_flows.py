"""Files passed between steps, found in their code (pure, `ast` only).

Files as hidden dataflow: a step writes a file by literal path, a later step reads it.

On one machine that works; once steps run in separate pods (Kubeflow) the
reader finds no file. This module only finds such pairs, from the steps' code
with `ast`; it never looks at the disk. `find_file_flows(steps)` is the API
`plan`, `build` and `lint` share (a plan keeps its flows as `Plan.file_flows`);
`file_flow_problems` turns findings into NB618 and NB633 problems.

Literal paths are followed (`df.to_csv("clean.csv")`, `Path("x").read_text()`,
`open("x", "w")`), and names the notebook binds exactly once, at a cell's top level,
to a path made of literals and such names (`OUT = os.path.join(DATA, "x.csv")`,
`f"{DATA}/x.csv"`, `Path(DATA) / "x"`: `path_constants`); any other path is known
only at run time and cannot be compared statically.
"""

from __future__ import annotations

import ast
import posixpath
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace

from nb2prod.places import origin
from nb2prod.plan.records import Block, Plan, Step
from nb2prod.problems import Problem, in_order, make_problem

WRITE, READ = "write", "read"

CALLS: dict[str, str] = {
    # pandas / polars / matplotlib writers: `obj.to_csv(path)`
    "to_csv": WRITE, "to_parquet": WRITE, "to_json": WRITE, "to_pickle": WRITE,
    "to_excel": WRITE, "to_feather": WRITE, "to_hdf": WRITE, "to_orc": WRITE,
    "to_stata": WRITE, "write_csv": WRITE, "write_parquet": WRITE, "savefig": WRITE,
    # numpy, joblib, torch, keras: `np.save(path, a)`, `joblib.dump(obj, path)`
    "save": WRITE, "savez": WRITE, "savez_compressed": WRITE, "savetxt": WRITE,
    "dump": WRITE,
    # readers
    "read_csv": READ, "read_parquet": READ, "read_json": READ, "read_pickle": READ,
    "read_excel": READ, "read_feather": READ, "read_hdf": READ, "read_table": READ,
    "read_orc": READ, "read_stata": READ, "scan_csv": READ, "scan_parquet": READ,
    "load": READ, "loadtxt": READ, "genfromtxt": READ, "imread": READ,
}
"""Callee name -> what a call does with the first literal path among its arguments."""

PATH_METHODS: dict[str, str] = {
    "write_text": WRITE, "write_bytes": WRITE, "read_text": READ, "read_bytes": READ,
}
"""`Path("x").<method>()`: the path is the receiver."""

PATH_KEYWORDS = ("path", "path_or_buf", "filename", "fname", "file", "filepath", "source")
PATH_TYPES = frozenset(["Path", "PurePath", "PosixPath"])


@dataclass(frozen=True)
class FileAccess:
    path: str  # normalised POSIX path as written in the code
    mode: str  # WRITE or READ
    cell: int
    line: int  # line inside the step's kept code of that cell


@dataclass(frozen=True)
class FileFlow:
    """`writer` writes `path`; the later step `reader` reads it at `cell`:`line`."""

    writer: str  # step name
    reader: str
    path: str
    cell: int
    line: int
    writer_cell: int
    writer_line: int
    writer_function: str  # the steps' functions: names may repeat, functions do not
    reader_function: str


def find_file_flows(steps: Iterable[Step]) -> list[FileFlow]:
    """Cross-step file dataflow, in reading order; one finding per (writer, reader, path).
    Paths are literals, or names the steps bind once to a path (`path_constants`)."""
    steps = list(steps)
    constants = path_constants(b.code for s in steps for b in s.blocks)
    last_writer: dict[str, tuple[Step, FileAccess]] = {}
    flows: dict[tuple[str, str, str], FileFlow] = {}
    for step in steps:
        accesses = [a for block in step.blocks for a in block_accesses(block, constants)]
        for access in accesses:
            if access.mode != READ or access.path not in last_writer:
                continue
            writer, wrote = last_writer[access.path]
            if writer.name == step.name:
                continue
            key = (writer.name, step.name, access.path)
            flows.setdefault(key, FileFlow(writer.name, step.name, access.path, access.cell,
                                           access.line, wrote.cell, wrote.line,
                                           writer.function, step.function))
        for access in accesses:
            if access.mode == WRITE:
                last_writer[access.path] = (step, access)
    return list(flows.values())


def block_accesses(block: Block, constants: dict[str, str] | None = None) -> list[FileAccess]:
    """File reads and writes in one block by a literal path, or (with `constants`) by a
    name bound once to one, in source order."""
    found = []
    for node in ast.walk(parse_code(block.code)):
        if isinstance(node, ast.Call):
            access = call_access(node, constants)
            if access:
                path, mode = access
                found.append(FileAccess(path, mode, block.cell,
                                        block.cell_line(node.lineno)))
    return sorted(found, key=lambda a: a.line)


def call_access(call: ast.Call, constants: dict[str, str] | None = None
                ) -> tuple[str, str] | None:
    """(path, READ or WRITE) of a call that reads or writes a file whose path is known."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name == "open":
        if isinstance(func, ast.Attribute):  # Path("x").open("w")
            path = _path_value(func.value) or _named(func.value, constants)
            mode_arg = call_argument(call, 0, "mode")
        else:
            file = call_argument(call, 0, "file")
            path = _literal_path(file, True) or _named(file, constants)
            mode_arg = call_argument(call, 1, "mode")
        return (path, _open_mode(mode_arg)) if path else None
    if name in PATH_METHODS and isinstance(func, ast.Attribute):
        path = _path_value(func.value) or _named(func.value, constants)
        return (path, PATH_METHODS[name]) if path else None
    if name in CALLS:
        named = (_named(node, constants) for node in _path_arguments(call))
        path = _first_literal_path(call) or next((p for p in named if p), None)
        return (path, CALLS[name]) if path else None
    return None


def _named(node: ast.expr | None, constants: dict[str, str] | None) -> str | None:
    """The path a name (or an expression of names) bound once to one holds."""
    if constants is None or node is None or isinstance(node, ast.Constant):
        return None
    value = resolve_path(node, constants)
    return posixpath.normpath(value) if value and ("/" in value or "." in value) else None


def literal_argument(call: ast.Call) -> ast.Constant | None:
    """The string constant that is the path `call` reads or writes, when the path is one
    literal (`read_csv("x.csv")`, `open("x")`, `Path("x").read_text()`); else None."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name == "open" and not isinstance(func, ast.Attribute):
        node = call_argument(call, 0, "file")
    elif name in PATH_METHODS or name == "open":
        inner = func.value if isinstance(func, ast.Attribute) else None
        node = inner.args[0] if isinstance(inner, ast.Call) and len(inner.args) == 1 \
            else None
    else:
        node = next((n for n in [*call.args, *(k.value for k in call.keywords
                                                 if k.arg in PATH_KEYWORDS)]
                     if _literal_path(n)), None)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node
    return None


def call_argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    """The call's argument at `position`, or passed as `keyword`, else None."""
    if len(call.args) > position:
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


def _open_mode(node: ast.expr | None) -> str:
    if node is None:
        return READ
    mode = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else "r"
    return WRITE if any(c in mode for c in "wax") else READ


def _path_arguments(call: ast.Call) -> list[ast.expr]:
    return [*call.args, *(k.value for k in call.keywords if k.arg in PATH_KEYWORDS)]


def _first_literal_path(call: ast.Call) -> str | None:
    for node in _path_arguments(call):
        path = _literal_path(node)
        if path:
            return path
    return None


def _path_value(node: ast.expr) -> str | None:
    """`Path("a") / "b"` or `Path("x")` -> "a/b" / "x"; anything else -> None."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        left, right = _path_value(node.left), _literal_path(node.right, True)
        return posixpath.normpath(f"{left}/{right}") if left and right else None
    if isinstance(node, ast.Call) and node.args and not node.keywords:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in PATH_TYPES:
            parts = [_literal_path(a, True) for a in node.args]
            return posixpath.normpath("/".join(parts)) if all(parts) else None
    return None


def _literal_path(node: ast.expr | None, surely_path: bool = False) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip():
        text = node.value
        # Among a generic call's arguments, a string with no separator and no dot is
        # rarely a file (`orient="records"`); for open() and Path() it surely is.
        if not surely_path and "/" not in text and "." not in text:
            return None
        return posixpath.normpath(text)
    if node is not None and isinstance(node, (ast.Call, ast.BinOp)):
        return _path_value(node)
    return None


def file_flow_problems(flows: Iterable[FileFlow], parts=()) -> list[Problem]:
    """NB618 warnings, located where the later step reads the file; NB633 notes for the
    files one notebook hands to a later one (`parts`), which is how projects work."""
    problems = []
    for f in flows:
        crosses = origin(parts, None, f.writer_cell)[0] != origin(parts, None, f.cell)[0]
        if crosses:
            problems.append(make_problem(
                "NB633", f"`{f.path}` hands data from step `{f.writer}` (cell "
                f"{f.writer_cell}) to step `{f.reader}`: an edge between the notebooks",
                f.cell, f.line))
        else:
            problems.append(make_problem(
                "NB618", f"step `{f.reader}` reads `{f.path}`, which step `{f.writer}` writes "
                f"(cell {f.writer_cell}): a file passed between steps is hidden dataflow",
                f.cell, f.line))
    return problems


def file_order_problems(steps: Iterable[Step], parts=()) -> list[Problem]:
    """With several notebooks (`parts`): NB631 at a read of a file only a later notebook
    writes, NB632 at a write of a file another notebook wrote before."""
    steps = list(steps)
    constants = path_constants(b.code for s in steps for b in s.blocks)
    accesses = [a for step in steps for block in step.blocks
                for a in block_accesses(block, constants)]
    problems, writers = [], {}
    for access in accesses:
        if access.mode == WRITE:
            earlier = writers.get(access.path)
            if earlier and origin(parts, None, earlier.cell)[0] != \
                    origin(parts, None, access.cell)[0]:
                problems.append(make_problem(
                    "NB632", f"`{access.path}` is written here and in cell {earlier.cell}",
                    access.cell, access.line))
            writers.setdefault(access.path, access)
    written = {a.path: a for a in reversed(accesses) if a.mode == WRITE}
    seen: set[str] = set()
    for access in accesses:
        if access.mode == WRITE:
            seen.add(access.path)
        elif access.path in written and access.path not in seen and parts and \
                origin(parts, None, access.cell)[0] != \
                origin(parts, None, written[access.path].cell)[0]:
            # one notebook reading a file and writing it later is an update, not an order
            problems.append(make_problem(
                "NB631", f"`{access.path}` is read here, before cell {written[access.path].cell} "
                "writes it", access.cell, access.line))
    return problems


def with_file_flow_problems(plan: Plan) -> Plan:
    """`plan` with its file flows (the report, the graph and Kubeflow read them there),
    and NB618, NB633, NB631 and NB632 added to its problems, in the plan's order."""
    flows = tuple(find_file_flows(plan.steps))
    added = [*file_flow_problems(flows, plan.parts),
             *file_order_problems(plan.steps, plan.parts)]
    return replace(plan, file_flows=flows, problems=in_order([*plan.problems, *added]))


JOIN_CALLS = frozenset(["os.path.join", "posixpath.join", "Path", "pathlib.Path",
                        "PurePath", "PosixPath"])


def path_constants(codes: Iterable[str]) -> dict[str, str]:
    """Name -> path for names bound once, at top level, to a path `resolve_path` makes."""
    trees = [parse_code(code) for code in codes]
    counts = Counter(target.id for tree in trees for node in ast.walk(tree)
                     if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign))
                     for target in _targets(node) if isinstance(target, ast.Name))
    found: dict[str, str] = {}
    for tree in trees:
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name) and counts[node.targets[0].id] == 1:
                value = resolve_path(node.value, found)
                if value:
                    found[node.targets[0].id] = value
    return found


def resolve_path(node: ast.expr, constants: dict[str, str]) -> str | None:
    """The path an expression of literals and known names makes, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value or None
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.JoinedStr):
        parts = [v.value if isinstance(v, ast.Constant) else
                 resolve_path(v.value, constants) if isinstance(v, ast.FormattedValue)
                 and v.format_spec is None and v.conversion == -1 else None
                 for v in node.values]
        return "".join(parts) if all(p is not None for p in parts) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Div)):
        left, right = resolve_path(node.left, constants), resolve_path(node.right, constants)
        if left is None or right is None:
            return None
        return left + right if isinstance(node.op, ast.Add) else f"{left}/{right}"
    if isinstance(node, ast.Call) and _dotted(node.func) in JOIN_CALLS and node.args \
            and not node.keywords:
        parts = [resolve_path(a, constants) for a in node.args]
        return posixpath.join(*parts) if all(parts) else None
    return None


def _targets(node) -> list[ast.expr]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return [t for target in targets for t in ast.walk(target)]


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def parse_code(code: str) -> ast.Module:
    try:
        return ast.parse(code)
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])
