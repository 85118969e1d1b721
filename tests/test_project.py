"""Several notebooks as one package (issue 23) and data files as options (issue 24, 1):
which notebooks in which order, their steps and parameters, the files between them,
and the one-line refusals. Plans only; tests/e2e/test_project.py builds and runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from nb2prod.cli import main
from nb2prod.plan.build import make_plan
from nb2prod.project import Project, resolve_sources
from tests.conftest import make_notebook


def project(tmp_path, notebooks: dict[str, list]) -> list:
    return [make_notebook(tmp_path / name, cells) for name, cells in notebooks.items()]


INGEST = ["import pandas as pd",
          "raw = pd.read_csv('data/raw.csv')\nprint(len(raw))",
          "raw.to_parquet('work/clean.parquet')"]
TRAIN = ["import pandas as pd",
         "clean = pd.read_parquet('work/clean.parquet')\nprint(clean.shape)"]


def test_a_folder_is_its_notebooks_in_name_order_without_checkpoints(tmp_path):
    project(tmp_path, {"02_train.ipynb": TRAIN, "01_ingest.ipynb": INGEST})
    (tmp_path / ".ipynb_checkpoints").mkdir()
    make_notebook(tmp_path / ".ipynb_checkpoints" / "01_ingest-checkpoint.ipynb", INGEST)
    (tmp_path / "notes.txt").write_text("not a notebook")
    source = resolve_sources([tmp_path])
    assert isinstance(source, Project)
    assert [p.name for p in source.notebooks] == ["01_ingest.ipynb", "02_train.ipynb"]
    plan = make_plan(source, "proj")
    assert [s.function for s in plan.steps] == ["ingest", "train"]
    assert [p.name for p in plan.params] == ["raw_path"]
    assert plan.params[0].file == "data/raw.csv" and plan.params[0].cli == "--raw-path"


def test_pyproject_lists_the_order_and_what_to_leave_out(tmp_path):
    project(tmp_path, {"a_train.ipynb": TRAIN, "b_ingest.ipynb": INGEST,
                       "scratch.ipynb": ["print('try')"]})
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nb2prod]\nnotebooks = ["b_ingest.ipynb", "a_train.ipynb", "scratch.ipynb"]\n'
        'exclude = ["scratch.ipynb"]\n')
    source = resolve_sources([tmp_path])
    assert [p.name for p in source.notebooks] == ["b_ingest.ipynb", "a_train.ipynb"]
    (tmp_path / "pyproject.toml").write_text('[tool.nb2prod]\nnotebooks = ["gone.ipynb"]\n')
    with pytest.raises(Exception, match="gone.ipynb"):
        resolve_sources([tmp_path])


def test_listed_notebooks_run_in_the_order_given(tmp_path):
    paths = project(tmp_path, {"x.ipynb": INGEST, "a.ipynb": TRAIN})
    plan = make_plan(resolve_sources(paths), "proj")
    assert [s.function for s in plan.steps] == ["x", "a"]
    assert not [p for p in plan.problems if p.code == "NB631"]
    backwards = make_plan(resolve_sources(paths[::-1]), "proj")
    (late,) = [p for p in backwards.problems if p.code == "NB631"]
    assert "work/clean.parquet" in late.message


def test_a_step_name_two_notebooks_use_gets_each_notebooks_prefix(tmp_path):
    load = [("import pandas as pd\nx = 1", ["step:load"]), ("print(x)", ["step:report"])]
    paths = project(tmp_path, {"01_sales.ipynb": load, "02_stock.ipynb": load[:1]})
    plan = make_plan(resolve_sources(paths), "proj")
    assert [s.name for s in plan.steps] == ["sales_load", "report", "stock_load"]
    assert [s.function for s in plan.steps] == ["sales_load", "report", "stock_load"]


def test_a_parameter_with_two_defaults_is_refused_and_nothing_is_written(tmp_path, capsys):
    one = [("threshold = 0.5", ["parameters"]), "print(threshold)"]
    two = [("threshold = 0.7", ["parameters"]), "print(threshold * 2)"]
    paths = project(tmp_path, {"01_a.ipynb": one, "02_b.ipynb": two})
    out = tmp_path / "pkg"
    assert main(["build", *map(str, paths), "-o", str(out)]) == 1
    printed = capsys.readouterr()
    assert "02_b.ipynb:cell 1:1: NB630" in printed.out
    assert "nothing written" in printed.err and not out.exists()
    same = project(tmp_path, {"03_c.ipynb": one})
    plan = make_plan(resolve_sources([paths[0], same[0]]), "proj")
    assert [p.name for p in plan.params] == ["threshold"]
    assert not [p for p in plan.problems if p.code == "NB630"]


def test_two_notebooks_writing_one_file_is_located(tmp_path, capsys):
    writer = ["import pandas as pd\ndf = pd.DataFrame({'a': [1]})", "df.to_csv('out/a.csv')"]
    paths = project(tmp_path, {"01_a.ipynb": writer, "02_b.ipynb": writer})
    assert main(["plan", str(tmp_path)]) == 0
    assert "02_b.ipynb:cell 2:1: NB632 [warning] `out/a.csv` is written here and in " \
           "01_a.ipynb cell 2" in capsys.readouterr().out
    assert paths


def test_problems_name_the_notebook_and_its_own_cell(tmp_path, capsys):
    project(tmp_path, {"01_ingest.ipynb": INGEST, "02_train.ipynb": TRAIN + ["print(nope)"]})
    assert main(["plan", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / '02_train.ipynb'}:cell 3:1:7: NB201" in out
    assert "01_ingest.ipynb 1, 2, 3" in out.replace("\n", " ").replace("│", " ") or \
        "01_ingest.ipynb" in out


def test_plan_json_names_every_notebook_and_each_steps_notebook(tmp_path, capsys):
    paths = project(tmp_path, {"01_ingest.ipynb": INGEST, "02_train.ipynb": TRAIN})
    assert main(["plan", str(tmp_path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [n["path"] for n in data["notebooks"]] == [p.as_posix() for p in paths]
    assert [s["notebook"] for s in data["steps"]] == [p.as_posix() for p in paths]
    assert data["file_flows"] == [{"path": "work/clean.parquet", "writer": "ingest",
                                   "reader": "train"}]


@pytest.mark.parametrize("setup, message", [
    (lambda d: None, "no notebooks in the folder (empty)"),
    (lambda d: (d / "a.txt").write_text("x"), "no notebooks in the folder (1 other file"),
    (lambda d: (make_notebook(d / "a.ipynb", INGEST), (d / "b.ipynb").write_text("{")),
     "b.ipynb: not a notebook: invalid JSON"),
])
@pytest.mark.parametrize("command", ["build", "plan", "verify"])
def test_bad_folders_are_one_line_exit_2_and_nothing_written(tmp_path, capsys, setup, message,
                                                              command):
    folder = tmp_path / "nbs"
    folder.mkdir()
    setup(folder)
    out = tmp_path / "pkg"
    args = [command, str(folder)] + (["-o", str(out)] if command == "build" else [])
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) <= 2 and message in err and "Traceback" not in err
    assert not out.exists()


def test_listing_a_folder_with_notebooks_or_a_non_notebook_is_refused(tmp_path, capsys):
    (paths) = project(tmp_path, {"a.ipynb": INGEST})
    (tmp_path / "data.csv").write_text("a\n1\n")
    assert main(["plan", str(paths[0]), str(tmp_path / "data.csv")]) == 2
    assert "data.csv: not a .ipynb file" in capsys.readouterr().err


def test_reads_in_helpers_urls_and_files_written_first_keep_their_literal(tmp_path):
    nb = make_notebook(tmp_path / "nb.ipynb", [
        ("import pandas as pd\n\ndef load():\n    return pd.read_csv('data/helper.csv')",
         ["functions"]),
        ("df = pd.read_csv('https://example.org/x.csv')\n"
         "df.to_csv('mid.csv')\nmid = pd.read_csv('mid.csv')\n"
         "a = pd.read_csv('data/a.csv')\nb = pd.read_csv(\"data/a.csv\", sep=',')\n"
         "with open('notes/readme.txt') as f:\n    text = f.read()\n"
         "a_path = 1")])
    plan = make_plan(nb, "x")
    assert [(p.name, p.file) for p in plan.params] == [
        ("data_a_path", "data/a.csv"), ("readme_path", "notes/readme.txt")]
    code = "\n".join(b.code for s in plan.steps for b in s.blocks)
    assert "pd.read_csv(data_a_path)" in code and "pd.read_csv(data_a_path, sep=',')" in code
    assert "open(readme_path)" in code and "'https://example.org/x.csv'" in code
    assert "pd.read_csv('mid.csv')" in code
    assert "data/helper.csv" in "\n".join(h.code for h in plan.helpers)


def test_lint_checks_what_crosses_the_notebooks_of_a_numbered_folder(tmp_path, capsys):
    one = [("threshold = 0.5", ["parameters"]),
           "import pandas as pd\nx = pd.read_csv('work/b.csv')"]
    two = [("threshold = 0.7", ["parameters"]),
           "import pandas as pd\npd.DataFrame().to_csv('work/b.csv')"]
    project(tmp_path, {"01_a.ipynb": one, "02_b.ipynb": two})
    assert main(["lint", str(tmp_path), "--select", "NB630,NB631"]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / '01_a.ipynb'}:cell 2:2:1: NB631 `work/b.csv` is read here, before " \
           "02_b.ipynb cell 2 writes it" in out
    assert f"{tmp_path / '02_b.ipynb'}:cell 1:1:1: NB630 parameter `threshold` = 0.7" in out
    unrelated = tmp_path / "unrelated"
    unrelated.mkdir()
    project(unrelated, {"a.ipynb": one, "b.ipynb": two})  # not numbered: not a project
    assert main(["lint", str(unrelated), "--select", "NB630,NB631"]) == 0


def test_parquet_and_excel_calls_bring_their_engines_into_the_dependencies(tmp_path):
    nb = make_notebook(tmp_path / "nb.ipynb", [
        "import pandas as pd\ndf = pd.DataFrame({'a': [1]})\ndf.to_parquet('x.parquet')"])
    plan = make_plan(nb, "x", python=Path(sys.executable))
    assert "pyarrow" in [r.split(">")[0].split("=")[0] for r in plan.dependencies]


def test_the_graph_draws_the_files_between_notebooks(tmp_path, capsys):
    project(tmp_path, {"01_ingest.ipynb": INGEST, "02_train.ipynb": TRAIN})
    assert main(["plan", str(tmp_path), "--graph"]) == 0
    out = capsys.readouterr().out
    assert "ingest (01_ingest.ipynb cells 1, 2, 3)" in out
    assert "-> train: file work/clean.parquet" in out


@pytest.mark.parametrize("write", [
    "df.to_csv('out/a/x.csv')",
    "OUT = 'out/a'\ndf.to_csv(f'{OUT}/x.csv')",
    "import os\nOUT = os.path.join('out', 'a')\ndf.to_csv(os.path.join(OUT, 'x.csv'))",
    ("from pathlib import Path\nOUT = Path('out') / 'a'\nwith open(OUT / 'x.csv', 'w') as f:\n"
     "    f.write(df.to_csv())"),
    "import joblib\nMODEL = 'out/a/m.joblib'\njoblib.dump(df, MODEL)",
])
def test_a_step_makes_the_folders_it_writes_into(tmp_path, write):
    from nb2prod.plan.stepsettings import plan_settings

    nb = make_notebook(tmp_path / "nb.ipynb", [
        "import pandas as pd\ndf = pd.DataFrame({'a': [1]})", write])
    plan = make_plan(nb, "x")
    assert [s.folders for s in plan_settings(plan).values()] == [("out/a",)]


def test_tag_takes_a_folder_and_proposes_the_data_files_of_the_whole(tmp_path, capsys):
    paths = project(tmp_path, {"01_ingest.ipynb": INGEST, "02_train.ipynb": TRAIN})
    assert main(["tag", str(tmp_path), "--suggest"]) == 0
    out = capsys.readouterr().out
    assert out.count("proposed tags for") == 2 and "02_train.ipynb" in "".join(out.split())
    assert "data files (each an option of the package): --raw-path data/raw.csv " \
           "(01_ingest.ipynb cell 2)" in out
    assert "clean.parquet" not in out.split("data files")[1]  # handed on, not an input
    assert main(["tag", str(tmp_path), "--write"]) == 0
    out = capsys.readouterr().out
    assert f"tagged 2 cell(s) in {paths[0]}" in out and f"next: nb2prod build {tmp_path}" in out
    assert all("step:" in p.read_text() for p in paths)


def test_a_folder_of_one_notebook_is_that_notebook(tmp_path):
    (path,) = project(tmp_path, {"only.ipynb": INGEST})
    assert resolve_sources([tmp_path]) == path
    assert [s.function for s in make_plan(path, None).steps] == ["main"]


def test_a_file_handed_on_through_names_is_an_edge_and_kubeflow_needs_a_volume(tmp_path,
                                                                               capsys):
    ingest = ["import os\nimport pandas as pd\nOUT = os.path.join('work', 'clean.parquet')",
              "pd.DataFrame({'a': [1]}).to_parquet(OUT)"]
    train = ["import os\nimport pandas as pd",
             "df = pd.read_parquet(os.path.join('work', 'clean.parquet'))\nprint(len(df))"]
    project(tmp_path, {"01_ingest.ipynb": ingest, "02_train.ipynb": train})
    plan = make_plan(resolve_sources([tmp_path]), "proj")
    (edge,) = [p for p in plan.problems if p.code == "NB633"]
    assert "`work/clean.parquet` hands data from step `ingest`" in edge.message
    out = tmp_path / "pkg"
    assert main(["build", str(tmp_path), "-o", str(out), "--target", "kubeflow"]) == 1
    assert "1 file(s) pass between steps" in capsys.readouterr().err and not out.exists()
