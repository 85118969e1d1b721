"""First contact (issue 24): what a new user meets in the first hour.

Each test builds real packages from real notebooks and reads what the user sees.
"""

from __future__ import annotations

import json
import shutil

import pytest

from nb2prod.cli.build import BuildFlags, run_build
from tests.conftest import ROOT

CHURN = ROOT / "tests" / "data" / "build" / "churn_serve" / "churn.ipynb"


def _manifest(out):
    return json.loads((out / ".nb2prod" / "manifest.json").read_text())


def test_rebuild_keeps_the_flags_that_shaped_the_output(tmp_path, capsys):
    notebook = shutil.copy(CHURN, tmp_path / "churn.ipynb")
    out = tmp_path / "pkg"
    assert run_build(BuildFlags(notebook, out, name="churny", targets=("serve",))) == 0
    serve = out / "src" / "churny" / "serve.py"
    assert serve.is_file()
    assert _manifest(out)["build_flags"] == {"name": "churny", "targets": ["serve"]}
    # a plain --check and a plain rebuild keep the name and the serving files
    assert run_build(BuildFlags(notebook, out, check=True)) == 0
    assert "up to date" in capsys.readouterr().out
    assert run_build(BuildFlags(notebook, out, quiet=True)) == 0
    assert serve.is_file()
    # a flag given again overrides; `none` drops a list
    assert run_build(BuildFlags(notebook, out, targets=("none",), quiet=True)) == 0
    assert not serve.exists()
    assert (out / "src" / "churny" / "pipeline.py").is_file()
    assert _manifest(out)["build_flags"] == {"name": "churny"}


def test_a_hostile_manifest_is_ignored(tmp_path):
    notebook = shutil.copy(CHURN, tmp_path / "churn.ipynb")
    out = tmp_path / "pkg"
    (out / ".nb2prod").mkdir(parents=True)
    (out / ".nb2prod" / "manifest.json").write_text(
        json.dumps({"build_flags": {"name": 3, "targets": "serve", "ci": [1]}}))
    assert run_build(BuildFlags(notebook, out, quiet=True)) == 0
    assert (out / "src" / "churn" / "pipeline.py").is_file()


def test_readme_rebuild_command_repeats_the_flags(tmp_path):
    notebook = shutil.copy(CHURN, tmp_path / "my churn.ipynb")
    out = tmp_path / "pkg"
    assert run_build(BuildFlags(notebook, out, name="churny", targets=("serve",),
                                ci=("github",), quiet=True)) == 0
    readme = (out / "README.md").read_text()
    assert "`nb2prod build 'my churn.ipynb' --name churny --target serve --ci github`" in readme


def test_tag_and_templates_hints_paste_with_spaces(tmp_path, capsys, monkeypatch):
    import shlex

    from nb2prod.cli import main

    folder = tmp_path / "my work"
    folder.mkdir()
    path = folder / "my regression.ipynb"
    shutil.copy(ROOT / "tests" / "data" / "untagged" / "untagged_regression.ipynb", path)
    assert main(["tag", str(path), "--write"]) == 0
    out = capsys.readouterr().out
    hint = out.split("next: ", 1)[1].strip()
    assert shlex.split(hint) == ["nb2prod", "build", str(path)]
    assert main(["templates", "export", str(folder / "my templates")]) == 0
    hint = capsys.readouterr().out.split("next: edit them, then ", 1)[1].strip()
    assert shlex.split(hint)[-1] == str(folder / "my templates")


def _run_package(out, import_name, *args):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(out / "src")}
    return subprocess.run([sys.executable, "-m", import_name, *args], env=env,
                          capture_output=True, text=True, cwd=out, timeout=120)


