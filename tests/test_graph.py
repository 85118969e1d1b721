"""`plan/graph.py`: the step DAG as a rich tree, Mermaid and Graphviz DOT."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from nb2prod.cli import main
from nb2prod.notebook import load_notebook
from nb2prod.plan.build import build_plan
from nb2prod.plan.graph import (
    Edge,
    Graph,
    Node,
    plan_graph,
    render_graph,
    to_dot,
    to_mermaid,
    tree_text,
)
from tests.tools import system_tool

ID = r"[A-Za-z_][A-Za-z0-9_]*"
LABEL = r'"[^"\n]*"'  # a quoted label: no raw quote or line break inside
MERMAID_LINE = re.compile(
    rf"^(---|title: \"[^\n]*\"|flowchart TD"
    rf"|    {ID}(\[{LABEL}\]|\[/{LABEL}/\]|\[\({LABEL}\)\])"
    rf"|    {ID} -->\|{LABEL}\| {ID}"
    rf"|    {ID} -\.->\|after\| {ID})$")
DOT_STRING = r'"(?:[^"\\\n]|\\.)*"'
DOT_LINE = re.compile(
    rf"^(digraph {DOT_STRING} \{{|  rankdir=TB;|  (node|edge) \[[^\n]*\];"
    rf"|  {DOT_STRING} \[label={DOT_STRING}, shape=\w+\];"
    rf"|  {DOT_STRING} -> {DOT_STRING} \[(label={DOT_STRING}|label=\"after\", style=dashed)\];"
    rf"|\}})$")

HOSTILE = Graph(
    title='evil "title" -> x\n}',
    nodes=(Node("step_1", 'a"b|c<script>#x;`\\', 'cells "1"\n2'), Node("step_2", "end")),
    edges=(Edge("step_1", "step_2", ('x"]|y', "z\\n")), Edge("step_1", "step_2")),
)


@pytest.fixture
def plan(notebook_factory):
    path = notebook_factory([
        ("import math", ["imports"]),
        ("n = 4\nscale = 2.0", ["parameters"]),
        ("raw = list(range(n))", ["step:load"]),
        ("clean = [r * scale for r in raw]\nlabel = 'x'", ["step:prepare"]),
        ("total = math.fsum(clean)", ["step:score"]),
        ("summary = f'{label}: {total}'", ["step:report", "after:load"]),
        ("print(total)", ["metrics"]),
    ])
    return build_plan(load_notebook(path))


def test_edges_carry_the_names_that_flow(plan):
    graph = plan_graph(plan)
    labels = {n.id: n.label for n in graph.nodes}
    edges = {(labels[e.source], labels[e.target]): e.names for e in graph.edges}
    assert edges[("parameters", "load")] == ("n",)
    assert edges[("parameters", "prepare")] == ("scale",)
    assert edges[("load", "prepare")] == ("raw",)
    assert edges[("prepare", "score")] == ("clean",)
    assert edges[("prepare", "report")] == ("label",)
    assert edges[("load", "report")] == ()  # explicit after: a dashed edge
    assert edges[("score", "metrics")] == ("total",)


def test_mermaid_is_a_flowchart_with_labelled_edges(plan):
    text = to_mermaid(plan_graph(plan))
    lines = text.splitlines()
    assert lines[3] == "flowchart TD"
    assert [line for line in lines if not MERMAID_LINE.match(line)] == []
    assert '-->|"raw"|' in text and '-.->|after|' in text


def test_mermaid_escapes_hostile_labels():
    text = to_mermaid(HOSTILE)
    assert [line for line in text.splitlines() if not MERMAID_LINE.match(line)] == []
    assert "<script>" not in text and "#quot;" in text and "#124;" in text
    assert "    step_2[\"end\"]" in text  # `end` as a label is safe: ids are generated


def test_dot_syntax_and_escaping(plan):
    for graph in (plan_graph(plan), HOSTILE):
        text = to_dot(graph)
        assert [line for line in text.splitlines() if not DOT_LINE.match(line)] == []
    assert '\\"title\\"' in to_dot(HOSTILE)


def test_graphviz_accepts_the_dot(plan):
    for graph in (plan_graph(plan), HOSTILE):
        result = subprocess.run([system_tool("dot", "graphviz"), "-Tsvg"], input=to_dot(graph), text=True,
                                capture_output=True, check=False)
        assert result.returncode == 0, result.stderr
        assert "<svg" in result.stdout


def test_tree_text_lists_edges_under_their_source(plan):
    text = tree_text(plan_graph(plan))
    assert "-> prepare: raw" in text and "-> metrics: total" in text
    assert "-> report: after" in text
    assert tree_text(HOSTILE)  # markup-like labels do not break rich


def test_graph_of_a_plan_without_params_or_metrics_cell(notebook_factory):
    path = notebook_factory([("x = list(range(3))", ["step:a"]), ("y = sum(x)", ["step:b"])])
    graph = plan_graph(build_plan(load_notebook(path)))
    # without a metrics cell the last step's values are the reported metrics
    assert [n.kind for n in graph.nodes] == ["step", "step", "metrics"]
    assert render_graph(build_plan(load_notebook(path)), "json").count('"x"') == 1


@pytest.mark.parametrize("args, expected", [
    (["--graph"], "-> prepare: raw"),
    (["--graph", "--format", "mermaid"], '-->|"raw"|'),
    (["--format", "mermaid"], "flowchart TD"),
    (["--format", "dot"], '[label="raw"]'),
    (["--graph", "--format", "json"], '"names": ['),
])
def test_plan_command(plan, notebook_factory, capsys, args, expected, tmp_path):
    path = Path(tmp_path / "nb.ipynb")
    assert main(["plan", str(path), *args]) == 0
    assert expected in capsys.readouterr().out


def test_plan_command_rejects_unknown_format(plan, tmp_path, capsys):
    assert main(["plan", str(tmp_path / "nb.ipynb"), "--format", "svg"]) == 2
    assert "mermaid" in capsys.readouterr().err
