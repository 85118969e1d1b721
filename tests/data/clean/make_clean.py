"""Writes the minimal notebooks of issue 26: each runs in Jupyter, and its package must too.

Run `python tests/data/clean/make_clean.py` to regenerate them (no outputs: they are
inputs to `build`, and the tests execute the packages, not the notebooks).
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

NOTEBOOKS: dict[str, list[str]] = {
    # item 1: `e` is deleted at the end of the handler; nothing later reads it
    "except_deletes": [
        ('import numpy as np\ne = np.arange(3)\ntry:\n    int("x")\nexcept ValueError as e:\n'
        "    print(e)"),
        'print("done")',
    ],
    # item 1: bound on one path only; a later cell does not read it
    "import_fallback": [
        ("try:\n    import tomllib as toml_reader\nexcept ImportError:\n"
        "    toml_reader = None\n    fallback = True"),
        "total = sum(range(10))\nprint(total)",
    ],
    # item 3: a 2-D scatter after a cell that drew on 3-D axes
    "figures_per_cell": [
        ("%matplotlib inline\nimport matplotlib.pyplot as plt\n"
        'ax = plt.axes(projection="3d")\nax.scatter3D([0, 1], [0, 1], [0, 1], c=[0, 1])'),
        "plt.scatter([0, 1], [0, 1], c=[0, 1])\nprint(len(plt.gcf().axes))",
    ],
    # item 4: code in strings reads the notebook's names
    "code_in_strings": [
        "import cProfile\nimport timeit\na = 41",
        ('cProfile.run("a + 1")\nexec("b = a + 1")\nprint(eval("a + 1"))\n'
        'print(timeit.timeit("a + 1", number=3, globals=globals()) >= 0)'),
    ],
    # a script pasted into a notebook: its main guard ran in the kernel
    "main_guard": [
        "def main():\n    print('ran')",
        'if __name__ == "__main__":\n    main()',
    ],
    # item 2: a run-time failure is named at its cell and line
    "fails_at_a_line": [
        "import os\nx = 1",
        "y = x + 1\n\nz = {}\nprint(z[y])",
        'print("never")',
    ],
}


def notebook(sources: list[str]) -> dict:
    cells = [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {},
              "outputs": [], "source": source} for i, source in enumerate(sources, 1)]
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3",
            "language": "python", "name": "python3"}, "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


if __name__ == "__main__":
    for name, sources in NOTEBOOKS.items():
        text = json.dumps(notebook(sources), indent=1, sort_keys=True) + "\n"
        (HERE / f"{name}.ipynb").write_text(text, encoding="utf-8")
