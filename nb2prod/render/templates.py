"""Plan -> {relative path: text}, with Jinja templates. No writes.

Templates receive the plan only, through a sandboxed environment with
`StrictUndefined` (a typo fails instead of rendering empty). User code reaches
the output as data through `{{ ... }}` expressions, so a cell that contains
`{{ x }}` or `{% raw %}` appears verbatim: it is never template source.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from pathlib import Path

from nb2prod.errors import UserError
from nb2prod.places import cell_label, cells_label, cells_phrase, origin, relabel
from nb2prod.plan import codegen
from nb2prod.plan.dependencies import requirement_name
from nb2prod.plan.environment import normalize
from nb2prod.plan.graph import plan_graph, to_mermaid
from nb2prod.plan.records import Plan
from nb2prod.plan.stepsettings import plan_settings
from nb2prod.render.display import kernel_settings
from nb2prod.render.imports import import_block, sort_names
from nb2prod.render.vendor import vendored
from nb2prod.targets.container import WHEELHOUSE_README
from nb2prod.targets.registry import target_files, template_context
from nb2prod.targets.target import TargetOptions

BUILTIN_TEMPLATES = Path(__file__).parent.parent / "templates"
if not BUILTIN_TEMPLATES.is_dir():  # running from a source checkout
    BUILTIN_TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"

FILES: tuple[tuple[str, str], ...] = (
    ("pyproject.toml.j2", "pyproject.toml"),
    ("README.md.j2", "README.md"),
    ("package_init.py.j2", "src/{import_name}/__init__.py"),
    ("pipeline.py.j2", "src/{import_name}/pipeline.py"),
    ("main.py.j2", "src/{import_name}/__main__.py"),
    ("conftest.py.j2", "tests/conftest.py"),
    ("test_pipeline.py.j2", "tests/test_pipeline.py"),
    ("requirements.lock.j2", "requirements.lock"),
    ("Dockerfile.j2", "Dockerfile"),
    ("dockerignore.j2", ".dockerignore"),
    ("report.md.j2", "nb2prod-report.md"),
)
"""Template -> output path; `{import_name}` is filled from the plan."""

CI_FILES: dict[str, tuple[str, str]] = {
    "github": ("github-ci.yml.j2", ".github/workflows/ci.yml"),
}
"""`build --ci NAME` -> (template, output path): extra files, only when asked for."""

REPORT_JSON = "nb2prod-report.json"


def render(plan: Plan, templates: Path | None = None,
           ci: tuple[str, ...] = (), targets: TargetOptions | None = None,
           wheel_hashes: dict[str, list[str]] | None = None) -> dict[str, str]:
    """Every file of the package, as text, keyed by POSIX path relative to the output.

    `targets` (e.g. kubeflow) add their files and template variables; see targets/registry.py.
    `wheel_hashes` (normalized name -> sha256s of its wheels) go into requirements.lock."""
    unknown = sorted(set(ci) - set(CI_FILES))
    if unknown:
        raise UserError(f"unknown --ci {unknown[0]!r}: use {', '.join(sorted(CI_FILES))}")
    env = _environment(templates)
    env.filters["cells"] = lambda cells: cells_label(plan.parts, cells)
    env.filters["cell"] = lambda cell: cell_label(plan.parts, cell)
    env.filters["cells_phrase"] = lambda cells: cells_phrase(plan.parts, cells)
    targets = targets or TargetOptions()
    context = {**template_context(plan, targets),
               "kernel_display": kernel_settings(plan.dependencies),
               "run_specs": plan_settings(plan), "wheel_hashes": wheel_hashes or {},
               "rebuild": rebuild_command(plan, ci, targets),
               "step_graph": to_mermaid(plan_graph(plan)),
               "file_flows": plan.file_flows,
               "data_root": plan.extras.get("data_root", ".")}
    files = {}
    for template_name, pattern in [*FILES, *(CI_FILES[name] for name in sorted(set(ci))),
                                   *target_files(targets, plan)]:
        path = pattern.format(import_name=plan.import_name)
        files[path] = _render_one(env, template_name, plan, context)
    if plan.export_module and plan.exports:
        path = f"src/{plan.import_name}/{plan.export_module}.py"
        files[path] = _render_one(env, "export_module.py.j2", plan, context)
    if plan.parts:
        files = {path: _places(path, text, plan.parts) for path, text in files.items()}
    files.update(vendored(plan.import_name))
    files[REPORT_JSON] = json.dumps(report_data(plan), indent=2, sort_keys=True) + "\n"
    files["wheelhouse/README.txt"] = WHEELHOUSE_README
    return files


_MARKER = re.compile(r"^(\s*)# cell (\d+)\b", re.MULTILINE)


def _places(path: str, text: str, parts) -> str:
    """A package of several notebooks names the notebook of each cell it points at:
    `# 02_features.ipynb cell 3` comments in code (the runtime reads them), every
    `cell N` in the Markdown files."""
    if path.endswith(".md"):
        return relabel(text, parts)
    if path.endswith(".py"):
        return _MARKER.sub(lambda m: f"{m.group(1)}# {cell_label(parts, int(m.group(2)))}",
                           text)
    return text


def rebuild_command(plan: Plan, ci: tuple[str, ...], targets: TargetOptions) -> str:
    """The `nb2prod build` command that makes this package again, with the flags it was
    built with, quoted for a shell (run from the notebook's folder)."""
    import shlex

    from nb2prod.naming import dist_name

    words = ["nb2prod", "build", plan.notebook_name]
    if plan.dist_name != dist_name(Path(plan.notebook_name).stem):
        words += ["--name", plan.dist_name]
    words += [w for name in targets.targets for w in ("--target", name)]
    words += [w for name in sorted(set(ci)) for w in ("--ci", name)]
    words += [w for flag in ("image", "volume") if getattr(targets, flag)
              for w in (f"--{flag}", getattr(targets, flag))]
    return shlex.join(words)


def report_data(plan: Plan) -> dict:
    """The machine-readable conversion report."""
    return {
        "notebook": plan.notebook_name,
        "notebook_sha256": plan.notebook_sha256,
        "nb2prod_version": plan.nb2prod_version,
        "package": {"distribution": plan.dist_name, "import": plan.import_name},
        "params": [dataclasses.asdict(p) for p in plan.params],
        "steps": [{"name": s.name, "function": s.function, "cells": list(s.cells),
                   "inputs": list(s.inputs), "outputs": list(s.outputs),
                   "after": list(s.after), "code_hash": s.code_hash,
                   **_step_notebook(s.cells, plan.parts)} for s in plan.steps],
        "metrics": list(plan.metrics),
        "model": dataclasses.asdict(plan.model) if plan.model else None,
        "inference": dataclasses.asdict(plan.inference) if plan.inference else None,
        "tests": [{"name": t.name, "cell": t.cell} for t in plan.tests],
        "dependencies": list(plan.dependencies),
        "environment": {"python": plan.environment,
                        "imports": [{"import": r.module, "distribution": r.distribution,
                                     "version": r.version} for r in plan.resolved],
                        "lock": [f"{name}=={version}" for name, version in plan.lock]},
        "skipped_cells": list(plan.skipped),
        "file_flows": [{"path": f.path, "writer": f.writer, "reader": f.reader}
                       for f in plan.file_flows],
        "problems": [_problem_data(p, plan.parts) for p in plan.problems],
        **({"notebooks": [{"path": part.path.as_posix(), "name": part.short,
                           "cells": [part.first + 1, part.first + part.count]}
                          for part in plan.parts]} if plan.parts else {}),
        "counts": {s: plan.count(s) for s in ("error", "warning", "info")},
    }


def _step_notebook(cells, parts) -> dict:
    """`{"notebook": "02_features.ipynb"}` for a step of a project; {} for one notebook."""
    path, _ = origin(parts, None, cells[0] if cells else None)
    return {"notebook": path.as_posix()} if path is not None else {}


def _problem_data(problem, parts) -> dict:
    """A problem as JSON; with several notebooks, the notebook and its own cell number
    (`cell` stays the place in the notebooks read as one)."""
    data = dataclasses.asdict(problem)
    if parts and problem.cell is not None:
        path, cell = origin(parts, None, problem.cell)
        data.update(notebook=path.as_posix(), notebook_cell=cell)
    return data


def _environment(templates: Path | None):
    import jinja2  # lazy: lint never renders
    from jinja2.sandbox import SandboxedEnvironment

    search = [str(templates)] if templates else []
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader([*search, str(BUILTIN_TEMPLATES)]),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # we generate Python, TOML and Markdown, never HTML
        keep_trailing_newline=True,
        trim_blocks=False,
    )
    env.filters.update(
        py=codegen.python_literal,
        pytuple=_python_tuple,
        requirement_name=requirement_name,
        requirement_key=normalize,
        toml=lambda s: json.dumps(str(s), ensure_ascii=False),
        doc=_docstring_safe,
        comment=lambda s: str(s).replace("\n", " "),
        shell=lambda s: shlex.quote(str(s)),
        body=lambda code: codegen.indent(code) if code.strip() else "",
        import_block=lambda lines, own: import_block(list(lines), own),
        prefix=lambda text, head: f"{head}{text}",
        sort_names=sort_names,
        starts_with_definition=codegen.starts_with_definition,
    )
    return env


