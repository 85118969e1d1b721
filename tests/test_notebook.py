"""Loading: every kind of bad input is one clear UserError naming the file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nb2prod.errors import UserError
from nb2prod.notebook import load_notebook
from tests.conftest import CORPUS, make_notebook


def error_for(path: Path, **kwargs) -> str:
    with pytest.raises(UserError) as info:
        load_notebook(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_missing_file(tmp_path):
    assert "no such file" in error_for(tmp_path / "nope.ipynb")


def test_directory(tmp_path):
    assert "is a directory" in error_for(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "e.ipynb"
    path.write_text("")
    assert "empty" in error_for(path)


@pytest.mark.parametrize("content, expected", [
    (b"hello world", "invalid JSON"),
    (b'{"cells": [', "invalid JSON at line 1"),
    (bytes(range(256)) * 4, "not UTF-8"),
    (b"[1, 2]", "no 'cells'"),
    (b'{"cells": []}', "nbformat"),
])
def test_not_a_notebook(tmp_path, content, expected):
    path = tmp_path / "bad.ipynb"
    path.write_bytes(content)
    assert expected in error_for(path)


def test_schema_failure_names_the_field():
    message = error_for(CORPUS / "nbformat" / "invalid.ipynb")
    assert "cells/0" in message and "source" in message


def test_schema_checked_only_when_asked():
    notebook = load_notebook(CORPUS / "nbformat" / "invalid_cell_id.ipynb", validate=False)
    assert notebook.code_cells


def test_v3_notebook_is_upgraded():
    notebook = load_notebook(CORPUS / "nbformat" / "test3.ipynb")
    assert notebook.nbformat[0] == 4
    assert notebook.code_cells and all(isinstance(c.source, str) for c in notebook.cells)


@pytest.mark.parametrize("kernelspec", [
    {"name": "ir", "display_name": "R", "language": "R"},
    {"name": "julia-1.9", "display_name": "Julia 1.9", "language": "julia"},
])
def test_non_python_kernel_refused_with_its_name(tmp_path, kernelspec):
    path = make_notebook(tmp_path / "k.ipynb", ["x <- 1"], {"kernelspec": kernelspec})
    message = error_for(path)
    assert kernelspec["name"] in message and "not Python" in message


def test_size_limit_is_stated(tmp_path):
    path = make_notebook(tmp_path / "big.ipynb", ["x = 1"])
    assert "over the 0 MB limit" in error_for(path, max_bytes=10)


def test_unreadable_file(tmp_path, monkeypatch):
    path = make_notebook(tmp_path / "locked.ipynb", ["x = 1"])

    real_open = os.open

    def denied(file, *args, **kwargs):  # root reads any file: deny the open itself
        if Path(file) == path:
            raise PermissionError(13, "Permission denied")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    assert "permission denied" in error_for(path)


def test_cells_numbered_from_one_with_tags_and_ids(tmp_path):
    path = make_notebook(tmp_path / "n.ipynb", [
        {"cell_type": "markdown", "source": ["# Title"]},
        ("x = 1", ["step:a"]),
    ])
    notebook = load_notebook(path)
    assert [c.number for c in notebook.cells] == [1, 2]
    assert notebook.cells[1].tags == ("step:a",) and notebook.cells[1].cell_id == "c1"
    assert notebook.sha256 == __import__("hashlib").sha256(path.read_bytes()).hexdigest()


def test_every_corpus_notebook_loads_or_fails_cleanly():
    for path in sorted(CORPUS.rglob("*.ipynb")):
        try:
            notebook = load_notebook(path)
        except UserError as exc:
            assert str(path) in str(exc)
        else:
            assert notebook.cells is not None


# --- hostile files (issue 25): refused in one line, never read, never a traceback ------

def test_a_fifo_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "pipe.ipynb"
    os.mkfifo(fifo)  # opening it for reading would block until a writer comes
    for validate in (True, False):
        assert "named pipe" in error_for(fifo, validate=validate)
    link = tmp_path / "link.ipynb"
    link.symlink_to(fifo)
    assert "named pipe" in error_for(link)


def test_a_device_is_refused():
    assert "character device" in error_for(Path(os.devnull))


def _v4(**fields) -> bytes:
    notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps({**notebook, **fields}).encode()


@pytest.mark.parametrize("content, expected, cell", [
    (_v4(cells=5), "'cells' is not a list", None),
    (_v4(nbformat_minor="x"), "'nbformat_minor' is not an integer", None),
    (_v4(nbformat=True), "missing integer 'nbformat'", None),
    (_v4(cells=[{"cell_type": "code", "source": 3, "metadata": {}, "outputs": []}]),
     "'source' is not text", 1),
    (_v4(cells=[{"cell_type": "markdown", "source": "a", "metadata": {}}, 7]),
     "no valid 'cell_type'", 2),
    (b'{"cells": [], "metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b', "nbformat": 4}',
     "nested over 100 levels", None),
    (_v4(cells=[{"cell_type": "markdown", "source": "a\ud800", "metadata": {}}]),
     "lone surrogate", 1),
    (json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {},
                 "worksheets": [{"cells": 5}]}).encode(), "cannot upgrade nbformat v3", None),
])
def test_malformed_shapes_are_one_line(tmp_path, content, expected, cell):
    path = tmp_path / "bad.ipynb"
    path.write_bytes(content)
    for validate in (True, False):  # build and lint
        message = error_for(path, validate=validate)
        assert expected in message
        assert (f"cell {cell}" in message) == (cell is not None)


def test_json_depth_is_linear_and_ignores_strings():
    from nb2prod.notebook import json_depth

    assert json_depth('{"a": [[1], {"b": "[[[[[["}], "c\\"[[": []}') == 3
    assert json_depth("[" * 1000) == 1000  # unbalanced: as deep as it opens
    assert json_depth('"' + '\\"[' * 1000) == 0  # one unterminated string


def test_emoji_escapes_are_not_surrogates(tmp_path):
    path = tmp_path / "ok.ipynb"
    path.write_bytes(_v4(cells=[{"cell_type": "markdown", "source": "\U0001f600",
                                 "metadata": {}}]))  # json.dumps writes \ud83d\ude00
    assert b"\\ud83d" in path.read_bytes()
    assert load_notebook(path).cells[0].source == "\U0001f600"
