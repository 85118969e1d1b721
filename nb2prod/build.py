"""The build, once: notebook -> plan -> refusals -> files and manifest -> disk.

Every front end calls this module: `nb2prod build` (`build`), `verify` (`build`
into a temporary folder), the nbconvert exporter (`generate`: the files and
their manifest, zipped instead of written). Whatever refuses a build is
decided here, so no front end can skip it:

  - a problem whose code is in REFUSING (a credential as a parameter default,
    an invalid step setting): writing the package would leak or misstate it;
  - a requested target that cannot run this plan (targets/registry.py `check`);
  - generated files the user edited since the last build (unless `force`).

A refusal raises `Refused` (a `UserError`, exit 1) carrying the plan's
problems, and nothing is written. Front ends only map their flags to
`BuildOptions`, call, and print.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from nb2prod import __version__
from nb2prod.errors import UserError

if TYPE_CHECKING:
    from nb2prod.plan.records import Plan
    from nb2prod.problems import Problem
    from nb2prod.progress import Progress
    from nb2prod.project import Source
    from nb2prod.render.write import Verdict
    from nb2prod.targets.target import TargetOptions

REFUSING: dict[str, tuple[str, str]] = {
    "NB624": ("a parameter default looks like a credential; nothing written",
              "read it from the environment in the step instead"),
    "NB617": ("a step setting is invalid; nothing written",
              "fix the tag at the cell named above; `nb2prod rules NB617` lists the settings"),
    "NB630": ("two notebooks give one parameter different defaults; nothing written",
              "give both the same default, or rename one (`nb2prod rules NB630`)"),
}
"""Problem code -> (message, hint) of the build's refusal: the first one found wins."""


@dataclass(frozen=True)
class BuildOptions:
    """Everything that shapes a build, whichever front end asked for it."""

    name: str | None = None  # package name; default from the notebook file name
    output: Path | None = None  # default ./DIST-NAME
    force: bool = False  # replace generated files the user edited
    check: bool = False  # write nothing: the verdicts say what a build would change
    templates: Path | None = None  # explicit --templates (else [tool.nb2prod] templates)
    ci: tuple[str, ...] = ()  # extra CI files: render.templates.CI_FILES keys
    targets: tuple[str, ...] = ()  # names in targets.registry.TARGETS, as typed
    image: str | None = None  # container image: built after writing, and the targets' image
    volume: str | None = None  # shared volume path for --target kubeflow
    python: Path | None = None  # the environment dependencies are pinned from
    wheelhouse: bool = False  # download dependency wheels into OUTPUT/wheelhouse
    config_from: Path | None = None  # where [tool.nb2prod] is looked up; default the notebook
    image_given: bool = True  # False: `image` came from the manifest; shape files, build none
    progress: Progress | None = None  # of the wheelhouse and the image (None: tools' own output)


@dataclass(frozen=True)
class Generated:
    """A package as text: what every front end writes, zips or compares."""

    plan: Plan
    targets: TargetOptions
    out_dir: Path
    files: dict[str, str]  # relative POSIX path -> text, the manifest left out
    meta: dict[str, object]  # the manifest's header (write.manifest_text adds the hashes)

    def with_manifest(self) -> dict[str, str]:
        from nb2prod.render.write import MANIFEST, manifest_text

        return {**self.files, MANIFEST: manifest_text(self.files, self.meta)}


@dataclass(frozen=True)
class BuildResult:
    plan: Plan
    out_dir: Path
    verdicts: tuple[Verdict, ...]  # per file: create, identical, update, conflict, remove
    written: bool  # False for `check`


class Refused(UserError):
    """The build refused the notebook; nothing was written. `problems` say why."""

    def __init__(self, message: str, *, path: Path | str | None, hint: str,
                 problems: tuple[Problem, ...], parts: tuple = ()) -> None:
        super().__init__(message, path=path, exit_code=1, hint=hint)
        self.problems = problems
        self.parts = parts  # the notebooks of a project, for the problems' places


def build(notebook: Source, options: BuildOptions = BuildOptions()) -> BuildResult:
    """Generate the package of `notebook` and write it (unless `options.check`)."""
    from nb2prod.render import write

    options = remembered(notebook, options)
    generated = generate(notebook, options)
    out_dir = generated.out_dir
    verdicts = tuple(write.plan_writes(out_dir, generated.files, force=options.force))
    if options.check:
        return BuildResult(generated.plan, out_dir, verdicts, written=False)
    conflicts = [v.path for v in verdicts if v.action == write.CONFLICT]
    if conflicts:
        raise UserError(
            f"{len(conflicts)} generated file(s) were edited since the last build: "
            + ", ".join(conflicts), path=out_dir, exit_code=1,
            hint="keep your edits elsewhere, or rebuild with --force to replace them")
    write.write_tree(out_dir, generated.files, list(verdicts), generated.meta)
    if options.image and options.image_given:
        from nb2prod.targets import container

        container.build_image(out_dir, options.image, progress=options.progress)
    return BuildResult(generated.plan, out_dir, verdicts, written=True)


