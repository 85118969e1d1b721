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
import stat
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nb2prod.errors import UserError

MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
"""Notebooks above this size are refused: nothing we convert is that large
once outputs are stripped, and reading one would stall CI."""


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
class Notebook:
    """A notebook as read: its cells, language, kernel and format version."""

    path: Path
    cells: tuple[Cell, ...]
    language: str
    kernel_name: str | None
    nbformat: tuple[int, int]
    sha256: str
    metadata: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def code_cells(self) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.kind == "code")


def load_notebook(
    path: Path | str, *, validate: bool = True, max_bytes: int = MAX_NOTEBOOK_BYTES,
    digest: bool = True,
) -> Notebook:
    """Read, upgrade and check a notebook; raise `UserError` when it cannot be used.

    `digest=False` leaves `sha256` empty: lint never reads it (~0.1 ms per notebook)."""
    path = Path(path)
    data = _read_bytes(path, max_bytes)
    raw = _parse_json(path, data)
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
    # cost about what reading a whole notebook costs (lint reads many).
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise UserError("no such file", path=path, hint="check the path") from None
    except PermissionError:
        raise UserError("permission denied: cannot read the file", path=path) from None
    except OSError as exc:  # e.g. a symbolic link loop
        raise UserError(f"cannot read the file: {exc.strerror or exc}", path=path) from None
    if stat.S_ISDIR(info.st_mode):
        raise UserError("is a directory, expected a .ipynb file", path=path,
                        hint=f"to check every notebook in it: nb2prod lint {path}")
    if info.st_size > max_bytes:
        raise UserError(
            f"notebook is {info.st_size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit",
            path=path,
            hint="clear large outputs with `jupyter nbconvert --clear-output`",
        )
    try:
        data = path.read_bytes()
    except PermissionError:
        raise UserError("permission denied: cannot read the file", path=path) from None
    except OSError as exc:
        raise UserError(f"cannot read the file: {exc.strerror or exc}", path=path) from None
    if not data.strip():
        raise UserError("file is empty, expected a Jupyter notebook", path=path,
                        hint="save it from Jupyter first")
    return data


def _parse_json(path: Path, data: bytes) -> dict[str, Any]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"not a notebook: not UTF-8 text (byte {exc.start})", path=path
        ) from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"not a notebook: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            path=path,
        ) from None
    if not isinstance(raw, dict) or not ("cells" in raw or "worksheets" in raw):
        raise UserError("not a notebook: JSON has no 'cells'", path=path)
    return raw


def _upgrade(path: Path, raw: dict[str, Any], data: bytes) -> dict[str, Any]:
    major = raw.get("nbformat")
    if not isinstance(major, int):
        raise UserError("not a notebook: missing integer 'nbformat' field", path=path)
    if major >= 4:
        return raw
    if major in (2, 3):
        from nb2prod.notebook_upgrade import upgrade_to_v4  # not nbformat: ~250 ms

        try:
            raw = upgrade_to_v4(raw)
        except ValueError as exc:
            raise UserError(f"cannot upgrade nbformat v{major} notebook: {exc}",
                            path=path) from None
    else:
        import nbformat  # lazy: only v1 notebooks need its converter

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                upgraded = nbformat.reads(data.decode("utf-8-sig"), as_version=4)
        except Exception as exc:  # noqa: BLE001 -- nbformat raises many types for broken old files
            raise UserError(f"cannot upgrade nbformat v{major} notebook: {exc}",
                            path=path) from None
        raw = json.loads(json.dumps(upgraded))
    # The converter invents random cell ids; old notebooks have none, and a
    # random id would make every report differ from run to run.
    raw["nbformat_minor"] = min(int(raw.get("nbformat_minor", 4)), 4)
    for cell in raw.get("cells", []):
        cell.pop("id", None)
    return raw


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
