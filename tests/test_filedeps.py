"""plan/file_flows.py: files written by one step and read by a later one (NB618)."""

from __future__ import annotations

import pytest

from nb2prod.notebook import load_notebook
from nb2prod.plan.build import build_plan
from nb2prod.plan.file_flows import block_accesses, find_file_flows
from nb2prod.plan.records import Block, Step


def step(name: str, code: str, cell: int = 1) -> Step:
    return Step(name, name, (Block(cell, None, code),))


@pytest.mark.parametrize("write, read", [
    ("df.to_csv('clean.csv', index=False)", "df = pd.read_csv('clean.csv')"),
    ("df.to_parquet('out/x.parquet')", "df = pd.read_parquet('./out/x.parquet')"),
    ("np.save('a.npy', arr)", "arr = np.load('a.npy')"),
    ("joblib.dump(model, 'm.pkl')", "model = joblib.load('m.pkl')"),
    ("with open('x.txt', 'w') as f:\n    f.write('hi')", "text = open('x.txt').read()"),
    ("open('log', mode='a').write('x')", "with open('log') as f:\n    pass"),
    ("Path('out/report.md').write_text(text)", "text = Path('out', 'report.md').read_text()"),
    ("(Path('out') / 'r.json').write_text(s)", "s = Path('out/r.json').read_text()"),
    ("pickle.dump(obj, open('o.pkl', 'wb'))", "obj = pickle.load(open('o.pkl', 'rb'))"),
])
def test_write_then_read_in_a_later_step_is_found(write, read):
    flows = find_file_flows([step("a", write, 3), step("b", "x = 1"), step("c", read, 7)])
    assert [(f.writer, f.reader, f.cell, f.writer_cell) for f in flows] == [("a", "c", 7, 3)]


def test_finding_carries_path_and_line():
    (flow,) = find_file_flows([step("a", "df.to_csv('clean.csv')"),
                               step("b", "x = 1\ny = 2\ndf = pd.read_csv('clean.csv')")])
    assert (flow.path, flow.line) == ("clean.csv", 3)


@pytest.mark.parametrize("steps", [
    # same step writes and reads: one pod, fine
    [("a", "df.to_csv('c.csv')\ndf = pd.read_csv('c.csv')")],
    # read before any write: the file is an input of the pipeline, not dataflow
    [("a", "df = pd.read_csv('c.csv')"), ("b", "df.to_csv('c.csv')")],
    # computed paths cannot be compared statically
    [("a", "df.to_csv(path)"), ("b", "pd.read_csv(path)")],
    [("a", "df.to_csv(f'{d}/c.csv')"), ("b", "pd.read_csv(f'{d}/c.csv')")],
    # different files
    [("a", "df.to_csv('a.csv')"), ("b", "pd.read_csv('b.csv')")],
    # a keyword that is not a path
    [("a", "df.to_json(orient='records')"), ("b", "pd.read_json(orient='records')")],
])
def test_no_finding(steps):
    assert find_file_flows([step(n, c) for n, c in steps]) == []


def test_last_writer_wins_and_findings_are_unique():
    flows = find_file_flows([
        step("a", "df.to_csv('c.csv')"), step("b", "df.to_csv('c.csv')"),
        step("c", "x = pd.read_csv('c.csv')\ny = pd.read_csv('c.csv')"),
    ])
    assert [(f.writer, f.reader) for f in flows] == [("b", "c")]


def test_open_modes():
    accesses = block_accesses(Block(1, None, "open('a.txt')\nopen('b.txt', 'r+')\n"
                                    "open('c.txt', 'x')\nopen('d.txt', 'ab')"))
    assert [(a.path, a.mode) for a in accesses] == [
        ("a.txt", "read"), ("b.txt", "read"), ("c.txt", "write"), ("d.txt", "write")]


def test_syntax_error_block_is_ignored():
    assert block_accesses(Block(1, None, "df.to_csv('x.csv'")) == []


def test_plan_reports_nb618_as_a_warning(notebook_factory):
    path = notebook_factory([
        ("import pandas as pd", ["imports"]),
        ("df = pd.DataFrame({'a': [1]})\ndf.to_csv('clean.csv')", ["step:clean"]),
        ("df = pd.read_csv('clean.csv')\ntotal = int(df.a.sum())", ["step:train"]),
    ])
    plan = build_plan(load_notebook(path))
    (problem,) = [p for p in plan.problems if p.code == "NB618"]
    assert (problem.severity, problem.cell, problem.line) == ("warning", 3, 1)
    assert "`clean.csv`" in problem.message and "`clean`" in problem.message
