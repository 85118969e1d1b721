"""The only module that reads `.ipynb` files.

`load_notebook` turns a path into an immutable `Notebook` or raises one
`UserError` that names the file and what is wrong with it. Old formats (v2,
v3) are upgraded by `notebook_upgrade` (what nbformat's converter does, without
importing nbformat: ~250 ms); v1 by nbformat itself. Full nbformat schema validation is on by
default (build, plan); `lint` turns it off for speed and relies on the cheap
structural checks here, because jsonschema validation costs ~2.5x a plain
`json.load` (see ../shared/anchors/notebook-linters.md).
"""

from __future__ import annotations

import json
import os
import re
import stat
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any

from nb2prod.errors import UserError

MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
"""Notebooks above this size are refused: nothing we convert is that large
once outputs are stripped, and reading one would stall CI."""
MAX_JSON_DEPTH = 100
"""JSON nested deeper is refused before it is parsed: real notebooks nest under 20
levels (widget state and plotly figures included), and every later stage (the
parser, schema validation, copies) recurses once per level."""


@dataclass(frozen=True)
class Cell:
    """One notebook cell. `index` is 0-based; `number` is what users see."""

    index: int
    kind: str  # "code", "markdown", "raw", or a future type that is ignored
    source: str
    tags: tuple[str, ...] = ()
    cell_id: str | None = None
    execution_count: int | None = None
    outputs: tuple[Mapping[str, Any], ...] = field(default=(), compare=False, repr=False)
    metadata: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def number(self) -> int:
        """1-based position over all cells, as Jupyter and ruff count."""
        return self.index + 1


@dataclass(frozen=True)
class Part:
    """One notebook of several read as one (project.py): where its cells are."""

    path: Path
    short: str  # `ingest` for 01_ingest.ipynb: names its step and prefixes clashing ones
    first: int  # index of its first cell in the combined notebook
    count: int


@dataclass(frozen=True)
class Notebook:
    """A notebook as read: its cells, language, kernel and format version."""

    path: Path
    cells: tuple[Cell, ...]
    language: str
    kernel_name: str | None
    nbformat: tuple[int, int]
    sha256: str
    metadata: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    parts: tuple[Part, ...] = ()  # several notebooks read as one; () for one notebook

    @property
    def code_cells(self) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.kind == "code")

    def part(self, number: int) -> Part | None:
        """The notebook cell `number` (1-based) came from, when several were read."""
        return next((p for p in self.parts if p.first < number <= p.first + p.count), None)


def load_notebook(
    path: Path | str, *, validate: bool = True, max_bytes: int = MAX_NOTEBOOK_BYTES,
    digest: bool = True,
) -> Notebook:
    """Read, upgrade and check a notebook; raise `UserError` when it cannot be used.

    `digest=False` leaves `sha256` empty: lint never reads it (~0.1 ms per notebook)."""
    path = Path(path)
    data = _read_bytes(path, max_bytes)
    raw = _parse_json(path, data)
    _check_shape(path, raw)
    raw = _upgrade(path, raw, data)
    if validate:
        _validate_schema(path, raw)
    notebook = _to_notebook(path, raw, _sha256(data) if digest else "")
    _check_language(notebook)
    return notebook


def _sha256(data: bytes) -> str:
    import hashlib  # lazy: lint does not hash (~2 ms of start-up)

    return hashlib.sha256(data).hexdigest()


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    # One stat before the read, not exists() + is_dir() + stat(): through pathlib those
    # cost about what reading a whole notebook costs (lint reads many). A FIFO, socket
    # or device is refused on that stat, before any open: opening a FIFO for reading
    # blocks until a writer comes, and /dev/zero never ends.
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise UserError("no such file", path=path, hint="check the path") from None
    except PermissionError:
        raise UserError("permission denied: cannot read the file", path=path) from None
    except (OSError, ValueError) as exc:  # a symbolic link loop, a NUL in the path
        raise UserError(f"cannot read the file: {_reason(exc)}", path=path) from None
    if stat.S_ISDIR(info.st_mode):
        import shlex  # the hint is a command to paste: a path with spaces is quoted

        raise UserError("is a directory, expected a .ipynb file", path=path,
                        hint=f"to check every notebook in it: nb2prod lint {shlex.quote(str(path))}")
    _check_regular(path, info.st_mode)
    if info.st_size > max_bytes:
        raise _too_large(path, info.st_size, max_bytes)
    try:
        # O_NONBLOCK: if the path became a FIFO since the stat, open does not wait
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as file:
            _check_regular(path, os.fstat(file.fileno()).st_mode)
            data = file.read(max_bytes + 1)
    except PermissionError:
        raise UserError("permission denied: cannot read the file", path=path) from None
    except OSError as exc:
        raise UserError(f"cannot read the file: {_reason(exc)}", path=path) from None
    if len(data) > max_bytes:  # it grew since the stat
        raise _too_large(path, len(data), max_bytes)
    if not data.strip():
        raise UserError("file is empty, expected a Jupyter notebook", path=path,
                        hint="save it from Jupyter first")
    return data


