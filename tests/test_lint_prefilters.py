"""Fast pre-filters of the lint rules answer exactly what the slow test they guard answers."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from nb2prod.lint.rules_secrets import _MARKERS, _output_texts, has_marker

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _texts() -> list[str]:
    texts = []
    for path in sorted(SHARED.glob("*/**/*.ipynb")):
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        cells = raw.get("cells") or [c for ws in raw.get("worksheets", []) for c in ws["cells"]]
        for cell in cells:
            source = cell.get("source", cell.get("input", ""))
            texts.append("".join(source) if isinstance(source, list) else str(source))
            outputs = [o for o in cell.get("outputs", []) if isinstance(o, dict)]
            texts.extend(text for _, text in _output_texts(outputs))
    return texts


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared notebooks not available")
def test_has_marker_is_the_marker_regex_on_real_notebooks():
    texts = _texts()
    assert len(texts) > 3000
    assert [has_marker(t) for t in texts] == [_MARKERS.search(t) is not None for t in texts]


def test_has_marker_is_the_marker_regex_on_fuzz():
    # Pieces of every marker, in both cases, and the non-ASCII characters the regex
    # engine folds to ASCII letters (Kelvin sign, dotted and dotless i, long s).
    pieces = ["api", "API", "key", "KEY", "k", "K", "ey", "_", "-", ".", "\n", " ", "sec",
              "SEC", "ret", "tok", "en", "passw", "pwd", "access", "auth", "credential",
              "gh", "p", "u", "xox", "b", "AKIA", "ASIA", "AIza", "sk", "_live_", "PRIVATE",
              "github_pat", "\u212a", "\u0130", "\u0131", "\u017f", "\u00e9", "\u4e2d", "s",
              "i"]
    rng = random.Random(16)
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
             for _ in range(50_000)]
    texts += ["api\u212aey", "\u017fecret", "TO\u212aEN", "p\u0131wd", "AP\u0130_KEY", "ghp_"]
    assert [has_marker(t) for t in texts] == [_MARKERS.search(t) is not None for t in texts]
    assert sum(map(has_marker, texts)) > 1000
