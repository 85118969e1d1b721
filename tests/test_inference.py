"""The inference path (plan/inference*.py): what the service runs before the model."""

from __future__ import annotations

from pathlib import Path

from nb2prod.notebook import load_notebook
from nb2prod.plan.build import build_plan
from nb2prod.plan.inference_code import features_body, statement_code
from nb2prod.targets.serve import TARGET
from tests.conftest import EXAMPLES

DATA = Path(__file__).parent / "data" / "infer"


def plan(path: Path):
    return build_plan(load_notebook(path))


def test_orders_path_from_the_loaded_frame_to_the_scaled_input():
    p = plan(DATA / "orders.ipynb")
    path = p.inference
    assert p.model.name == "model"  # evaluated last; the Dummy baseline is never served
    assert (path.frame, path.frame_cell, path.target) == ("df", 3, "churned")
    assert path.result == "X_train_s" and path.frozen == ("scaler",)
    roles = [(s.cell, s.line, s.role) for s in path.statements]
    assert (4, 5, "statistic") in roles and (4, 7, "categories") in roles
    assert roles[-2:] == [(5, 1, "split"), (6, 2, "transform")]
    assert not any("y =" in s.code or ".fit(" in s.code for s in path.statements)
    assert path.train_rows == ("X_train_s", "X_train")
    assert (path.heldout, path.heldout_rows) == ("X_test_s", ("X_test_s", "X_test"))
    assert TARGET.active(p)


def test_rewrites_freeze_statistics_and_categories():
    body = features_body(plan(DATA / "orders.ipynb").inference)
    assert "state.statistic('4:5:1', lambda: df['spend'].median())" in body
    assert "state.dummies('4:7:1', pd.get_dummies, df, columns=['region', 'plan']" in body
    assert "X_train = state.rows(X)" in body and "X_test" not in body
    assert "scaler.transform(X_train)" in body and "fit_transform" not in body
    assert "errors='ignore'" in body


def test_filters_run_only_when_fitting():
    code = statement_code("df = df.dropna()", "filter", 3, 1)
    assert code.startswith("if state.fitting:") and "    df = df.dropna()" in code


def test_window_feature_is_located_and_not_served():
    p = plan(DATA / "window.ipynb")
    notes = [n for n in p.model_notes if n.code == "NB626"]
    assert [(n.cell, n.line) for n in notes] == [(4, 2)]
    assert "rolling" in notes[0].message
    assert not TARGET.active(p)


def test_churn_target_column_statement_is_training_only():
    path = plan(EXAMPLES / "churn.ipynb").inference
    assert (path.frame, path.target, path.frozen) == ("df", "churn", ("feature_cols",))
    assert not any("churn" in s.code and "=" in s.code.split("[")[0] for s in path.statements)
    # the frame is built, not read: the cell's statements that finish it are the load
    assert [s.code.split(" =")[0] for s in path.load] == [
        "rng", "contract", "df", "logit", "df['churn']"]


def test_a_serve_input_tag_after_the_window_serves_its_frame():
    p = plan(DATA / "window_input.ipynb")
    path = p.inference
    assert (path.frame, path.origin, path.frame_cell) == ("df", "tag", 4)
    assert [s.code for s in path.statements] == ["X = df[['spend', 'spend_avg3', 'visits']]"]
    assert not [n for n in p.model_notes if n.code in ("NB626", "NB629")]
    assert TARGET.active(p)


def test_serve_input_in_the_config_and_a_frame_off_the_path():
    from nb2prod.plan.records import PlanOptions

    notebook = load_notebook(DATA / "window.ipynb")
    p = build_plan(notebook, PlanOptions(serve_input="X"))
    assert (p.inference.frame, p.inference.origin, p.inference.statements) == ("X", "config", ())
    off = build_plan(notebook, PlanOptions(serve_input="nothing_here"))
    assert off.inference.origin == "loaded"
    assert [n.code for n in off.model_notes if n.code == "NB629"] == ["NB629"]


def test_a_model_fitted_on_an_expression_serves_its_transform():
    """`model.fit(scaler.transform(X_train), y)`: the input is the expression, evaluated
    on the request's frame with the notebook's fitted scaler."""
    path = plan(DATA / "scaled.ipynb").inference
    assert path.result == "model_input" and path.frozen == ("scaler",)
    assert path.statements[-1].code == "model_input = scaler.transform(X_train)"
    assert (path.trained_on, path.heldout) == ("scaler.transform(X_train)",
                                               "scaler.transform(X_test)")
    assert path.heldout_rows == ("X_test",) and path.run_values == ("X_test", "X_train",
                                                                     "scaler")


def test_an_ambiguous_choice_is_a_located_warning(notebook_factory):
    """Two estimators, neither evaluated: the last is served and a warning says how to pick;
    a scaler is preprocessing, never a candidate."""
    from nb2prod.notebook import load_notebook as load

    cells = [(("import numpy as np\nfrom sklearn.preprocessing import StandardScaler\n"
              "from sklearn.tree import DecisionTreeClassifier\n"
              "from sklearn.neighbors import KNeighborsClassifier"), ["imports"]),
             (("X = np.arange(20.0).reshape(10, 2)\ny = np.arange(10) % 2\n"
              "scaler = StandardScaler().fit(X)\ntree = DecisionTreeClassifier().fit(X, y)\n"
              "knn = KNeighborsClassifier(3).fit(scaler.transform(X), y)"), ["step:train"])]
    p = build_plan(load(notebook_factory(cells)))
    (note,) = [n for n in p.model_notes if n.code == "NB622"]
    assert p.model.name == "knn" and note.severity == "warning" and note.line == 5
    assert "tree" in note.message and "model:NAME" in note.message
