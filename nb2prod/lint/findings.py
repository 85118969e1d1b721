"""A `Finding` is a `Problem` that knows which notebook it is in.

Kept apart from the rules so that formatters and worker processes can use it
without importing the analysis.
"""

from __future__ import annotations

from typing import NamedTuple

from nb2prod.problems import ERROR, INFO, WARNING, Problem, problem_order

SEVERITY_RANK = {INFO: 0, WARNING: 1, ERROR: 2}


class Finding(NamedTuple):
    """One finding: a `Problem` and the notebook it is in.

    NamedTuple, not a frozen dataclass: made at every start-up of `nb2prod lint`, where
    `dataclass()` costs ~0.6 ms a class (it compiles each method) and NamedTuple ~0.1 ms."""

    path: str
    cell: int | None  # 1-based over all cells; None for the whole notebook
    line: int | None  # 1-based within the cell
    column: int | None  # 1-based
    code: str
    severity: str
    message: str
    hint: str = ""
    cell_id: str | None = None

    @classmethod
    def of(cls, path: str, problem: Problem) -> Finding:
        return cls(path, problem.cell, problem.line, problem.column, problem.code,
                   problem.severity, problem.message, problem.hint, problem.cell_id)

    def sort_key(self) -> tuple:
        return (self.path, *problem_order(self))

    def at_least(self, severity: str) -> bool:
        return SEVERITY_RANK[self.severity] >= SEVERITY_RANK[severity]

    def to_dict(self) -> dict:
        """The JSON shape (`--format json`), keys in the documented order."""
        return {"path": self.path, "cell": self.cell, "cell_id": self.cell_id,
                "line": self.line, "column": self.column, "code": self.code,
                "severity": self.severity, "message": self.message}
