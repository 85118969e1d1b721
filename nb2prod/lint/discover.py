"""Which notebooks to lint: files as given, directories recursively.

Hidden folders (`.git`, `.ipynb_checkpoints`, `.venv`, ...) are never
entered; `exclude` patterns are gitignore-like (see `suppress.matches`) and
apply to files given on the command line too, so pre-commit honours them.
"""

from __future__ import annotations

import os
from pathlib import Path

from nb2prod.errors import UserError
from nb2prod.lint.suppress import matches

SKIPPED_DIRS = frozenset(["__pycache__", "node_modules", "site-packages", "venv"])


def discover(paths: list[Path], exclude: tuple[str, ...], root: Path) -> list[Path]:
    """Notebook paths to lint, sorted, without duplicates; a missing path is a usage error."""
    found: dict[str, Path] = {}
    for path in paths:
        if not path.exists():
            raise UserError("no such file or directory", path=path, exit_code=2)
        if path.is_dir():
            for notebook in _walk(path, exclude, root):
                found.setdefault(str(notebook), notebook)
        elif not _excluded(path, exclude, root):
            found.setdefault(str(path), path)
    return sorted(found.values(), key=str)


def _walk(top: Path, exclude: tuple[str, ...], root: Path):
    for folder, dirs, files in os.walk(top):
        base = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS
                         and not _excluded(base / d, exclude, root, is_dir=True))
        for name in sorted(files):
            if (name.endswith(".ipynb") and not name.startswith(".")
                    and not _excluded(base / name, exclude, root)):
                yield base / name


def _excluded(path: Path, exclude: tuple[str, ...], root: Path, is_dir: bool = False) -> bool:
    if not exclude:
        return False
    try:
        relative = path.resolve().relative_to(root).as_posix()
    except ValueError:
        relative = path.as_posix()
    candidate = relative + "/x" if is_dir else relative  # `dir/` patterns match folders
    return any(matches(candidate, p) or matches(relative, p) for p in exclude)
