"""A large cell builds (issue 25): build is linear in a cell's size, not quadratic.

The ratio of a 20,000-line cell's build to a 2,000-line cell's is measured by
`benchmarks/build_scaling.py` (timing belongs in a benchmark, not a test); this
test only proves that a 20,000-line cell of simple statements builds and that
its package keeps every line. Before the fix it took minutes (16k lines: 169 s).
"""

from __future__ import annotations

import ast

from nb2prod.cli import main
from tests.conftest import make_notebook

LINES = 20_000


def test_a_twenty_thousand_line_cell_builds(tmp_path):
    source = "".join(f"x{i} = {i} + 1\n" for i in range(LINES)) + f"total = x{LINES - 1}\n"
    notebook = make_notebook(tmp_path / "big.ipynb", [(source, [])])
    out = tmp_path / "out"
    assert main(["build", str(notebook), "-o", str(out), "-q"]) == 0
    pipeline = (out / "src" / "big" / "pipeline.py").read_text()
    tree = ast.parse(pipeline)
    assigned = {t.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
                for t in node.targets if isinstance(t, ast.Name)}
    assert {f"x{i}" for i in range(LINES)} <= assigned and "total" in assigned
