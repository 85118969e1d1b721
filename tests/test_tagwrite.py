"""`tag/write.py`: tags go in, nothing else in the file changes by a single byte."""

from __future__ import annotations

import copy
import difflib
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from nb2prod.cli import main
from nb2prod.errors import UserError
from nb2prod.notebook import load_notebook
from nb2prod.tag.suggest import suggest_notebook
from nb2prod.tag.write import apply_tags, parse_spans, write_tags

UNTAGGED = Path(__file__).parent / "data" / "untagged"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

TAG_LINE = re.compile(r'^\s*("metadata": \{|"tags": \[\]?,?|"[\w:\-]+",?|\],?|\},?)$')


def raw_notebook(cells: list[dict]) -> dict:
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


def code(source: str, metadata: dict | None = None, **extra) -> dict:
    cell = {"cell_type": "code", "execution_count": None, "id": extra.pop("id", "a"),
            "metadata": {} if metadata is None else metadata, "outputs": [], "source": source}
    cell.update(extra)
    return cell


def expected_after(text: str, tags: dict[int, list[str]]) -> dict:
    data = copy.deepcopy(json.loads(text.lstrip("\ufeff")))
    for index, value in tags.items():
        data["cells"][index].setdefault("metadata", {})["tags"] = value
    return data


def only_tag_lines_changed(before: str, after: str) -> list[str]:
    """Changed lines that are not about tags (should be none).

    Besides the added tag lines, JSON forces two neighbouring edits, both what
    Jupyter itself writes when a tag is added: `"metadata": {},` opens up, and
    the member before an appended `"tags"` gains a comma.
    """
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    removed = [d[2:] for d in diff if d.startswith("- ")]
    added = [d[2:] for d in diff if d.startswith("+ ")]
    bad = [r for r in removed if r.strip() != '"metadata": {},'
           and r.rstrip() + "," not in added and not TAG_LINE.match(r)]
    bad += [a for a in added if not TAG_LINE.match(a) and a[:-1] not in removed]
    return bad


def test_nbformat_style_is_what_jupyter_would_write(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os"), nbformat.v4.new_markdown_cell("# Hi"),
                nbformat.v4.new_code_cell("x = 1", metadata={"collapsed": False})]
    text = nbformat.writes(nb) + "\n"
    tagged = apply_tags(text, {0: ("imports",), 2: ("parameters", "hide-input")})
    nb.cells[0].metadata["tags"] = ["imports"]
    nb.cells[2].metadata["tags"] = ["parameters", "hide-input"]
    assert tagged == nbformat.writes(nb) + "\n"


def test_fixture_diff_is_only_tag_lines():
    text = (UNTAGGED / "untagged_regression.ipynb").read_text(encoding="utf-8")
    tags = {0: ("imports",), 1: ("parameters",), 3: ("step:load_data",), 4: ("skip",)}
    tagged = apply_tags(text, tags)
    assert only_tag_lines_changed(text, tagged) == []
    assert json.loads(tagged) == expected_after(text, {k: list(v) for k, v in tags.items()})
    assert tagged.endswith("\n") == text.endswith("\n")


@pytest.mark.parametrize("dump", [
    lambda d: json.dumps(d, indent=2),
    lambda d: json.dumps(d, indent=4) + "\n",
    lambda d: json.dumps(d, indent="\t"),
    lambda d: json.dumps(d),
    lambda d: json.dumps(d, separators=(",", ":")),
    lambda d: json.dumps(d, indent=1).replace("\n", "\r\n") + "\r\n",
    lambda d: "\ufeff" + json.dumps(d, indent=1, ensure_ascii=True),
])
def test_any_style_keeps_every_other_byte(dump):
    cells = [code("import os"),
             code("x = 'é'", {"scrolled": True, "collapsed": False}, id="b"),
             code("y = 2", {"zeta": 1, "alpha": 2}, id="c"),  # unsorted keys: append
             code("z = 3", {"tags": ["hide-input", "step:old"]}, id="d")]
    text = dump(raw_notebook(cells))
    tags = {0: ("imports",), 1: ("step:a",), 2: ("step:b",), 3: ("step:c",)}
    tagged = apply_tags(text, tags)
    expected = {0: ["imports"], 1: ["step:a"], 2: ["step:b"], 3: ["hide-input", "step:c"]}
    assert json.loads(tagged.lstrip("\ufeff")) == expected_after(text, expected)
    assert tagged.startswith("\ufeff") == text.startswith("\ufeff")
    assert ("\r\n" in tagged) == ("\r\n" in text)
    if "\n" in text:
        assert only_tag_lines_changed(text, tagged) == []


