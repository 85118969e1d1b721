"""Write cell tags into a notebook file, changing nothing else: `tag --write`.

The notebook is edited as JSON *text*, not loaded and re-serialised: a small
parser records where each cell's `metadata` object and its `tags` array sit,
and only those spans are replaced or inserted into. Key order, indentation,
escapes, outputs and the trailing newline stay byte-identical, so `git diff`
shows tag lines and nothing else. New text follows the file's own style
(indent unit, `": "` separator, line ending, nbformat's sorted keys), and the
result is checked by parsing it back before anything is written.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nb2prod.analysis.tags import AFTER_PREFIXES, ROLE_TAGS, STEP_PREFIXES
from nb2prod.errors import UserError

BOM = "\ufeff"


def is_structural(tag: str) -> bool:
    """A tag that decides where a cell goes (what `tag --write` owns and replaces)."""
    tag = tag.strip()
    return tag in ROLE_TAGS or tag.startswith(STEP_PREFIXES + AFTER_PREFIXES)


# -- a JSON parser that remembers where things are ----------------------------


@dataclass(frozen=True)
class Node:
    start: int  # offset of the first character
    end: int  # offset just past the last character
    members: tuple[tuple[str, int, Node], ...] = ()  # objects: (key, key offset, value)
    items: tuple[Node, ...] = ()  # arrays

    def get(self, key: str) -> Node | None:
        return next((value for k, _, value in self.members if k == key), None)


_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")


def parse_spans(text: str) -> Node:
    """The JSON value in `text` with the offsets of every value and key."""
    node, pos = _value(text, _skip(text, 0))
    if _skip(text, pos) != len(text):
        raise ValueError(f"extra data at offset {pos}")
    return node


def _skip(text: str, pos: int) -> int:
    return _WS.match(text, pos).end()


def _value(text: str, pos: int) -> tuple[Node, int]:
    char = text[pos: pos + 1]
    if char == "{":
        return _container(text, pos, "}", _member)
    if char == "[":
        return _container(text, pos, "]", _value)
    match = (_STRING if char == '"' else _SCALAR).match(text, pos)
    if not match:
        raise ValueError(f"unexpected {char!r} at offset {pos}")
    return Node(pos, match.end()), match.end()


def _member(text: str, pos: int):
    match = _STRING.match(text, pos)
    if not match:
        raise ValueError(f"expected a key at offset {pos}")
    colon = _skip(text, match.end())
    if text[colon: colon + 1] != ":":
        raise ValueError(f"expected ':' at offset {colon}")
    value, end = _value(text, _skip(text, colon + 1))
    return (json.loads(match.group()), pos, value), end


def _container(text: str, start: int, close: str, element):
    parts = []
    pos = _skip(text, start + 1)
    while text[pos: pos + 1] != close:
        part, pos = element(text, pos)
        parts.append(part)
        pos = _skip(text, pos)
        if text[pos: pos + 1] == ",":
            pos = _skip(text, pos + 1)
        elif text[pos: pos + 1] != close:
            raise ValueError(f"expected ',' or {close!r} at offset {pos}")
    end = pos + 1
    if close == "}":
        return Node(start, end, members=tuple(parts)), end
    return Node(start, end, items=tuple(parts)), end


# -- the file's own style -------------------------------------------------------


@dataclass(frozen=True)
class Style:
    newline: str  # "" for single-line (compact) JSON
    unit: str  # one level of indentation
    colon: str  # '": "' or '":"' between key and value
    comma: str  # item separator on one line: ", " or ","


def detect_style(text: str, root: Node) -> Style:
    newline = "\r\n" if "\r\n" in text else ("\n" if "\n" in text else "")
    colon, unit = ": ", " "
    if root.members:
        _, key_start, value = root.members[0]
        key_end = _STRING.match(text, key_start).end()
        colon = text[key_end: value.start]
        unit = _indent_before(text, key_start) or unit
    comma = ", " if re.search(r",[ ]\S", text[:2000]) and not newline else ","
    return Style(newline, unit, colon if ":" in colon else ": ", comma)


def _indent_before(text: str, pos: int) -> str:
    """Whitespace between the start of the line and `pos` ("" if not at line start)."""
    line_start = text.rfind("\n", 0, pos) + 1
    prefix = text[line_start:pos]
    return prefix if prefix.strip() == "" else ""


# -- edits --------------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    start: int
    end: int
    text: str


def _array(tags: list[str], indent: str, style: Style) -> str:
    if not tags:
        return "[]"
    items = [json.dumps(t, ensure_ascii=False) for t in tags]
    if not style.newline:
        return "[" + style.comma.join(items) + "]"
    inner = indent + style.unit
    body = ("," + style.newline).join(inner + item for item in items)
    return "[" + style.newline + body + style.newline + indent + "]"


def _insert(text: str, obj: Node, key: str, render, style: Style) -> Edit:
    """Insert `"key": value` into `obj`, in sorted position when its keys are sorted.

    `render(indent)` gives the value text for a member indented by `indent`.
    """
    keys = [k for k, _, _ in obj.members]
    if not style.newline:
        member = f'"{key}"{style.colon}{render("")}'
        if not keys:
            return Edit(obj.start, obj.end, "{" + member + "}")
        return Edit(obj.end - 1, obj.end - 1, style.comma + member)
    if not keys:
        outer = _line_indent(text, obj.start)
        inner = outer + style.unit
        member = f'"{key}"{style.colon}{render(inner)}'
        return Edit(obj.start, obj.end, "{" + style.newline + inner + member
                    + style.newline + outer + "}")
    inner = _indent_before(text, obj.members[0][1]) or _line_indent(text, obj.start) + style.unit
    member = f'"{key}"{style.colon}{render(inner)}'
    later = [m for m in obj.members if m[0] > key] if keys == sorted(keys) else []
    if later:
        return Edit(later[0][1], later[0][1], member + "," + style.newline + inner)
    last_value = obj.members[-1][2]
    return Edit(last_value.end, last_value.end, "," + style.newline + inner + member)


def _line_indent(text: str, pos: int) -> str:
    """The leading whitespace of the line holding `pos`."""
    line_start = text.rfind("\n", 0, pos) + 1
    line = text[line_start:pos]
    return line[: len(line) - len(line.lstrip(" \t"))]


def _cell_edit(text: str, cell: Node, tags: list[str], style: Style) -> Edit:
    meta = cell.get("metadata")
    if meta is None:
        return _insert(text, cell, "metadata",
                       lambda ind: _object_with_tags(tags, ind, style), style)
    current = meta.get("tags")
    if current is not None:
        indent = _indent_before(text, next(k for key, k, _ in meta.members if key == "tags"))
        return Edit(current.start, current.end, _array(tags, indent, style))
    return _insert(text, meta, "tags", lambda ind: _array(tags, ind, style), style)


def _object_with_tags(tags: list[str], indent: str, style: Style) -> str:
    if not style.newline:
        return '{"tags"' + style.colon + _array(tags, "", style) + "}"
    inner = indent + style.unit
    return ("{" + style.newline + inner + '"tags"' + style.colon + _array(tags, inner, style)
            + style.newline + indent + "}")


# -- applying tags to a notebook ---------------------------------------------------


def merge(existing: list[str], proposed: tuple[str, ...]) -> list[str]:
    """Keep the tags other tools own; replace the structural ones with `proposed`."""
    kept = [t for t in existing if not is_structural(t)]
    return list(dict.fromkeys(kept + [t for t in proposed if t not in kept]))


def tagged_cells(data: dict) -> list[int]:
    """1-based numbers of the cells that already carry structural tags."""
    return [i + 1 for i, cell in enumerate(data.get("cells", []))
            if any(is_structural(str(t)) for t in _tags_of(cell))]


def _tags_of(cell: dict) -> list:
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    tags = meta.get("tags") if isinstance(meta, dict) else None
    return tags if isinstance(tags, list) else []


def apply_tags(text: str, proposed: Mapping[int, tuple[str, ...]]) -> str:
    """`text` with the cells at these 0-based indexes tagged; nothing else changes.

    Structural tags already there are replaced, other tags kept. A cell whose
    tags would not change (or stay absent) is not touched.
    """
    bom = BOM if text.startswith(BOM) else ""
    body = text[len(bom):]
    data = json.loads(body)
    root = parse_spans(body)
    cells = root.get("cells")
    if cells is None or not isinstance(data.get("cells"), list):
        raise UserError("not an nbformat 4 notebook: no top-level 'cells' list",
                        hint="upgrade it with `jupyter nbconvert --to notebook`")
    style = detect_style(body, root)
    edits, expected = [], json.loads(body)
    for index, tags in sorted(proposed.items()):
        cell = data["cells"][index]
        existing = _tags_of(cell)
        new = merge([str(t) for t in existing], tags)
        if new == existing or (not new and not existing):
            continue
        edits.append(_cell_edit(body, cells.items[index], new, style))
        expected["cells"][index].setdefault("metadata", {})["tags"] = new
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        body = body[: edit.start] + edit.text + body[edit.end:]
    if json.loads(body) != expected:  # a bug, not a user error: never write it
        raise RuntimeError("tag writer produced JSON that differs beyond the tags")
    return bom + body


@dataclass(frozen=True)
class TagWrite:
    path: Path
    changed: int  # cells whose tags changed
    written: bool


def write_tags(path: Path, proposed: Mapping[int, tuple[str, ...]], *,
               force: bool = False) -> TagWrite:
    """Tag the notebook at `path` in place; refuse if it is tagged already, unless `force`."""
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    data = json.loads(text.removeprefix(BOM))
    already = tagged_cells(data)
    if already and not force:
        shown = ", ".join(map(str, already[:8])) + (" ..." if len(already) > 8 else "")
        raise UserError(f"already tagged (cells {shown}): not overwriting", path=path,
                        hint="review with `nb2prod tag NB --suggest`, or replace the tags "
                             "with `nb2prod tag NB --write --force`")
    new_text = apply_tags(text, proposed)
    changed = sum(1 for i, tags in proposed.items()
                  if merge([str(t) for t in _tags_of(data["cells"][i])], tags)
                  != _tags_of(data["cells"][i]))
    if new_text == text:
        return TagWrite(path, 0, False)
    _atomic_write(path, new_text.encode("utf-8"))
    return TagWrite(path, changed, True)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write beside the target, then rename: a crash never leaves half a notebook."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
