"""Failing and passing notebooks for every lint rule, and what each must report.

Run `python tests/data/lint/make_cases.py` to (re)write `cases/`; the test
`test_cases_are_up_to_date` fails when the files and this table disagree,
so a case is changed here, never by editing its .ipynb by hand.

Every notebook starts with a markdown cell, so expected cell numbers also
check that cells are counted over all cells (as Jupyter and ruff do).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).parent
CASES_DIR = HERE / "cases"


@dataclass(frozen=True)
class Case:
    code: str
    kind: str  # "fail" or "pass"
    cells: tuple = ()
    expect: tuple[tuple[int | None, int | None], ...] = ()  # (cell, line) of each finding
    filename: str = ""
    raw: str | None = None  # file text instead of a notebook (unreadable cases)
    language: str = "python"
    limits: dict = field(default_factory=dict)
    require_tags: bool = False

    @property
    def name(self) -> str:
        return self.filename or f"{self.code}_{self.kind}.ipynb"


def md(source: str = "# Analysis") -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def code(source: str, count: int | None = None, tags=(), outputs=()) -> dict:
    return {"cell_type": "code", "execution_count": count,
            "metadata": {"tags": list(tags)} if tags else {}, "outputs": list(outputs),
            "source": source}


def stream(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def image(size: int) -> dict:
    png = base64.b64encode(bytes(range(256)) * (size // 256 + 1))[: size * 4 // 3].decode()
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": png, "text/plain": "<Figure>"}}


def fail(code_: str, *cells, expect, **kw) -> Case:
    return Case(code_, "fail", (md(), *cells), tuple(expect), **kw)


def ok(code_: str, *cells, **kw) -> Case:
    return Case(code_, "pass", (md(), *cells), (), **kw)


CASES = [
    Case("NB001", "fail", expect=((None, None),), raw='{"cells": [\n<<<<<<< HEAD\n'),
    ok("NB001", code("x = 1")),
    fail("NB002", code("def f(:\n    pass"), code("print('still linted')"),
         code("a = 1\nb = (2,\n"), expect=[(2, 1), (4, 2)]),
    ok("NB002", code("def f():\n    pass")),
    Case("NB003", "fail", (md(), code("x <- 1")), ((None, None),), language="R"),
    ok("NB003", code("x = 1")),
    fail("NB101", code("a = 1", 2), code("b = 2", 1), expect=[(3, 1)]),
    ok("NB101", code("a = 1", 1), code("b = 2", 2)),
    fail("NB102", code("a = 1", 1), code("b = 2", 1), expect=[(3, 1)]),
    ok("NB102", code("a = 1", 1), code("b = 2", 2)),
    fail("NB103", code("a = 1", 1), code("b = a", 5), expect=[(3, 1)]),
    ok("NB103", code("a = 1", 1), code("b = a", 2)),
    fail("NB104", code("print(1)", None, outputs=[stream("1\n")]), expect=[(2, 1)]),
    ok("NB104", code("print(1)", 1, outputs=[stream("1\n")])),
    fail("NB105", code("a = 1", 1), code("b = a", None), code("c = b", 2), expect=[(3, 1)]),
    ok("NB105", code("a = 1"), code("b = a"), code("c = b")),
    fail("NB201", code("import os"), code("print(total)"), expect=[(3, 1)]),
    ok("NB201", code("total = 1"), code("print(total)")),
    fail("NB202", code("from math import *\nprint(pi)"), expect=[(2, 1)]),
    ok("NB202", code("from math import pi\nprint(pi)")),
    fail("NB203", code("x = 1"), code("print(y)"), code("y = x"), expect=[(3, 1)]),
    ok("NB203", code("x = 1"), code("y = x"), code("print(y)")),
    fail("NB204", code("model = 'linear'"), code("x = 1\nmodel = 'forest'\nprint(model)"),
         expect=[(3, 2)]),
    ok("NB204", code("model = 'linear'\nprint(model)"), code("model = 'forest'\nprint(model)")),
    fail("NB205", code("import os"), code("cwd = os.getcwd()"),
         code("print(cwd)\nimport sys\nprint(sys.argv)"), expect=[(4, 2)]),
    ok("NB205", code("import os"), code("import sys"), code("print(os.getcwd(), sys.argv)")),
    fail("NB301", code("x = 1\ndata_path = '/mnt/data/sales.csv'"), expect=[(2, 2)]),
    ok("NB301", code("x = 1\ndata_path = 'data/sales.csv'\nurl = '/api/v1/items'")),
    fail("NB302", code("x = 1\np = '~/Downloads/file.csv'"), expect=[(2, 2)]),
    ok("NB302", code("x = 1\np = 'data/file.csv'")),
    fail("NB303", code("import numpy as np\nimport random"), code("x = np.random.rand(3)"),
         code("y = random.choice([1, 2])"), expect=[(3, 1), (4, 1)]),
    ok("NB303", code("import numpy as np\nimport random\nnp.random.seed(0)\nrandom.seed(0)"),
       code("x = np.random.rand(3)\ny = random.choice([1, 2])")),
    fail("NB304", code("x = 1\nname = input('name? ')"), expect=[(2, 2)]),
    ok("NB304", code("x = 1\nname = 'alice'")),
    fail("NB305", code("import pandas as pd\ndf = pd.read_csv('data/missing.csv')"),
         expect=[(2, 2)]),
    ok("NB305", code("import pandas as pd\ndf = pd.read_csv('data/present.csv')"),
       code("df.to_csv('out/clean.csv')\nagain = pd.read_csv('out/clean.csv')")),
    fail("NB306", code("import os\nkey = 'AKIAZ3MEXQ7R5TWY2HNB'"), expect=[(2, 2)]),
    ok("NB306", code("import os\nkey = os.environ['AWS_ACCESS_KEY_ID']\ntoken = 'hello'")),
    fail("NB307", code("print('x' * 3000)", 1, outputs=[stream("x" * 3000)]),
         expect=[(2, 1)], limits={"max-output-kb": 1}),
    ok("NB307", code("print('x' * 300)", 1, outputs=[stream("x" * 300)]),
       limits={"max-output-kb": 1}),
    fail("NB308", code("print(1)", 1, outputs=[image(3000)]), expect=[(2, 1)],
         limits={"max-image-kb": 1}),
    ok("NB308", code("print(1)", 1, outputs=[image(300)]), limits={"max-image-kb": 1}),
    fail("NB401", code(""), code("x = 1"), expect=[(2, 1)]),
    ok("NB401", code("x = 1")),
    fail("NB402", code("a = 1\nb = 2\nc = 3\nd = 4\ne = 5"), expect=[(2, 4)],
         limits={"max-cell-lines": 3}),
    ok("NB402", code("a = 1\nb = 2\nc = 3\n"), limits={"max-cell-lines": 3}),
    fail("NB403", code("x = 1"), expect=[(None, None)], require_tags=True),
    ok("NB403", code("x = 1", tags=["step:load"]), require_tags=True),
    fail("NB404", code("data = [1, 2]", tags=["step:load"]),
         code("summary = len(data)", tags=["step:explore"]),
         code("total = sum(data)\nprint(total)", tags=["step:report"]), expect=[(3, 1)]),
    ok("NB404", code("data = [1, 2]", tags=["step:load"]),
       code("summary = len(data)", tags=["step:explore"]),
       code("print(sum(data), summary)", tags=["step:report"])),
    fail("NB405", code("a = 1"), code("b = 2"), code("c = 3"), expect=[(None, None)],
         limits={"max-code-cells": 2}),
    ok("NB405", code("a = 1"), code("b = 2"), limits={"max-code-cells": 2}),
    fail("NB501", code("x = 1"), expect=[(None, None)], filename="Untitled1.ipynb"),
    ok("NB501", code("x = 1"), filename="churn_model.ipynb"),
    fail("NB502", code("x = 1"), expect=[(None, None)], filename="churn-Copy1.ipynb"),
    ok("NB502", code("x = 1"), filename="churn_copy_machine.ipynb"),
    fail("NB503", code("x = 1"), expect=[(None, None)], filename="my analysis (final).ipynb"),
    ok("NB503", code("x = 1"), filename="my_analysis-final.ipynb"),
    fail("NB601", code("x = 1\n!ls data"), code("%%bash\necho hi"), expect=[(2, 2), (3, 1)]),
    ok("NB601", code("%matplotlib inline\nx = 1"), code("!ls data", tags=["skip"])),
    fail("NB604", code("!pip install requests\nimport requests"), expect=[(2, 1)]),
    ok("NB604", code("import requests")),
    fail("NB606", code("x = 1", tags=["stpe:train"]), expect=[(2, 1)]),
    ok("NB606", code("x = 1", tags=["step:train", "hide-input", "nb2prod:ignore=NB201"])),
    fail("NB617", code("x = 1", tags=["step:train", "retry:abc"]), expect=[(2, None)]),
    ok("NB617", code("x = 1", tags=["step:train", "retry:3", "limit:cpu:500m", "timeout:60",
                                    "secret:db-creds:password:DB_PASSWORD"])),
    fail("NB607", code("alpha = 0.5\nroot = os.path.join('a', 'b')", tags=["parameters"]),
         expect=[(2, 2)]),
    ok("NB607", code("alpha = 0.5\nname: str = 'x'\nsizes = [1, 2, -3]", tags=["parameters"])),
    fail("NB608", code("x = 1", tags=["step:train"]), code("print(accuracy)", tags=["metrics"]),
         expect=[(3, 1)]),
    ok("NB608", code("accuracy = 0.9", tags=["step:train"]),
       code("print(accuracy)", tags=["metrics"])),
    fail("NB609", code("count = 0\n\ndef bump():\n    global count\n    count = count + 1"),
         expect=[(2, 5)]),
    ok("NB609", code("count = 0\n\ndef bump(count):\n    return count + 1")),
    fail("NB613", code("x = 1\ndisplay(x)"), expect=[(2, 2)]),
    ok("NB613", code("x = 1\nprint(x)")),
    fail("NB624", code("db_url = 'postgres://etl:hunter2@db.internal/sales'\nn = 3",
                       tags=["parameters"]), expect=[(2, 1)]),
    ok("NB624", code("db_url = 'postgres://db.internal/sales'\n"
                     "salt = 'q8Zr4TnB2vX9LmP0sK7wYd3F'  # nb2prod: not-a-secret",
                     tags=["parameters"])),
    fail("NB625", code("import os", tags=["imports"]),
         code("token = os.environ['API_TOKEN']\nheaders = {'Authorization': f'Bearer {token}'}",
              tags=["step:auth", "secret:api-credentials:token:API_TOKEN"]),
         code("size = len(headers)", tags=["step:fetch"]),
         code("print(size)", tags=["metrics"]), expect=[(3, 2)]),
    ok("NB625", code("import os", tags=["imports"]),
       code("headers = {'Authorization': 'Bearer ' + os.environ['API_TOKEN']}\n"
            "size = len(headers)", tags=["step:fetch", "secret:api-credentials:token:API_TOKEN"]),
       code("report = size * 2", tags=["step:report"]),
       code("print(report)", tags=["metrics"])),
]


def notebook(case: Case) -> dict:
    kernel = {"name": "python3" if case.language == "python" else "ir",
              "display_name": case.language, "language": case.language}
    cells = [dict(cell, id=f"cell-{i}", source=_lines(cell["source"]))
             for i, cell in enumerate(case.cells)]
    return {"cells": cells, "metadata": {"kernelspec": kernel,
                                         "language_info": {"name": case.language}},
            "nbformat": 4, "nbformat_minor": 5}


def _lines(source: str) -> list[str]:
    return source.splitlines(keepends=True)


def render(case: Case) -> str:
    if case.raw is not None:
        return case.raw
    return json.dumps(notebook(case), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_all(folder: Path = CASES_DIR) -> None:
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "data" / "present.csv").write_text("a,b\n1,2\n")
    for case in CASES:
        target = folder / case.kind / case.code / case.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(case), encoding="utf-8")


if __name__ == "__main__":
    write_all()
    print(f"wrote {len(CASES)} cases to {CASES_DIR}")