def test_results_you_can_see(tmp_path):
    from tests.conftest import make_notebook

    notebook = make_notebook(tmp_path / "scores.ipynb", [
        ("rows = list(range(800))\naccuracy = 0.76834\nn_rows = len(rows)\nname = 'x'",
         ["step:fit"]),
        ("print(len(rows), name)", ["step:report"]),
        ("accuracy\nn_rows", ["metrics"]),
    ])
    out = tmp_path / "pkg"
    assert run_build(BuildFlags(notebook, out, quiet=True)) == 0
    done = _run_package(out, "scores")
    assert done.returncode == 0, done.stderr
    # the step's log line shows small values, shapes and lengths; text by type only
    assert "accuracy=0.7683" in done.stderr and "n_rows=800" in done.stderr
    assert "rows=list[800]" in done.stderr and "name=str" in done.stderr
    # stdout stays what the notebook printed: a bare metric name shows its value
    assert done.stdout.splitlines() == ["800 x", "0.76834", "800"]


def test_labelled_metrics():
    from nb2prod.runtime.logs import labelled

    assert labelled({"accuracy": 0.76834123, "n": 800, "report": "x\ny"}) == (
        "accuracy  0.768341\nn         800\nreport    str\n")
    assert labelled({}) == ""


def test_build_notes_summarised_unless_verbose(tmp_path, capsys):
    notebook = shutil.copy(CHURN, tmp_path / "churn.ipynb")
    out = tmp_path / "pkg"
    assert run_build(BuildFlags(notebook, out, targets=("serve",))) == 0
    text = capsys.readouterr().out
    assert "[info]" not in text
    assert "2 note(s) (-v lists them)" in text
    assert run_build(BuildFlags(notebook, out, verbose=True)) == 0
    text = capsys.readouterr().out
    assert text.count("[info]") == 2 and "-v lists them" not in text


@pytest.mark.parametrize("heading, expected", [
    ("Train the model and evaluate it on the holdout set", "train_the_model_and_evaluate"),
    ("Feature engineering: one-hot encoding of the categorical columns",
     "feature_engineering"),
    ("Evaluate the model (accuracy, recall and precision on test)", "evaluate_the_model"),
    ("3. Load the raw bike sharing data from the city portal", "load_the_raw_bike_sharing_data"),
    ("Load data", "load_data"),
])
def test_step_names_from_headings_end_at_a_phrase(heading, expected):
    from nb2prod.tag.suggest import step_name

    assert step_name(heading, set()) == expected


def test_package_name_from_a_long_file_name(tmp_path):
    from nb2prod.naming import package_name

    long = "2024-03-01 Bike rentals - exploratory analysis (final, v3)"
    assert package_name(None, f"{long}.ipynb") == "bike-rentals-exploratory"
    assert package_name(None, "Customer Churn Prediction with Gradient Boosting.ipynb") == (
        "customer-churn-prediction")
    assert package_name(None, "churn.ipynb") == "churn"
    notebook = shutil.copy(CHURN, tmp_path / f"{long}.ipynb")
    assert run_build(BuildFlags(notebook, tmp_path / "bikes", quiet=True)) == 0
    assert (tmp_path / "bikes" / "src" / "bikes" / "pipeline.py").is_file()


def test_one_message_per_problem_in_lint_plan_and_build(tmp_path):
    from nb2prod.lint.api import LintOptions, run_lint
    from nb2prod.plan.build import make_plan
    from tests.conftest import make_notebook

    notebook = make_notebook(tmp_path / "tags.ipynb", [
        ("x = 1", ["step:"]), ("y = x + 1", ["paramters"]), ("print(y)", ["step:report"])])
    linted = {(f.code, f.message) for f in run_lint(LintOptions(
        paths=(notebook,), cache=False)).result.findings if f.code == "NB606"}
    planned = {(p.code, p.message) for p in make_plan(notebook, None).problems
               if p.code == "NB606"}
    assert linted == planned == {
        ("NB606", "tag `step:` needs a step name (letters, digits, _ and -); ignored"),
        ("NB606", "unknown tag `paramters` ignored; did you mean `parameters`?")}


def test_rules_by_name_and_nb606_lists_the_valid_tags(capsys):
    from nb2prod.cli import main

    assert main(["rules", "undefined-name"]) == 0
    assert capsys.readouterr().out.startswith("NB201 undefined-name")
    assert main(["rules", "NB606"]) == 0
    out = capsys.readouterr().out
    assert "Valid tags:" in out and "step:NAME" in out and "parameters" in out
    assert main(["rules", "no-such-rule"]) == 2


