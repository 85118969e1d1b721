"""nb2prod.notebook_upgrade turns v2/v3 notebooks into what nbformat's converter gives."""

from __future__ import annotations

import json
import warnings
from contextlib import suppress
from pathlib import Path

import nbformat
import pytest

from nb2prod.errors import UserError
from nb2prod.notebook import load_notebook
from nb2prod.notebook_upgrade import upgrade_to_v4

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not available")


def _nbformat_v4(text: str) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        upgraded = json.loads(json.dumps(nbformat.reads(text, as_version=4)))
    for cell in upgraded["cells"]:
        cell.pop("id", None)  # random in nbformat; load_notebook drops ours
    return upgraded


def _ours(text: str) -> dict:
    upgraded = upgrade_to_v4(json.loads(text))
    for cell in upgraded["cells"]:
        cell.pop("id", None)
    return upgraded


def _same(text: str) -> None:
    # json.dumps without sort_keys: key order must match too
    assert json.dumps(_ours(text)) == json.dumps(_nbformat_v4(text))


@needs_corpus
@pytest.mark.parametrize("name", ["test2.ipynb", "test3.ipynb", "test3_no_min_version.ipynb"])
def test_real_old_notebooks(name):
    _same((CORPUS / "nbformat" / name).read_text(encoding="utf-8"))


def _downgraded(path: Path) -> list[str]:
    """The notebook as v3 and as v2 text, where nbformat can write those."""
    found: list[str] = []
    with warnings.catch_warnings(), suppress(Exception):  # some corpus files are broken
        warnings.simplefilter("ignore")
        current = nbformat.read(path, as_version=4)
        for version in (3, 2):
            found.append(nbformat.writes(nbformat.convert(current, version), version=version))
    return found


@needs_corpus
def test_corpus_notebooks_downgraded_to_v3_and_v2():
    compared = 0
    for path in sorted(CORPUS.rglob("*.ipynb")):
        for text in _downgraded(path):
            _same(text)
            compared += 1
    assert compared > 80


def test_heading_pyout_pyerr_and_streams_become_v4():
    old = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": "n"}, "worksheets": [
        {"cells": [
            {"cell_type": "heading", "level": 2, "source": ["Re", "sults"], "metadata": {}},
            {"cell_type": "code", "language": "python", "collapsed": False,
             "input": ["x = 1\n", "x"], "prompt_number": 3, "metadata": {}, "outputs": [
                 {"output_type": "pyout", "prompt_number": 3, "text": ["1"], "metadata": {}},
                 {"output_type": "stream", "stream": "stderr", "text": "warn"},
                 {"output_type": "pyerr", "ename": "E", "evalue": "v", "traceback": []}]}]}]}
    _same(json.dumps(old))
    cells = _ours(json.dumps(old))["cells"]
    assert cells[0] == {"cell_type": "markdown", "metadata": {}, "source": "## Re sults"}
    assert cells[1]["source"] == "x = 1\nx" and cells[1]["execution_count"] == 3
    assert [o["output_type"] for o in cells[1]["outputs"]] == ["execute_result", "stream",
                                                               "error"]


def test_broken_old_notebook_is_one_user_error(tmp_path):
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {},
                                "worksheets": [{"cells": [{"cell_type": "code"}]}]}))
    with pytest.raises(UserError, match="cannot upgrade nbformat v3 notebook"):
        load_notebook(path, validate=False)