def generate(notebook: Source, options: BuildOptions = BuildOptions()) -> Generated:
    """Plan, refuse, render: the package's files and manifest, nothing written
    (but the wheelhouse, when asked for: its wheels' hashes go into requirements.lock)."""
    from nb2prod.plan.build import make_plan
    from nb2prod.project import config_path
    from nb2prod.project_config import templates_dir
    from nb2prod.render import templates as render
    from nb2prod.render.compile_check import render_checked

    config = options.config_from or config_path(notebook)
    plan = make_plan(notebook, options.name, options.python, config_from=config)
    refuse(plan, notebook)
    plan, targets = _with_targets(plan, options, notebook)
    out_dir = options.output or Path(plan.dist_name)
    # the generated tests find the notebook's data files from the package's folder
    root = os.path.relpath(config_path(notebook).resolve().parent, out_dir.resolve())
    plan = replace(plan, extras={**plan.extras, "data_root": Path(root).as_posix()})
    hashes = _fill_wheelhouse(options, plan, out_dir) if (
        options.wheelhouse and not options.check) else None
    templates = templates_dir(options.templates, config)
    # every generated module must compile (NB640); render.render is looked up at call
    # time: a test alters a build through it
    plan, files = render_checked(
        plan, lambda p: render.render(p, templates, options.ci, targets, hashes), notebook)
    return Generated(plan, targets, out_dir, files,
                     {**manifest_meta(plan), FLAGS_KEY: shaping_flags(options)})


FLAGS_KEY = "build_flags"
SHAPING = ("name", "targets", "ci", "image", "volume")
"""The options that shape the generated files: recorded in the manifest, so a plain
rebuild (or `--check`) keeps them; one given again overrides; `none` clears a list."""


def shaping_flags(options: BuildOptions) -> dict:
    """The shaping options that are set, as the manifest records them."""
    values = {key: getattr(options, key) for key in SHAPING}
    return {key: list(value) if isinstance(value, tuple) else value
            for key, value in values.items() if value}


def remembered(notebook: Source, options: BuildOptions) -> BuildOptions:
    """`options` with each shaping flag not given taken from the output's manifest."""
    from nb2prod.naming import dist_name, package_name
    from nb2prod.render.write import read_manifest

    out_dir = options.output or Path(dist_name(package_name(options.name, notebook)))
    manifest = read_manifest(out_dir)
    recorded = manifest.get(FLAGS_KEY) if isinstance(manifest, dict) else None
    if not isinstance(recorded, dict) or manifest.get("notebook") != notebook.name:
        recorded = {}  # hostile until checked; another notebook's flags are not this one's
    changes: dict = {}
    for key in SHAPING:
        given, old = getattr(options, key), recorded.get(key)
        if isinstance(given, tuple):
            if given and all(v.strip().lower() == "none" for v in given):
                changes[key] = ()  # `--target none`: drop what the last build had
            elif not given and isinstance(old, list) and all(isinstance(v, str) for v in old):
                changes[key] = tuple(old)
        elif given is None and isinstance(old, str):
            changes[key] = old
    if changes.get("targets") == () and options.volume is None:
        changes["volume"] = None  # `--target none`: a kubeflow volume goes with it
    if "image" in changes:
        changes["image_given"] = False
    if changes.get("name", options.name) is None:
        changes["name"] = _name_from_output(notebook, options.output)
    return replace(options, **changes)


def _name_from_output(notebook: Source, output: Path | None) -> str | None:
    """`-o`'s folder name when the notebook's file name is too long to name a package
    as it is (`-o bikes` beats `bike-rentals-exploratory`); else None (the file name)."""
    from nb2prod.naming import MAX_NAME, dist_name, short_name

    if output is None or short_name(notebook.stem) == notebook.stem:
        return None
    folder = output.resolve().name
    return folder if folder and len(dist_name(folder)) <= MAX_NAME else None


def refuse(plan: Plan, notebook: Path | str) -> None:
    """Raise `Refused` when the plan has a problem no package may be written with."""
    for problem in plan.problems:
        if problem.code in REFUSING:
            message, hint = REFUSING[problem.code]
            raise Refused(message, path=notebook, hint=hint, problems=plan.problems,
                          parts=plan.parts)


def manifest_meta(plan: Plan) -> dict[str, str]:
    """The manifest's header: which notebook and nb2prod version made the files."""
    return {"nb2prod_version": __version__, "notebook": plan.notebook_name,
            "notebook_sha256": plan.notebook_sha256}


def _with_targets(plan: Plan, options: BuildOptions, notebook: Source):
    """The requested targets, each checked against the plan (a refusal writes nothing),
    and the plan with their notes (serve: NB621/NB622)."""
    from nb2prod.targets.registry import check, target_options, with_notes

    targets = target_options(options.targets, options.image, options.volume)
    try:
        check(plan, targets, notebook)
    except UserError as exc:
        raise Refused(exc.message, path=exc.path, hint=exc.hint,
                      problems=plan.problems) from None
    return with_notes(plan, targets), targets


def _fill_wheelhouse(options: BuildOptions, plan: Plan, out_dir: Path) -> dict:
    """Download the locked versions' wheels; return their sha256 for requirements.lock
    (normalized name -> digests), or {} when some locked distribution has no wheel."""
    from nb2prod.plan.dependencies import requirement_name
    from nb2prod.plan.environment import normalize
    from nb2prod.targets import container
    from nb2prod.targets.registry import extra_requirements, target_options

    # A target's extra runs in the image too (kubeflow: the KFP executor).
    extras = extra_requirements(target_options(options.targets), plan)
    locked = {normalize(name) for name, _ in plan.lock}
    requirements = [f"{name}=={version}" for name, version in plan.lock] + [
        r for r in plan.dependencies if normalize(requirement_name(r)) not in locked]
    wheels = container.fill_wheelhouse(out_dir, [*requirements, *extras],
                                       python_version=plan.python_version,
                                       progress=options.progress)
    return container.lock_hashes(wheels, plan.lock)
