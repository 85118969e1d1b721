"""Credential patterns shared by lint (NB306) and the plan (NB624).

Token formats with a fixed shape (AWS, GitHub, Slack, Google, OpenAI, Stripe,
private keys) are matched anywhere. The generic form `api_key = "..."` needs a
long, high-entropy literal so that `token = "hello"` in NLP code and
`password = "<your password>"` are quiet. Pure: text in, findings out.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator

TOKEN_PATTERNS = (
    ("AWS access key id", ("AKIA", "ASIA"), re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("GitHub token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
     re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_\w{22,})")),
    ("Slack token", ("xox",), re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("Google API key", ("AIza",), re.compile(r"\bAIza[0-9A-Za-z_\-]{35}")),
    ("OpenAI key", ("sk-",), re.compile(r"\bsk-(proj-|svcacct-|admin-)?(?=[\w-]{0,200}?\d)"
                                        r"(?=[\w-]{0,200}?[A-Z])[A-Za-z0-9]{20,}[\w-]*")),
    ("Stripe key", ("k_live_",), re.compile(r"\b[sr]k_live_[0-9A-Za-z]{20,}")),
    ("private key", ("PRIVATE KEY-----",),
     re.compile(r"-----BEGIN ([A-Z]+ )?PRIVATE KEY-----")),
)
"""Label, literals (every match contains one: the pattern runs only where one is), pattern.
No pattern matches across a line break, so each runs once over a whole cell."""
GENERIC = re.compile(
    r"(?i)(?P<name>[\w-]*(api[_-]?key|secret|token|passw(or)?d|pwd|access[_-]?key"
    r"|auth[_-]?key|credentials?)[\w-]*)['\"]?[^\S\n]*[:=][^\S\n]*[rbu]?(?P<q>['\"])"
    r"(?P<value>[^'\"\s]{8,})(?P=q)")
"""`name = "value"` on one line (`[^\\S\\n]`: blanks but not a line break, so running it
over a whole cell finds what running it line by line did)."""
PLACEHOLDER = re.compile(r"(?i)your|xxx|<|example|change.?me|dummy|placeholder|\*\*\*|\.\.\."
                         r"|redacted|secret|token|password|test|fake|sample|\{|\$")
_MARKERS = re.compile(r"AKIA|ASIA|gh[pousr]_|github_pat_|xox[abposr]-|AIza|sk-|k_live_"
                      r"|PRIVATE KEY|(?i:api.?key|secret|token|passw|pwd|access.?key|auth.?key"
                      r"|credential)")
"""What every secret contains: a cell's source is scanned with the real patterns only
when it has one (`has_marker`, the fast equivalent of `_MARKERS.search`); outputs go
straight to the token patterns, each behind its own literals."""
_TOKEN_LITERALS = re.compile("|".join(re.escape(literal) for _, literals, _ in TOKEN_PATTERNS
                                     for literal in literals))
"""Any token pattern's literal: one scan of an output text in C, instead of one `in` per
literal (13 scans); texts with none (nearly all) skip `_first_token`."""
_KEY_MARKERS = re.compile(r"api.?key|access.?key|auth.?key")
_GH = re.compile(r"gh[pousr]_")
_XOX = re.compile(r"xox[abposr]-")


_FOLDS_TO_ASCII = (("\u0130", "i"), ("\u0131", "i"), ("\u017f", "s"), ("\u212a", "k"))
"""The only non-ASCII characters the regex engine's case folding matches to ASCII letters."""


def has_marker(text: str) -> bool:
    """`_MARKERS.search(text) is not None`, 5-10x faster on large outputs.

    On ASCII text (where `str.lower` is exactly the regex's case folding) it is
    substring tests, with a regex only behind a literal that is there: the
    alternation's scoped (?i:) group defeats the engine's prefix scan. Other text
    gets the same test with every non-ASCII character made `?`, after the four
    that fold to ASCII letters are made those letters (every `_MARKERS` match
    survives that, one character for one), and the real regex only if it passes.
    """
    if text.isascii():
        return _ascii_marker(text)
    ascii_text = text
    for char, letter in _FOLDS_TO_ASCII:  # str.translate is 40x slower than this
        if char in ascii_text:
            ascii_text = ascii_text.replace(char, letter)
    ascii_text = ascii_text.encode("ascii", "replace").decode("ascii")
    return _ascii_marker(ascii_text) and _MARKERS.search(text) is not None


def _ascii_marker(text: str) -> bool:
    low = text.lower()  # the tests unrolled: most texts are short, a generator costs more
    return ("secret" in low or "token" in low or "passw" in low or "pwd" in low
            or "credential" in low or ("key" in low and _KEY_MARKERS.search(low) is not None)
            or "AKIA" in text or "ASIA" in text or "github_pat_" in text or "AIza" in text
            or "sk-" in text or "k_live_" in text or "PRIVATE KEY" in text
            or ("gh" in text and _GH.search(text) is not None)
            or ("xox" in text and _XOX.search(text) is not None))


def first_token(text: str) -> str | None:
    """The label of the first token pattern (in table order) that matches `text`."""
    if _TOKEN_LITERALS.search(text) is None:
        return None
    for label, literals, pattern in TOKEN_PATTERNS:
        for literal in literals:
            if literal in text:
                if pattern.search(text):
                    return label
                break
    return None


def scan(text: str, generic: bool = True) -> Iterator[tuple[str, int]]:
    """(label, 0-based offset) of each secret in `text`. The generic form counts only on
    lines where no token pattern matched."""
    token_lines: set[int] = set()
    for label, literals, pattern in TOKEN_PATTERNS:
        for literal in literals:
            if literal in text:
                break
        else:
            continue
        for match in pattern.finditer(text):
            token_lines.add(text.count("\n", 0, match.start()))
            yield label, match.start()
    if generic:
        for match in GENERIC.finditer(text):
            if (text.count("\n", 0, match.start()) not in token_lines
                    and looks_secret(match["name"], match["value"])):
                yield f"literal assigned to `{match['name']}`", match.start("value") - 1


def looks_secret(name: str, value: str) -> bool:
    """A literal long and random enough to be a real credential, not a placeholder."""
    if PLACEHOLDER.search(value) or value.startswith(("http", "/", "./")):
        return False
    is_password = bool(re.search(r"(?i)passw|pwd", name))
    if len(value) < (8 if is_password else 16):
        return False
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^\w]"))
    return classes >= 2 and (is_password or entropy(value) >= 3.5)


def looks_like_credential(name: str, source: str) -> bool:
    """A parameter `name = <source>` whose value is a token, or a credential-named secret."""
    text = f"{name} = {source}"
    return any(True for _ in scan(text))


def entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
