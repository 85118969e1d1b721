"""The lint API: `run_lint(LintOptions)` -> report text and exit code (no Typer).

`cli/lint.py` maps command-line flags onto `LintOptions`; tests call
`run_lint` in-process. The exit code is computed here and only here:
0 no finding at or above `fail_on`, 1 findings; usage errors are raised as
`UserError(exit_code=2)`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

from nb2prod.lint import formats, registry
from nb2prod.lint.config import LintConfig, check_severity, load_config
from nb2prod.lint.discover import discover
from nb2prod.lint.engine import LintPlan
from nb2prod.lint.findings import Finding
from nb2prod.lint.project import project_findings
from nb2prod.lint.run import LintResult, lint_many


@dataclass(frozen=True)
class LintOptions:
    """One lint run as asked for: the command line's flags, or an API caller's."""

    paths: tuple[Path, ...] = (Path("."),)
    format: str = "text"
    select: tuple[str, ...] | None = None  # replaces the config's select
    ignore: tuple[str, ...] = ()  # added to the config's ignore
    exclude: tuple[str, ...] = ()  # added to the config's exclude
    fail_on: str | None = None  # default: the config's, else "error"
    jobs: int = 0  # 0: auto
    config: Path | None = None  # explicit pyproject.toml
    progress: bool = False
    cache: bool = False  # the command line turns it on; see nb2prod.lint.cache


class LintOutcome(NamedTuple):
    """What a lint run gives back: the findings, the report text and the exit code.

    NamedTuple, not a frozen dataclass: made at every start-up of `nb2prod lint`, where
    `dataclass()` costs ~0.6 ms a class (it compiles each method) and NamedTuple ~0.1 ms."""

    result: LintResult
    report: str
    exit_code: int


def split_ids(values: list[str] | tuple[str, ...] | None) -> tuple[str, ...] | None:
    """`["NB101,NB2", "NB3"]` -> `("NB101", "NB2", "NB3")`; None stays None."""
    if values is None:
        return None
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


def effective_config(options: LintOptions) -> LintConfig:
    start = options.paths[0] if options.paths else Path(".")
    config = load_config(start if start.exists() else Path("."), options.config)
    return replace(
        config,
        select=options.select if options.select is not None else config.select,
        ignore=config.ignore + options.ignore,
        exclude=config.exclude + options.exclude,
        fail_on=check_severity(options.fail_on or config.fail_on),
    )


def repository_root(config: LintConfig, start: Path) -> Path:
    """The config's folder, else the nearest folder with `.git`, else the current one."""
    if config.root is not None:
        return config.root
    start = start.resolve()
    for folder in (start, *start.parents) if start.is_dir() else start.parents:
        if (folder / ".git").exists():
            return folder
    return Path.cwd().resolve()


def run_lint(options: LintOptions) -> LintOutcome:
    config = effective_config(options)
    enabled = registry.resolve(config.select, config.ignore)
    paths = list(options.paths) or [Path(".")]
    root = repository_root(config, paths[0])
    files = discover(paths, config.exclude, root)
    plan = LintPlan(config, enabled, root)
    cache = None
    if options.cache and files:
        from nb2prod.lint.cache import LintCache, cache_dir, make_key

        cache = LintCache.open(cache_dir(config.root), make_key(plan),
                               path_sensitive=bool(config.per_file_ignores))
    result = lint_many(files, plan, options.jobs, options.progress, cache)
    crossing = project_findings(paths, enabled)  # a folder of notebooks that is one project
    if crossing:
        result = result._replace(findings=tuple(sorted([*result.findings, *crossing],
                                                       key=Finding.sort_key)))
    text = formats.render(result.findings, options.format, rules=registry.LINT_RULES,
                         files=result.files, paths=[str(f) for f in files],
                         fail_on=config.fail_on)
    failing = any(f.at_least(config.fail_on) for f in result.findings)
    return LintOutcome(result, text, 1 if failing else 0)


def show_progress(fmt: str) -> bool:
    """A progress bar only for people: text format on a terminal."""
    return fmt == "text" and sys.stderr.isatty()
