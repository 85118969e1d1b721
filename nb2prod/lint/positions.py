"""Where each cell's source lines sit in the raw `.ipynb` JSON text.

CI annotations (GitHub, SARIF) must point at a line of the file as the pull
request diff shows it. nbformat writes a cell's source as a JSON array with
one string per line, so cell line k is usually JSON line (source line + k).
This scanner follows the JSON structure (it does not guess with regexes, a
"source" key can also appear inside outputs or metadata), using the stdlib
decoder's own string scanner; anything unexpected gives up, and callers fall
back to line 1.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass
from json.decoder import scanstring

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class CellLines:
    start: int  # JSON line of the cell's opening brace
    source: int  # JSON line of its "source" key (start when absent)
    lines: tuple[int, ...]  # JSON line of each source line, in order


class _Scan:
    def __init__(self, text: str) -> None:
        self.text = text
        self.newlines = [m.start() for m in re.finditer("\n", text)]

    def line(self, offset: int) -> int:
        return bisect.bisect_left(self.newlines, offset) + 1

    def skip(self, pos: int) -> int:
        return _WS.match(self.text, pos).end()

    def expect(self, pos: int, char: str) -> int:
        pos = self.skip(pos)
        if self.text[pos:pos + 1] != char:
            raise ValueError(f"expected {char!r} at {pos}")
        return pos + 1

    def members(self, pos: int, visit) -> int:
        """Walk the object at `pos`: `visit(key, value_pos)` returns the value's end."""
        return self._walk(self.expect(pos, "{"), "}", lambda p: self._member(p, visit))

    def items(self, pos: int, visit) -> int:
        """Walk the array at `pos`: `visit(item_pos)` returns the item's end."""
        return self._walk(self.expect(pos, "["), "]", visit)

    def _member(self, pos: int, visit) -> int:
        key, pos = scanstring(self.text, self.expect(pos, '"'))
        return visit(key, self.skip(self.expect(pos, ":")))

    def _walk(self, pos: int, close: str, visit) -> int:
        pos = self.skip(pos)
        if self.text[pos] == close:
            return pos + 1
        while True:
            pos = self.skip(visit(self.skip(pos)))
            if self.text[pos] == close:
                return pos + 1
            pos = self.expect(pos, ",")

    def value_end(self, pos: int) -> int:
        return _DECODER.raw_decode(self.text, pos)[1]


def cell_lines(text: str) -> list[CellLines] | None:
    """One `CellLines` per cell, or None when the text is not a v4 notebook layout."""
    scan = _Scan(text)
    cells: list[CellLines] = []

    def top(key: str, pos: int) -> int:
        return scan.items(pos, lambda p: _cell(scan, p, cells)) if key == "cells" \
            else scan.value_end(pos)

    try:
        scan.members(scan.skip(0), top)
    except (ValueError, IndexError, TypeError):
        return None
    return cells


def _cell(scan: _Scan, start: int, cells: list[CellLines]) -> int:
    found: dict[str, object] = {}

    def member(key: str, pos: int) -> int:
        if key == "source":
            found["line"], found["lines"] = scan.line(pos), _source_lines(scan, pos)
        return scan.value_end(pos)

    end = scan.members(start, member)
    line = scan.line(start)
    cells.append(CellLines(line, found.get("line", line), found.get("lines", ())))
    return end


def _source_lines(scan: _Scan, pos: int) -> tuple[int, ...]:
    if scan.text[pos] == '"':
        value, _ = scanstring(scan.text, pos + 1)
        return (scan.line(pos),) * (value.count("\n") + 1)
    lines: list[int] = []
    pending = [True]  # does the next cell line start in the next string?

    def item(p: int) -> int:
        value, end = scanstring(scan.text, p + 1)
        here = scan.line(p)
        if pending[0] and value:
            lines.append(here)
        lines.extend([here] * (value.count("\n") - value.endswith("\n")))
        pending[0] = value.endswith("\n") or (pending[0] and not value)
        return end

    scan.items(pos, item)
    return tuple(lines)


def file_line(cells: list[CellLines] | None, cell: int | None, line: int | None) -> int:
    """The `.ipynb` line where (cell, line) sits; 1 when it cannot be told."""
    if not cells or cell is None or not 0 < cell <= len(cells):
        return 1
    where = cells[cell - 1]
    if line is None or not where.lines:
        return where.source
    return where.lines[min(line, len(where.lines)) - 1]
