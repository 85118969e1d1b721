"""Where each line of the generated step code came from in the notebook.

A block's code starts at its cell line `Block.line` (`# cell N, line L` in
pipeline.py when L is not 1); where whole statements were cut out of a cell
(a hoisted import, a dropped display) a marker comment restarts the count, so
the runtime names the notebook cell and line of any failing line of pipeline.py
(`runtime/runner.failing_place`), and `Block.cell_line` maps back at build time.
"""

from __future__ import annotations


def line_markers(cell: int, code: str, numbers: tuple[int, ...]) -> str:
    """`# cell N, line L` above a line that does not follow the one above it in the cell
    (a hoisted import or a dropped display between them), so that with the block's first
    line every line of pipeline.py maps back to its notebook line. Cuts are whole
    top-level statements: the comment stands where a statement starts."""
    lines = code.split("\n")
    if len(numbers) != len(lines):
        return code
    kept = []
    for index, (text, number) in enumerate(zip(lines, numbers)):
        if index and number != numbers[index - 1] + 1:
            kept.append(f"# cell {cell}, line {number}")
        kept.append(text)
    return "\n".join(kept)
