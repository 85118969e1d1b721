"""`[tool.nb2prod.lint]` from the nearest pyproject.toml, as one frozen record.

```toml
[tool.nb2prod.lint]
select = ["NB1", "NB201"]          # codes or prefixes; default: every lint rule
ignore = ["NB103"]                 # repository-wide opt-out
per-file-ignores = { "scratch/*.ipynb" = ["NB3"] }
exclude = ["archive/", "*.nbconvert.ipynb"]
require-tags = true                # untagged notebooks become findings (NB403)
fail-on = "warning"

[tool.nb2prod.lint.limits]
max-cell-lines = 50
max-code-cells = 80
max-output-kb = 100
max-image-kb = 200
```
Unknown keys are an error: a typo in a gate's configuration must not turn
the gate off silently. Rule ids are checked by `registry.resolve`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from nb2prod.errors import UserError
from nb2prod.problems import SEVERITIES
from nb2prod.project_config import nearest_pyproject


@dataclass(frozen=True)
class Limits:
    """Size limits of the NB4xx and NB307-NB308 rules (`[tool.nb2prod.lint.limits]`)."""

    max_cell_lines: int = 50
    max_code_cells: int = 80
    max_output_kb: int = 100
    max_image_kb: int = 200


@dataclass(frozen=True)
class LintConfig:
    """`[tool.nb2prod.lint]` of the nearest `pyproject.toml` (defaults for what it leaves out)."""

    select: tuple[str, ...] | None = None  # None: every lint rule
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = ()
    require_tags: bool = False
    fail_on: str = "error"
    limits: Limits = field(default_factory=Limits)
    root: Path | None = None  # the directory of the pyproject.toml it came from
    source: Path | None = None


_LIST_KEYS = ("select", "ignore", "exclude")
_KNOWN = {"select", "ignore", "per-file-ignores", "exclude", "require-tags", "fail-on", "limits"}


def load_config(start: Path | None = None, explicit: Path | None = None) -> LintConfig:
    """Read the configuration for linting `start` (or from `explicit`)."""
    path = explicit or nearest_pyproject(start or Path.cwd())
    if path is None:
        return LintConfig()
    if not explicit and "[tool.nb2prod" not in _text(path):
        return LintConfig()  # nothing for us: defaults, without loading a TOML parser
    try:  # imported only when there is a configuration to read
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the same parser, as a package
        import tomli as tomllib
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read config: {exc}", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"invalid TOML: {exc}", path=path) from None
    table = data.get("tool", {}).get("nb2prod", {}).get("lint", {})
    return parse_table(table, Path(path))


def parse_table(table: dict[str, Any], path: Path) -> LintConfig:
    unknown = sorted(set(table) - _KNOWN)
    if unknown:
        raise UserError(f"unknown key '{unknown[0]}' in [tool.nb2prod.lint]", path=path,
                        hint=f"known keys: {', '.join(sorted(_KNOWN))}")
    values: dict[str, Any] = {"root": path.parent.resolve(), "source": path}
    for key in _LIST_KEYS:
        if key in table:
            values[key] = _strings(table[key], key, path)
    if "per-file-ignores" in table:
        values["per_file_ignores"] = _per_file(table["per-file-ignores"], path)
    if "require-tags" in table:
        if not isinstance(table["require-tags"], bool):
            raise UserError("'require-tags' must be true or false", path=path)
        values["require_tags"] = table["require-tags"]
    if "fail-on" in table:
        values["fail_on"] = check_severity(table["fail-on"], path)
    if "limits" in table:
        values["limits"] = _limits(table["limits"], path)
    return LintConfig(**values)


def check_severity(value: Any, path: Path | None = None) -> str:
    if value not in SEVERITIES:
        raise UserError(f"fail-on must be one of {', '.join(SEVERITIES)}, not {value!r}",
                        path=path)
    return value


def _strings(value: Any, key: str, path: Path) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UserError(f"'{key}' must be a list of strings", path=path)
    return tuple(v.strip() for v in value if v.strip())


def _per_file(value: Any, path: Path) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise UserError("'per-file-ignores' must be a table of glob = [codes]", path=path)
    return tuple((glob, _strings(codes, f"per-file-ignores.{glob}", path))
                 for glob, codes in value.items())


def _limits(value: Any, path: Path) -> Limits:
    if not isinstance(value, dict):
        raise UserError("'limits' must be a table", path=path)
    names = {f.name.replace("_", "-"): f.name for f in fields(Limits)}
    limits = Limits()
    for key, number in value.items():
        if key not in names:
            raise UserError(f"unknown limit '{key}'", path=path,
                            hint=f"known limits: {', '.join(sorted(names))}")
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise UserError(f"limit '{key}' must be a non-negative integer", path=path)
        limits = replace(limits, **{names[key]: number})
    return limits


def _text(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
