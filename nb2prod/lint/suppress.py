"""Suppression: `# noqa` comments, `nb2prod:ignore` cell tags, per-file ignores.

`# noqa: NB101` silences exactly that line of that cell (a bare `# noqa`
silences every code on the line); it never spreads to the notebook, unlike
ruff's file-level `# ruff: noqa`. A cell tag `nb2prod:ignore=NB101,NB2`
silences codes (or prefixes) for the whole cell; `nb2prod:ignore` alone, all.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from nb2prod.problems import Problem

if TYPE_CHECKING:  # the analysis is imported when a notebook is linted, not before
    from nb2prod.analysis.analyze import NotebookAnalysis

NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+\d+(?:[\s,]+[A-Z]+\d+)*))?", re.IGNORECASE)
ALL = frozenset(["*"])


def noqa_lines(source: str) -> dict[int, frozenset[str]]:
    """Line -> codes silenced on it (`ALL` for a bare `# noqa`)."""
    table: dict[int, frozenset[str]] = {}
    if "noqa" not in source.lower():
        return table
    for number, text in enumerate(source.split("\n"), start=1):
        match = NOQA.search(text)
        if match:
            codes = match["codes"]
            table[number] = frozenset(re.split(r"[\s,]+", codes.upper())) if codes else ALL
    return table


def _silenced(code: str, silencers) -> bool:
    return any(s == "*" or code.startswith(s.upper()) for s in silencers)


def apply(problems: list[Problem], analysis: NotebookAnalysis) -> list[Problem]:
    """The problems no noqa comment or ignore tag silences."""
    if not problems:
        return problems
    noqa: dict[int, dict[int, frozenset[str]]] = {}
    kept = []
    for problem in problems:
        if problem.cell is not None and 0 < problem.cell <= len(analysis.cells):
            cell = analysis.cells[problem.cell - 1]
            if cell.tags.ignore and _silenced(problem.code, cell.tags.ignore):
                continue
            if problem.cell not in noqa:
                noqa[problem.cell] = noqa_lines(cell.cell.source)
            codes = noqa[problem.cell].get(problem.line or 1)
            if codes and (codes is ALL or problem.code in codes):
                continue
        kept.append(problem)
    return kept


def per_file_ignored(path: Path, root: Path | None,
                     table: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[str, ...]:
    """Codes and prefixes `per-file-ignores` silences for `path`."""
    if not table:
        return ()
    names = {path.name, path.as_posix()}
    if root is not None:
        try:
            names.add(path.resolve().relative_to(root).as_posix())
        except ValueError:
            pass
    return tuple(code for glob, codes in table if any(matches(n, glob) for n in names)
                 for code in codes)


def matches(relative: str, pattern: str) -> bool:
    """gitignore-like: `dir/` matches a folder anywhere, `*.x` a name, `a/*.x` a path."""
    parts = PurePosixPath(relative).parts
    if pattern.endswith("/"):
        return pattern.rstrip("/") in parts[:-1] or any(
            fnmatch.fnmatch("/".join(parts[:i]), pattern.rstrip("/"))
            for i in range(1, len(parts)))
    if "/" not in pattern:
        return fnmatch.fnmatch(parts[-1] if parts else relative, pattern)
    return fnmatch.fnmatch(relative, pattern.lstrip("/")) or fnmatch.fnmatch(
        relative, "*/" + pattern.lstrip("/"))
