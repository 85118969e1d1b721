"""NB307-NB308: outputs too large to keep in version control.

Sizes are estimated from the output's strings (no re-serialisation): base64
images count as the bytes they decode to.
"""

from __future__ import annotations

from collections.abc import Iterator

from nb2prod.lint.context import Check, LintContext, found
from nb2prod.problems import WARNING, Problem, Rule

LARGE_OUTPUT = Rule(
    "NB307", "large-output", WARNING, "A cell output is larger than the limit.",
    "Clear the output, print a summary instead (`df.head()`), or strip outputs on commit "
    "(nbstripout).",
    "Large outputs bloat the repository, slow every clone and CI run, and make diffs "
    "unreadable; the limit is `max-output-kb` in `[tool.nb2prod.lint.limits]`.",
    "print(df)  # 200,000 rows", "print(df.head())")
LARGE_IMAGE = Rule(
    "NB308", "large-image", WARNING, "An embedded image output is larger than the limit.",
    "Save the figure to a file (or lower its dpi) and clear the output.",
    "Embedded base64 images are rewritten on every run and grow the history with each "
    "commit; the limit is `max-image-kb` in `[tool.nb2prod.lint.limits]`.",
    "plt.figure(dpi=600); plt.show()", "fig.savefig('reports/fig.png'); plt.close(fig)")

RULES = (LARGE_OUTPUT, LARGE_IMAGE)
_IMAGES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp")


def check_outputs(ctx: LintContext) -> Iterator[Problem]:
    max_text = ctx.config.limits.max_output_kb * 1024
    max_image = ctx.config.limits.max_image_kb * 1024
    for cell in ctx.code_cells:
        for index, output in enumerate(cell.cell.outputs, start=1):
            image, text = _sizes(output)
            if max_image and image > max_image:
                yield found(LARGE_IMAGE, cell, f"image in output {index} is {image // 1024} KB "
                            f"(limit {max_image // 1024} KB)")
            if max_text and text > max_text:
                yield found(LARGE_OUTPUT, cell, f"output {index} is {text // 1024} KB "
                            f"(limit {max_text // 1024} KB)")


def _sizes(output) -> tuple[int, int]:
    """(decoded image bytes, other bytes) of one output."""
    image = text = 0
    data = output.get("data")
    parts = list(data.items()) if isinstance(data, dict) else []
    parts += [("text", output.get("text")), ("traceback", output.get("traceback"))]
    for key, value in parts:
        size = _length(value)
        if key in _IMAGES:
            image += size * 3 // 4
        else:
            text += size
    return image, text


def _length(value) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        try:  # the usual list of str: one join (a copy in C) beats a generator per line
            return len("".join(value))
        except TypeError:
            return sum(len(v) for v in value if isinstance(v, str))
    return 0


CHECKS = (Check(("NB307", "NB308"), check_outputs),)