def test_sorted_keys_get_the_tag_in_sorted_position():
    text = json.dumps(raw_notebook([code("x = 1", {"collapsed": False, "vscode": {}})]),
                      indent=1, sort_keys=True)
    tagged = json.loads(apply_tags(text, {0: ("skip",)}), object_pairs_hook=list)
    cell = dict(tagged)["cells"][0]
    assert [k for k, _ in dict(cell)["metadata"]] == ["collapsed", "tags", "vscode"]


def test_cell_without_metadata_gets_one():
    cell = code("x = 1")
    del cell["metadata"]
    text = json.dumps(raw_notebook([cell]), indent=1)
    assert json.loads(apply_tags(text, {0: ("skip",)}))["cells"][0]["metadata"] == {
        "tags": ["skip"]}


def test_unchanged_tags_leave_the_text_identical():
    text = json.dumps(raw_notebook([code("x = 1", {"tags": ["skip"]}), code("y = 2")]),
                      indent=1)
    assert apply_tags(text, {0: ("skip",), 1: ()}) == text


def test_escapes_and_outputs_are_untouched():
    cell = code("s = '\\u00e9'", outputs=[{"output_type": "stream", "name": "stdout",
                                           "text": ["a\\\"b\n", "\u2603\n"]}])
    text = json.dumps(raw_notebook([cell]), indent=1, ensure_ascii=True)
    tagged = apply_tags(text, {0: ("step:s",)})
    outputs = text[text.index('"outputs"'):text.index('"source"')]
    assert "\\u2603" in outputs and outputs in tagged


def test_parse_spans_points_at_the_values():
    text = '{"a": [1, {"b": "x\\"y"}], "c": null}'
    root = parse_spans(text)
    b = root.get("a").items[1].get("b")
    assert text[b.start:b.end] == '"x\\"y"'
    assert text[root.get("c").start:root.get("c").end] == "null"


def test_refuses_tagged_notebooks_without_force(tmp_path):
    path = tmp_path / "t.ipynb"
    path.write_text(json.dumps(raw_notebook([code("x = 1", {"tags": ["step:mine"]})]),
                               indent=1))
    before = path.read_bytes()
    with pytest.raises(UserError, match="already tagged"):
        write_tags(path, {0: ("parameters",)})
    assert path.read_bytes() == before
    result = write_tags(path, {0: ("parameters",)}, force=True)
    assert result.written and json.loads(path.read_text())["cells"][0]["metadata"]["tags"] == [
        "parameters"]


def test_foreign_tags_do_not_block_writing(tmp_path):
    path = tmp_path / "t.ipynb"
    path.write_text(json.dumps(raw_notebook([code("x = 1", {"tags": ["hide-input"]})])))
    write_tags(path, {0: ("parameters",)})
    assert json.loads(path.read_text())["cells"][0]["metadata"]["tags"] == [
        "hide-input", "parameters"]


def test_cli_write_then_refuse_then_force(tmp_path, capsys):
    path = tmp_path / "reg.ipynb"
    shutil.copy(UNTAGGED / "untagged_regression.ipynb", path)
    original = path.read_text(encoding="utf-8")
    assert main(["tag", str(path), "--suggest"]) == 0
    assert "step:load_data" in capsys.readouterr().out
    assert path.read_text(encoding="utf-8") == original
    assert main(["tag", str(path), "--write"]) == 0
    tagged = path.read_text(encoding="utf-8")
    assert only_tag_lines_changed(original, tagged) == []
    assert main(["tag", str(path), "--write"]) == 2
    assert "already tagged" in capsys.readouterr().err
    assert main(["tag", str(path), "--write", "--force"]) == 0
    assert path.read_text(encoding="utf-8") == tagged  # same proposal: nothing rewritten


def corpus_notebooks() -> list[Path]:
    return sorted(CORPUS.glob("*/*.ipynb")) if CORPUS.is_dir() else []


@pytest.mark.parametrize("path", corpus_notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_suggest_and_apply(path):
    """Never edits the corpus: the tagged text is checked in memory only."""
    try:
        notebook = load_notebook(path)
    except UserError:
        pytest.skip("not a loadable Python notebook")
    suggestions = suggest_notebook(notebook)
    text = path.read_text(encoding="utf-8")
    if json.loads(text)["nbformat"] < 4:
        with pytest.raises(UserError, match="nbformat 4"):
            apply_tags(text, {0: ("skip",)})
        return
    proposed = {s.cell - 1: s.tags for s in suggestions}
    tagged = apply_tags(text, proposed)  # raises if anything beyond tags changed
    if notebook.nbformat[0] >= 4 and "\n" in text and not any(c.tags for c in notebook.cells):
        assert only_tag_lines_changed(text, tagged) == []
