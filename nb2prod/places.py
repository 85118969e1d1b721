"""Where a cell of several notebooks read as one comes from (project.py).

A project's cells are numbered over all its notebooks; every place shown to a
user (a problem line, a comment in generated code, the report) names the
notebook and its own cell number instead: `02_features.ipynb cell 3`. `parts`
are `notebook.Part` records (path, first, count); with none, places are as
they were for one notebook. A leaf module: imports nothing of nb2prod.
"""

from __future__ import annotations

import re


def origin(parts, path: object, cell: int | None) -> tuple[object, int | None]:
    """(notebook, cell in it) of cell `cell` of several notebooks read as one
    (`parts`: records with `path`, `first` and `count`); `(path, cell)` for one."""
    for part in parts if cell is not None else ():
        if part.first < cell <= part.first + part.count:
            return part.path, cell - part.first
    return path, cell


def cell_label(parts, cell: int | None) -> str:
    """`cell 3`, or `02_features.ipynb cell 3` when the plan spans several notebooks."""
    path, number = origin(parts, None, cell)
    return f"{path.name} cell {number}" if path is not None else f"cell {number}"


def cells_label(parts, cells) -> str:
    """`2, 3, 4`; `02_features.ipynb 2, 3` for a step of several notebooks read as one."""
    name, numbers = _where(parts, cells)
    return f"{name} {numbers}" if name else numbers


def cells_phrase(parts, cells, notebook: str = "notebook") -> str:
    """`notebook cells 2, 3` (`notebook cell 2`); `01_ingest.ipynb cells 2, 3`.
    `notebook` names a single notebook's cells (`""`: `cells 2, 3`)."""
    name, numbers = _where(parts, cells)
    noun = "cell" if len(cells) == 1 else "cells"
    return f"{name or notebook} {noun} {numbers}".lstrip()


def _where(parts, cells) -> tuple[str | None, str]:
    """(file name of the cells' notebook, or None for one notebook; their own numbers)."""
    path = origin(parts, None, cells[0])[0] if cells else None
    return (path.name if path is not None else None,
            ", ".join(str(origin(parts, None, c)[1]) for c in cells))


_CELL_WORD = re.compile(r"\bcell (\d+)")


def relabel(text: str, parts) -> str:
    """`cell 9` in a message -> `02_features.ipynb cell 3` when `parts` are several."""
    if not parts:
        return text
    return _CELL_WORD.sub(lambda m: cell_label(parts, int(m.group(1))), text)

