"""Cell tag vocabularies and their aliases, as tables.

Native tags, Kubeflow Kale 1.x/2.x, papermill and nbdev directives all map
onto one small set of roles. `read_tags(cell_source, tags)` returns what a
cell is for; nothing here looks at code semantics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IMPORTS, FUNCTIONS, PARAMETERS, STEP = "imports", "functions", "parameters", "step"
METRICS, TEST, SKIP, EXPORT = "metrics", "test", "skip", "export"

ROLE_TAGS: dict[str, str] = {
    "imports": IMPORTS,
    "functions": FUNCTIONS,
    "parameters": PARAMETERS,
    "pipeline-parameters": PARAMETERS,  # Kale
    "metrics": METRICS,
    "pipeline-metrics": METRICS,  # Kale
    "test": TEST,
    "skip": SKIP,
    "injected-parameters": SKIP,  # papermill's run-time overrides, not defaults
}
"""Exact tag -> role."""

STEP_PREFIXES = ("step:", "block:")  # native and Kale 2.x; Kale 1.x
AFTER_PREFIXES = ("after:", "prev:")  # native; Kale
SETTING_PREFIXES = ("limit:", "retry:", "cache:", "image:", "label:", "annotation:", "secret:",
                    "report:", "timeout:")
"""Per-step execution settings (Kale spelling); used by orchestration targets."""

IGNORE_PREFIX = "nb2prod:ignore"
MODEL_TAG, PREDICT_TAG = "model", "predict"
SERVE_INPUT_TAG = "serve-input"
"""`--target serve`: requests are rows of the frame this cell binds (`serve-input:NAME`
names it), not of the first frame the notebook loaded."""
"""`--target serve`: `model` / `model:NAME` picks the served value; a `predict` cell
(module level, like `functions`) defines `def predict(model, batch)` for requests."""

FOREIGN_TAGS = frozenset(
    ["hide-input", "hide-output", "hide-cell", "remove-input", "remove-output", "remove-cell",
     "raises-exception", "papermill-error-cell-tag", "thebe-init", "full-width", "margin",
     "output_scroll", "scroll-output", "nbsphinx-thumbnail", "nbsphinx-hidden"]
)
FOREIGN_PREFIXES = ("nbval-", "jupyter-book", "slideshow")
"""Tags other tools own; recognised so they are not reported as typos."""

ROLE_PRIORITY = (SKIP, TEST, METRICS, PARAMETERS, IMPORTS, FUNCTIONS, EXPORT, STEP)

NBDEV_DIRECTIVE = re.compile(r"^\s*#\|\s*([\w-]+):?\s*(.*?)\s*$")
NBDEV_ROLES: dict[str, str] = {
    "export": EXPORT, "exports": EXPORT, "exporti": EXPORT, "hide": SKIP,
}


@dataclass(frozen=True)
class CellTags:
    """What a cell's tags and directives say: its role, step, settings, lint ignores."""

    role: str | None = None  # one of ROLE_PRIORITY, or None for "continues the step above"
    step: str | None = None
    after: tuple[str, ...] = ()
    settings: tuple[tuple[str, str], ...] = ()
    ignore: tuple[str, ...] = ()  # lint codes silenced for this cell; "*" for all
    unknown: tuple[str, ...] = ()
    extra_roles: tuple[str, ...] = ()  # roles dropped because a stronger one won
    default_exp: str | None = None  # nbdev `#| default_exp NAME`
    nbdev: bool = False  # the cell carries nbdev directives
    model: str | None = None  # `model:NAME` -> NAME; bare `model` -> "" (what the cell fits)
    predict: bool = False  # tagged `predict`: defines the serving hook
    serve_input: str | None = None  # `serve-input:NAME` -> NAME; bare -> "" (the cell's frame)


_UNTAGGED = CellTags()


