"""Fast pre-filters of the lint rules answer exactly what the slow test they guard answers."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from nb2prod.analysis.credentials import (
    _MARKERS,
    GENERIC,
    TOKEN_PATTERNS,
    has_marker,
    looks_secret,
)
from nb2prod.analysis.credentials import scan as _scan
from nb2prod.lint.rules_secrets import _output_texts

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


def _old_source_scan(source: str) -> list[tuple[str, int, int]]:
    """NB306 in a cell's source as it was found before issue 16: line by line."""
    import re

    generic = re.compile(GENERIC.pattern.replace("[^\\S\\n]*", "\\s*"))
    found = []
    for number, text in enumerate(source.split("\n"), start=1):
        seen = False
        for label, _, pattern in TOKEN_PATTERNS:
            for match in pattern.finditer(text):
                seen = True
                found.append((label, number, match.start() + 1))
        if not seen:
            found += [(f"literal assigned to `{m['name']}`", number, m.start("value"))
                      for m in generic.finditer(text) if looks_secret(m["name"], m["value"])]
    return found


def _new_source_scan(source: str) -> list[tuple[str, int, int]]:
    return [(label, source.count("\n", 0, offset) + 1, offset - source.rfind("\n", 0, offset))
            for label, offset in _scan(source)]


SECRET_SOURCES = [
    "key = 'AKIAABCDEFGHIJKLMNOP'\napi_key = 'Zx9#kQ2$mW7!pL4@vB8'\n",
    "token = 'ghp_" + "a1B2" * 10 + "'  # and api_key = 'Zx9#kQ2$mW7!pL4@vB8'",
    "password =\n    'hunter2hunter2!X'\npwd = 'Qw3!rty8Zx'\n\tsecret:'aB3$dE6^gH9&jK2*'",
    "x = 1\n  auth-key = \"R4nd0m!Str1ng#Long\"; sk = 'sk-proj-" + "Ab1" * 8 + "'",
    "-----BEGIN RSA PRIVATE KEY-----\nxoxb-1234567890-abcdef AIza" + "B" * 35,
    "é = 'ü'\nTOKEN = 'Zx9#kQ2$mW7!pL4@vB8ü'\n",
]


def test_secret_positions_are_those_of_the_line_by_line_scan():
    texts = SECRET_SOURCES + [t for t in _texts() if has_marker(t)]
    assert sum(bool(_old_source_scan(t)) for t in SECRET_SOURCES) >= 5  # they find secrets
    for text in texts:
        assert sorted(_new_source_scan(text)) == sorted(_old_source_scan(text)), text[:80]


def test_every_token_match_is_a_marker_match():
    """Outputs skip `has_marker`: sound because every token pattern's match contains
    one of the case-sensitive `_MARKERS` literals (AKIA, gh?_, xox?-, AIza, sk-, ...)."""
    samples = [*SECRET_SOURCES, "rk_live_" + "a1" * 12, "github_pat_" + "x" * 22,
               "ASIA" + "B" * 16, "gho_" + "Z9" * 18]
    for label, _, pattern in TOKEN_PATTERNS:
        matches = [m.group() for text in samples for m in pattern.finditer(text)]
        assert matches, label
        assert all(_MARKERS.search(m) for m in matches), label


# --- NB303/NB304: a notebook lacking the words of every flagged call is skipped --------

def _lint_both_ways(path: Path, monkeypatch) -> tuple[list, list]:
    """NB303 and NB304 findings with the word filter (`LintContext.may_call`) and without."""
    from nb2prod.lint.api import LintOptions, run_lint
    from nb2prod.lint.context import LintContext

    options = LintOptions(paths=(path,), select=("NB303", "NB304"), jobs=1)
    fast = run_lint(options).result.findings
    monkeypatch.setattr(LintContext, "may_call", lambda self, names: True)
    slow = run_lint(options).result.findings
    monkeypatch.undo()
    return list(fast), list(slow)


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared notebooks not available")
def test_call_word_filters_change_no_finding_on_real_notebooks(monkeypatch):
    fast, slow = _lint_both_ways(SHARED, monkeypatch)
    assert fast == slow
    assert {f.code for f in slow} == {"NB303", "NB304"}


@pytest.mark.parametrize("source", [
    "from ipywidgets import interact as ask\nask(f, x=1)",
    "from IPython.html import widgets as w\nw.IntSlider()",
    "import webbrowser as wb\nwb.open('x')",
    "from pdb import set_trace as st\nst()",
    "import numpy.random as npr\nnpr.rand()",
    "from numpy import random as r\nr.randint(3)",
    "from torch import randn as rn\nrn(3)",
    "from sklearn.model_selection import train_test_split as tts\ntts([1], [2])",
    "df.sample(3)",
    "ｉｎｐｕｔ()",  # fullwidth letters: the parser reads `input`
])
def test_call_word_filters_keep_aliased_calls(tmp_path, monkeypatch, source):
    from tests.test_lint_engine import write_nb

    nb = write_nb(tmp_path / "n.ipynb", source)
    fast, slow = _lint_both_ways(nb, monkeypatch)
    assert fast == slow and len(slow) == 1


@pytest.mark.parametrize("lines", [["a\n", "bc"], [], ["a", 3, None, "b"], [{"x": 1}, "yz"]])
def test_output_text_joins_keep_what_the_generators_gave(lines):
    from nb2prod.lint.rules_outputs import _length
    from nb2prod.lint.rules_secrets import _joined

    assert _joined(lines) == "".join(str(p) for p in lines)
    assert _length(lines) == sum(len(v) for v in lines if isinstance(v, str))
