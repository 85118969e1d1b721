"""Lint one notebook: load, analyse once, run the enabled checks, suppress.

Pure apart from reading the notebook (and, for NB305, checking that files
exist: `lint_file_probed` returns those checks, so the cache can repeat
them). Runs in worker processes, so its inputs are picklable records. The
loader and the analysis are imported on the first notebook linted: a run
answered from the cache does not import them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from nb2prod.errors import UserError
from nb2prod.lint import suppress
from nb2prod.lint.config import LintConfig
from nb2prod.lint.context import LintContext, found
from nb2prod.lint.findings import Finding
from nb2prod.lint.registry import checks_for, expand
from nb2prod.lint.rules_files import NOT_PYTHON, UNREADABLE
from nb2prod.problems import Problem


@dataclass(frozen=True)
class LintPlan:
    """What to lint with: the configuration and the codes it enables."""

    config: LintConfig
    enabled: frozenset[str]
    root: Path  # repository root: relative data paths may resolve from here


def lint_file(path: Path, plan: LintPlan) -> list[Finding]:
    """Every finding for one notebook, sorted by cell, line, column."""
    return lint_file_probed(path, plan)[0]


def lint_file_probed(path: Path, plan: LintPlan) -> tuple[list[Finding], dict[str, bool]]:
    """`lint_file`, and the file-existence checks the findings depend on (path -> existed)."""
    enabled = plan.enabled
    ignored = suppress.per_file_ignored(path, plan.config.root, plan.config.per_file_ignores)
    if ignored:
        enabled = enabled - expand(ignored, "per-file-ignores")
    probes: dict[str, bool] = {}
    problems = _problems(path, plan, enabled, probes)
    findings = [Finding.of(str(path), p) for p in problems if p.code in enabled]
    return sorted(set(findings), key=Finding.sort_key), probes


def _problems(path: Path, plan: LintPlan, enabled: frozenset[str],
              probes: dict[str, bool]) -> list[Problem]:
    from nb2prod.analysis.analyze import analyze
    from nb2prod.notebook import NON_PYTHON_HINT, load_notebook

    try:
        notebook = load_notebook(path, validate=False, digest=False)
    except UserError as exc:
        rule = NOT_PYTHON if exc.hint == NON_PYTHON_HINT else UNREADABLE
        return [found(rule, None, exc.message)]
    try:
        with warnings.catch_warnings():  # `"\."` in user code warns at parse time: not ours
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            analysis = analyze(notebook, facts=True)
    except (ValueError, RecursionError, MemoryError) as exc:  # e.g. NUL bytes in a cell
        return [found(UNREADABLE, None, f"cannot analyse the code: {exc}")]
    ctx = LintContext(path, analysis, plan.config, plan.root, enabled, {"probes": probes})
    problems = [p for check in checks_for(enabled) for p in check.run(ctx)]
    return suppress.apply(problems, analysis)
