"""NB306: committed credentials, in cell source or in outputs; NB624: in parameter defaults.

The patterns live in `analysis/credentials.py` (build's NB624 uses them too);
this module applies them to every cell's source and outputs. A line marked
`# nb2prod: not-a-secret` is a false positive for both.
"""

from __future__ import annotations

from collections.abc import Iterator

from nb2prod.analysis.credentials import (
    NOT_A_SECRET,
    first_token,
    has_marker,
    parameter_credentials,
    scan,
)
from nb2prod.analysis.tags import PARAMETERS
from nb2prod.lint.context import Check, LintContext, found
from nb2prod.problems import ERROR, Problem, Rule

SECRET = Rule(
    "NB306", "hardcoded-secret", ERROR,
    "Something that looks like an API key, token or password is committed.",
    "Revoke the credential, remove it from the notebook and its history, and read it "
    "from the environment (`os.environ['API_KEY']`).",
    "A notebook is shared, pushed and rendered on the web; a credential in a cell or in a "
    "printed output is leaked to everyone who can read the repository, forever.",
    "client = Client(api_key='sk-live-4f9a8b7c6d5e4f3a2b1c')",
    "client = Client(api_key=os.environ['SERVICE_API_KEY'])")

RULES = (SECRET,)


def check_secrets(ctx: LintContext) -> Iterator[Problem]:
    for cell in ctx.analysis.cells:
        source = cell.cell.source
        if has_marker(source):
            for label, offset in scan(source):
                start = source.rfind("\n", 0, offset)
                end = source.find("\n", offset)
                if not NOT_A_SECRET.search(source, start + 1, len(source) if end < 0 else end):
                    yield found(SECRET, cell, f"{label} in the source",
                                source.count("\n", 0, offset) + 1, offset - start)
        # Outputs: token patterns only, each behind its literal. Every token match is a
        # `_MARKERS` match, so `has_marker` first would change nothing but the cost.
        for index, text in _output_texts(cell.cell.outputs) if cell.cell.outputs else ():
            label = first_token(text)
            if label:
                yield found(SECRET, cell, f"{label} in output {index}")


def _output_texts(outputs) -> Iterator[tuple[int, str]]:
    for index, output in enumerate(outputs, start=1):
        parts = [output.get("text"), output.get("traceback")]
        data = output.get("data")
        if isinstance(data, dict):
            parts += [v for k, v in data.items() if k.startswith(("text/", "application/json"))]
        for part in parts:
            if isinstance(part, list):
                yield index, _joined(part)
            elif isinstance(part, str):
                yield index, part
            elif part is not None:
                yield index, str(part)


def _joined(lines: list) -> str:
    try:
        return "".join(lines)  # the usual list of str: no generator, no str() per line
    except TypeError:
        return "".join(str(p) for p in lines)


def check_parameters(ctx: LintContext) -> list[Problem]:
    return parameter_credentials([c for c in ctx.parsed if c.tags.role == PARAMETERS])


CHECKS = (Check(("NB306",), check_secrets), Check(("NB624",), check_parameters))
