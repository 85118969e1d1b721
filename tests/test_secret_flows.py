"""plan/secret_flows.py: a secret's value passed from one step to another (NB625), in
`plan`, in `build` (its output and report) and in `lint`, on the lint case notebooks and
on small notebooks for each way a value travels."""

from __future__ import annotations

import json

import pytest

from nb2prod.cli import main
from nb2prod.notebook import load_notebook
from nb2prod.plan.build import build_plan
from tests.conftest import ROOT

CASES = ROOT / "tests" / "data" / "lint" / "cases"
FAILING = CASES / "fail" / "NB625" / "NB625_fail.ipynb"
PASSING = CASES / "pass" / "NB625" / "NB625_pass.ipynb"
TAG = "secret:api-credentials:token:API_TOKEN"


def nb625(notebook) -> list[tuple[int, int, str]]:
    plan = build_plan(load_notebook(notebook))
    return [(p.cell, p.line, p.message) for p in plan.problems if p.code == "NB625"]


def test_case_notebook_is_warned_at_the_line_binding_the_output():
    ((cell, line, message),) = nb625(FAILING)
    assert (cell, line) == (3, 2)  # headers = {... token ...}, read by step `fetch`
    assert message.startswith("`headers` holds the value of secret variable `API_TOKEN` "
                              "and is passed from step `auth` to step `fetch`")


def test_reading_the_variable_where_it_is_used_is_quiet():
    assert nb625(PASSING) == []


def test_build_prints_the_warning_and_the_report_lists_it(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["build", str(FAILING), "-o", str(out)]) == 0  # a warning: still built
    printed = capsys.readouterr().out
    assert f"{FAILING}:cell 3:2:1: NB625 [warning] `headers` holds" in printed
    report = json.loads((out / "nb2prod-report.json").read_text())
    assert [(p["code"], p["cell"], p["line"]) for p in report["problems"]
            if p["code"] == "NB625"] == [("NB625", 3, 2)]
    assert main(["build", str(PASSING), "-o", str(tmp_path / "quiet")]) == 0
    assert "NB625" not in capsys.readouterr().out


def test_lint_reports_it_only_for_the_failing_case(capsys):
    assert main(["lint", str(FAILING), str(PASSING), "--no-cache", "--select", "NB625"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines()
             if ": NB625 " in line]  # the findings, not the per-rule count below them
    assert [line.split(": NB625")[0] for line in lines] == [f"{FAILING}:cell 3:2:1"]


def test_rules_explains_it(capsys):
    assert main(["rules", "NB625"]) == 0
    text = capsys.readouterr().out
    assert "secret-between-steps" in text and "step that uses it" in text


def steps(*cells):
    return [("import os\nfrom os import environ as env, getenv", ["imports"]), *cells]


@pytest.mark.parametrize("source, name, line", [
    ("token = os.environ['API_TOKEN']", "token", 1),
    ("token = env.get('API_TOKEN', '')", "token", 1),
    ("x = 1\ntoken = getenv('API_TOKEN').strip()", "token", 2),
    ("headers = {}\nheaders['auth'] = os.environ['API_TOKEN']", "headers", 2),
    ("headers = {}\nheaders.update(auth=os.environ['API_TOKEN'])", "headers", 2),
    ("t = os.environ['API_TOKEN']\nparts = [c for c in t]", "parts", 2),
    ("if True:\n    token = os.environ['API_TOKEN']", "token", 2),
    ("for token in [os.environ['API_TOKEN']]:\n    pass", "token", 1),
    ("engine = create_engine(os.environ['API_TOKEN'])", "engine", 1),
    ("x = 1\nclient = Client(key=getenv('API_TOKEN'))", "client", 2),
    ("client = Client(key=os.environ['API_TOKEN'])\nrows = client.list_rows()", "rows", 2),
])
def test_a_value_computed_from_the_secret_is_found(notebook_factory, source, name, line):
    notebook = notebook_factory(steps((source, ["step:a", TAG]),
                                      (f"out = len({name})", ["step:b"])))
    found = nb625(notebook)
    assert [(c, ln) for c, ln, _ in found] == [(2, line)], found
    assert found[0][2].startswith(f"`{name}` holds")


@pytest.mark.parametrize("source", [
    "size = len(os.environ['API_TOKEN'])",
    "size = os.environ['API_TOKEN'] == 'x'",
    "size = os.environ['HOME']",  # not a secret: no `secret:` tag names it
    "size = os.environ['API_TOKEN']\nsize = 3",  # rebound before it is passed on
    # the data a credential fetched is not the credential
    "size = pd.read_sql('select 1', create_engine(os.environ['API_TOKEN']))",
    "c = Client(key=os.environ['API_TOKEN'])\nsize = c.fetch_rows()\nsize = c.query('q').json()",
])
def test_what_reveals_nothing_of_the_secret_is_quiet(notebook_factory, source):
    notebook = notebook_factory(steps((source, ["step:a", TAG]), ("out = size + 1", ["step:b"])))
    assert nb625(notebook) == []


def test_a_helper_reading_the_secret_taints_its_callers(notebook_factory):
    notebook = notebook_factory(steps(
        (("def token():\n    return os.environ['API_TOKEN']\n\ndef auth():\n"
          "    return {'auth': token()}"), ["functions"]),
        ("x = 1\nheaders = auth()", ["step:a", TAG]), ("out = len(headers)", ["step:b"])))
    assert [(c, ln) for c, ln, _ in nb625(notebook)] == [(3, 2)]


def test_each_step_passing_it_on_is_warned_and_metrics_are_named(notebook_factory):
    notebook = notebook_factory(steps(
        ("token = os.environ['API_TOKEN']", ["step:a", TAG]),
        ("bearer = 'Bearer ' + token", ["step:b"]),
        ("print(bearer)", ["metrics"])))
    found = nb625(notebook)
    assert [(c, ln) for c, ln, _ in found] == [(2, 1), (3, 1)]
    assert "from step `a` to step `b`" in found[0][2]
    assert "from step `b` to the metrics" in found[1][2]
