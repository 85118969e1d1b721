"""`jupyter nbconvert --to nb2prod NOTEBOOK.ipynb`: the package, as a zip.

Registered through the `nbconvert.exporters` entry point, so JupyterLab's
"File > Save and Export Notebook As" lists it too. This is the only module
that imports nbconvert: the command line never pays for it.

The exporter runs the same planner and templates as `nb2prod build`, and adds
the build manifest, so unzipping the archive and running `nb2prod build`
into that folder later keeps the usual verdicts (identical, update, conflict).
Options, as nbconvert config: `--Nb2prodExporter.package_name=NAME`,
`--Nb2prodExporter.templates=DIR`, `--Nb2prodExporter.ci=github`.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import nbformat
from nbconvert.exporters import Exporter
from traitlets import List, Unicode, default

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
"""Every entry's timestamp: the earliest a zip can hold, so archives are byte-stable."""


class Nb2prodExporter(Exporter):
    """Exports a notebook as a zip of the Python package `nb2prod build` generates."""

    export_from_notebook = "nb2prod"
    output_mimetype = "application/zip"

    package_name = Unicode("", help="Package name [default: from the notebook name].").tag(
        config=True)
    templates = Unicode("", help="Directory of templates overriding the built-in ones "
                        "[default: [tool.nb2prod] templates, if set].").tag(config=True)
    ci = List(Unicode(), help="Extra CI files, as for `build --ci` (e.g. github).").tag(
        config=True)

    @default("file_extension")
    def _file_extension_default(self) -> str:
        return ".zip"

    def from_notebook_node(self, nb, resources=None, **kw):
        nb_copy, resources = super().from_notebook_node(nb, resources, **kw)
        metadata = resources.get("metadata", {})
        name = Path(metadata.get("name") or "notebook").name
        source = Path(metadata.get("path") or ".") / f"{name}.ipynb"
        files = self._package_files(nb_copy, name, source)
        return zip_bytes(files), resources

    def _package_files(self, nb, name: str, source: Path) -> dict[str, str]:
        from nb2prod import __version__
        from nb2prod.plan.build import make_plan
        from nb2prod.problems import problem_line
        from nb2prod.project_config import templates_dir
        from nb2prod.render.templates import render
        from nb2prod.render.write import MANIFEST, manifest_text

        with tempfile.TemporaryDirectory(prefix="nb2prod-nbconvert-") as folder:
            notebook = Path(folder) / f"{name}.ipynb"
            notebook.write_bytes(_notebook_bytes(nb, source))
            plan = make_plan(notebook, self.package_name or None)
        for problem in plan.problems:
            log = {"error": self.log.error, "warning": self.log.warning}.get(
                problem.severity, self.log.info)
            log("%s", problem_line(f"{name}.ipynb", problem))
        # Templates are looked up from where the notebook really lives, so a
        # project's [tool.nb2prod] templates apply in JupyterLab as well.
        explicit = Path(self.templates) if self.templates else None
        files = render(plan, templates_dir(explicit, source), tuple(self.ci))
        meta = {"nb2prod_version": __version__, "notebook": plan.notebook_name,
                "notebook_sha256": plan.notebook_sha256}
        return {**files, MANIFEST: manifest_text(files, meta)}


def _notebook_bytes(nb, source: Path) -> bytes:
    """The original file when it holds this very notebook, else the node serialised.

    The original keeps the report's notebook_sha256 equal to what `nb2prod build`
    records; JupyterLab may send unsaved edits, and those win.
    """
    try:
        if nbformat.read(source, as_version=4) == nb:
            return source.read_bytes()
    except (OSError, ValueError, nbformat.reader.NotJSONError):
        pass
    return nbformat.writes(nb).encode("utf-8")


def zip_bytes(files: dict[str, str]) -> bytes:
    """A deterministic zip: sorted entries, fixed timestamps and permissions."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the permission bits below are honoured
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[path].encode("utf-8"))
    return buffer.getvalue()