def test_docs_agree_with_the_tool():
    from nb2prod.targets.registry import TARGETS

    coming = (ROOT / "docs" / "coming-from.md").read_text()
    assert "not a Kubeflow Pipelines DSL" not in coming and "ignores them" not in coming
    assert "kubeflow" in TARGETS and "PKG/kubeflow.py" in coming
    readme = (ROOT / "README.md").read_text()
    assert "compare every value" not in readme and "--runs N]" in readme


def test_generated_serve_tests_pass_on_a_model_fitted_with_missing_values(tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import make_notebook

    pytest.importorskip("fastapi")
    pytest.importorskip("skops")
    imports = ("import numpy as np\nfrom sklearn.impute import SimpleImputer\n"
               "from sklearn.linear_model import LinearRegression\n"
               "from sklearn.pipeline import make_pipeline")
    data = ("rng = np.random.default_rng(0)\nX = rng.normal(size=(60, 3))\n"
            "X[::4, 1] = np.nan\ny = np.nan_to_num(X[:, 0]) * 2")
    fit = ("model = make_pipeline(SimpleImputer(), LinearRegression()).fit(X, y)\n"
           "score = model.score(X, y)")
    notebook = make_notebook(tmp_path / "nanfit.ipynb", [
        (imports, ["imports"]), (data, ["step:data"]), (fit, ["step:fit"]),
        ("print(score)", ["metrics"])])
    out = tmp_path / "pkg"
    assert run_build(BuildFlags(notebook, out, targets=("serve",), quiet=True)) == 0
    env = {**os.environ, "PYTHONPATH": str(out / "src")}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "no:xdist", "tests/test_serve.py"], cwd=out, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]


def test_plan_never_cuts_a_step_name_or_the_graph_title(tmp_path, capsys, monkeypatch):
    from nb2prod.cli.build import run_plan

    monkeypatch.setenv("COLUMNS", "40")
    notebook = shutil.copy(ROOT / "tests" / "data" / "build" / "churn" / "churn.ipynb",
                           tmp_path / "customer churn analysis with a long name.ipynb")
    run_plan(notebook, None, "text")
    table = capsys.readouterr().out
    for step in ("load_data", "features", "split", "train", "evaluate"):
        assert f"│ {step} " in table, step
    assert "…" not in table
    run_plan(notebook, None, "text", graph=True)
    tree = capsys.readouterr().out
    assert tree.splitlines()[0] == (
        "customer churn analysis with a long name.ipynb -> customer-churn-analysis")
    assert "…" not in tree


def test_a_package_without_metrics_says_where_results_go(tmp_path):
    from tests.conftest import make_notebook

    notebook = make_notebook(tmp_path / "shown.ipynb", [
        ("total = sum(range(10))", ["step:add"]), ("total", ["step:show"])])
    out = tmp_path / "pkg"
    assert run_build(BuildFlags(notebook, out, quiet=True)) == 0
    done = _run_package(out, "shown")
    assert done.returncode == 0, done.stderr
    assert "no metrics to print: tag a notebook cell `metrics`" in done.stderr
    assert done.stdout == ""


def test_report_has_headings_and_the_step_graph(tmp_path):
    out = tmp_path / "pkg"
    notebook = shutil.copy(ROOT / "tests" / "data" / "build" / "churn" / "churn.ipynb",
                           tmp_path / "churn.ipynb")
    assert run_build(BuildFlags(notebook, out, quiet=True)) == 0
    report = (out / "nb2prod-report.md").read_text()
    for heading in ("## Steps", "## Skipped cells", "## Dependencies", "## Environment"):
        assert f"\n{heading}\n" in report, heading
    graph = report.split("```mermaid\n", 1)[1].split("\n```", 1)[0]
    assert "flowchart TD" in graph and '"model"| step_5' in graph


