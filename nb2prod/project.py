"""Several notebooks as one: which notebooks, in which order, read as one `Notebook`.

A project is a folder of notebooks (in name order, or the order of
`[tool.nb2prod] notebooks = [...]` in the nearest pyproject.toml, minus its
`exclude`) or notebooks listed on the command line (in the order given). It is
read as ONE notebook whose cells are the notebooks' cells one after the other,
with a `Part` per notebook saying where its cells are: every later stage
(analysis, plan, render, verify) works on that one notebook, so a project gets
the single-notebook pipeline unchanged, and `problems.origin` turns a cell
number back into `02_features.ipynb cell 3` wherever a place is shown.

Why concatenation is faithful: each notebook ran on its own, so it binds every
name it reads before reading it; run one after another in one namespace, no
notebook sees a value of another through a name. What they hand on goes through
files (`to_parquet` then `read_parquet`), which the plan sees as file flows.

Decided here:
  - a step name used by two notebooks is prefixed with the notebook's short name
    (`features_load`), and its `after:` tags follow; every notebook starts a new
    step, named after the notebook when its first code has no step tag;
  - `.ipynb_checkpoints` and hidden folders are skipped; a folder holding no
    notebook, or a listed file that is not one, is refused in one line.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from nb2prod.errors import UserError
from nb2prod.notebook import Notebook, Part, load_notebook

GENERIC_FOLDERS = frozenset(["notebooks", "notebook", "nbs", "nb", "src", "analysis", "."])
"""A folder of notebooks with one of these names names no package: its parent does."""


@dataclass(frozen=True)
class Project:
    """Notebooks read as one, in order. Path-like: `os.fspath` is the folder."""

    notebooks: tuple[Path, ...]
    root: Path  # the folder given, or the folder holding the notebooks listed

    def __fspath__(self) -> str:
        return os.fspath(self.root)

    def __str__(self) -> str:
        return os.fspath(self.root)

    @property
    def name(self) -> str:
        """What the manifest records as the source: the folder, `notebooks/`."""
        return f"{self.root.resolve().name}/"

    @property
    def stem(self) -> str:
        """The default package name: the folder's, or its parent's for `notebooks/`."""
        folder = self.root.resolve()
        return folder.parent.name if folder.name.lower() in GENERIC_FOLDERS else folder.name

    @property
    def config_path(self) -> Path:
        """Where `[tool.nb2prod]` is looked up from: the first notebook."""
        return self.notebooks[0]


Source = Path | Project
"""What every front end builds, plans or verifies: one notebook, or a project."""


def config_path(source: Source) -> Path:
    """Where `[tool.nb2prod]` is looked up from: the notebook, or a project's first."""
    return source.config_path if isinstance(source, Project) else Path(source)


def notebook_paths(source: Source) -> tuple[Path, ...]:
    """The notebooks of a source, in the order they run."""
    return source.notebooks if isinstance(source, Project) else (Path(source),)


def source_folder(source: Source) -> Path:
    """The folder the notebooks ran in: relative paths in them are relative to it."""
    return Path(source).resolve() if isinstance(source, Project) else \
        Path(source).resolve().parent


def resolve_sources(paths: Sequence[Path]) -> Source:
    """The CLI's NOTEBOOK... arguments -> one notebook (as today) or a `Project`."""
    if not paths:
        raise UserError("no notebook given", hint="pass a .ipynb file or a folder of them")
    if len(paths) == 1 and not Path(paths[0]).is_dir():
        return Path(paths[0])
    if len(paths) == 1:
        folder = Path(paths[0])
        notebooks = folder_notebooks(folder)
        # a folder of one notebook is that notebook, exactly as when it is named
        return notebooks[0] if len(notebooks) == 1 else Project(notebooks, folder)
    seen: set[Path] = set()
    for path in paths:
        if Path(path).is_dir():
            raise UserError("is a directory: list notebooks, or pass one folder alone",
                            path=path)
        if not str(path).endswith(".ipynb"):
            raise UserError("not a .ipynb file", path=path,
                            hint="list notebooks only, in the order they run")
        if Path(path).resolve() in seen:
            raise UserError("listed twice", path=path)
        seen.add(Path(path).resolve())
    roots = {Path(p).resolve().parent for p in paths}
    root = Path(paths[0]).parent if len(roots) == 1 else Path(os.path.commonpath(
        [str(r) for r in roots]))
    return Project(tuple(Path(p) for p in paths), root)


