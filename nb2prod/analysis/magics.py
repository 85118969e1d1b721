"""IPython syntax in code cells: recognise it, decide what becomes of it.

`split_ipython(source)` returns the cell as plain Python with the same number
of lines (so every later line number still points at the notebook), plus one
`Magic` record per IPython construct with the decision taken for it. The
decisions live in two tables, `LINE_MAGICS` and `CELL_MAGICS`; a magic that
is in neither is refused, so nothing unknown is passed through as Python.

Like IPython (`IPython.core.inputtransformer2`), a line is IPython syntax only
where a logical line starts: a line that begins with `%`, `!` or `?` inside
brackets, inside a (triple-quoted) string or after a backslash continues the
Python statement above it (`"%.2f"\n % x` is a modulo). Where a logical line
starts is asked of `tokenize`, run on the Python text so far (IPython lines
already replaced by placeholders, so it always tokenizes); `%%name` is a cell
magic only on the cell's first non-blank line, as in IPython.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass

DROP, UNWRAP, DEPENDENCY, REFUSE = "drop", "unwrap", "dependency", "refuse"


@dataclass(frozen=True)
class Decision:
    """What becomes of one IPython construct, and why."""

    action: str
    reason: str


@dataclass(frozen=True)
class Magic:
    """One IPython construct found in a cell, with its decision."""

    line: int  # 1-based, within the cell
    text: str
    action: str
    reason: str
    packages: tuple[str, ...] = ()


@dataclass(frozen=True)
class CellCode:
    """A cell as plain Python (same line count) and the IPython taken out of it."""

    python: str
    magics: tuple[Magic, ...]

    @property
    def refused(self) -> tuple[Magic, ...]:
        return tuple(m for m in self.magics if m.action == REFUSE)


_DISPLAY = Decision(DROP, "changes notebook display only")
_KERNEL = Decision(DROP, "configures the interactive kernel only")
_TIMING = Decision(UNWRAP, "timing is dropped, the statement runs once")
_BENCHMARK = Decision(DROP, "a benchmark: IPython runs it many times in a scope of its own, "
                      "so it changes no variable of the notebook")

LINE_MAGICS: dict[str, Decision] = {
    **dict.fromkeys(["matplotlib", "pylab", "config", "xmode", "precision", "pprint"], _DISPLAY),
    **dict.fromkeys(
        ["load_ext", "reload_ext", "unload_ext", "autoreload", "aimport", "autosave",
         "autocall", "automagic", "colors", "doctest_mode", "pdb", "debug", "tb",
         "who", "whos", "who_ls", "lsmagic", "magic", "history", "hist", "page",
         "pinfo", "pinfo2", "psearch", "pwd", "notebook", "qtconsole", "connect_info",
         "alias_magic", "quickref", "recall", "rerun", "reset_selective", "clear"],
        _KERNEL,
    ),
    **dict.fromkeys(["time", "prun"], _TIMING),
    "timeit": _BENCHMARK,
    **dict.fromkeys(["pip", "conda", "mamba"], Decision(DEPENDENCY, "install command")),
    "run": Decision(REFUSE, "runs another script or notebook; import its code instead"),
    "load": Decision(REFUSE, "pastes a file into the cell at edit time; paste the code"),
    "cd": Decision(REFUSE, "changes the working directory; use explicit paths"),
    "env": Decision(REFUSE, "sets environment variables; use os.environ"),
    "store": Decision(REFUSE, "persists variables between notebooks; pass them explicitly"),
    "reset": Decision(REFUSE, "deletes the kernel's variables"),
    "sx": Decision(REFUSE, "runs a shell command"),
    "system": Decision(REFUSE, "runs a shell command"),
    "sc": Decision(REFUSE, "runs a shell command"),
    "bookmark": Decision(REFUSE, "changes the working directory"),
}

CELL_MAGICS: dict[str, Decision] = {
    **dict.fromkeys(["time", "prun"], _TIMING),
    "timeit": _BENCHMARK,
    "capture": Decision(UNWRAP, "output capture is dropped, the body runs"),
    **dict.fromkeys(
        ["html", "HTML", "javascript", "js", "latex", "markdown", "svg"],
        Decision(DROP, "renders notebook display only"),
    ),
    **dict.fromkeys(
        ["bash", "sh", "script", "system", "sx", "perl", "ruby", "python2", "pypy"],
        Decision(REFUSE, "runs another language or the shell; port it to Python"),
    ),
    "sql": Decision(REFUSE, "runs SQL through a kernel extension; use a database client"),
    "R": Decision(REFUSE, "runs R through rpy2; port it to Python"),
    "writefile": Decision(REFUSE, "writes a file at edit time; commit the file instead"),
    "file": Decision(REFUSE, "writes a file at edit time; commit the file instead"),
    "cython": Decision(REFUSE, "compiles Cython in the kernel; build it as an extension"),
}

_MAGIC_ASSIGN = re.compile(r"^[\w\s,]+=\s*[!%]")
_OPTIONS_WITH_VALUE = ("-n", "-r", "-p", "-o", "-T", "-D", "-l", "-s")


def split_ipython(source: str) -> CellCode:
    """Split IPython syntax from Python; the result has as many lines as `source`."""
    if "%" not in source and "!" not in source and "?" not in source:
        return CellCode(source, ())  # fast path: every IPython construct needs one of them
    lines = source.split("\n")
    first = next((i for i, text in enumerate(lines) if text.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        return _cell_magic(lines, first)
    out: list[str] = []
    magics: list[Magic] = []
    number = 0
    while number < len(lines):
        text, end = _joined(lines, number)
        python, magic = _line(text, number + 1) if _maybe_ipython(text) else (text, None)
        if magic and _logical_line_starts(out):
            if magic.action != UNWRAP and text.lstrip().startswith("%"):
                end = _bracket_end(lines, number, end)
            out.append(python)  # IPython joins a magic's backslash continuation lines
            out.extend("" for _ in lines[number + 1 : end])
            magics.append(magic)
            number = end
        else:  # Python, or inside brackets, a string or a continuation
            out.append(lines[number])
            number += 1
    return CellCode("\n".join(out), tuple(magics))


def _bracket_end(lines: list[str], start: int, end: int) -> int:
    """A dropped `%timeit f(a,` whose brackets close on later lines takes them too."""
    chunk = [lines[start].lstrip().lstrip("%"), *lines[start + 1 : end]]
    while end < len(lines) and not _logical_line_starts(chunk):
        chunk.append(lines[end])
        end += 1
    return end


def _joined(lines: list[str], start: int) -> tuple[str, int]:
    """Line `start` with its backslash continuation lines, and the index after them."""
    text, end = lines[start], start + 1
    while text.rstrip().endswith("\\") and end < len(lines):
        text = text.rstrip()[:-1] + " " + lines[end].strip()
        end += 1
    return text, end


def _maybe_ipython(text: str) -> bool:
    """Cheap test before the tokenizer: could this line be IPython syntax at all?"""
    stripped = text.strip()
    return stripped[:1] in ("%", "!", "?") or "?" in stripped or "=" in stripped


def _logical_line_starts(python_lines: list[str]) -> bool:
    """True when the Python text so far ends a logical line (no open bracket,
    string or backslash), so the next line starts a statement of its own."""
    if not python_lines:
        return True
    text = "\n".join(python_lines) + "\n"
    try:
        for _ in tokenize.generate_tokens(io.StringIO(text).readline):
            pass
    except tokenize.TokenError as error:
        message = str(error.args[0])  # 3.11: "EOF in multi-line ...", 3.12+: "unterminated ..."
        return "unterminated string literal" in message  # a one-line string: not open
    except SyntaxError:  # the user's own error, reported by the parser later
        return True
    return True


def _placeholder(text: str) -> str:
    indent = text[: len(text) - len(text.lstrip())]
    return f"{indent}pass" if indent else ""


def _cell_magic(lines: list[str], first: int) -> CellCode:
    header = lines[first].strip()
    name, _, args = header[2:].partition(" ")
    decision = CELL_MAGICS.get(name, Decision(REFUSE, f"unknown cell magic %%{name}"))
    if name == "capture" and args.split() and not args.split()[0].startswith("-"):
        decision = Decision(REFUSE, "%%capture binds captured output to a variable")
    magic = Magic(first + 1, header, decision.action, decision.reason)
    if decision.action == UNWRAP:
        body = ["" if i <= first else text for i, text in enumerate(lines)]
        inner = split_ipython("\n".join(body))
        return CellCode(inner.python, (magic, *inner.magics))
    return CellCode("\n".join("" for _ in lines), (magic,))


def _line(text: str, number: int) -> tuple[str, Magic | None]:
    """The decision for `text` if it starts a logical line (the caller checks that)."""
    stripped = text.strip()
    indent = text[: len(text) - len(text.lstrip())]
    placeholder = _placeholder(text)
    if not stripped or stripped.startswith("#"):
        return text, None
    if stripped.startswith("%%"):
        return placeholder, Magic(
            number, stripped, REFUSE, "a cell magic works only on the first line of its cell; "
            "move it to a cell of its own"
        )
    if stripped.startswith("!"):
        return placeholder, _shell(stripped, number)
    if stripped.startswith("%"):
        return _line_magic(stripped, number, indent, placeholder)
    if _MAGIC_ASSIGN.match(stripped):
        return placeholder, Magic(
            number, stripped, REFUSE, "assigns the output of a shell command or magic"
        )
    if _is_help(stripped):
        return placeholder, Magic(number, stripped, DROP, "help lookup, interactive only")
    return text, None


def _is_help(stripped: str) -> bool:
    """`?obj`, `obj?`, `obj.attr??`, `df.groupby("a")?`: IPython's help lookups.
    A `?` at the end of a comment or a string is not one."""
    if stripped.startswith("?"):
        return True
    if not stripped.endswith("?"):
        return False
    expression = stripped.rstrip("?")
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(expression + "\n").readline))
    except (tokenize.TokenError, SyntaxError):
        return False
    return bool(expression.strip()) and all(
        t.type not in (tokenize.COMMENT, tokenize.ERRORTOKEN) for t in tokens
    )


def _shell(stripped: str, number: int) -> Magic:
    words = _words(stripped[1:])
    if words[:2] in (["pip", "install"], ["pip3", "install"]) or words[:3] == [
        "python", "-m", "pip"
    ]:
        return _install(stripped, number, words)
    if words[:2] in (["conda", "install"], ["mamba", "install"]):
        return _install(stripped, number, words)
    return Magic(number, stripped, REFUSE, "runs a shell command; port it to Python")


def _line_magic(stripped: str, number: int, indent: str, placeholder: str):
    name, _, args = stripped.lstrip("%").partition(" ")
    decision = LINE_MAGICS.get(name, Decision(REFUSE, f"unknown magic %{name}"))
    if decision.action == DEPENDENCY:
        return placeholder, _install(stripped, number, [name, *_words(args)])
    if decision.action == UNWRAP:
        statement = _strip_timing_options(args)
        if statement:
            return f"{indent}{statement}", Magic(number, stripped, UNWRAP, decision.reason)
        return placeholder, Magic(number, stripped, DROP, "timing with no statement")
    return placeholder, Magic(number, stripped, decision.action, decision.reason)


def _strip_timing_options(args: str) -> str:
    """`%timeit -n 10 -r 3 f(x)` -> `f(x)`; options that take a value eat one word."""
    words = args.split(" ")
    while words and words[0].startswith("-"):
        option = words.pop(0)
        if option in _OPTIONS_WITH_VALUE and words:
            words.pop(0)
    return " ".join(words).strip()


def _install(stripped: str, number: int, words: list[str]) -> Magic:
    """`pip install a b==1` -> dependency on a and b==1; anything unusual is refused."""
    if "install" not in words:
        return Magic(number, stripped, REFUSE, "package manager command other than install")
    tail = words[words.index("install") + 1 :]
    packages = tuple(w for w in tail if not w.startswith("-"))
    if any(w in ("-r", "--requirement", "-e", "--editable") for w in tail) or not packages:
        return Magic(number, stripped, REFUSE, "install from a file or path; declare it instead")
    if any(p.startswith((".", "/")) or "://" in p for p in packages):
        return Magic(number, stripped, REFUSE, "install from a path or URL; declare it instead")
    return Magic(number, stripped, DEPENDENCY, "becomes a declared dependency", packages)


def _words(text: str) -> list[str]:
    import shlex  # only shell escapes and install magics need it

    try:
        return shlex.split(text, comments=True)
    except ValueError:
        return text.split()
