"""The lint result cache: hits are byte-identical to fresh runs, and every change that
could change a finding (content, configuration, a data file appearing) is a miss.

Every test points `NB2PROD_CACHE_DIR` at a temporary folder: nothing is written into
the repository.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from nb2prod.lint import cache as lint_cache
from nb2prod.lint import run as lint_run
from nb2prod.lint.api import LintOptions, run_lint
from nb2prod.lint.formats import FORMATS, render
from nb2prod.lint.registry import LINT_RULES
from tests.test_lint_engine import write_nb

REPO = Path(__file__).resolve().parents[1]
CASES = REPO / "tests" / "data" / "lint" / "cases"
CORPUS = REPO.parent / "shared" / "corpus"


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(lint_cache.ENV, str(folder))
    # Others editing nb2prod's modules mid-test would change the key (on purpose).
    monkeypatch.setattr(lint_cache, "_code_fingerprint", lambda: [1, 2, 3])
    return folder


def lint(*paths: Path, cache: bool = True, **options):
    return run_lint(LintOptions(paths=paths, format=options.pop("format", "json"), jobs=1,
                                cache=cache, **options))


def codes(outcome) -> list[tuple[str, int | None, str]]:
    return [(f.code, f.cell, f.message) for f in outcome.result.findings]


def forbid_linting(monkeypatch) -> None:
    def fail(path, plan):
        raise AssertionError(f"{path} was linted, expected a cache hit")
    monkeypatch.setattr(lint_run, "lint_file_probed", fail)


def rewrite_keeping_stamp(path: Path, text: str) -> None:
    """New content of the same size, with atime and mtime set back as they were."""
    st = path.stat()
    assert len(text.encode()) == st.st_size
    path.write_text(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_mtime_ns == st.st_mtime_ns and path.stat().st_size == st.st_size


# --- hits ----------------------------------------------------------------------

def test_second_run_is_answered_from_the_cache(tmp_path, cache_dir, monkeypatch):
    nb = write_nb(tmp_path / "nb.ipynb", "print(y)", "import os")
    first = lint(nb)
    assert first.result.cached == 0 and codes(first)
    assert (cache_dir / ".gitignore").read_text().splitlines()[-1] == "*"
    forbid_linting(monkeypatch)
    second = lint(nb)
    assert second.result.cached == 1
    assert second.report == first.report and second.exit_code == first.exit_code


def test_trusted_stamp_is_a_hit_without_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(lint_cache, "RACY_NS", 0)  # the file counts as old at once
    nb = write_nb(tmp_path / "nb.ipynb", "print(y)")
    lint(nb)
    monkeypatch.setattr(lint_cache, "digest", lambda data: pytest.fail("hashed on a hit"))
    assert lint(nb).result.cached == 1


def test_same_bytes_with_a_new_mtime_is_a_hit(tmp_path, monkeypatch):
    nb = write_nb(tmp_path / "nb.ipynb", "print(y)")
    first = lint(nb)
    nb.write_bytes(nb.read_bytes())  # a checkout or `touch`: new stamp, same content
    os.utime(nb, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    forbid_linting(monkeypatch)
    again = lint(nb)
    assert again.result.cached == 1 and again.report == first.report


def test_relative_and_absolute_paths_share_entries(tmp_path, monkeypatch):
    nb = write_nb(tmp_path / "nb.ipynb", "print(y)")
    monkeypatch.chdir(tmp_path)  # the repository root (part of the key) stays the same
    lint(nb.resolve())
    forbid_linting(monkeypatch)
    outcome = lint(Path("nb.ipynb"))
    assert outcome.result.cached == 1
    assert all(f.path == "nb.ipynb" for f in outcome.result.findings)


def test_parallel_run_fills_the_cache(tmp_path, monkeypatch):
    files = [write_nb(tmp_path / f"nb{i:02}.ipynb", f"print(y{i})") for i in range(30)]
    first = run_lint(LintOptions(paths=(tmp_path,), format="json", jobs=2, cache=True))
    assert first.result.files == len(files) and first.result.cached == 0
    forbid_linting(monkeypatch)
    second = run_lint(LintOptions(paths=(tmp_path,), format="json", jobs=2, cache=True))
    assert second.result.cached == len(files) and second.report == first.report


# --- misses --------------------------------------------------------------------

def test_content_change_with_same_size_and_mtime_is_linted_again(tmp_path):
    nb = write_nb(tmp_path / "nb.ipynb", "print(y)")
    assert "`y`" in lint(nb).report
    rewrite_keeping_stamp(nb, nb.read_text().replace("print(y)", "print(z)"))
    again = lint(nb)
    assert again.result.cached == 0
    assert "`z`" in again.report and "`y`" not in again.report


def test_content_change_is_caught_even_when_the_stamp_is_trusted(tmp_path, monkeypatch):
    # With a trusted stamp the sha is not consulted: ctime, which nobody can set back,
    # is what tells the edit apart.
    monkeypatch.setattr(lint_cache, "RACY_NS", 0)
    nb = write_nb(tmp_path / "nb.ipynb", "print(y)")
    lint(nb)
    time.sleep(0.05)  # past the file system's timestamp tick
    rewrite_keeping_stamp(nb, nb.read_text().replace("print(y)", "print(z)"))
    again = lint(nb)
    assert again.result.cached == 0 and "`z`" in again.report


def test_configuration_change_is_linted_again(tmp_path):
    nb = write_nb(tmp_path / "nb.ipynb", "print(y)", "x = 1\n" * 60)
    everything = lint(nb)
    assert {"NB201", "NB402"} <= {f.code for f in everything.result.findings}
    selected = lint(nb, select=("NB2",))
    assert selected.result.cached == 0 and {f.code for f in selected.result.findings} == {
        "NB201"}
    assert lint(nb, select=("NB2",)).result.cached == 1
    (tmp_path / "pyproject.toml").write_text(
        "[tool.nb2prod.lint.limits]\nmax-cell-lines = 100\n")
    relaxed = lint(nb)
    assert relaxed.result.cached == 0 and "NB402" not in {f.code for f in
                                                            relaxed.result.findings}


def test_fail_on_does_not_invalidate(tmp_path):
    nb = write_nb(tmp_path / "nb.ipynb", "import os")
    lint(nb)
    assert lint(nb, fail_on="info").result.cached == 1


def test_data_file_appearing_is_linted_again(tmp_path):
    nb = write_nb(tmp_path / "nb.ipynb", "import pandas as pd\ndf = pd.read_csv('data/x.csv')")
    assert "NB305" in {f.code for f in lint(nb).result.findings}
    assert lint(nb).result.cached == 1
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("a\n1\n")
    again = lint(nb)
    assert again.result.cached == 0 and "NB305" not in {f.code for f in again.result.findings}


def test_code_fingerprint_is_part_of_the_key(tmp_path, monkeypatch):
    nb = write_nb(tmp_path / "nb.ipynb", "print(y)")
    lint(nb)
    monkeypatch.setattr(lint_cache, "_code_fingerprint", lambda: [0, 0, 0])
    assert lint(nb).result.cached == 0


def test_code_fingerprint_covers_every_module_lint_imports(monkeypatch):
    """Subpackages included: lint runs the analysis in nb2prod/analysis/."""
    import sys

    monkeypatch.undo()  # the real fingerprint, not the fixture's constant

    import nb2prod

    package = Path(nb2prod.__file__).parent
    modules = sorted(package.rglob("*.py"))
    assert lint_cache._code_fingerprint()[0] == len(modules)
    loaded = {Path(m.__file__) for name, m in list(sys.modules.items())
              if name.startswith(("nb2prod.lint", "nb2prod.analysis"))}
    assert loaded <= set(modules)


# --- robustness ----------------------------------------------------------------

@pytest.mark.parametrize("garbage", [
    b"\x00\xff not json", b"[]", b'{"key": 3}', b"",
    "BAD-ENTRIES",  # the right key, malformed entries
])
def test_corrupted_cache_is_ignored(tmp_path, cache_dir, garbage):
    nb = write_nb(tmp_path / "nb.ipynb", "print(y)")
    first = lint(nb)
    (cache_file,) = cache_dir.glob("lint-*.json")
    if garbage == "BAD-ENTRIES":
        data = json.loads(cache_file.read_text())
        name = next(iter(data["entries"]))
        data["entries"] = {name: [None, "x", str(nb), [[1, 1, 1, "NB201", "fatal", "m", "",
                                                         None]], {}],
                           "other": "nonsense"}
        garbage = json.dumps(data).encode()
    cache_file.write_bytes(garbage)
    again = lint(nb)
    assert again.result.cached == 0 and again.report == first.report
    assert lint(nb).result.cached == 1  # and it was rewritten, valid


def test_unwritable_cache_is_not_an_error(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv(lint_cache.ENV, str(blocker / "cache"))
    nb = write_nb(tmp_path / "nb.ipynb", "print(y)")
    assert lint(nb).exit_code == 1 and lint(nb).result.cached == 0


def test_no_cache_flag_neither_reads_nor_writes(tmp_path, cache_dir, capsys):
    from nb2prod.cli import main

    nb = write_nb(tmp_path / "nb.ipynb", "print(y)")
    assert main(["lint", str(nb), "--no-cache", "--format", "json"]) == 1
    assert not cache_dir.exists()
    fresh = capsys.readouterr().out
    assert main(["lint", str(nb), "--format", "json"]) == 1  # the command line caches
    assert list(cache_dir.glob("lint-*.json")) and capsys.readouterr().out == fresh
    assert main(["lint", str(nb), "--format", "json"]) == 1
    assert capsys.readouterr().out == fresh


def test_library_default_does_not_cache(tmp_path, cache_dir):
    nb = write_nb(tmp_path / "nb.ipynb", "print(y)")
    run_lint(LintOptions(paths=(nb,), jobs=1))
    assert not cache_dir.exists()


def test_default_location_is_next_to_pyproject(tmp_path, monkeypatch):
    monkeypatch.delenv(lint_cache.ENV)
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    nb = write_nb(project / "notebooks" / "nb.ipynb", "print(y)")
    monkeypatch.chdir(project / "notebooks")
    lint(nb)
    folder = project / ".nb2prod_cache"
    assert list(folder.glob("lint-*.json"))
    assert (folder / ".gitignore").read_text().strip().endswith("*")
    (project / "pyproject.toml").write_text("[tool.nb2prod.lint]\nignore = ['NB5']\n")
    monkeypatch.chdir(tmp_path)  # the configuration's folder wins over the current one
    lint(nb)
    assert not (tmp_path / ".nb2prod_cache").exists()
    assert len(list(folder.glob("lint-*.json"))) == 2


# --- byte-identical reports ----------------------------------------------------

def _reports(outcome, files: list[str]) -> dict[str, str]:
    return {fmt: render(outcome.result.findings, fmt, rules=LINT_RULES,
                        files=outcome.result.files, paths=files) for fmt in FORMATS}


@pytest.mark.parametrize("folder", [
    CASES, pytest.param(CORPUS, marks=pytest.mark.skipif(not CORPUS.is_dir(),
                                                          reason="no shared corpus"))],
    ids=["lint-cases", "shared-corpus"])
def test_cached_reports_are_byte_identical_in_every_format(folder, tmp_path, monkeypatch):
    from nb2prod.lint.discover import discover

    files = [str(p) for p in discover([folder], (), folder)]
    linter = lint_run.lint_file_probed
    fresh = lint(folder, cache=False)
    filled = lint(folder)
    forbid_linting(monkeypatch)
    cached = lint(folder)
    assert filled.result.cached == 0 and cached.result.cached == len(files)
    for fmt, text in _reports(filled, files).items():
        assert _reports(cached, files)[fmt] == text, fmt
    assert cached.report == filled.report and cached.exit_code == filled.exit_code
    if folder == CASES:  # notebooks upgraded from nbformat 3 get random cell ids
        assert cached.report == fresh.report
        monkeypatch.setattr(lint_run, "lint_file_probed", linter)
        for fmt in FORMATS:
            assert lint(folder, format=fmt).report == lint(folder, format=fmt,
                                                           cache=False).report, fmt
