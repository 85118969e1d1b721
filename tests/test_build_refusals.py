"""One core build: what `nb2prod build` refuses, `verify` and `jupyter nbconvert --to
nb2prod` refuse too, and nothing is written anywhere (nb2prod/build.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nb2prod.build import BuildOptions, Refused, build, generate
from nb2prod.cli import main
from nb2prod.nbconvert_exporter import Nb2prodExporter
from tests.conftest import ROOT

TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2
EXPORTER = "nb2prod.nbconvert_exporter.Nb2prodExporter"


@pytest.fixture
def token_notebook(notebook_factory):
    return notebook_factory([(f'api_token = "{TOKEN}"\nn = 3', ["parameters"]),
                             ("total = n * 2\nprint(total)", ["step:compute"])],
                            name="leaky.ipynb")


def files_holding_the_token(root: Path, notebook: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p != notebook
            and TOKEN.encode() in p.read_bytes()]


def test_build_refuses_and_writes_nothing(token_notebook, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["build", str(token_notebook), "-o", str(out)]) == 1
    captured = capsys.readouterr()
    assert "cell 1:1:1: NB624 [error]" in captured.out
    assert captured.err.count("\n") == 1 and "nothing written" in captured.err
    assert not out.exists()
    assert files_holding_the_token(tmp_path, token_notebook) == []


def test_check_refuses_too(token_notebook, tmp_path):
    with pytest.raises(Refused) as refused:
        build(token_notebook, BuildOptions(output=tmp_path / "out", check=True))
    assert [p.code for p in refused.value.problems if p.severity == "error"] == ["NB624"]


def test_verify_refuses_before_running_anything(token_notebook, tmp_path, capsys):
    assert main(["verify", str(token_notebook)]) == 1
    captured = capsys.readouterr()
    assert "NB624" in captured.out and "Traceback" not in captured.err
    assert "nothing written" in captured.err
    assert files_holding_the_token(tmp_path, token_notebook) == []


def test_the_exporter_refuses_in_process(token_notebook):
    with pytest.raises(Refused) as refused:
        Nb2prodExporter().from_filename(str(token_notebook))
    assert refused.value.path == str(token_notebook)  # not the exporter's temporary copy


def test_jupyter_nbconvert_refuses_in_one_line(token_notebook, tmp_path):
    out = tmp_path / "zips"
    run = subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", EXPORTER, str(token_notebook),
         "--output-dir", str(out)], capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300, check=False)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert f"nb2prod: error: {token_notebook}: a parameter default looks like" in run.stderr
    assert not list(out.rglob("*.zip")) if out.exists() else True
    assert files_holding_the_token(tmp_path, token_notebook) == []


def test_the_exporter_zips_what_build_writes(tmp_path):
    """Same core, same bytes: the zip holds the files `build` writes, manifest included."""
    from nb2prod.nbconvert_exporter import zip_bytes

    churn = ROOT / "examples" / "churn.ipynb"
    generated = generate(churn, BuildOptions())
    data, _ = Nb2prodExporter().from_filename(str(churn))
    assert data == zip_bytes(generated.with_manifest())
    out = tmp_path / "churn"
    build(churn, BuildOptions(output=out))
    written = {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8")
               for p in out.rglob("*") if p.is_file()}
    assert written == generated.with_manifest()