_FILE_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def _check_regular(path: Path, mode: int) -> None:
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
        raise UserError(f"is {kind}, expected a .ipynb file; not read", path=path)


def _too_large(path: Path, size: int, max_bytes: int) -> UserError:
    return UserError(
        f"notebook is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit",
        path=path, hint="clear large outputs with `jupyter nbconvert --clear-output`")


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def _parse_json(path: Path, data: bytes) -> dict[str, Any]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"not a notebook: not UTF-8 text (byte {exc.start})", path=path
        ) from None
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise UserError(f"not a notebook: JSON nested over {MAX_JSON_DEPTH} levels deep",
                        path=path)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"not a notebook: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            path=path,
        ) from None
    if not isinstance(raw, dict) or not ("cells" in raw or "worksheets" in raw):
        raise UserError("not a notebook: JSON has no 'cells'", path=path)
    if _SURROGATE_ESCAPE.search(text):
        _check_surrogates(path, raw)
    return raw


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""Only a `\\udXXX` escape in the JSON can make a lone surrogate (UTF-8 cannot hold
one), so only notebooks with one pay for the check."""


def _check_surrogates(path: Path, raw: dict[str, Any]) -> None:
    """A lone surrogate cannot be written as UTF-8: not in a package, a report or a
    terminal. Refused where it is, instead of failing in whichever stage prints it."""
    cells = raw.get("cells") if isinstance(raw.get("cells"), list) else []
    # in a code cell's source it is that cell's NB002 (analysis), and the rest converts
    rest = {**raw, "cells": [{**c, "source": ""} if isinstance(c, dict) and
                             c.get("cell_type") == "code" else c for c in cells]}
    if _encodes(json.dumps(rest, ensure_ascii=False)):
        return
    cells = rest["cells"]
    cell = next((i + 1 for i, c in enumerate(cells)
                 if not _encodes(json.dumps(c, ensure_ascii=False))), None)
    raise UserError("not a notebook: text with a lone surrogate (invalid Unicode)",
                    path=path, cell=cell)


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


_STRINGS = re.compile(r'"(?:[^"\\]++|\\.?)*+"?', re.DOTALL)
"""A string, or an unterminated one to the end: each character is read once (a failed
string is never retried from a later quote), so hostile text stays linear."""
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}.__getitem__


def json_depth(text: str) -> int:
    """How deep the arrays and objects of JSON `text` nest, without parsing it.

    Strings are cut out and what is left but brackets dropped by the regex engine,
    and the running depth is summed in C (`accumulate`): linear, about a second for
    20 MB of nothing but brackets, well under a millisecond for a real notebook (its
    brackets are few: most of its text is strings). Unbalanced text (invalid JSON,
    which the parser then reports) counts as deep as its opening brackets go."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text)).encode("ascii")
    return max(accumulate(map(_STEP, brackets)), default=0)


def _is_int(value: object) -> bool:
    return type(value) is int  # bool is an int subclass, and not a version


def _check_shape(path: Path, raw: dict[str, Any]) -> None:
    """The fields every later stage indexes, checked before any of them runs (nbformat's
    own validator iterates `cells` before it checks that it is a list)."""
    if not _is_int(raw.get("nbformat")):
        raise UserError("not a notebook: missing integer 'nbformat' field", path=path)
    if "nbformat_minor" in raw and not _is_int(raw["nbformat_minor"]):
        raise UserError("not a notebook: 'nbformat_minor' is not an integer", path=path)
    if raw["nbformat"] < 4:
        return  # checked by the upgrade
    cells = raw.get("cells")
    if not isinstance(cells, list):
        raise UserError("not a notebook: 'cells' is not a list", path=path)
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise UserError("not a notebook: cell has no valid 'cell_type'", path=path,
                            cell=index + 1)
        source = cell.get("source", "")
        if not isinstance(source, str) and not (
                isinstance(source, list) and all(isinstance(s, str) for s in source)):
            raise UserError("not a notebook: cell 'source' is not text", path=path,
                            cell=index + 1)


