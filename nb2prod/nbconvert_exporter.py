"""`jupyter nbconvert --to nb2prod NOTEBOOK.ipynb`: the package, as a zip.

Registered through the `nbconvert.exporters` entry point, so JupyterLab's
"File > Save and Export Notebook As" lists it too. This is the only module
that imports nbconvert: the command line never pays for it.

The exporter calls the same core as `nb2prod build` (`nb2prod.build.generate`:
plan, refusals, render, manifest), so what `build` refuses (a credential as a
parameter default, an invalid step setting) it refuses too, and unzipping the
archive and running `nb2prod build` into that folder later keeps the usual
verdicts (identical, update, conflict).
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

from nb2prod.errors import UserError

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
        try:
            files = self._package_files(nb_copy, name, source)
        except UserError as exc:  # a refused build or unreadable input: one line
            exc.path = str(source)  # the notebook the user named, not our temporary copy
            self.log.error("nb2prod: error: %s", exc)
            # (imported here: nbconvertapp imports the exporters, this module included)
            from nbconvert.nbconvertapp import NbConvertApp

            if NbConvertApp.initialized():  # `jupyter nbconvert`: exit 1, no traceback
                raise SystemExit(1) from None
            raise  # inside a server: its handler answers with the message
        return zip_bytes(files), resources

    def _package_files(self, nb, name: str, source: Path) -> dict[str, str]:
        from nb2prod.build import BuildOptions, Refused, generate

        # Templates and [tool.nb2prod] are looked up from where the notebook really
        # lives, so a project's settings apply in JupyterLab as well.
        options = BuildOptions(name=self.package_name or None, ci=tuple(self.ci),
                               templates=Path(self.templates) if self.templates else None,
                               config_from=source)
        with tempfile.TemporaryDirectory(prefix="nb2prod-nbconvert-") as folder:
            notebook = Path(folder) / f"{name}.ipynb"
            notebook.write_bytes(_notebook_bytes(nb, source))
            try:
                generated = generate(notebook, options)
            except Refused as refused:  # the problems say why
                self._log_problems(name, refused.problems)
                raise
        self._log_problems(name, generated.plan.problems)
        return generated.with_manifest()

    def _log_problems(self, name: str, problems) -> None:
        from nb2prod.problems import problem_line

        for problem in problems:
            log = {"error": self.log.error, "warning": self.log.warning}.get(
                problem.severity, self.log.info)
            log("%s", problem_line(f"{name}.ipynb", problem))


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
