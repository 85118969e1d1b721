"""Mutated real notebooks never make `lint` or `build` print a traceback (issue 25).

Each case takes a real notebook (tests/data, ../shared/corpus), applies one
seeded mutation (a key dropped, a value of the wrong type, deep or huge values,
lone surrogates, truncation, hostile cell sources or tags) and runs both commands
in-process through the CLI entry. Allowed outcomes: exit 0 or 1, or exit 2 with
one line naming the file and nothing written. Anything else (an exception
escaping `main`, a second line, a partial package) fails the case, which names
its seed so it can be replayed alone.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest

from nb2prod.cli import main

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CASES = 32

HOSTILE_VALUES = [5, -1, "x", None, True, [], {}, 1e308, "\ud800", [[]], {"a": 1}, "", 0]
HOSTILE_SOURCES = [
    "x = 1" + "+1" * 50_000,  # the parser gives up
    "f = " + "lambda: " * 500 + "1",  # parses, but no recursive walk ends
    "x = " + "[" * 150 + "]" * 150,
    "x = '" + "a" * 1_000_000 + "'",
    "x = 1\x00",
    "return 5",
    "yield 1",
    "await x",
    "def f(:\n    pass",
    "%%bash\necho hi",
    "from math import *\nfrom math import pi\nprint(pi)",
    "global x\nx = 1",
    "import " + "a." * 2_000 + "b",
    "x = 1\n" * 2_000,
    "\t\n    x = 1",
    "del undefined_name",
    "class A:\n    def f(self):\n        return __class__",
]
HOSTILE_TAGS = [[1, None], "step:a", ["step:" + "a" * 10_000], ["step:"], ["parameters"],
                ["step:../../etc"], ["metrics"], ["test"], ["step:a", "after:a"],
                ["secret:::"], ["retry:-1"], ["model:"], ["step:\ud800"]]


def _seeds() -> list[Path]:
    built = sorted((REPO / "tests" / "data" / "build").glob("*/*.ipynb"))
    corpus = sorted(SHARED.glob("corpus/**/*.ipynb"), key=lambda p: (p.stat().st_size, p))
    return built + corpus[:6]


def _nodes(tree) -> list[tuple[object, object]]:
    """(container, key) of every value inside `tree`."""
    found, stack = [], [tree]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            found.append((node, key))
            if isinstance(value, (dict, list)):
                stack.append(value)
    return found


def _code_cells(nb: dict) -> list[dict]:
    cells = nb.get("cells") if isinstance(nb.get("cells"), list) else []
    return [c for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"] or [
        c for c in cells if isinstance(c, dict)]


def _drop_key(rng, nb):
    dicts = [(c, k) for c, k in _nodes(nb) if isinstance(c, dict)]
    container, key = rng.choice(dicts)
    del container[key]


def _wrong_type(rng, nb):
    container, key = rng.choice(_nodes(nb))
    container[key] = copy.deepcopy(rng.choice(HOSTILE_VALUES))


def _deep(rng, nb):
    container, key = rng.choice(_nodes(nb))
    value: object = 1
    for _ in range(rng.choice([50, 99, 150, 600])):  # json.dumps recurses too
        value = [value]
    container[key] = value


def _huge(rng, nb):
    strings = [(c, k) for c, k in _nodes(nb) if isinstance(c[k], str)]
    container, key = rng.choice(strings)
    container[key] = rng.choice(["x" * 1_000_000, "\u202e" * 10_000, "\U0001f600" * 50_000])


def _surrogate(rng, nb):
    strings = [(c, k) for c, k in _nodes(nb) if isinstance(c[k], str)]
    container, key = rng.choice(strings)
    container[key] = container[key][:3] + "\udc80" + container[key][3:]


def _hostile_source(rng, nb):
    cells = _code_cells(nb)
    if cells:
        rng.choice(cells)["source"] = rng.choice(HOSTILE_SOURCES)


def _hostile_tags(rng, nb):
    cells = _code_cells(nb)
    if cells:
        cell = rng.choice(cells)
        metadata = cell.setdefault("metadata", {})
        if isinstance(metadata, dict):
            metadata["tags"] = copy.deepcopy(rng.choice(HOSTILE_TAGS))


MUTATIONS = (_drop_key, _wrong_type, _deep, _huge, _surrogate, _hostile_source, _hostile_tags)


def _mutated(case: int) -> tuple[str, bytes]:
    rng = random.Random(case)
    seed = rng.choice(_seeds())
    text = seed.read_text(encoding="utf-8")
    if case % 8 == 7:  # truncated bytes: invalid JSON, or a cut inside UTF-8
        data = text.encode("utf-8")
        return f"{seed.name} truncated", data[:rng.randrange(1, len(data))]
    nb = json.loads(text)
    mutation = MUTATIONS[case % len(MUTATIONS)]
    for _ in range(rng.choice([1, 1, 2])):
        mutation(rng, nb)
    return f"{seed.name} {mutation.__name__}", json.dumps(nb).encode("utf-8")


def _check(capsys, code: int, path: Path) -> None:
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code in (0, 1, 2), code
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("nb2prod: error: "), err[-2000:]
        assert path.name in lines[0], lines[0]


@pytest.mark.parametrize("case", range(CASES))
def test_mutated_notebooks_never_traceback(case, tmp_path, capsys):
    what, data = _mutated(case)
    path = tmp_path / "mutated.ipynb"
    path.write_bytes(data)
    out = tmp_path / "out"
    code = main(["lint", str(path), "--no-cache", "--format", "json"])
    _check(capsys, code, path)
    code = main(["build", str(path), "-o", str(out), "-q"])
    _check(capsys, code, path)
    if code == 2:
        assert not out.exists(), f"{what}: partial output"


def test_hostile_sources_each_build_or_refuse(tmp_path, capsys):
    """Every hostile source alone in a one-cell notebook: a located problem, never a crash."""
    for index, source in enumerate(HOSTILE_SOURCES):
        cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                "source": source}
        path = tmp_path / f"s{index}.ipynb"
        path.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4,
                                    "nbformat_minor": 5}), encoding="utf-8")
        for argv in (["lint", str(path), "--no-cache"],
                     ["build", str(path), "-o", str(tmp_path / f"o{index}"), "-q"]):
            _check(capsys, main(argv), path)


def _probe(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.ipynb"
    base = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    if kind == "fifo":
        import os

        os.mkfifo(path)
    elif kind == "deep":
        path.write_text('{"cells": [], "metadata": ' + "[" * 100_000 + "]" * 100_000
                        + ', "nbformat": 4, "nbformat_minor": 5}')
    else:
        path.write_text(json.dumps({**base, **{"cells5": {"cells": 5},
                                              "minor": {"nbformat_minor": "x"}}[kind]}))
    return path


@pytest.mark.parametrize("kind", ["fifo", "deep", "cells5", "minor"])
@pytest.mark.parametrize("command", ["build", "plan", "tag", "verify", "lint"])
def test_the_issue_probes_are_one_line_in_every_command(tmp_path, capsys, kind, command):
    path = _probe(tmp_path, kind)
    argv = [command, str(path)] + (["-o", str(tmp_path / "out")] if command == "build" else [])
    code = main(argv + (["--no-cache"] if command == "lint" else []))
    out, err = capsys.readouterr()
    if command == "lint":  # an unreadable notebook is lint's NB001 finding
        assert code == 1 and f"{path}: NB001" in out and "Traceback" not in out + err
    else:
        assert code == 2 and len(err.strip().splitlines()) == 1 and str(path) in err
    assert not (tmp_path / "out").exists()


def test_a_long_name_is_one_line(tmp_path, capsys):
    path = REPO / "tests" / "data" / "build" / "churn" / "churn.ipynb"
    out = tmp_path / "out"
    assert main(["build", str(path), "-o", str(out), "--name", "a" * 300]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "over the 100-character limit" in err
    assert not out.exists()
