"""Credential patterns shared by lint (NB306) and parameter defaults (NB624).

Token formats with a fixed shape (AWS, GitHub, Slack, Google, OpenAI, Stripe,
private keys) are matched anywhere. The generic form `api_key = "..."` needs a
long, high-entropy literal so that `token = "hello"` in NLP code and
`password = "<your password>"` are quiet. Parameter defaults are written into
the package, its help and its pipeline YAML, so they get wider checks
(`credential_kind`): URLs with a password or a key, Authorization values,
webhook URLs, JSON web tokens and random-looking strings under any name.
Pure: text in, findings out.
"""

from __future__ import annotations

import ast
import math
import re
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from typing import NamedTuple

from nb2prod.problems import Problem, make_problem

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


def entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


# Parameter defaults (NB624) ---------------------------------------------------------------

class ValuePattern(NamedTuple):
    label: str
    literal: str  # every match contains it: the pattern runs only where it is
    pattern: re.Pattern
    mixed: bool  # the `secret` group must mix character classes (`Bearer realm` is prose)


VALUE_PATTERNS = (
    # Quantifiers are bounded so that a 5 MB default stays linear.
    ValuePattern("URL with a password", "://", re.compile(
        r"(?<![\w+.-])[A-Za-z][\w+.-]{0,40}://[^\s:/@?#]{0,256}:(?P<secret>[^\s/@?#]{1,256})@"),
        False),
    ValuePattern("URL with a key", "://", re.compile(
        r"(?i)://[^\s#]{0,2048}[?&;](?:[\w-]{0,40}(?:key|token|secret|passw(?:or)?d|pwd|sig"
        r"|signature|auth|credential)[\w-]{0,40})=(?P<secret>[^&#\s]{8,})"), False),
    ValuePattern("webhook URL", "hook", re.compile(
        r"(?i)https?://(?:hooks\.[\w.-]{1,200}/\S{1,2048}|[\w.-]{1,200}\.webhook\.office\.com/\S{1,2048}"
        r"|[^\s/]{1,200}(?:/[^\s/?#]{1,200}){0,20}/(?:web-?hooks?|hooks)/(?P<secret>[^\s?#]{16,}))"),
        False),
    ValuePattern("Authorization value", "", re.compile(
        r"(?i)(?<![\w-])(?:bearer|basic|digest|token)\s{1,8}(?P<secret>[\w~+/.-]{8,}=*)"), True),
    ValuePattern("JSON web token", "eyJ", re.compile(
        r"(?<![\w-])eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]*"), False),
)
"""Credentials a value carries whatever its name. A match whose secret part is a
placeholder (`<password>`, `{token}`, `$KEY`, `YOUR_KEY`, `xxx`) does not count."""
FILL_IN = re.compile(r"(?i)^[<{$\[%]|your|xxx|\.\.\.|\*\*\*|change.?me|placeholder|redacted")
NOT_A_SECRET = re.compile(r"(?i)#\s*nb2prod:\s*not-a-secret")
"""Marks a false positive on its line, for NB624 and NB306 alike."""
NOQA_NB624 = re.compile(r"(?i)#\s*noqa(?!:)|#\s*noqa:[\sA-Z0-9,]*\bNB624\b")
_RANDOM_CANDIDATE = re.compile(r"[A-Za-z0-9+/=_-]{20,}")
_HEX = re.compile(r"[0-9a-fA-F-]+")


def credential_message(name: str, label: str) -> str:
    """NB624's message, the same in build, plan and lint."""
    return (f"parameter `{name}` has a default that looks like a credential ({label}): "
            "it would be written into the package")


def credential_kind(name: str, value: object) -> str | None:
    """What credential the literal `value` of parameter `name` looks like, if any: every
    string inside it is checked (a dict's values under their key's name)."""
    for key, text in _strings(name, value):
        label = _string_kind(key, text)
        if label:
            return label
    return None


def _string_kind(name: str, text: str) -> str | None:
    for label, _offset in scan(f"{name} = {text!r}"):
        return "long random value under a credential name" if label.startswith(
            "literal assigned") else label
    low = text.lower()
    for label, literal, pattern, mixed in VALUE_PATTERNS:
        if literal.lower() in low:
            for match in pattern.finditer(text):
                secret = match.groupdict().get("secret") or match.group(0)
                if not FILL_IN.search(secret) and (not mixed or _mixes(secret)):
                    return label
    return "random-looking string" if random_looking(text) else None


def _mixes(secret: str) -> bool:
    """Two character classes or base64 padding: `Bearer abc123xyz9`, not `Basic statistics`."""
    classes = sum(bool(re.search(p, secret)) for p in (r"[a-z]", r"[A-Z]", r"\d"))
    return classes >= 2 or secret.endswith("=")


def _kind(char: str) -> str:
    return "l" if char.islower() else "u" if char.isupper() else "d" if char.isdigit() else ""


def random_looking(text: str) -> bool:
    """A token of 20+ characters with the entropy of random ones, under any name.

    Hex strings (checksums, commit ids, UUIDs) are left out, and so are words run
    together (`NaiveForecaster-mean-v1`, `ResNet50V2ImageNetWeights`): random
    strings switch between lower case, upper case and digits at least every third
    character, names do not (a capital followed by lower case starts a word: no switch)."""
    if not _RANDOM_CANDIDATE.fullmatch(text) or _HEX.fullmatch(text):
        return False
    core = re.sub(r"[+/=_-]", "", text)
    kinds = [_kind(c) for c in core]
    present = set(kinds)
    if len(present) < 2 or len(core) < 16:
        return False
    alphabet = 26 * ("l" in present) + 26 * ("u" in present) + 10 * ("d" in present)
    if entropy(core) < 0.75 * math.log2(min(len(core), alphabet)):
        return False
    switches = sum(a != b and (a, b) != ("u", "l") for a, b in pairwise(kinds))
    return switches >= 0.3 * (len(core) - 1)


def _strings(name: str, value: object) -> Iterator[tuple[str, str]]:
    stack = [(name, value)]
    while stack:  # a stack, not recursion: a literal may be nested deep
        key, item = stack.pop()
        if isinstance(item, str):
            yield key, item
        elif isinstance(item, bytes):
            yield key, item.decode("latin-1")
        elif isinstance(item, dict):
            for k, v in item.items():
                stack.append((k if isinstance(k, str) else key, v))
                stack.append((key, k))
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend((key, v) for v in item)


def parameter_credentials(cells) -> list[Problem]:
    """NB624 for each `name = literal` of the given (parameters) cells whose value looks
    like a credential, unless its lines say `# nb2prod: not-a-secret` or `# noqa: NB624`.
    Build, plan and lint all call this: one rule, one message."""
    problems = []
    for cell in cells:
        if cell.tree is None:
            continue
        lines = cell.code.python.split("\n")
        for node in cell.tree.body:
            found = _assigned_literal(node)
            label = found and credential_kind(*found)
            if label and not any(NOT_A_SECRET.search(line) or NOQA_NB624.search(line)
                                 for line in lines[node.lineno - 1:node.end_lineno]):
                problems.append(make_problem(
                    "NB624", credential_message(found[0], label), cell.cell.number,
                    node.lineno, node.col_offset + 1, cell.cell.cell_id))
    return problems


def _assigned_literal(node: ast.stmt) -> tuple[str, object] | None:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target, value = node.targets[0], node.value
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        target, value = node.target, node.value
    else:
        return None
    if not isinstance(target, ast.Name):
        return None
    try:
        return target.id, ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
