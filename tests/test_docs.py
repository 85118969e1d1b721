"""Every `nb2prod` command shown in README.md and docs/*.md runs, so docs cannot rot.

A command is a line starting with `$ nb2prod ` or `nb2prod ` inside a
```console, ```bash, ```sh or ```shell fence. The commands of one document
run in order, in one scratch folder holding copies of examples/ and
tests/data/ (so `nb2prod build examples/churn.ipynb -o churn` and then
`... --check` work as written). Each must exit 0 or 1: 2 means the docs show
a wrong flag, a missing file or a removed command, and an exception is a bug.
Commands that need what tests do not have are skipped by SKIP below, with
the reason shown in pytest's summary; nothing is dropped silently.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

from nb2prod.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOCS = [p for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))] if p.is_file()]
COPIED = ("examples", "tests/data")  # relative paths the docs may use
SHELL_FENCES = {"console", "bash", "sh", "shell"}
FENCE = re.compile(r"^\s*```\s*([\w+-]*)")
OPERATORS = {"&&", "||", ";", "|", "&", ">", ">>", "<"}

SKIP: dict[str, str] = {
    "--image": "builds a container image: needs podman or docker",
    "--wheelhouse": "downloads wheels from the package index",
}
"""Flag or word in a command -> why the docs test cannot run it."""


@dataclass(frozen=True)
class DocCommand:
    doc: Path
    line: int  # 1-based line in the document
    argv: tuple[str, ...]  # after `nb2prod` (or `cp`)
    program: str = "nb2prod"  # or `cp`: a doc copies a file before editing it

    @property
    def text(self) -> str:
        return shlex.join((self.program, *self.argv))

    def skip_reason(self) -> str | None:
        return next((why for word, why in SKIP.items() if word in self.argv), None)


def doc_commands(doc: Path) -> list[DocCommand]:
    commands, language = [], None
    lines = doc.read_text(encoding="utf-8").splitlines()
    number = 0
    while number < len(lines):
        text, start = lines[number], number + 1
        number += 1
        fence = FENCE.match(text)
        if fence:
            language = None if language is not None else fence.group(1).lower()
            continue
        if language not in SHELL_FENCES:
            continue
        while text.endswith("\\") and number < len(lines):  # continued lines
            text, number = text[:-1] + " " + lines[number].strip(), number + 1
        command = text.strip().removeprefix("$ ")
        if command.startswith(("nb2prod ", "cp ")):
            words = first_command(command)
            commands.append(DocCommand(doc, start, tuple(words[1:]), words[0]))
    return commands


def first_command(line: str) -> list[str]:
    """The words of the first command on a shell line: stops at `&&`, `|`, `>`, `#`..."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words = []
    for word in lexer:
        if word in OPERATORS:
            break
        words.append(word)
    return words


ALL = [c for doc in DOCS for c in doc_commands(doc)]


@dataclass
class Outcome:
    code: int | None
    output: str
    error: str = ""  # a traceback, when the command raised


def run_in(folder: Path, command: DocCommand) -> Outcome:
    out = io.StringIO()
    previous = Path.cwd()
    os.chdir(folder)
    try:
        if command.program == "cp":
            shutil.copy(*command.argv)
            return Outcome(0, "")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = main(list(command.argv))
    except SystemExit as exc:  # a usage error can still exit through click
        code = exc.code if isinstance(exc.code, int) else 2
    except Exception:  # noqa: BLE001 -- a bug: shown by the failing test, not swallowed
        return Outcome(None, out.getvalue(), traceback.format_exc())
    finally:
        os.chdir(previous)
    return Outcome(code, out.getvalue())


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """doc -> {line: Outcome}, each document's commands run once, in order."""
    cache: dict[Path, dict[int, Outcome]] = {}

    def get(doc: Path) -> dict[int, Outcome]:
        if doc not in cache:
            folder = tmp_path_factory.mktemp(f"docs-{doc.stem}")
            for relative in COPIED:
                if (ROOT / relative).is_dir():
                    shutil.copytree(ROOT / relative, folder / relative)
            cache[doc] = {c.line: run_in(folder, c) for c in doc_commands(doc)
                          if not c.skip_reason()}
        return cache[doc]
    return get


@pytest.mark.parametrize("command", ALL, ids=[f"{c.doc.name}:{c.line}" for c in ALL])
def test_documented_command_runs(command: DocCommand, outcomes):
    reason = command.skip_reason()
    if reason:
        pytest.skip(f"{command.text}: {reason}")
    outcome = outcomes(command.doc)[command.line]
    where = f"{command.doc.relative_to(ROOT)}:{command.line}: {command.text}"
    assert not outcome.error, f"{where} raised:\n{outcome.error}"
    assert outcome.code in (0, 1), f"{where} exited {outcome.code}:\n{outcome.output}"


def test_docs_show_commands():
    """Guards the extraction itself: a broken parser must not pass by finding nothing."""
    found = {c.doc.name for c in ALL}
    assert {"templates.md", "coming-from.md"} <= found


@pytest.mark.parametrize("line, argv", [
    ("$ nb2prod build nb.ipynb -o out  # comment", ["build", "nb.ipynb", "-o", "out"]),
    ("nb2prod build nb.ipynb && pip install ./out", ["build", "nb.ipynb"]),
    ("nb2prod lint . --format json > report.json", ["lint", ".", "--format", "json"]),
    ("nb2prod plan 'my notebook.ipynb' | head", ["plan", "my notebook.ipynb"]),
])
def test_extraction(tmp_path, line, argv):
    doc = tmp_path / "x.md"
    doc.write_text(f"```console\n{line}\n```\n```python\nnb2prod build not-shell\n```\n"
                   "```bash\nnb2prod build a.ipynb \\\n  --check\n```\n")
    commands = doc_commands(doc)
    assert [list(c.argv) for c in commands] == [argv, ["build", "a.ipynb", "--check"]]
    assert [c.line for c in commands] == [2, 8]
