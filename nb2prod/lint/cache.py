"""The lint result cache: notebooks that did not change are not linted again.

Like ruff's cache. One JSON file per configuration in `.nb2prod_cache/` (in
the folder of the nearest `pyproject.toml`, else the current one; or in
`$NB2PROD_CACHE_DIR`), read once at the start of a run and written once at
the end, atomically (temporary file + `os.replace`), and only when something
changed. The file name and its `key` hold everything besides the notebook
that findings depend on: the cache format, the nb2prod version and a
fingerprint of its lint code, the Python minor version (its parser decides
what is a syntax error), and the configuration (enabled codes, limits,
per-file ignores, repository root). A change of any of them is a new file.

Per notebook (by absolute path) an entry holds:

- a stamp: size, mtime_ns and ctime_ns, checked with one `stat`. ctime is
  there because it cannot be set back: a tool that restores mtime after
  editing still changes it. A stamp taken less than `RACY_NS` after the
  file changed is not trusted (a second edit could land in the same
  timestamp tick, as in git's "racily clean" problem): it is stored as null;
- the sha256 of the bytes, the fallback when the stamp differs (a checkout
  or `touch` rewrites the file with the same bytes: still a hit, and the new
  stamp is stored);
- the findings without their path (re-attached on the way out, so a hit is
  the same `Finding` a fresh run makes, in every format);
- the existence checks NB305 made (path -> existed): a hit whose checks now
  answer differently (the data file was added) is linted again.

Nothing here is ever an error: a missing, unreadable, corrupt or foreign
cache file is an empty cache, and a cache that cannot be written is skipped.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from nb2prod import __version__
from nb2prod.lint.findings import SEVERITY_RANK, Finding

ENV = "NB2PROD_CACHE_DIR"
FOLDER = ".nb2prod_cache"
FORMAT = 1
RACY_NS = 2_000_000_000
"""A stamp this close to the file's last change is not trusted (covers 1-2 s
timestamp granularity of some file systems; ext4 and tmpfs tick in ms)."""

Stamp = tuple[int, int, int]  # size, mtime_ns, ctime_ns
Probes = dict[str, bool]


def cache_dir(config_root: Path | None) -> Path:
    """`$NB2PROD_CACHE_DIR`, else `.nb2prod_cache` next to the nearest pyproject.toml
    (the configuration's, else the nearest above the current folder), else here."""
    env = os.environ.get(ENV)
    if env:
        return Path(env)
    if config_root is not None:
        return config_root / FOLDER
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder / FOLDER
    return here / FOLDER


def stamp_of(st: os.stat_result, now_ns: int | None = None) -> Stamp | None:
    """The fast-check stamp, or None when the file changed too recently to trust it."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    if now_ns - max(st.st_mtime_ns, st.st_ctime_ns) < RACY_NS:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def digest(data: bytes) -> str:
    import hashlib  # only when a stamp did not match or a notebook is linted

    return hashlib.sha256(data).hexdigest()


@dataclass
class Entry:
    stamp: Stamp | None
    sha: str
    given: str  # the path as given: per-file-ignores may match it
    rows: list[list]  # findings without their path
    probes: Probes


@dataclass
class LintCache:
    path: Path  # the cache file
    key: str
    entries: dict[str, Entry] = field(default_factory=dict)
    dirty: bool = False
    seen: set[str] = field(default_factory=set)
    path_sensitive: bool = False  # per-file-ignores: findings depend on the given path

    # --- reading ------------------------------------------------------------

    @classmethod
    def open(cls, folder: Path, key: str, path_sensitive: bool = False) -> LintCache:
        import binascii

        name = f"lint-{binascii.crc32(key.encode()):08x}.json"
        cache = cls(folder / name, key, path_sensitive=path_sensitive)
        try:
            data = json.loads(cache.path.read_bytes())
            if isinstance(data, dict) and data.get("key") == key:
                cache.entries = _decode_entries(data.get("entries"))
        except (OSError, ValueError, TypeError, AttributeError, KeyError, IndexError):
            cache.entries = {}
        return cache

    def lookup(self, path: Path) -> list[Finding] | None:
        """The cached findings for `path`, or None when it must be linted."""
        name = os.path.abspath(path)
        self.seen.add(name)
        entry = self.entries.get(name)
        if entry is None or (self.path_sensitive and entry.given != str(path)):
            return None
        try:
            st = os.stat(name)
        except OSError:
            return None
        if entry.stamp is None or entry.stamp != (st.st_size, st.st_mtime_ns, st.st_ctime_ns):
            try:
                data = _read(name)
            except OSError:
                return None
            if data is None or len(data) != st.st_size or digest(data) != entry.sha:
                return None
            fresh = stamp_of(st)
            if fresh != entry.stamp:
                entry.stamp, self.dirty = fresh, True
        for probe, existed in entry.probes.items():
            if os.path.exists(probe) != existed:
                return None
        given = str(path)
        try:
            return [Finding(given, *row) for row in entry.rows]
        except TypeError:
            return None

    # --- writing ------------------------------------------------------------

    def store(self, path: Path, findings: list[Finding], probes: Probes,
              stamp: tuple[Stamp | None, str] | None) -> None:
        """Remember `findings` for `path`; `stamp` None: the file changed while linted."""
        if stamp is None:
            return
        name = os.path.abspath(path)
        self.seen.add(name)
        rows = [[f.cell, f.line, f.column, f.code, f.severity, f.message, f.hint, f.cell_id]
                for f in findings]
        self.entries[name] = Entry(stamp[0], stamp[1], str(path), rows,
                                   {os.path.abspath(p): e for p, e in probes.items()})
        self.dirty = True

    def save(self) -> None:
        """Write the file if anything changed; never raises for I/O problems."""
        if not self.dirty:
            return
        entries = {name: [e.stamp, e.sha, e.given, e.rows, e.probes]
                   for name, e in self.entries.items()
                   if name in self.seen or os.path.exists(name)}  # forget deleted notebooks
        text = json.dumps({"key": self.key, "entries": entries}, separators=(",", ":"))
        folder = self.path.parent
        temporary = folder / f"{self.path.name}.{os.getpid()}.tmp"
        try:
            _prepare(folder)
            temporary.write_text(text, encoding="ascii")
            os.replace(temporary, self.path)
            self.dirty = False
        except OSError:
            try:
                temporary.unlink(missing_ok=True)
            except OSError:
                pass


def fingerprint(path: Path) -> tuple[Stamp, Stamp | None, str] | None:
    """(raw stat, trusted stamp or None, sha256) of `path` now; None if unreadable."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):  # a FIFO would block the read: load refuses it
            return None
        data = _read(path)
    except OSError:
        return None
    if data is None or len(data) != st.st_size:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns), stamp_of(st), digest(data)


