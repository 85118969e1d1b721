"""NB301-NB302, NB304-NB305: what ties a notebook to one machine or one person.

Paths are judged from string literals only (no execution): a literal that is
absolute or under a home directory only exists on the author's machine; a
literal relative path given to a reader (`pd.read_csv("data/x.csv")`) must be
a file the repository provides, or one an earlier cell writes.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator

from nb2prod.lint.context import Check, LintContext, found, node_column
from nb2prod.problems import ERROR, WARNING, Problem, Rule

ABSOLUTE = Rule(
    "NB301", "absolute-path", WARNING,
    "A string literal is an absolute filesystem path.",
    "Use a path relative to the repository, or make it a parameter.",
    "Absolute paths exist on one machine; the package runs in CI, a container or a "
    "colleague's laptop where they do not.",
    "df = pd.read_csv('/mnt/data/sales.csv')",
    "data_dir = 'data'  # parameters cell\ndf = pd.read_csv(f'{data_dir}/sales.csv')")
HOME = Rule(
    "NB302", "home-directory-path", WARNING,
    "A string literal points into a home directory (`~/...`, `/home/alice`, `C:\\Users\\...`).",
    "Use a path relative to the repository, or make it a parameter.",
    "A home directory belongs to one person; nobody else has your `~/Downloads`.",
    "df = pd.read_csv('/home/alice/Downloads/sales.csv')",
    "df = pd.read_csv('data/sales.csv')")
INTERACTIVE = Rule(
    "NB304", "interactive-call", ERROR,
    "Code waits for a person: `input()`, `getpass()`, widgets, `interact`, debuggers.",
    "Make the value a parameter (a `parameters` cell) instead of asking for it.",
    "A pipeline runs unattended; `input()` blocks forever or fails on a closed stdin, "
    "and widgets do nothing outside Jupyter.",
    "threshold = float(input('threshold? '))", "threshold = 0.5  # parameters cell")
MISSING_FILE = Rule(
    "NB305", "missing-input-file", WARNING,
    "A file the notebook reads is not in the repository and no earlier cell writes it.",
    "Commit the file (or a small sample), download it in code, or make the path a parameter.",
    "The notebook only runs where that file happens to exist; CI and the package will not "
    "find it.",
    "df = pd.read_csv('data/sales_final_v2.csv')  # not committed",
    "df = pd.read_csv('data/sales.csv')  # committed, or fetched by an earlier step")

RULES = (ABSOLUTE, HOME, INTERACTIVE, MISSING_FILE)

_HOME = re.compile(r"^(~[\w.-]*[/\\]|/home/[^/\s]+|/Users/[^/\s]+|/root(/|$)"
                   r"|[A-Za-z]:[\\/]+(Users|Documents and Settings)[\\/]+[^\\/\s]+)")
_ABSOLUTE = re.compile(
    r"^(/(mnt|data|datasets|opt|srv|media|Volumes|content|kaggle|dbfs|workspace|scratch"
    r"|nfs|gpfs|shared|projects|storage)/\S*"
    r"|[A-Za-z]:[\\/]\S*|\\\\[\w.-]+\\\S*"
    r"|/([\w.-]+/)+[\w-][\w.-]*\.[A-Za-z][A-Za-z0-9]{0,5})$")
_INTERACTIVE = {
    "input": "input()", "getpass.getpass": "getpass()", "breakpoint": "breakpoint()",
    "pdb.set_trace": "pdb.set_trace()", "ipdb.set_trace": "ipdb.set_trace()",
    "matplotlib.pyplot.ginput": "plt.ginput()", "webbrowser.open": "webbrowser.open()",
    "IPython.embed": "IPython.embed()",
}
_INTERACTIVE_MODULES = ("ipywidgets.", "IPython.html.widgets.")
_INTERACTIVE_PARTS = tuple(tuple(name.strip(".").split("."))
                           for name in (*_INTERACTIVE, *_INTERACTIVE_MODULES))
"""What a notebook must mention for NB304 to find anything (`LintContext.may_call`)."""
_READERS = frozenset([
    "read_csv", "read_table", "read_excel", "read_parquet", "read_json", "read_feather",
    "read_pickle", "read_hdf", "read_orc", "read_stata", "read_sas", "read_spss", "read_fwf",
    "read_xml", "read_file", "open", "load", "loadtxt", "genfromtxt", "imread",
    "load_workbook", "fromfile", "read_image", "load_img",
])
_WRITERS = re.compile(r"^(to_\w+|save\w*|dump\w*|write\w*|urlretrieve|download\w*|"
                      r"copy\w*|move|extract\w*|export\w*|imwrite|mkdir|makedirs)$")
_LOOKS_LIKE_FILE = re.compile(r"[/\\]|\.[A-Za-z][A-Za-z0-9]{0,7}$")


def check_paths(ctx: LintContext) -> Iterator[Problem]:
    for cell in ctx.parsed:
        if "/" not in cell.cell.source and "\\" not in cell.cell.source \
                and "~" not in cell.cell.source:
            continue
        for node in ctx.facts[cell.cell.index].strings:
            text = node.value
            if len(text) > 260 or "\n" in text:
                continue
            if _HOME.match(text):
                yield found(HOME, cell, f"home-directory path {text!r}", node.lineno,
                            node_column(cell, node))
            elif _ABSOLUTE.match(text):
                yield found(ABSOLUTE, cell, f"absolute path {text!r}", node.lineno,
                            node_column(cell, node))


def check_interactive(ctx: LintContext) -> Iterator[Problem]:
    if not ctx.may_call(_INTERACTIVE_PARTS):
        return
    for cell in ctx.parsed:
        facts = ctx.facts[cell.cell.index]
        for node in (*(c.func for c in facts.calls), *facts.decorators):
            name = ctx.qualified(node)
            if name is None:
                continue
            label = _INTERACTIVE.get(name) or (
                f"{name.rpartition('.')[2]} (ipywidgets)"
                if name.startswith(_INTERACTIVE_MODULES) else None)
            if label and not (name == "input" and "input" in cell.flow.defines):
                yield found(INTERACTIVE, cell, f"`{label}` needs a person at the keyboard",
                            node.lineno, node_column(cell, node))


def check_missing_files(ctx: LintContext) -> Iterator[Problem]:
    # Words of shell escapes and magics (`!wget -O data/x.csv ...`) may create files.
    written: set[str] = {w for c in ctx.code_cells for m in c.code.magics
                         for w in m.text.split()}
    folder = ctx.path.parent
    probes = ctx.memo.setdefault("probes", {})  # what the cache must check again on a hit
    for cell in ctx.parsed:
        for call in ctx.facts[cell.cell.index].calls:
            name = _callee(call.func)
            if name is None:
                continue
            literal = _first_string(call)
            if literal is None:
                continue
            if _WRITERS.match(name) or (name == "open" and _writes(call)):
                written.add(literal.value)
            elif name in _READERS and _is_missing(literal.value, folder, ctx.root, written,
                                                     probes):
                yield found(MISSING_FILE, cell, f"reads {literal.value!r}, which is not in "
                            "the repository", literal.lineno, node_column(cell, literal))


def _callee(func: ast.expr) -> str | None:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else None


def _first_string(call: ast.Call) -> ast.Constant | None:
    candidates = call.args[:1] or [k.value for k in call.keywords if k.arg in (
        "filepath_or_buffer", "path", "io", "file", "fname", "filename", "path_or_buf")]
    node = candidates[0] if candidates else None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node
    return None


def _writes(call: ast.Call) -> bool:
    mode = call.args[1] if len(call.args) > 1 else next(
        (k.value for k in call.keywords if k.arg == "mode"), None)
    return isinstance(mode, ast.Constant) and any(m in str(mode.value) for m in "wax")


def _is_missing(text: str, folder, root, written: set[str],
                probes: dict[str, bool] | None = None) -> bool:
    if (not text or "://" in text or os.path.isabs(text) or text.startswith("~")
            or any(ch in text for ch in "*?{}<>\n") or not _LOOKS_LIKE_FILE.search(text)):
        return False
    if text in written or any(text.startswith(w.rstrip("/") + "/") for w in written if w):
        return False
    for candidate in (os.path.join(folder, text), os.path.join(root, text)):
        exists = os.path.exists(candidate)
        if probes is not None:
            probes[candidate] = exists
        if exists:
            return False
    return True


CHECKS = (
    Check(("NB301", "NB302"), check_paths),
    Check(("NB304",), check_interactive),
    Check(("NB305",), check_missing_files),
)