def _upgrade(path: Path, raw: dict[str, Any], data: bytes) -> dict[str, Any]:
    major = raw["nbformat"]
    if major >= 4:
        return raw
    if major in (2, 3):
        from nb2prod.notebook_upgrade import upgrade_to_v4  # not nbformat: ~250 ms

        try:
            raw = upgrade_to_v4(raw)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:  # any shape
            raise UserError(f"cannot upgrade nbformat v{major} notebook: "
                            f"{_first_line(exc)}", path=path) from None
    else:
        import nbformat  # lazy: only v1 notebooks need its converter

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                upgraded = nbformat.reads(data.decode("utf-8-sig"), as_version=4)
        except Exception as exc:  # noqa: BLE001 -- nbformat raises many types for broken old files
            raise UserError(f"cannot upgrade nbformat v{major} notebook: "
                            f"{_first_line(exc)}", path=path) from None
        raw = json.loads(json.dumps(upgraded))
    # The converter invents random cell ids; old notebooks have none, and a
    # random id would make every report differ from run to run.
    raw["nbformat_minor"] = min(int(raw.get("nbformat_minor", 4)), 4)
    for cell in raw.get("cells", []):
        if isinstance(cell, dict):
            cell.pop("id", None)
    _check_shape(path, raw)
    return raw


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def _validate_schema(path: Path, raw: dict[str, Any]) -> None:
    import nbformat  # lazy: jsonschema validation is the slow part

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            # on a copy: nbformat.validate fills missing cell ids in place with random
            # ones, and a random id in the report would make two builds differ
            nbformat.validate(json.loads(json.dumps(raw)), version=4)
        except nbformat.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "top level"
            first_line = str(exc.message).splitlines()[0][:200]
            raise UserError(
                f"fails the nbformat schema at '{where}': {first_line}", path=path,
                hint=f"open and save it in Jupyter, or: jupyter nbconvert --to notebook "
                f"--inplace {path}") from None
        except (TypeError, AttributeError, KeyError, ValueError) as exc:
            # nbformat's own checks index fields before the schema has typed them
            raise UserError(f"fails the nbformat schema: {_first_line(exc)}",
                            path=path) from None


def _to_notebook(path: Path, raw: dict[str, Any], sha256: str) -> Notebook:
    cells_raw = raw.get("cells")
    if not isinstance(cells_raw, list):
        raise UserError("not a notebook: 'cells' is not a list", path=path)
    cells = tuple(_to_cell(path, i, c) for i, c in enumerate(cells_raw))
    metadata = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    kernelspec = metadata.get("kernelspec") if isinstance(metadata.get("kernelspec"), dict) else {}
    language_info = metadata.get("language_info")
    language_info = language_info if isinstance(language_info, dict) else {}
    language = str(kernelspec.get("language") or language_info.get("name") or "python")
    return Notebook(
        path=path,
        cells=cells,
        language=language.lower(),
        kernel_name=kernelspec.get("name") or kernelspec.get("display_name"),
        nbformat=(int(raw.get("nbformat", 4)), int(raw.get("nbformat_minor", 0) or 0)),
        sha256=sha256,
        metadata=metadata,
    )


def _to_cell(path: Path, index: int, raw: Any) -> Cell:
    # Runs for every cell lint reads (3,500 on the benchmark corpus): one lookup per key,
    # positional arguments, and no work for the usual empty tags and outputs.
    # Unknown cell types (allowed by future minor versions) are kept and ignored.
    kind = raw.get("cell_type") if isinstance(raw, dict) else None
    if not isinstance(kind, str):
        raise UserError(
            "not a notebook: cell has no valid 'cell_type'", path=path, cell=index + 1
        )
    metadata = raw.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
    tags = metadata.get("tags")
    outputs = raw.get("outputs") if kind == "code" else None
    cell_id = raw.get("id")
    count = raw.get("execution_count")
    return Cell(
        index, kind, _join(raw.get("source", "")),
        tuple(map(str, tags)) if tags and isinstance(tags, list) else (),
        cell_id if isinstance(cell_id, str) else None,
        count if isinstance(count, int) else None,
        tuple([o for o in outputs if isinstance(o, dict)]) if outputs else (),
        metadata,
    )


def _join(source: Any) -> str:
    if isinstance(source, list):
        try:
            return "".join(source)  # the usual list of str, without a generator
        except TypeError:
            return "".join(str(s) for s in source)
    return source if isinstance(source, str) else ""


NON_PYTHON_HINT = "nb2prod converts Python notebooks only"


def _check_language(notebook: Notebook) -> None:
    if notebook.language not in ("python", "python3", "ipython", "ipython3"):
        kernel = notebook.kernel_name or notebook.language
        raise UserError(
            f"kernel '{kernel}' runs {notebook.language}, not Python",
            path=notebook.path,
            hint=NON_PYTHON_HINT,
        )