def _render_one(env, name: str, plan: Plan, context: dict | None = None) -> str:
    import jinja2

    try:
        text = env.get_template(name).render(plan=plan, **(context or {}))
    except jinja2.TemplateSyntaxError as exc:
        raise UserError(f"template syntax error: {exc.message}",
                        path=exc.filename or name, line=exc.lineno) from None
    except jinja2.TemplateError as exc:  # undefined names, sandbox refusals, bad includes
        path, line = _template_location(exc, name)
        raise UserError(f"template error: {exc.message}", path=path, line=line,
                        hint="`nb2prod templates list` shows what each template receives"
                        ) from None
    return text if text.endswith("\n") else text + "\n"


def _template_location(exc: Exception, name: str) -> tuple[str, int | None]:
    """The innermost template frame of a render error: Jinja rewrites tracebacks
    so that frames of template code carry the template's file name and line."""
    where: tuple[str, int | None] = (name, None)
    tb = exc.__traceback__
    while tb is not None:
        if "__jinja_exception__" in tb.tb_frame.f_globals:  # a rewritten template frame
            where = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return where


def _python_tuple(values) -> str:
    items = [codegen.python_literal(v) for v in values]
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _docstring_safe(text: object) -> str:
    """Text that cannot end a triple-quoted docstring or start an escape."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