def folder_notebooks(folder: Path) -> tuple[Path, ...]:
    """The folder's notebooks in the order they run; refused when there is none."""
    from nb2prod.project_config import configured_notebooks

    listed, excluded = configured_notebooks(folder)
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError as exc:  # permissions, a folder removed meanwhile
        raise UserError(f"cannot list the folder: {exc.strerror or exc}", path=folder) from None
    found = [p for p in entries if p.suffix == ".ipynb" and p.is_file()
             and not p.name.startswith(".")]
    if listed is not None:
        pyproject, names = listed
        by_name = {p.name: p for p in found}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise UserError(f"[tool.nb2prod] notebooks lists {missing[0]!r}, which is not a "
                            f"notebook in {folder}", path=pyproject)
        found = [by_name[n] for n in names]
    found = [p for p in found if p.name not in excluded]
    if not found:
        others = sum(1 for p in entries if not p.name.startswith("."))
        what = f"{others} other file(s), no notebook" if others else "empty"
        raise UserError(f"no notebooks in the folder ({what})", path=folder,
                        hint="pass a folder holding .ipynb files, or list them")
    return tuple(found)


def load_source(source: Source, *, validate: bool = True) -> Notebook:
    """One notebook as `load_notebook` reads it, or a project's notebooks as one."""
    if not isinstance(source, Project):
        return load_notebook(source, validate=validate)
    return combine(source, [load_notebook(p, validate=validate) for p in source.notebooks])


def combine(project: Project, notebooks: Sequence[Notebook]) -> Notebook:
    """The notebooks' cells one after the other, each notebook a `Part`."""
    shorts = short_names([nb.path for nb in notebooks])
    shared = _shared_step_names(notebooks)
    cells, parts = [], []
    for notebook, short in zip(notebooks, shorts):
        first = len(cells)
        renames = {name: f"{short}_{name}" for name in _step_names(notebook) & shared}
        for cell in notebook.cells:
            tags = tuple(_renamed(tag, renames) for tag in cell.tags)
            cells.append(replace(cell, index=len(cells), tags=tags))
        parts.append(Part(notebook.path, short, first, len(notebook.cells)))
    head = notebooks[0]
    return Notebook(path=project.root, cells=tuple(cells), language=head.language,
                    kernel_name=head.kernel_name, nbformat=head.nbformat,
                    sha256=_digest([nb.sha256 for nb in notebooks]), metadata=head.metadata,
                    parts=tuple(parts))


def short_names(paths: Sequence[Path]) -> list[str]:
    """`01_ingest.ipynb` -> `ingest`: the file name without its order number; the whole
    stem when two notebooks would get the same name."""
    from nb2prod.naming import identifier

    shorts = [identifier(re.sub(r"^[\d_\-. ]+", "", p.stem) or p.stem) for p in paths]
    counts = Counter(shorts)
    return [identifier(p.stem) if counts[s] > 1 else s for p, s in zip(paths, shorts)]


STEP_TAG = re.compile(r"^(step|block|after|prev):(.+)$")


def _step_names(notebook: Notebook) -> set[str]:
    return {m.group(2).strip() for c in notebook.cells for t in c.tags
            if (m := STEP_TAG.match(t.strip())) and m.group(1) in ("step", "block")}


def _shared_step_names(notebooks: Sequence[Notebook]) -> set[str]:
    counts = Counter(name for nb in notebooks for name in _step_names(nb))
    return {name for name, count in counts.items() if count > 1}


def _renamed(tag: str, renames: dict[str, str]) -> str:
    match = STEP_TAG.match(tag.strip())
    if match is None or match.group(2).strip() not in renames:
        return tag
    return f"{match.group(1)}:{renames[match.group(2).strip()]}"


def _digest(digests: list[str]) -> str:
    import hashlib

    return hashlib.sha256("\n".join(digests).encode()).hexdigest()
