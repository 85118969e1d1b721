"""`nb2prod templates export|list`: the built-in templates, for customising.

A company copies the templates once (`export`), edits the few it cares about
(base image, licence header, CI file), deletes the rest, and points builds at
the folder with `build --templates DIR` or `[tool.nb2prod] templates = "DIR"`.
Any template missing from that folder falls back to the built-in one.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from nb2prod.errors import UserError

templates_app = typer.Typer(
    name="templates",
    help="Export or list the built-in templates, to override some of them with "
    "build --templates DIR.\n\nExample: nb2prod templates export my-templates",
    no_args_is_help=True,
    rich_markup_mode=None,
)

CONTEXT: dict[str, str] = {
    "pyproject.toml.j2": "plan: dist_name, version, dependencies, import_name (entry point); "
                         "optional_dependencies",
    "README.md.j2": "plan: params (cli, type_name, default, cell), steps, metrics; rebuild",
    "package_init.py.j2": "plan: import_name, exports (re-exported public names)",
    "pipeline.py.j2": "plan: imports, helpers, params, steps (blocks, inputs, outputs, "
                      "code_hash), metrics, results; run_specs (retry, cache, secrets); "
                      "kernel_display (module, option, kernel, terminal, why)",
    "requirements.lock.j2": "plan: lock (exact versions), environment; wheel_hashes",
    "main.py.j2": "plan: params (argparse options), dist_name, import_name, dependencies, "
                  "metrics_code; kernel_display, serve (the rest is _runtime/cli.py)",
    "conftest.py.j2": "plan: import_name, dist_name (the shared `values` fixture); "
                      "kernel_display",
    "test_pipeline.py.j2": "plan: tests (name, cell, code, reads, setup), golden, "
                           "test_imports",
    "Dockerfile.j2": "plan: python_version (base image), dist_name, import_name",
    "dockerignore.j2": "plan: dist_name (comment only)",
    "report.md.j2": "plan: steps, skipped, dependencies, resolved, environment, problems, "
                    "count(severity); run_specs, step_graph",
    "export_module.py.j2": "plan: export_module, exports, import_name "
                           "(only for nbdev notebooks with `#| default_exp`)",
    "github-ci.yml.j2": "plan: notebook_name, dist_name, python_version, "
                        "nb2prod_version (only with build --ci github)",
}
"""Template -> what it reads; the full reference is docs/templates.md."""


def template_table() -> list[tuple[str, str, str]]:
    """(template, output path, context) for every template, in build order."""
    from nb2prod.render.templates import BUILTIN_TEMPLATES, CI_FILES, FILES
    from nb2prod.targets.registry import TARGETS

    rows = [(name, path) for name, path in FILES]
    rows += [(name, path) for name, path in CI_FILES.values()]
    rows += [(name, path) for target in TARGETS.values() for name, path in target.files]
    # Templates other build targets render (not in the tables above) are
    # still listed: `export` copies them, so `list` must not hide them.
    known = {name for name, _ in rows}
    rows += [(p.name, "(an optional build target)")
             for p in sorted(BUILTIN_TEMPLATES.glob("*.j2")) if p.name not in known]
    context = {**CONTEXT, **{name: text for target in TARGETS.values()
                             for name, text in target.template_help}}
    return [(name, path, context.get(name, "plan")) for name, path in rows]


def export_templates(target: Path, force: bool) -> dict[str, str]:
    """Copy every built-in template into `target`; return {file name: verdict}."""
    from nb2prod.render.templates import BUILTIN_TEMPLATES

    sources = sorted(p for p in BUILTIN_TEMPLATES.iterdir() if p.suffix == ".j2")
    if target.exists() and not target.is_dir():
        raise UserError("exists and is not a directory", path=target)
    verdicts = {}
    for source in sources:
        existing = target / source.name
        if not existing.exists():
            verdicts[source.name] = "create"
        elif existing.read_bytes() == source.read_bytes():
            verdicts[source.name] = "identical"
        else:
            verdicts[source.name] = "update" if force else "conflict"
    conflicts = [name for name, verdict in verdicts.items() if verdict == "conflict"]
    if conflicts:
        # Checked before writing anything: a half-exported folder mixing the
        # user's edits with fresh copies is worse than no export at all.
        raise UserError(f"{len(conflicts)} template(s) already exist and differ: "
                        + ", ".join(conflicts), path=target, exit_code=1,
                        hint="keep your edits, or export again with --force to replace them")
    target.mkdir(parents=True, exist_ok=True)
    for source in sources:
        if verdicts[source.name] != "identical":
            (target / source.name).write_bytes(source.read_bytes())
    return verdicts


@templates_app.command("export")
def export(
    directory: Annotated[Path, typer.Argument(
        help="Folder to copy the templates into.", show_default=False, metavar="DIR")],
    force: Annotated[bool, typer.Option("--force", help="Replace templates that differ.")] = False,
) -> None:
    """Copy every built-in template into DIRECTORY, for editing.

    Keep only the ones you change; the others fall back to the built-in ones.
    Example: nb2prod templates export my-templates && nb2prod build nb.ipynb --templates
    my-templates
    """
    verdicts = export_templates(directory, force)
    counts: dict[str, int] = {}
    for verdict in verdicts.values():
        counts[verdict] = counts.get(verdict, 0) + 1
    summary = ", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items()))
    print(f"exported {len(verdicts)} template(s) to {directory}: {summary}")
    print("next: edit them, then nb2prod build NOTEBOOK.ipynb --templates "
          + shlex.quote(str(directory)))
    raise typer.Exit(0)


@templates_app.command("list")
def list_templates(
    templates: Annotated[Path | None, typer.Option(
        "--templates", help="Also show which templates this folder overrides.")] = None,
) -> None:
    """Show each template, the file it renders to, and the context it reads.

    The variables are described in docs/templates.md.
    Example: nb2prod templates list --templates my-templates
    """
    from nb2prod.targets.registry import TARGETS

    if templates is not None and not templates.is_dir():
        raise UserError("template directory not found", path=templates)
    # Plain aligned lines, not a rich table: paths must never be truncated,
    # and the output is meant to be grepped.
    rows = template_table()
    width = max(len(name) for name, _, _ in rows)
    for name, path, context in rows:
        source = ""
        if templates is not None:
            source = "  [override]" if (templates / name).is_file() else "  [built-in]"
        print(f"{name:<{width}}  -> {path}{source}")
        print(f"{'':<{width}}     {context}")
    names = ("optional_dependencies", "kernel_display", "run_specs", "wheel_hashes", "rebuild",
             "step_graph", *TARGETS)
    variables = ", ".join(f"`{name}`" for name in names)
    print(f"Every template receives `plan` (plus {variables}); "
          "see docs/templates.md.")
    raise typer.Exit(0)
