"""`nb2prod lint` parsed without typer (nb2prod.cli.lint_args) means what typer parses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nb2prod.cli import app as typer_app
from nb2prod.cli import lint_args, main

REPO = Path(__file__).resolve().parents[1]

WELL_FORMED = [
    [],
    ["nb.ipynb"],
    ["a.ipynb", "folder", "b c.ipynb"],
    ["--format", "json", "x"], ["-f", "sarif"], ["-fgithub"], ["--format=junit", "x"],
    ["--select", "NB1,NB201", "--select", "NB3", "x"], ["--select=NB101"],
    ["--ignore", "NB5", "--ignore=NB203,NB1"],
    ["--exclude", "archive/", "--exclude", "*-scratch.ipynb", "x", "y"],
    ["--fail-on", "warning"], ["--fail-on=info", "x"],
    ["--jobs", "2"], ["-j", "0"], ["-j1"], ["--jobs=4", "x"],
    ["--config", "sub/pyproject.toml"], ["--config=pyproject.toml"],
    ["--output", "out.json"], ["-o", "r.xml", "-f", "junit"], ["-or.txt"],
    ["--no-cache"], ["x", "--no-cache", "y", "-j", "2", "z"],
    ["--format", "text", "--format", "json"],  # the last wins, as in click
]

TYPER_ONLY = [
    ["--help"], ["-h"], ["x", "--help"], ["--format", "xml"], ["--format=JSON"],
    ["--jobs", "-1"], ["--jobs", "two"], ["-j"], ["--bogus"], ["--no-cache=yes"],
    ["--", "-weird.ipynb"], ["-"], ["--select"], ["--fail-on", "fatal"], ["--output", ""],
]


def _typer_values(monkeypatch, args: list[str]):
    seen = []

    def record(options, output):
        seen.append((options, output))
        return 0

    monkeypatch.setattr(lint_args, "execute", record)
    assert typer_app.main(["lint", *args]) == 0
    (found,) = seen
    return found


@pytest.mark.parametrize("args", WELL_FORMED, ids=" ".join)
def test_fast_parse_builds_what_typer_builds(monkeypatch, args):
    values = lint_args.parse(args)
    assert values is not None
    assert lint_args.options_from(values) == _typer_values(monkeypatch, args)


@pytest.mark.parametrize("args", TYPER_ONLY, ids=" ".join)
def test_help_and_usage_errors_are_left_to_typer(args):
    assert lint_args.parse(args) is None


def test_flags_table_matches_the_typer_command():
    import typer.main

    command = typer.main.get_command(typer_app.app).commands["lint"]
    declared = {opt: param.name for param in command.params
                if param.param_type_name == "option" for opt in param.opts}
    declared.pop("--help", None)
    declared.pop("-h", None)
    assert {opt: flag.name for opt, flag in lint_args.FLAGS.items()} == declared
    assert set(lint_args.DEFAULTS) == {p.name for p in command.params}


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nb2prod", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def test_lint_help_and_usage_errors_are_typers(tmp_path):
    help_text = _cli("lint", "--help")
    assert help_text.returncode == 0
    for part in ("Usage: nb2prod lint", "--format", "--no-cache", "Exit status"):
        assert part in help_text.stdout
    bad = _cli("lint", "--format", "xml", str(tmp_path))
    assert bad.returncode == 2 and "Invalid value for '--format'" in bad.stderr
    assert _cli("lint", "--bogus").returncode == 2


def test_fast_path_lints_and_reports_like_typer(tmp_path, notebook_factory):
    nb = notebook_factory(["import os\nx = 1", "print(undefined_name)"])
    out = tmp_path / "report.json"
    fast = _cli("lint", str(nb), "-f", "json", "--no-cache", "-o", str(out))
    assert fast.returncode == 1, fast.stderr
    assert json.loads(out.read_text())  # the findings, written to --output
    assert _cli("lint", str(nb), "--format=json", "--no-cache").stdout == out.read_text()
    missing = _cli("lint", str(tmp_path / "missing.ipynb"), "--no-cache")
    assert missing.returncode == 2
    assert missing.stderr.startswith("nb2prod: error:") and "Traceback" not in missing.stderr


def test_completion_goes_to_click(tmp_path):
    got = _cli("lint", str(tmp_path), env={"_NB2PROD_COMPLETE": "complete_bash",
                                          "COMP_WORDS": "nb2prod lint --no-c", "COMP_CWORD": "2"})
    assert "--no-cache" in got.stdout


def test_main_hands_help_to_typer(capsys):
    assert main(["lint", "--help"]) == 0
    assert "Usage: nb2prod lint" in capsys.readouterr().out


def test_closed_pipe_exits_1_quietly(monkeypatch, notebook_factory):
    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    nb = notebook_factory(["print(undefined_name)"])
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["lint", str(nb), "--no-cache"]) == 1
