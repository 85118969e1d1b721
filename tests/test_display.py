"""The package prints what the notebook's kernel printed: display settings (issue 13, 2).

In a Jupyter kernel pandas shows at most 20 columns wrapped at 80 characters;
a terminal process fits the terminal instead (`...` in place of columns, and a
width that follows `COLUMNS`). The generated `notebook_display()` sets the
kernel's value before any step runs. tests/e2e/test_display.py compares with a
real kernel's output.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from nb2prod.cli import main
from nb2prod.render.display import kernel_settings

WIDE = ("import numpy as np\nimport pandas as pd",
        ("frame = pd.DataFrame(np.arange(60.0).reshape(4, 15) / 7,\n"
        "                     columns=[f'column_{i}' for i in range(15)])\nprint(frame)"))


def test_settings_follow_the_libraries_that_print_frames():
    assert [s.module for s in kernel_settings(("pandas>=2", "numpy"))] == ["pandas"]
    assert [s.module for s in kernel_settings(("seaborn",))] == ["pandas"]  # frames via seaborn
    assert kernel_settings(("numpy", "scikit-learn")) == ()


def test_a_notebook_without_pandas_gets_no_display_code(notebook_factory, tmp_path):
    notebook = notebook_factory(["import numpy as np", "print(np.arange(3))"])
    assert main(["build", str(notebook), "-o", str(tmp_path / "out")]) == 0
    assert "notebook_display" not in (tmp_path / "out/src/nb/pipeline.py").read_text()


def _run(out_dir, columns: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(out_dir / "src"), "COLUMNS": columns}
    run = subprocess.run([sys.executable, "-m", "nb"], capture_output=True, text=True,
                         env=env, cwd=out_dir, check=False, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_a_wide_frame_prints_as_in_a_kernel_whatever_the_terminal(notebook_factory, tmp_path):
    notebook = notebook_factory(list(WIDE))
    out_dir = tmp_path / "out"
    assert main(["build", str(notebook), "-o", str(out_dir)]) == 0
    # the command line calls it before any step (the runtime's `prepare` hook), the
    # generated tests' fixture calls it itself
    assert "prepare=pipeline.notebook_display" in (out_dir / "src/nb/__main__.py").read_text()
    assert "notebook_display()" in (out_dir / "tests/conftest.py").read_text()
    frame = pd.DataFrame(np.arange(60.0).reshape(4, 15) / 7,
                         columns=[f"column_{i}" for i in range(15)])
    with pd.option_context("display.max_columns", 20, "display.width", 80):
        kernel = repr(frame) + "\n"  # what a kernel prints: every column, wrapped
    assert "..." not in kernel and "\\" in kernel
    assert _run(out_dir, "40") == kernel
    assert _run(out_dir, "250") == kernel


@pytest.mark.parametrize("tags", [["imports"], []])  # module level, or in the step
def test_the_notebooks_own_setting_stays(tags, notebook_factory, tmp_path):
    setup = "import numpy as np\nimport pandas as pd\npd.set_option('display.max_columns', 4)"
    notebook = notebook_factory([(setup, tags), WIDE[1]])
    out_dir = tmp_path / "out"
    assert main(["build", str(notebook), "-o", str(out_dir)]) == 0
    at_import = "\npd.set_option(" in (out_dir / "src/nb/pipeline.py").read_text()
    assert at_import == bool(tags)
    frame = pd.DataFrame(np.arange(60.0).reshape(4, 15) / 7,
                         columns=[f"column_{i}" for i in range(15)])
    with pd.option_context("display.max_columns", 4, "display.width", 80):
        assert _run(out_dir, "200") == repr(frame) + "\n"