def read_tags(source: str, tags: tuple[str, ...]) -> CellTags:
    """What a cell is for, from its tags and nbdev directives."""
    if not tags and "#|" not in source:
        return _UNTAGGED  # fast path: most cells have neither
    roles: list[str] = []
    step = None
    after: list[str] = []
    settings: list[tuple[str, str]] = []
    ignore: list[str] = []
    unknown: list[str] = []
    model = serve_input = None
    for tag in (t.strip() for t in tags):
        if tag in ROLE_TAGS:
            roles.append(ROLE_TAGS[tag])
        elif tag == MODEL_TAG or tag.startswith(MODEL_TAG + ":"):
            model = tag.partition(":")[2].strip()
        elif tag == PREDICT_TAG:
            roles.append(FUNCTIONS)
        elif tag == SERVE_INPUT_TAG or tag.startswith(SERVE_INPUT_TAG + ":"):
            serve_input = tag.partition(":")[2].strip()
        elif tag.startswith(STEP_PREFIXES):
            name = tag.partition(":")[2].strip()
            if name and step is None:  # any text: naming.identifier() makes it valid
                roles.append(STEP)
                step = name
            else:
                unknown.append(tag)
        elif tag.startswith(AFTER_PREFIXES) and tag.partition(":")[2]:
            after.append(tag.partition(":")[2])
        elif tag.startswith(SETTING_PREFIXES):
            key, _, value = tag.rpartition(":")
            settings.append((key, value))
        elif tag.startswith(IGNORE_PREFIX):
            codes = [c.strip() for c in tag[len(IGNORE_PREFIX):].lstrip("=:").split(",")]
            ignore.extend([c for c in codes if c] or ["*"])
        elif tag and tag not in FOREIGN_TAGS and not tag.startswith(FOREIGN_PREFIXES):
            unknown.append(tag)
    default_exp, nbdev_roles = _nbdev(source)
    roles.extend(nbdev_roles)
    ordered = sorted(set(roles), key=ROLE_PRIORITY.index)
    role = ordered[0] if ordered else None
    return CellTags(
        role=role,
        step=step if role == STEP or STEP in ordered else None,
        after=tuple(after),
        settings=tuple(settings),
        ignore=tuple(ignore),
        unknown=tuple(unknown),
        extra_roles=tuple(ordered[1:]),
        default_exp=default_exp,
        nbdev=bool(default_exp or nbdev_roles),
        model=model,
        predict=PREDICT_TAG in tags,
        serve_input=serve_input,
    )


def _nbdev(source: str) -> tuple[str | None, list[str]]:
    """nbdev directives are `#| name args` comment lines at the top of a cell."""
    if "#|" not in source:
        return None, []
    default_exp = None
    roles = []
    for line in source.lstrip("\n").split("\n"):
        match = NBDEV_DIRECTIVE.match(line)
        if not match:
            break
        name, args = match.groups()
        if name == "default_exp":
            default_exp = args or None
        elif name in NBDEV_ROLES:
            roles.append(NBDEV_ROLES[name])
        elif name == "eval" and args.lower() == "false":
            roles.append(SKIP)
    return default_exp, roles


def strip_directives(source: str) -> str:
    """Blank the leading nbdev directive lines, keeping line numbers."""
    if "#|" not in source:
        return source  # no directive: nothing to blank
    lines = source.split("\n")
    for i, line in enumerate(lines):
        if not NBDEV_DIRECTIVE.match(line):
            if line.strip():
                break
            continue
        lines[i] = ""
    return "\n".join(lines)


def vocabulary() -> list[str]:
    """The tags nb2prod reads, a line per kind, for `nb2prod rules NB606`."""
    return [
        "roles: " + ", ".join(ROLE_TAGS),
        "steps: " + ", ".join(f"{p}NAME" for p in STEP_PREFIXES)
        + "; after: " + ", ".join(f"{p}NAME" for p in AFTER_PREFIXES),
        "settings: " + ", ".join(f"{p}VALUE" for p in SETTING_PREFIXES)
        + " (`nb2prod rules NB617` explains them)",
        f"serving: {MODEL_TAG}, {MODEL_TAG}:NAME, {PREDICT_TAG}",
        f"lint: {IGNORE_PREFIX}=CODE[,CODE]",
        "other tools' tags are left alone: " + ", ".join(sorted(FOREIGN_TAGS)[:4])
        + ", " + ", ".join(f"{p}*" for p in FOREIGN_PREFIXES) + ", ...",
    ]


def unknown_tag_message(tag: str) -> str:
    """NB606's one message, in lint, plan and build alike."""
    if tag.startswith(STEP_PREFIXES):
        return f"tag `{tag}` needs a step name (letters, digits, _ and -); ignored"
    hint = suggest_tag(tag)
    return f"unknown tag `{tag}` ignored" + (f"; did you mean `{hint}`?" if hint else "")


def suggest_tag(tag: str) -> str | None:
    """The closest known tag: `stpe:train` -> `step:train`, `paramters` -> `parameters`."""
    import difflib  # only notebooks with an unknown tag need it

    prefix, colon, rest = tag.partition(":")
    if colon and rest:
        prefixes = [p[:-1] for p in (*STEP_PREFIXES, *AFTER_PREFIXES)]
        close = difflib.get_close_matches(prefix.lower(), prefixes, n=1, cutoff=0.6)
        if close:
            return f"{close[0]}:{rest}" if f"{close[0]}:{rest}" != tag else None
    close = difflib.get_close_matches(tag.lower(), list(ROLE_TAGS), n=1, cutoff=0.6)
    return close[0] if close else None