def test_readme_quickstart_edits_no_tracked_file():
    readme = (ROOT / "README.md").read_text()
    quick = readme[readme.index("## Quickstart"):]
    quick = quick[:quick.index("`build` writes:")]
    for line in quick.splitlines():
        if line.startswith("$ nb2prod tag") and "--write" in line:
            assert "tests/data" not in line and "examples/" not in line, line
    assert ". .venv/bin/activate" in quick and "'.[verify]' pytest" in quick


def test_verify_names_the_unseeded_random_cells(tmp_path, capsys):
    from nb2prod.cli import main
    from tests.conftest import make_notebook

    pytest.importorskip("nbclient")
    notebook = make_notebook(tmp_path / "dice.ipynb", [
        ("import random", ["imports"]),
        ("roll = random.random()", ["step:roll"]),
        ("print(roll)", ["metrics"]),
    ])
    assert main(["verify", str(notebook)]) == 1
    out = capsys.readouterr().out
    assert f"{notebook}:cell 2:1:8: NB303" in out
    assert "1 cell(s) above use randomness without a seed (NB303)" in out


def test_a_folder_without_notebooks_is_one_line_naming_it(tmp_path, capsys):
    from nb2prod.cli import main

    folder = tmp_path / "my notebooks"
    folder.mkdir()
    (folder / "data.csv").write_text("a\n1\n")
    assert main(["build", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"{folder}: no notebooks in the folder (1 other file(s), no notebook)" in err
    assert "Traceback" not in err


def test_target_none_drops_the_kubeflow_volume_and_another_notebook_starts_afresh(tmp_path):
    notebook = shutil.copy(CHURN, tmp_path / "churn.ipynb")
    out = tmp_path / "pkg"
    assert run_build(BuildFlags(notebook, out, targets=("kubeflow",), volume="/mnt/work",
                                quiet=True)) == 0
    assert _manifest(out)["build_flags"] == {"targets": ["kubeflow"], "volume": "/mnt/work"}
    assert run_build(BuildFlags(notebook, out, targets=("none",), quiet=True)) == 0
    assert _manifest(out)["build_flags"] == {}
    assert run_build(BuildFlags(notebook, out, targets=("serve",), name="kept",
                                quiet=True)) == 0
    other = shutil.copy(CHURN, tmp_path / "other.ipynb")
    assert run_build(BuildFlags(other, out, quiet=True, force=True)) == 0
    assert _manifest(out)["build_flags"] == {}


def test_verify_tells_what_it_is_doing(tmp_path):
    from nb2prod.verify.run import VerifyOptions, run_verify
    from tests.conftest import make_notebook

    pytest.importorskip("nbclient")
    notebook = make_notebook(tmp_path / "twice.ipynb", [
        ("x = 2 * 21", ["step:double"]), ("print(x)", ["metrics"])])
    told: list[str] = []
    outcome = run_verify(VerifyOptions(notebook, runs=2, progress=told.append))
    assert outcome.exit_code == 0
    assert told == ["built twice; running the notebook and the package (run 1 of 2)",
                    "built twice; running the notebook and the package (run 2 of 2)"]


def test_report_lists_files_read_and_results_nothing_uses(tmp_path):
    from tests.conftest import make_notebook

    notebook = make_notebook(tmp_path / "reads.ipynb", [
        ("import pandas as pd", ["imports"]),
        ("df = pd.read_csv('data/bikes.csv')", ["step:load"]),
        ("print(df.shape)", ["step:show"]),
    ])
    out = tmp_path / "pkg"
    assert run_build(BuildFlags(notebook, out, quiet=True)) == 0
    report = (out / "nb2prod-report.md").read_text()
    files = report.split("## Files read\n", 1)[1].split("\n## ", 1)[0]
    assert "- `--bikes-path`: `data/bikes.csv` (cell 2)" in files  # a data file: an option
    unused = report.split("## Results nothing uses\n", 1)[1].split("\n## ", 1)[0]
    assert unused.strip().startswith("- `show`: returns nothing")
