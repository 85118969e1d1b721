"""The step cache of a generated package: step outputs on disk.

Layout: DIR/<step function>-<key>.json is an entry (per output: format, sha256,
and its file, or its JSON text when that is short; and the text the step
printed), DIR/<step function>-<key>-<n>.<suffix> its outputs' files (one folder:
a folder per step cost a mkdir per step of a cold run). How a value becomes
bytes and back is formats.py. A file or text whose sha256 is not the one in the
entry is never loaded. Each file is written once and never read back to be
hashed: `formats.encode` hashed its bytes in memory when the step returned.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import inspect
import json
import linecache
import pickle
import re
import sys
import types
from pathlib import Path
from typing import Any, Callable  # noqa: UP035 - Python 3.10 too

from .formats import (
    BY_NAME,
    FAILURES,
    Encoded,
    NotCacheable,
    encode,
    has_module,
    is_plain,
)

INLINE_BYTES = 4096
"""JSON texts up to this size are kept in the entry itself: one file fewer to write."""
URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/")  # after normalisation: `s3:/bucket/x`


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def path_digest(path: str) -> str:
    """What a step reads at `path`: a file's sha256, a folder's files', or `missing`."""
    if URL.match(path):
        raise NotCacheable(f"{path} is not a local file")
    where = Path(path)
    if where.is_dir():
        files = sorted(p for p in where.rglob("*") if p.is_file())
        listing = [[p.relative_to(where).as_posix(), file_digest(p)] for p in files]
        return hashlib.sha256(json.dumps(listing).encode("utf-8")).hexdigest()
    return file_digest(where) if where.is_file() else "missing"


def _function_source(function: Callable) -> str:
    """A function's lines in its file, from its first decorator to its last line of code:
    what inspect.getsource gives, without tokenizing the file (0.6 ms a step)."""
    code = function.__code__
    lines = linecache.getlines(code.co_filename)
    if not lines:
        raise OSError(f"no source for {function.__qualname__}")
    last, codes = code.co_firstlineno, [code]
    while codes:
        inner = codes.pop()
        last = max([last, *(line for _, _, line in inner.co_lines() if line)])
        codes.extend(c for c in inner.co_consts if isinstance(c, types.CodeType))
    return "".join(lines[code.co_firstlineno - 1:last])


