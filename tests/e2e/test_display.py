"""A notebook printing wide DataFrames: executed, built, installed, run; same stdout.

The kernel and a terminal process use different pandas display settings
(issue 13, 2): the installed package must print exactly what the kernel printed,
in a terminal of any width.
"""

from __future__ import annotations

import os
import subprocess

import nbformat
import pytest
from nbclient import NotebookClient

from nb2prod.cli import main
from tests.conftest import make_notebook, pip_install

pytestmark = pytest.mark.e2e

CELLS = [
    "import numpy as np\nimport pandas as pd",
    ("wide = pd.DataFrame(np.arange(60.0).reshape(4, 15) / 7,\n"
    "                    columns=[f'column_{i}' for i in range(15)])\n"
    "print(wide)\nprint(wide['column_3'])\nprint(wide.describe())"),
    ("wider = pd.DataFrame(np.arange(150).reshape(5, 30), columns=[f'c{i}' for i in range(30)])\n"
    "print(wider)\nprint(wider.T)"),
    "pd.set_option('display.precision', 3)\nprint(wide.head(2))",  # the notebook's own option
]


def kernel_stdout(notebook) -> str:
    node = nbformat.read(notebook, as_version=4)
    NotebookClient(node, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    return "".join(o["text"] for cell in node.cells for o in cell.outputs
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


def test_the_installed_package_prints_what_the_kernel_printed(tmp_path, venv_factory):
    notebook = make_notebook(tmp_path / "wide_frames.ipynb", CELLS)
    expected = kernel_stdout(notebook)
    assert "column_14" in expected and "c29" in expected and "\\" in expected
    assert main(["build", str(notebook), "-o", str(tmp_path / "pkg")]) == 0
    python = venv_factory("venv-display")
    pip_install(python, tmp_path / "pkg")
    for columns in ("60", "200"):  # the terminal's width must not matter
        run = subprocess.run([str(python), "-m", "wide_frames"], capture_output=True,
                             text=True, cwd=tmp_path, env={**os.environ, "COLUMNS": columns},
                             check=False, timeout=120)
        assert run.returncode == 0, run.stderr
        assert run.stdout == expected
