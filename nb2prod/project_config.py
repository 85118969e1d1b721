"""Build settings read from `[tool.nb2prod]` in the nearest pyproject.toml.

```toml
[tool.nb2prod]
templates = "packaging/nb2prod-templates"   # relative to this pyproject.toml
model = "clf"                               # --target serve: the value to serve
notebooks = ["ingest.ipynb", "train.ipynb"] # a folder's notebooks, in the order they run
exclude = ["scratch.ipynb"]                 # a folder's notebooks left out
```
Only the nearest pyproject.toml at or above the notebook's folder counts (the
way black picks its configuration; `nearest_pyproject`, which lint's
`[tool.nb2prod.lint]` uses too): a monorepo's root settings do not leak into a
sub-project that has its own pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

from nb2prod.errors import UserError


def nearest_pyproject(start: Path) -> Path | None:
    """THE "nearest pyproject" rule of nb2prod, for build settings and lint alike:
    the first pyproject.toml in `start` (a folder) or the folder holding `start`
    (a file), or one of their parents, whether or not it has a [tool.nb2prod] table.
    Black's rule: the nearest pyproject.toml is the project's, and a sub-project
    with its own pyproject.toml does not inherit its parent's settings."""
    start = Path(start).resolve()
    for folder in (start, *start.parents) if start.is_dir() else start.parents:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def configured_templates(notebook: Path) -> Path | None:
    """`[tool.nb2prod] templates`, resolved against its pyproject.toml, or None."""
    pyproject, value = _setting(notebook, "templates")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UserError("[tool.nb2prod] templates must be a directory path (a string)",
                        path=pyproject)
    return check_templates_dir(pyproject.parent / value, f"{pyproject}: [tool.nb2prod]")


def configured_model(notebook: Path) -> str | None:
    """`[tool.nb2prod] model`: the name of the value `--target serve` serves, or None."""
    pyproject, value = _setting(notebook, "model")
    if value is not None and (not isinstance(value, str) or not value.isidentifier()):
        raise UserError("[tool.nb2prod] model must be a variable name (a string)",
                        path=pyproject)
    return value


def configured_serve_input(notebook: Path) -> str | None:
    """`[tool.nb2prod] serve_input`: the frame whose rows `--target serve` takes, or None."""
    pyproject, value = _setting(notebook, "serve_input")
    if value is not None and (not isinstance(value, str) or not value.isidentifier()):
        raise UserError("[tool.nb2prod] serve_input must be a variable name (a string)",
                        path=pyproject)
    return value


def configured_notebooks(folder: Path) -> tuple[tuple[Path, list[str]] | None, set[str]]:
    """`[tool.nb2prod] notebooks` (the pyproject and the file names, in order) or None,
    and the file names `exclude` leaves out, for a folder of notebooks."""
    pyproject, listed = _setting(folder, "notebooks")
    _, excluded = _setting(folder, "exclude")
    for key, value in (("notebooks", listed), ("exclude", excluded)):
        if value is not None and not (isinstance(value, list) and
                                      all(isinstance(v, str) for v in value)):
            raise UserError(f"[tool.nb2prod] {key} must be a list of notebook file names",
                            path=pyproject)
    return ((pyproject, listed) if listed is not None else None), set(excluded or ())


def _setting(notebook: Path, key: str) -> tuple[Path | None, object]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    pyproject = nearest_pyproject(notebook)
    if pyproject is None:
        return None, None
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read config: {exc}", path=pyproject) from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"invalid TOML: {exc}", path=pyproject) from None
    return pyproject, data.get("tool", {}).get("nb2prod", {}).get(key)


def templates_dir(explicit: Path | None, notebook: Path) -> Path | None:
    """The template override directory for a build: `--templates`, else the config."""
    if explicit is not None:
        return check_templates_dir(explicit, "--templates")
    return configured_templates(notebook)


def check_templates_dir(path: Path, origin: str) -> Path:
    # A missing directory would silently fall back to the built-in templates,
    # and a company's licence header would vanish without anyone noticing.
    if not path.is_dir():
        raise UserError(f"template directory not found (from {origin})", path=path,
                        hint="create it with: nb2prod templates export DIR")
    return path