def unchanged(path: Path, raw: Stamp) -> bool:
    """Is `path` as `fingerprint` saw it (so the findings are for the bytes hashed)?"""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns) == raw


def make_key(plan) -> str:
    """Everything but the notebook that the findings of `plan` depend on."""
    config = replace(plan.config, fail_on="error", exclude=(), source=None)
    return json.dumps([FORMAT, __version__, list(sys.version_info[:2]), _code_fingerprint(),
                       sorted(plan.enabled), repr(config), str(plan.root)])


def _code_fingerprint() -> list[int]:
    """Size and mtime of every nb2prod module, subpackages included: editing a rule,
    the analysis or anything else lint imports (same version) invalidates the cache.
    The whole package is a superset of what lint loads, and as cheap to stat."""
    import nb2prod

    total: list[int] = [0, 0, 0]
    for folder, dirs, names in os.walk(Path(nb2prod.__file__).parent):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in names:
            if name.endswith(".py"):
                try:
                    st = os.stat(os.path.join(folder, name))
                except OSError:
                    continue
                total[0] += 1
                total[1] += st.st_size
                total[2] = max(total[2], st.st_mtime_ns)
    return total


def _read(path: str | Path) -> bytes | None:
    with open(path, "rb") as handle:
        return handle.read()


def _prepare(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Automatically created by nb2prod lint.\n*\n", encoding="ascii")
    tag = folder / "CACHEDIR.TAG"
    if not tag.exists():
        tag.write_text("Signature: 8a477f597d28d172789f06886806bc55\n"
                       "# This file is a cache directory tag created by nb2prod.\n",
                       encoding="ascii")


_OPTIONAL_INT = (int, type(None))
_OPTIONAL_STR = (str, type(None))


def _decode_entries(raw) -> dict[str, Entry]:
    """Entries from the file; a malformed one is dropped (its notebook is linted)."""
    entries: dict[str, Entry] = {}
    if not isinstance(raw, dict):
        return entries
    for name, value in raw.items():
        try:
            stamp, sha, given, rows, probes = value
            if stamp is not None:
                stamp = tuple(stamp)
                if len(stamp) != 3 or not all(type(v) is int for v in stamp):
                    continue
            if not (isinstance(sha, str) and isinstance(given, str) and isinstance(rows, list)
                    and isinstance(probes, dict)
                    and all(isinstance(v, bool) for v in probes.values())
                    and all(_valid_row(row) for row in rows)):
                continue
        except (TypeError, ValueError):
            continue
        entries[name] = Entry(stamp, sha, given, rows, probes)
    return entries


def _valid_row(row) -> bool:
    return (isinstance(row, list) and len(row) == 8
            and all(isinstance(v, _OPTIONAL_INT) and not isinstance(v, bool) for v in row[:3])
            and isinstance(row[3], str) and row[4] in SEVERITY_RANK
            and isinstance(row[5], str) and isinstance(row[6], str)
            and isinstance(row[7], _OPTIONAL_STR))
