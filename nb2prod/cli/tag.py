"""`nb2prod tag NB --suggest | --write [--force]`: tags for an untagged notebook.

Thin: load, ask `tag/suggest.py` what each code cell is, then either show the
proposal as a table or hand it to `tag/write.py`, which edits only tag lines.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:  # the analysis is imported when the command runs, not at start-up
    from nb2prod.notebook import Notebook
    from nb2prod.progress import Progress
    from nb2prod.tag.suggest import Suggestion

NOTEBOOK = typer.Argument(..., help="The .ipynb file to tag; or several, or a folder.",
                          show_default=False, metavar="NOTEBOOK...")
SUGGEST = typer.Option(
    False, "--suggest", help="Show the proposed tags (the default without --write).")
WRITE = typer.Option(
    False, "--write", help="Apply the proposed tags in place; only tag lines change.")
FORCE = typer.Option(
    False, "--force", help="With --write: replace the step/role tags already there.")


def tag(
    notebooks: list[Path] = NOTEBOOK,
    suggest: bool = SUGGEST,
    write: bool = WRITE,
    force: bool = FORCE,
) -> None:
    """Propose cell tags for an untagged notebook, or write them into it.

    Imports, helper functions, a parameters cell, steps named from markdown
    headings, display-only cells (skip), assert cells (test) and the final
    reported values (metrics). Other tags (e.g. hide-input) are kept. Several
    notebooks, or a folder of them, are tagged one after the other.

    Example: nb2prod tag churn.ipynb --suggest && nb2prod tag churn.ipynb --write
    """
    from nb2prod.project import notebook_paths, resolve_sources

    source = resolve_sources(notebooks)
    console = _console()
    for notebook in notebook_paths(source):
        _tag_one(console, notebook, suggest, write, force)
    if suggest or not write:
        _print_data_files(console, source)
    target = shlex.quote(str(source))
    if write:
        console.print(f"next: nb2prod build {target}", markup=False, soft_wrap=True)
    elif not suggest:  # a command to paste: quoted, never wrapped
        console.print(f"apply with: nb2prod tag {target} --write", markup=False,
                      soft_wrap=True)
    raise typer.Exit(0)


def _tag_one(console, notebook: Path, suggest: bool, write: bool, force: bool) -> None:
    from nb2prod.cli.progress import stderr_progress
    from nb2prod.tag.write import is_structural, write_tags

    # a big notebook takes seconds: say what runs, on a terminal only
    progress = stderr_progress("nb2prod tag")
    try:
        loaded, suggestions = _suggestions(notebook, progress)
        if suggest or not write:
            progress.doing(f"laying out {len(suggestions)} suggestions")
            with console.capture() as table:  # drawn in full, then printed at once
                console.print(suggestion_table(notebook, suggestions))
            progress.done()
            console.file.write(table.get())
            tagged = [c.number for c in loaded.cells if any(is_structural(t) for t in c.tags)]
            if tagged and not write:
                console.print(f"note: cells {', '.join(map(str, tagged))} already have tags; "
                              "--write --force replaces them", markup=False)
        if write:
            proposed = {s.cell - 1: s.tags for s in suggestions}
            progress.doing(f"writing the tags of {len(proposed)} cells into {notebook}")
            result = write_tags(notebook, proposed, force=force)
    finally:
        progress.done()
    if write:
        verb = f"tagged {result.changed} cell(s) in" if result.written else "no change to"
        console.print(f"{verb} {notebook}", markup=False, soft_wrap=True)


def _print_data_files(console, source) -> None:
    """The files the notebooks read and none writes: each becomes an option of the package."""
    from nb2prod.analysis.analyze import analyze
    from nb2prod.places import cell_label
    from nb2prod.plan.data_paths import data_options
    from nb2prod.project import load_source

    notebook = load_source(source)
    data_files = data_options(analyze(notebook))[1]
    if data_files:
        console.print("data files (each an option of the package): " + ", ".join(
            f"{p.cli} {shlex.quote(p.file)} ({cell_label(notebook.parts, p.cell)})"
            for p in data_files), markup=False, soft_wrap=True)


def _suggestions(notebook: Path, progress: Progress) -> tuple[Notebook, tuple[Suggestion, ...]]:
    from nb2prod.analysis.analyze import analyze
    from nb2prod.notebook import load_notebook
    from nb2prod.tag.suggest import suggest

    progress.doing(f"reading {notebook}")
    loaded = load_notebook(notebook)
    progress.doing(f"analysing {sum(c.kind == 'code' for c in loaded.cells)} code cells")
    analysis = analyze(loaded)
    progress.doing("proposing tags")
    return loaded, suggest(analysis)


def suggestion_table(notebook: Path, suggestions: tuple[Suggestion, ...]):
    from rich.table import Table
    from rich.text import Text  # plain Text: code like `df[["a"]]` is not markup

    table = Table(title=f"proposed tags for {notebook}", title_justify="left")
    for column in ("cell", "first line", "proposed tags", "why"):
        table.add_column(column, overflow="fold")
    for s in suggestions:
        table.add_row(str(s.cell), Text(s.first_line), Text(" ".join(s.tags) or "-"),
                      Text(s.why))
    return table


def _console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)
