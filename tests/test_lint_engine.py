"""Suppression, configuration, discovery, selection and exit codes of `nb2prod lint`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nb2prod.errors import UserError
from nb2prod.lint.api import LintOptions, run_lint
from nb2prod.lint.config import LintConfig, load_config
from nb2prod.lint.discover import discover
from nb2prod.lint.engine import LintPlan, lint_file
from nb2prod.lint.registry import LINT_RULES, resolve
from nb2prod.lint.run import lint_many, workers
from nb2prod.lint.suppress import matches, noqa_lines

REPO = Path(__file__).resolve().parents[1]


def write_nb(path: Path, *sources, tags=None, counts=None) -> Path:
    cells = [{"cell_type": "code", "execution_count": (counts or {}).get(i), "id": f"c{i}",
              "metadata": {"tags": (tags or {}).get(i, [])}, "outputs": [],
              "source": src.splitlines(keepends=True)} for i, src in enumerate(sources)]
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "language": "python",
                                                      "display_name": "Python 3"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1))
    return path


def findings(path: Path, config: LintConfig | None = None, root: Path | None = None):
    config = config or LintConfig()
    plan = LintPlan(config, resolve(config.select, config.ignore), root or path.parent)
    return [(f.code, f.cell, f.line) for f in lint_file(path, plan)]


# --- suppression -------------------------------------------------------------

def test_noqa_silences_exactly_its_line(tmp_path):
    nb = write_nb(tmp_path / "n.ipynb",
                  "a = '/mnt/x/a.csv'  # noqa: NB301\nb = '/mnt/x/b.csv'\n"
                  "c = '/mnt/x/c.csv'  # noqa: NB999\nd = '/mnt/x/d.csv'  # noqa")
    assert findings(nb) == [("NB301", 1, 2), ("NB301", 1, 3)]


def test_noqa_lists_several_codes(tmp_path):
    nb = write_nb(tmp_path / "n.ipynb",
                  "x = input('?') or '/mnt/y/z.csv'  # noqa: NB301, NB304\n"
                  "y = input('?') or '/mnt/y/z.csv'  # noqa:NB304")
    assert findings(nb) == [("NB301", 1, 2)]


def test_noqa_parsing():
    table = noqa_lines("a  # NOQA\nb\nc  # noqa: NB101,NB2 \nd # noqa:E501")
    assert table[1] == frozenset(["*"]) and 2 not in table
    assert table[3] == {"NB101", "NB2"} and table[4] == {"E501"}


def test_cell_tag_silences_codes_for_that_cell_only(tmp_path):
    nb = write_nb(tmp_path / "n.ipynb", "print(a)", "print(b)", "print(c)",
                  tags={0: ["nb2prod:ignore=NB201"], 1: ["nb2prod:ignore"]})
    assert findings(nb) == [("NB201", 3, 1)]


def test_config_ignore_and_per_file_ignores(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nb2prod.lint]\nignore = ["NB30"]\n'
        '[tool.nb2prod.lint.per-file-ignores]\n"scratch/*.ipynb" = ["NB2"]\n')
    kept = write_nb(tmp_path / "keep" / "n.ipynb", "print(a)\np = '/mnt/q/x.csv'")
    scratch = write_nb(tmp_path / "scratch" / "n.ipynb", "print(a)\np = '/mnt/q/x.csv'")
    config = load_config(tmp_path)
    assert config.ignore == ("NB30",)
    assert findings(kept, config, tmp_path) == [("NB201", 1, 1)]
    assert findings(scratch, config, tmp_path) == []


# --- configuration -----------------------------------------------------------

def test_config_is_found_upwards_and_parsed(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.nb2prod.lint]\nselect = ["NB1", "NB201"]\n'
        'exclude = ["old/"]\nrequire-tags = true\nfail-on = "warning"\n'
        '[tool.nb2prod.lint.limits]\nmax-cell-lines = 10\n')
    (tmp_path / "a" / "b").mkdir(parents=True)
    config = load_config(tmp_path / "a" / "b")
    assert config.select == ("NB1", "NB201") and config.exclude == ("old/",)
    assert config.require_tags and config.fail_on == "warning"
    assert config.limits.max_cell_lines == 10 and config.root == tmp_path.resolve()
    assert resolve(config.select, ()) == {c for c in LINT_RULES if c.startswith("NB1")} | {
        "NB201"}


@pytest.mark.parametrize("text, message", [
    ('[tool.nb2prod.lint]\nselect = ["NB1O1"]\n', "unknown rule id 'NB1O1'"),
    ('[tool.nb2prod.lint]\nignore = ["NB610"]\n', "build-only code"),
    ('[tool.nb2prod.lint]\nslect = ["NB101"]\n', "unknown key 'slect'"),
    ('[tool.nb2prod.lint.limits]\nmax-lines = 3\n', "unknown limit 'max-lines'"),
    ('[tool.nb2prod.lint]\nfail-on = "fatal"\n', "fail-on must be one of"),
    ('[tool.nb2prod.lint\n', "invalid TOML"),
])
def test_bad_config_is_a_usage_error(tmp_path, text, message):
    (tmp_path / "pyproject.toml").write_text(text)
    write_nb(tmp_path / "n.ipynb", "x = 1")
    with pytest.raises(UserError) as info:
        run_lint(LintOptions(paths=(tmp_path,)))
    assert message in str(info.value) and info.value.exit_code == 2
    assert "\n" not in str(info.value)


def test_unknown_cli_rule_id_is_a_usage_error(tmp_path):
    with pytest.raises(UserError, match="unknown rule id 'XYZ1'") as info:
        run_lint(LintOptions(paths=(write_nb(tmp_path / "n.ipynb", "x = 1"),),
                             ignore=("XYZ1",)))
    assert info.value.exit_code == 2


# --- discovery ---------------------------------------------------------------

def test_discover_recurses_and_skips_hidden_checkpoints_and_excludes(tmp_path):
    for rel in ["a.ipynb", "sub/b.ipynb", ".ipynb_checkpoints/a-checkpoint.ipynb",
                ".hidden/c.ipynb", "archive/old.ipynb", "sub/x.nbconvert.ipynb", "notes.txt"]:
        write_nb(tmp_path / rel, "x = 1")
    found = discover([tmp_path], ("archive/", "*.nbconvert.ipynb"), tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a.ipynb", "sub/b.ipynb"]


def test_discover_missing_path_is_usage_error(tmp_path):
    with pytest.raises(UserError) as info:
        discover([tmp_path / "nope"], (), tmp_path)
    assert info.value.exit_code == 2


def test_gitignore_like_matching():
    assert matches("nb/archive/x.ipynb", "archive/")
    assert matches("nb/x-scratch.ipynb", "*-scratch.ipynb")
    assert matches("nb/old/x.ipynb", "nb/old/*.ipynb")
    assert not matches("nb/new/x.ipynb", "nb/old/*.ipynb")


# --- runs, exit codes, selection ---------------------------------------------

def test_unreadable_notebook_is_a_finding_and_others_are_linted(tmp_path):
    (tmp_path / "broken.ipynb").write_text('{"cells": [')
    write_nb(tmp_path / "good.ipynb", "print(missing)")
    outcome = run_lint(LintOptions(paths=(tmp_path,)))
    got = [(Path(f.path).name, f.code) for f in outcome.result.findings]
    assert got == [("broken.ipynb", "NB001"), ("good.ipynb", "NB201")]
    assert "invalid JSON" in outcome.result.findings[0].message
    assert outcome.exit_code == 1


def test_exit_codes_follow_fail_on(tmp_path):
    nb = write_nb(tmp_path / "n.ipynb", "x = 1", "y = '/mnt/data/x.csv'")  # a warning only
    assert run_lint(LintOptions(paths=(nb,))).exit_code == 0
    assert run_lint(LintOptions(paths=(nb,), fail_on="warning")).exit_code == 1
    assert run_lint(LintOptions(paths=(nb,), fail_on="warning",
                                ignore=("NB301",))).exit_code == 0


def test_select_limits_rules(tmp_path):
    nb = write_nb(tmp_path / "n.ipynb", "print(a)\nb = '/mnt/x/y.csv'\n", "")
    codes = {f.code for f in run_lint(LintOptions(paths=(nb,), select=("NB4",))).result.findings}
    assert codes == {"NB401"}


def test_parallel_run_gives_the_same_findings(tmp_path):
    for i in range(30):
        write_nb(tmp_path / f"nb_{i:02d}.ipynb", f"print(v{i})", "x = 1", counts={0: 2, 1: 1})
    files = discover([tmp_path], (), tmp_path)
    plan = LintPlan(LintConfig(), resolve(None, ()), tmp_path)
    serial = lint_many(files, plan, jobs=1)
    parallel = lint_many(files, plan, jobs=2)
    assert parallel == serial and len(serial.findings) == 90  # NB201, NB103, NB101
    assert workers(2, 30) == 2 and workers(2, 3) == 1 and workers(0, 10) == 1


# --- the command line --------------------------------------------------------

def run_cli(*args, cwd=REPO):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "nb2prod.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120, check=False)


def test_cli_exit_codes(tmp_path):
    clean = write_nb(tmp_path / "clean.ipynb", "x = 1\nprint(x)")
    dirty = write_nb(tmp_path / "dirty.ipynb", "print(y)")
    assert run_cli("lint", str(clean)).returncode == 0
    result = run_cli("lint", str(dirty))
    assert result.returncode == 1 and "dirty.ipynb:cell 1:1:7: NB201" in result.stdout
    bad = run_cli("lint", str(tmp_path / "missing.ipynb"))
    assert bad.returncode == 2 and "no such file" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert run_cli("lint", "--select", "NB1O1", str(clean)).returncode == 2


def test_cli_rules_lists_everything_and_explains_one():
    from nb2prod.problems import CONVERSION_RULES

    listing = run_cli("rules")
    assert listing.returncode == 0
    for code in [*LINT_RULES, *CONVERSION_RULES]:
        assert f"\n{code} " in listing.stdout
    one = run_cli("rules", "NB101")
    for part in ("execution-out-of-order", "Why it matters in production", "Bad:", "Good:",
                 "Fix:"):
        assert part in one.stdout
    as_json = json.loads(run_cli("rules", "NB303", "--format", "json").stdout)
    assert as_json["code"] == "NB303" and as_json["severity"] == "warning"
    assert run_cli("rules", "NB000").returncode == 2


def test_lint_startup_stays_light(tmp_path):
    nb = write_nb(tmp_path / "n.ipynb", "x = 1")
    probe = (f"import sys, runpy; sys.argv = ['nb2prod', 'lint', {str(nb)!r}]\n"
             "try:\n    runpy.run_module('nb2prod.cli', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "heavy = [m for m in ('nbconvert', 'jinja2', 'nbformat', 'rich', 'IPython', 'typer',"
             " 'click')"
             " if m in sys.modules]\nprint('HEAVY', heavy)\n"
             "other = sorted(m for m in sys.modules if m == 'nb2prod.cli.app' or"
             " m.startswith(('nb2prod.plan', 'nb2prod.render', 'nb2prod.targets',"
             " 'nb2prod.verify', 'nb2prod.tag')))\n"
             "print('OTHER', other, 'MODULES', len(sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60,
                            check=False)
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr
    assert "OTHER []" in result.stdout, result.stdout  # no other command's modules
    # start-up must not grow (issue 16): 129 modules in all on Python 3.11, 187 before
    assert int(result.stdout.split("MODULES")[1]) < 160, result.stdout
