"""What crosses notebook boundaries, for `nb2prod lint FOLDER` on a project.

A folder given to lint is checked as one project (as `nb2prod build FOLDER` reads
it) when it says it is one: `[tool.nb2prod] notebooks` lists its notebooks, or
at least two of its notebooks are numbered (`01_ingest.ipynb`, `02_train.ipynb`),
the way pipelines of notebooks are named. A folder of unrelated notebooks is not
a project, and checking it as one would report clashes that do not exist.

The checks are build's own, on the notebooks read as one: a parameter with two
defaults (NB630), a file read before the notebook that writes it (NB631), one
file written by two notebooks (NB632), each located at its notebook and cell.
"""

from __future__ import annotations

import re
from pathlib import Path

from nb2prod.errors import UserError
from nb2prod.lint.findings import Finding

CODES = ("NB630", "NB631", "NB632")  # registry.PROJECT_CODES
NUMBERED = re.compile(r"^\d")


def is_project(folder: Path) -> bool:
    from nb2prod.project_config import configured_notebooks

    try:
        listed, _ = configured_notebooks(folder)
    except UserError:
        return False
    numbered = [p for p in folder.glob("*.ipynb") if NUMBERED.match(p.name)]
    return listed is not None or len(numbered) >= 2


def project_findings(paths: list[Path], enabled) -> list[Finding]:
    """Cross-notebook findings of every folder in `paths` that is a project."""
    if not any(code in enabled for code in CODES):
        return []
    findings: list[Finding] = []
    for folder in (p for p in paths if p.is_dir() and is_project(p)):
        findings += [f for f in _check(folder) if f.code in enabled]
    return findings


def _check(folder: Path) -> list[Finding]:
    from nb2prod.analysis.analyze import analyze
    from nb2prod.analysis.tags import PARAMETERS, SKIP
    from nb2prod.places import origin, relabel
    from nb2prod.plan.file_flows import file_order_problems
    from nb2prod.plan.params import read_params
    from nb2prod.plan.records import Block, Step
    from nb2prod.project import Project, folder_notebooks, load_source

    try:
        notebook = load_source(Project(folder_notebooks(folder), folder), validate=False)
    except UserError:  # a notebook that cannot be read is its own finding already
        return []
    analysis = analyze(notebook)
    cells = [c for c in analysis.code_cells if c.tree is not None and c.tags.role != SKIP]
    _, problems = read_params([c for c in cells if c.tags.role == PARAMETERS],
                              notebook.parts)
    blocks = tuple(Block(c.cell.number, c.cell.cell_id, c.code.python) for c in cells)
    problems += file_order_problems([Step("all", "all", blocks)], notebook.parts)
    found = []
    for problem in problems:
        if problem.code not in CODES:
            continue
        path, cell = origin(notebook.parts, folder, problem.cell)
        local = problem.at(cell, problem.line, problem.column)
        found.append(Finding.of(str(path), local)._replace(
            message=relabel(problem.message, notebook.parts)))
    return found