def source_digest(function: Callable) -> str:
    """Digest of the source, as it is now, of a step function and of every function and
    class of its module that it reaches (transitively, through the global names its code
    loads). The build-time code hash sees edits to the notebook; this sees edits to the
    generated code, so a hand-edited helper re-runs exactly the steps that call it. The
    bytecode and constants that run are in it too: Python keeps using a cached .pyc when
    an edit keeps the file's size within the second, and an entry stored then must not be
    found under the edited source's key."""
    module = sys.modules[function.__module__]
    sources: dict[str, str] = {}
    compiled: list[str] = []  # what runs: Python reuses bytecode when an edit keeps the size
    pending: list[Any] = [function]
    while pending:
        obj = pending.pop()
        if obj.__qualname__ in sources:
            continue
        try:
            sources[obj.__qualname__] = (_function_source(obj) if inspect.isfunction(obj)
                                         else inspect.getsource(obj))
        except (OSError, TypeError):  # no source file (a zipped install): the build's hash
            sources[obj.__qualname__] = ""
        codes = [obj.__code__] if inspect.isfunction(obj) else [
            f.__code__ for f in vars(obj).values() if inspect.isfunction(f)]
        while codes:
            code = codes.pop()
            codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
            compiled.append(code.co_code.hex() + _constants_text(code.co_consts))
            for name in code.co_names:
                found = getattr(module, name, None)
                if (inspect.isfunction(found) or inspect.isclass(found)) \
                        and found.__module__ == module.__name__:
                    pending.append(found)
    text = json.dumps([sorted(sources.items()), sorted(compiled)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _constants_text(constants: tuple) -> str:
    """The constants of a code object as text that does not vary between processes
    (a frozenset's order does, with string hashing); nested code objects aside."""
    parts = []
    for constant in constants:
        if isinstance(constant, frozenset):
            parts.append(repr(sorted(map(repr, constant))))
        elif not isinstance(constant, types.CodeType):
            parts.append(repr(constant))
    return "|".join(parts)


def value_digest(value: Any) -> str:
    """Content hash of a value not read from the cache (a parameter, most often)."""
    if is_plain(value):
        data = json.dumps(value, sort_keys=True).encode("utf-8")
    else:
        try:
            data = pickle.dumps(value, protocol=4)
        except FAILURES as exc:
            raise NotCacheable(f"{type(value).__qualname__}: {exc}") from exc
    return hashlib.sha256(data).hexdigest()


@dataclasses.dataclass(frozen=True)
class Lazy:
    """A stored value (its hash already checked), read only when something needs it: a
    step that runs, or the caller of run_steps. Each read gives a fresh copy."""

    path: Path  # its file, or the entry that holds its text
    format: str
    text: str | None = None  # a short JSON value, kept in the entry

    def value(self) -> Any:
        try:
            if self.text is not None:
                return json.loads(self.text)
            return BY_NAME[self.format].load(self.path)
        except (*FAILURES, KeyError) as exc:
            raise NotCacheable(f"cannot read {self.path}: {exc}") from exc


@dataclasses.dataclass(frozen=True)
class Entry:
    values: dict[str, Lazy]
    digests: dict[str, str]
    printed: str
    summaries: dict[str, str]


@dataclasses.dataclass(frozen=True)
class Store:
    root: Path

    def warm_up(self) -> None:
        """Pay the formats' first-use costs at start-up rather than in the first steps that
        store a value: pyarrow's import, and its and pickle's set-up for each kind of
        column (a one-row frame, a series and an array: ~2 ms of the churn example's
        first step otherwise)."""
        if has_module("pyarrow"):
            importlib.import_module("pyarrow.parquet")
        numpy, pandas = sys.modules.get("numpy"), sys.modules.get("pandas")
        samples: list[Any] = [numpy.zeros(1)] if numpy else []
        if pandas is not None:
            frame = pandas.DataFrame({"i": [1], "f": [0.5], "b": [True], "s": ["a"]})
            samples += [frame, frame[["i", "f"]], frame["i"]]
        for sample in samples:
            encode(sample)

    def entry_path(self, step: str, key: str) -> Path:
        return self.root / f"{step}-{key}.json"

    def has(self, step: str, key: str) -> bool:
        return self.entry_path(step, key).is_file()

    def save(self, step: str, key: str, values: dict[str, Encoded], printed: str,
             summaries: dict[str, str]) -> None:
        """Write an entry, its own file last: an entry without it does not exist, one with
        a file of another sha256 is damaged. Short JSON values go into the entry itself."""
        entry_path = self.entry_path(step, key)
        self.root.mkdir(parents=True, exist_ok=True)
        entry_path.unlink(missing_ok=True)  # a forced or damaged step's entry: gone first
        written: list[Path] = []
        try:
            outputs: dict[str, dict[str, str]] = {}
            for index, (name, value) in enumerate(values.items()):
                output = {"format": value.format, "sha256": value.sha256}
                if value.format == "json" and len(value.data) <= INLINE_BYTES:
                    output["text"] = bytes(value.data).decode("utf-8")
                else:
                    output["file"] = f"{step}-{key}-{index}{BY_NAME[value.format].suffix}"
                    written.append(entry_path.with_name(output["file"]))
                    written[-1].write_bytes(value.data)
                outputs[name] = output
            entry = {"step": step, "key": key, "outputs": outputs, "printed": printed,
                     "summaries": summaries}
            entry_path.write_text(json.dumps(entry), encoding="utf-8")  # C encoder: no indent
        except BaseException:
            for path in (*written, entry_path):
                path.unlink(missing_ok=True)
            raise

    def load(self, step: str, key: str, outputs: tuple[str, ...] | None = None
             ) -> Entry | None:
        """The entry (values not read yet), or None when it is missing, damaged, made for
        another step or key (a copied or swapped file), holds other outputs than
        `outputs`, or a file's or a text's hash does not match."""
        entry_path = self.entry_path(step, key)
        try:
            entry = json.loads(entry_path.read_bytes().decode("utf-8"))
        except (*FAILURES, UnicodeDecodeError):  # unreadable, truncated, too deep
            return None
        if not _is_entry(entry, step, key) or (
                outputs is not None and list(entry["outputs"]) != list(outputs)):
            return None
        values, digests = {}, {}
        for name, f in entry["outputs"].items():
            text = f.get("text")
            path = entry_path if text is not None else entry_path.with_name(f["file"])
            if text is None and not path.is_file():  # missing, a folder, a FIFO: never read
                return None
            try:
                found = (hashlib.sha256(text.encode("utf-8")).hexdigest() if text is not None
                         else file_digest(path))
            except (*FAILURES, UnicodeEncodeError):
                return None
            if found != f["sha256"]:
                return None
            values[name] = Lazy(path, f["format"], text)
            digests[name] = f["sha256"]
        return Entry(values, digests, entry["printed"], entry["summaries"])


def _is_entry(entry: Any, step: str, key: str) -> bool:
    """Whether a parsed entry file has the shape save() writes, for this step and key."""
    if not isinstance(entry, dict) or entry.get("step") != step or entry.get("key") != key:
        return False
    outputs, summaries = entry.get("outputs"), entry.get("summaries")
    if not isinstance(outputs, dict) or not isinstance(entry.get("printed"), str) \
            or not isinstance(summaries, dict) \
            or not all(isinstance(v, str) for v in summaries.values()):
        return False
    return all(_is_output(f, step, key) for f in outputs.values())


def _is_output(f: Any, step: str, key: str) -> bool:
    if not isinstance(f, dict) or not isinstance(f.get("sha256"), str) \
            or not isinstance(f.get("format"), str) or f["format"] not in BY_NAME:
        return False
    if "text" in f:
        return f["format"] == "json" and isinstance(f["text"], str)
    name = f.get("file")  # a file of this entry, beside it: never a path elsewhere
    return isinstance(name, str) and name.startswith(f"{step}-{key}-") and "/" not in name \
        and "\\" not in name
