"""`--jobs N` by fork: the parent lints a share, forked children the rest (lint/forked.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nb2prod.lint import forked, run
from nb2prod.lint.config import LintConfig
from nb2prod.lint.discover import discover
from nb2prod.lint.engine import LintPlan
from nb2prod.lint.findings import Finding
from nb2prod.lint.registry import resolve
from nb2prod.lint.run import lint_many
from tests.test_lint_engine import write_nb

pytestmark = pytest.mark.skipif(not forked.available(), reason="needs os.fork")


def test_shares_deal_every_file_once_largest_first_back_and_forth(tmp_path):
    files = []
    for i, size in enumerate([10, 500, 30, 400, 20, 300, 0]):
        path = tmp_path / f"f{i}.ipynb"
        path.write_bytes(b"x" * size)
        files.append(path)
    files.append(tmp_path / "missing.ipynb")  # size 0: still dealt
    parts = forked.shares(files, 3)
    assert sorted(i for part in parts for i in part) == list(range(len(files)))
    # by size: 500, 400, 300 | 30, 20, 10 | 0, 0: dealt 0 1 2 | 2 1 0 | 0 1
    assert parts == [[0, 1, 6], [3, 4, 7], [2, 5]]


def _corpus(tmp_path: Path, count: int = 40) -> list[Path]:
    for i in range(count):
        write_nb(tmp_path / f"nb_{i:02d}.ipynb", f"print(v{i})", "x = 1" + "\n" * i,
                 counts={0: 2, 1: 1})
    return discover([tmp_path], (), tmp_path)


def test_forked_run_is_the_serial_run(tmp_path, monkeypatch):
    files = _corpus(tmp_path)
    plan = LintPlan(LintConfig(), resolve(None, ()), tmp_path)
    serial = lint_many(files, plan, jobs=1)
    forks = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
    monkeypatch.setattr(run, "_lint_pool", lambda *a: pytest.fail("the pool was used"))
    for jobs in (2, 3):
        assert lint_many(files, plan, jobs=jobs) == serial
    assert len(forks) == 1 + 2  # one child per job beyond the parent's own
    assert len(serial.findings) == 3 * len(files)  # NB201, NB103, NB101 in each


def _lint_in(pids: set[int], fail: str):
    parent = os.getpid()

    def lint_one(path: Path):
        if path.name == fail:
            raise ValueError(f"cannot lint {path.name}")
        pids.add(os.getpid())
        return path, [Finding(str(path), 1, 1, 1, "NB201", "error", "m")], {}, None

    return lint_one, parent


def test_an_error_in_a_child_is_raised_in_the_parent(tmp_path):
    files = [tmp_path / f"n{i}.ipynb" for i in range(6)]
    # all sizes 0 (missing): dealt in order, so n1 goes to the child of two processes
    lint_one, _ = _lint_in(set(), fail="n1.ipynb")
    with pytest.raises(ValueError, match="cannot lint n1.ipynb"):
        list(forked.lint_forked(files, 2, lint_one))


def test_children_send_their_findings_back(tmp_path):
    files = [tmp_path / f"n{i}.ipynb" for i in range(6)]
    pids: set[int] = set()
    lint_one, parent = _lint_in(pids, fail="")
    batches = list(forked.lint_forked(files, 3, lint_one))
    got = sorted(path.name for batch in batches for path, *_ in batch)
    assert got == sorted(p.name for p in files)
    findings = [f for batch in batches for _, found, _, _ in batch for f in found]
    assert sorted(f.path for f in findings) == sorted(str(p) for p in files)
    assert pids == {parent}  # the children's pids were added in their own copy of `pids`


def test_a_failing_parent_leaves_no_child_behind(tmp_path, monkeypatch):
    files = [tmp_path / f"n{i}.ipynb" for i in range(6)]
    children: list[int] = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        if pid:
            children.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    lint_one, _ = _lint_in(set(), fail="n0.ipynb")  # n0: the parent's own share
    with pytest.raises(ValueError):
        list(forked.lint_forked(files, 2, lint_one))
    assert len(children) == 1
    with pytest.raises(ChildProcessError):  # already reaped: no zombie left
        os.waitpid(children[0], os.WNOHANG)


def test_a_child_that_dies_is_an_error(tmp_path):
    files = [tmp_path / f"n{i}.ipynb" for i in range(4)]
    parent = os.getpid()

    def lint_one(path: Path):
        if os.getpid() != parent:
            os._exit(3)  # e.g. killed: no payload at all
        return path, [], {}, None

    with pytest.raises(RuntimeError, match="died"):
        list(forked.lint_forked(files, 2, lint_one))


def test_the_pool_where_fork_is_missing_is_the_serial_run_too(tmp_path, monkeypatch):
    files = _corpus(tmp_path, count=30)
    plan = LintPlan(LintConfig(), resolve(None, ()), tmp_path)
    serial = lint_many(files, plan, jobs=1)
    monkeypatch.setattr(forked, "available", lambda: False)
    monkeypatch.setattr(forked, "lint_forked", lambda *a: pytest.fail("fork was used"))
    assert lint_many(files, plan, jobs=2) == serial


def test_a_fork_that_fails_leaves_no_child_behind(tmp_path, monkeypatch):
    files = [tmp_path / f"n{i}.ipynb" for i in range(6)]
    children: list[int] = []
    real_fork = os.fork

    def fork():
        if children:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        pid = real_fork()
        if pid:
            children.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    lint_one, _ = _lint_in(set(), fail="")
    with pytest.raises(BlockingIOError):
        forked.lint_forked(files, 3, lint_one)
    assert len(children) == 1
    with pytest.raises(ChildProcessError):  # killed and reaped
        os.waitpid(children[0], os.WNOHANG)
