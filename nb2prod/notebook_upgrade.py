"""nbformat v2/v3 -> v4 in plain Python, without importing nbformat.

`import nbformat` costs ~110-140 ms (it imports jsonschema, fastjsonschema,
traitlets), and its v3->v4 upgrade validates the notebook twice, which
compiles a fastjsonschema validator (another ~100-150 ms) only to log the
result. For `lint` that was a quarter of a run on a corpus with one old
notebook. This module repeats what `nbformat.reads(text, as_version=4)` does
to the data (nbformat 5.x: v2/nbjson.to_notebook, v3.upgrade,
v4/convert.upgrade), minus the validation (it only logs) and the random cell
ids (load_notebook drops them anyway). Key order is kept as nbformat leaves it.
"""

from __future__ import annotations

import json
from typing import Any

_MULTILINE_OUTPUTS = ("text", "html", "svg", "latex", "javascript", "json")
_MIME_MAP = {
    "text": "text/plain", "html": "text/html", "svg": "image/svg+xml", "png": "image/png",
    "jpeg": "image/jpeg", "latex": "text/latex", "json": "application/json",
    "javascript": "application/javascript",
}


class UpgradeError(ValueError):
    """The old notebook lacks something the upgrade needs."""


def upgrade_to_v4(raw: dict[str, Any]) -> dict[str, Any]:
    """A v2 or v3 notebook dict (as json.loads gives it) as v4; `raw` is modified."""
    major = raw.get("nbformat", 1)
    try:
        if major == 2:
            _rejoin(raw, _join_v2)
            raw = _v2_to_v3(raw)
        elif major == 3:
            _rejoin(raw, _join_v3)
        else:
            raise UpgradeError(f"Unsupported nbformat version {major}")
        return _v3_to_v4(raw)
    except (KeyError, AttributeError, TypeError) as exc:
        raise UpgradeError(f"The notebook is invalid and is missing an expected key: "
                           f"{exc}") from None


def _join_v2(lines: list) -> str:
    return "\n".join(lines)


def _join_v3(lines: list) -> str:
    # created by splitlines(True) or by splitlines()
    if lines and lines[0].endswith(("\n", "\r")):
        return "".join(lines)
    return "\n".join(lines)


def _rejoin(nb: dict, join) -> None:
    for ws in nb["worksheets"]:
        for cell in ws["cells"]:
            if cell["cell_type"] == "code":
                if "input" in cell and isinstance(cell["input"], list):
                    cell["input"] = join(cell["input"])
                for output in cell["outputs"]:
                    for key in _MULTILINE_OUTPUTS:
                        item = output.get(key, None)
                        if isinstance(item, list):
                            output[key] = join(item)
            else:
                for key in ("source", "rendered"):
                    item = cell.get(key, None)
                    if isinstance(item, list):
                        cell[key] = join(item)


def _v2_to_v3(nb: dict) -> dict:
    # v2's reader turns png/jpeg into ascii bytes and v3.upgrade decodes them again:
    # the round trip only checks they are ASCII.
    for ws in nb["worksheets"]:
        for cell in ws["cells"]:
            if cell["cell_type"] == "code":
                for output in cell["outputs"]:
                    for key in ("png", "jpeg"):
                        if key in output:
                            output[key].encode("ascii")
    nb["nbformat"] = 3
    nb["nbformat_minor"] = 0
    nb["orig_nbformat"] = 2
    for ws in nb["worksheets"]:
        for cell in ws["cells"]:
            cell.setdefault("metadata", {})
    return nb


def _v3_to_v4(nb: dict) -> dict:
    orig_nbformat = nb.pop("orig_nbformat", None)
    orig_nbformat_minor = nb.pop("orig_nbformat_minor", None)
    metadata = nb["metadata"]
    metadata["orig_nbformat"] = orig_nbformat or 3
    metadata["orig_nbformat_minor"] = orig_nbformat_minor or 0
    nb["nbformat"] = 4
    nb["nbformat_minor"] = 5
    nb["cells"] = cells = []
    for ws in nb.pop("worksheets", []):
        for cell in ws["cells"]:
            cells.append(_upgrade_cell(cell))
    metadata.pop("name", "")
    metadata.pop("signature", "")
    return nb


def _upgrade_cell(cell: dict) -> dict:
    cell.setdefault("metadata", {})
    cell["id"] = None  # nbformat invents a random id here; load_notebook drops it
    kind = cell["cell_type"]
    if kind == "code":
        cell.pop("language", "")
        if "collapsed" in cell:
            cell["metadata"]["collapsed"] = cell.pop("collapsed")
        cell["source"] = cell.pop("input", "")
        cell["execution_count"] = cell.pop("prompt_number", None)
        cell["outputs"] = [_upgrade_output(o) for o in cell["outputs"]]
    elif kind == "heading":
        cell["cell_type"] = "markdown"
        level = cell.pop("level", 1)
        cell["source"] = "{hashes} {single_line}".format(
            hashes="#" * level, single_line=" ".join(cell.get("source", "").splitlines()))
    elif kind == "html":
        cell["cell_type"] = "markdown"
    return cell


def _to_mime_key(d: dict) -> dict:
    for alias, mime in _MIME_MAP.items():
        if alias in d:
            d[mime] = d.pop(alias)
    return d


def _upgrade_output(output: dict) -> dict:
    kind = output["output_type"]
    if kind in ("pyout", "display_data"):
        output.setdefault("metadata", {})
        if kind == "pyout":
            output["output_type"] = "execute_result"
            output["execution_count"] = output.pop("prompt_number", None)
        data = {}
        for key in list(output):
            if key in ("output_type", "execution_count", "metadata"):
                continue
            data[key] = output.pop(key)
        _to_mime_key(data)
        output["data"] = data
        _to_mime_key(output["metadata"])
        if "application/json" in data:
            data["application/json"] = json.loads(data["application/json"])
    elif kind == "pyerr":
        output["output_type"] = "error"
    elif kind == "stream":
        output["name"] = output.pop("stream", "stdout")
    return output
