"""The shared runtime (`nb2prod/runtime/`), vendored verbatim into every package.

Each generated package carries a byte-identical copy under `src/PKG/_runtime/`
(pip's `_vendor` precedent): its image builds offline, `pip install ./PKG`
needs only the public registries, and it keeps running whatever nb2prod is
installed later. The copies are generated files like any other (manifest,
verdicts); `build --check` names a package whose copy is not this nb2prod's.
"""

from __future__ import annotations

import re
from pathlib import Path

from nb2prod.runtime import RUNTIME_VERSION

RUNTIME = Path(__file__).resolve().parent.parent / "runtime"
FOLDER = "src/{import_name}/_runtime"
VERSION = re.compile(r'^RUNTIME_VERSION = "([^"\n]*)"$', re.MULTILINE)


def runtime_files() -> dict[str, str]:
    """File name -> text of every module of the runtime, in name order."""
    return {path.name: path.read_bytes().decode("utf-8")
            for path in sorted(RUNTIME.glob("*.py"))}


def vendored(import_name: str) -> dict[str, str]:
    """The runtime's files as package files: `src/PKG/_runtime/NAME` -> text."""
    folder = FOLDER.format(import_name=import_name)
    return {f"{folder}/{name}": text for name, text in runtime_files().items()}


def runtime_drift(out_dir: Path, import_name: str) -> str | None:
    """One line when the package in `out_dir` carries a runtime other than this nb2prod's
    (older, edited, or none at all); None when it is the same, or there is no package."""
    package = out_dir / "src" / import_name
    if not package.is_dir():
        return None
    folder = package / "_runtime"
    ours = runtime_files()
    theirs = {p.name: p.read_bytes() for p in folder.glob("*.py") if p.is_file()} \
        if folder.is_dir() else {}
    differ = sorted(name for name in set(ours) | set(theirs)
                    if theirs.get(name) != ours.get(name, "").encode("utf-8"))
    if not differ:
        return None
    where = FOLDER.format(import_name=import_name)
    if not theirs:
        return (f"{out_dir / where}: no vendored runtime (built by an nb2prod before "
                f"{RUNTIME_VERSION}); `nb2prod build` adds it")
    found = VERSION.search(theirs.get("__init__.py", b"").decode("utf-8", "replace"))
    version = found.group(1) if found else "unknown"
    how = "is older than" if _older(version, RUNTIME_VERSION) else "differs from"
    return (f"{out_dir / where}: the vendored runtime ({version}) {how} this nb2prod's "
            f"({RUNTIME_VERSION}) in {len(differ)} file(s): {', '.join(differ)}; "
            "`nb2prod build` refreshes it")


def _older(version: str, than: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(version) < Version(than)
    except InvalidVersion:
        return False
