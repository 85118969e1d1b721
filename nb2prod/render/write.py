"""{path: text} -> disk: atomic, with a manifest, never clobbering a user's edits.

Every file gets a verdict: create, identical, update, conflict (the user
edited a generated file), or remove (a file an older build generated that
is no longer produced and was not edited). `--check` is the same path with
writing turned off. The new tree is assembled in a temporary sibling
directory and swapped into place, so an interrupted build leaves the old
output or the new one, never half of each.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from nb2prod.errors import UserError

MANIFEST = ".nb2prod/manifest.json"
CREATE, IDENTICAL, UPDATE, CONFLICT, REMOVE = "create", "identical", "update", "conflict", "remove"


@dataclass(frozen=True)
class Verdict:
    path: str
    action: str


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def safe_relative(path: str) -> PurePosixPath:
    """Refuse anything that could land outside the output directory."""
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise UserError(f"refusing to write outside the output directory: {path!r}")
    return relative


def plan_writes(out_dir: Path, files: Mapping[str, str], force: bool = False) -> list[Verdict]:
    """What writing `files` into `out_dir` would do to each file."""
    previous = read_manifest(out_dir).get("files", {})
    verdicts = []
    for path, text in sorted(files.items()):
        target = out_dir / safe_relative(path)
        verdicts.append(Verdict(path, _verdict(target, text, previous.get(path), force)))
    for path, old_hash in sorted(previous.items()):
        target = out_dir / safe_relative(path)
        if path not in files and target.is_file() and _file_hash(target) == old_hash:
            verdicts.append(Verdict(path, REMOVE))
    return verdicts


def _verdict(target: Path, text: str, recorded: str | None, force: bool) -> str:
    if not target.exists():
        return CREATE
    if not target.is_file():
        return CONFLICT
    current = _file_hash(target)
    if current == digest(text):
        return IDENTICAL
    if current == recorded or force:
        return UPDATE
    return CONFLICT


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_manifest(out_dir: Path) -> dict:
    try:
        return json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def manifest_text(files: Mapping[str, str], meta: Mapping[str, object]) -> str:
    data = {**meta, "files": {path: digest(text) for path, text in sorted(files.items())}}
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write_tree(out_dir: Path, files: Mapping[str, str], verdicts: list[Verdict],
               meta: Mapping[str, object]) -> None:
    """Apply `verdicts` atomically: build the new tree beside `out_dir`, then swap."""
    out_dir = out_dir.resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError("output path exists and is not a directory", path=out_dir)
    try:  # a name too long, a read-only or virtual file system: refused, nothing written
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".nb2prod-tmp",
                                        dir=out_dir.parent))
    except OSError as exc:
        raise UserError(f"cannot write the output folder: {exc.strerror or exc}",
                        path=out_dir) from None
    try:
        tree = staging / "tree"
        if out_dir.exists():
            shutil.copytree(out_dir, tree, symlinks=True, copy_function=_link_or_copy)
        else:
            tree.mkdir()
        for verdict in verdicts:
            _apply(tree, verdict, files)
        _write_text(tree / MANIFEST, manifest_text(files, meta))
        _swap(tree, out_dir, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _apply(tree: Path, verdict: Verdict, files: Mapping[str, str]) -> None:
    target = tree / safe_relative(verdict.path)
    if not target.resolve().is_relative_to(tree.resolve()):
        raise UserError(f"refusing to write through a link outside the output: {verdict.path}")
    if verdict.action in (CREATE, UPDATE):
        _write_text(target, files[verdict.path])
        _drop_bytecode(target)
    elif verdict.action == REMOVE:
        target.unlink()
        _drop_bytecode(target)


def _drop_bytecode(target: Path) -> None:
    """Python reuses a cached .pyc while a module keeps its size and whole-second mtime:
    a rebuild within the second of the last run (a one-digit edit) would run old code."""
    if target.suffix == ".py":
        for cached in (target.parent / "__pycache__").glob(f"{target.stem}.*.pyc"):
            cached.unlink()


def _write_text(target: Path, text: str) -> None:
    """Write a fresh file (never in place: the old one may be a hard link)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() or target.is_symlink():
        target.unlink()
    target.write_bytes(text.encode("utf-8"))


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def _swap(tree: Path, out_dir: Path, staging: Path) -> None:
    if out_dir.exists():
        old = staging / "old"
        os.replace(out_dir, old)
    os.replace(tree, out_dir)
