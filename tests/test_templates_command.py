"""Custom templates (`templates export|list`, `--templates`, `[tool.nb2prod]`)
and the generated CI workflow (`build --ci github`)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from nb2prod.cli import main
from nb2prod.cli.templates import CONTEXT
from nb2prod.plan.build import make_plan
from nb2prod.project_config import configured_templates
from nb2prod.render.templates import BUILTIN_TEMPLATES, CI_FILES, FILES, render

ROOT = Path(__file__).resolve().parent.parent
CHURN = ROOT / "examples" / "churn.ipynb"


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def build(tmp_path: Path, out: str, *extra: str, notebook: Path = CHURN) -> int:
    return main(["build", str(notebook), "-o", str(tmp_path / out), "-q", *extra])


@pytest.fixture
def exported(tmp_path) -> Path:
    assert main(["templates", "export", str(tmp_path / "tpl")]) == 0
    return tmp_path / "tpl"


def test_export_copies_every_builtin_template(exported):
    builtin = sorted(p.name for p in BUILTIN_TEMPLATES.glob("*.j2"))
    assert sorted(p.name for p in exported.iterdir()) == builtin
    for name in builtin:
        assert (exported / name).read_bytes() == (BUILTIN_TEMPLATES / name).read_bytes()
    assert main(["templates", "export", str(exported)]) == 0  # identical: fine


def test_export_refuses_to_overwrite_edits_without_force(exported, capsys):
    (exported / "Dockerfile.j2").write_text("# mine\n")
    (exported / "README.md.j2").unlink()
    assert main(["templates", "export", str(exported)]) == 1
    assert "Dockerfile.j2" in capsys.readouterr().err
    assert (exported / "Dockerfile.j2").read_text() == "# mine\n"
    assert not (exported / "README.md.j2").exists()  # nothing written on refusal
    assert main(["templates", "export", str(exported), "--force"]) == 0
    assert (exported / "Dockerfile.j2").read_bytes() == \
        (BUILTIN_TEMPLATES / "Dockerfile.j2").read_bytes()


def test_list_shows_every_template_its_output_and_context(exported, capsys):
    (exported / "README.md.j2").unlink()
    assert main(["templates", "list", "--templates", str(exported)]) == 0
    out = capsys.readouterr().out
    for name, path in [*FILES, *CI_FILES.values()]:
        assert f"{name}" in out and f"-> {path}" in out
        assert CONTEXT[name] in out
    assert re.search(r"^README\.md\.j2 +-> README\.md  \[built-in\]$", out, re.MULTILINE)
    assert re.search(r"^Dockerfile\.j2 +-> Dockerfile  \[override\]$", out, re.MULTILINE)
    for template in BUILTIN_TEMPLATES.glob("*.j2"):  # also those of other targets
        assert re.search(rf"^{re.escape(template.name)} +-> ", out, re.MULTILINE)


def test_an_override_changes_exactly_the_file_it_overrides(tmp_path):
    assert build(tmp_path, "plain") == 0
    override = tmp_path / "tpl"
    override.mkdir()
    text = (BUILTIN_TEMPLATES / "Dockerfile.j2").read_text()
    (override / "Dockerfile.j2").write_text(
        "# Copyright ACME Corp.\n" + text.replace("python:{{", "registry.acme/python:{{"))
    assert build(tmp_path, "custom", "--templates", str(override)) == 0
    plain, custom = tree(tmp_path / "plain"), tree(tmp_path / "custom")
    changed = sorted(p for p in plain if plain[p] != custom[p])
    # The manifest records the Dockerfile's hash, so it changes along with it.
    assert changed == [".nb2prod/manifest.json", "Dockerfile"]
    assert sorted(plain) == sorted(custom)
    assert custom["Dockerfile"].startswith(b"# Copyright ACME Corp.\n")
    assert b"ARG BASE_IMAGE=registry.acme/python:3.11-slim" in custom["Dockerfile"]


@pytest.mark.parametrize("broken, line, message", [
    ("ok\n{% for x in plan.steps %}\n", 2, "template syntax error"),
    ("ok\n\n{{ plan.dist_nmae }}\n", 3, "has no attribute 'dist_nmae'"),
    ("ok\n{{ plan.__class__ }}\n", 2, "unsafe"),
])
def test_a_template_error_names_the_file_and_line(tmp_path, capsys, broken, line, message):
    override = tmp_path / "tpl"
    override.mkdir()
    (override / "pipeline.py.j2").write_text(broken)
    assert build(tmp_path, "out", "--templates", str(override)) == 2
    err = capsys.readouterr().err.strip()
    assert f"{override / 'pipeline.py.j2'}:{line}: " in err and message in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_an_error_in_an_included_file_names_that_file(tmp_path, capsys):
    override = tmp_path / "tpl"
    override.mkdir()
    (override / "Dockerfile.j2").write_text('{% include "header.txt" %}\nFROM x\n')
    (override / "header.txt").write_text("# licence\n{{ plan.licence }}\n")
    assert build(tmp_path, "out", "--templates", str(override)) == 2
    assert f"{override / 'header.txt'}:2: template error" in capsys.readouterr().err


def test_missing_templates_dir_is_an_error(tmp_path, capsys):
    assert build(tmp_path, "out", "--templates", str(tmp_path / "nope")) == 2
    assert "template directory not found" in capsys.readouterr().err


def project_with(tmp_path: Path, pyproject: str) -> Path:
    """A project folder with a pyproject.toml and the notebook one level below."""
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "pyproject.toml").write_text(pyproject)
    return Path(shutil.copy(CHURN, project / "notebooks" / "churn.ipynb"))


def test_tool_nb2prod_templates_from_the_nearest_pyproject(tmp_path):
    notebook = project_with(tmp_path, '[tool.nb2prod]\ntemplates = "tpl"\n')
    (notebook.parent.parent / "tpl").mkdir()
    (notebook.parent.parent / "tpl" / "dockerignore.j2").write_text(".git\n")
    assert configured_templates(notebook) == notebook.parent.parent / "tpl"
    assert build(tmp_path, "out", notebook=notebook) == 0
    assert (tmp_path / "out" / ".dockerignore").read_text() == ".git\n"
    override = tmp_path / "explicit"
    override.mkdir()
    (override / "dockerignore.j2").write_text("dist/\n")
    assert build(tmp_path, "out2", "--templates", str(override), notebook=notebook) == 0
    assert (tmp_path / "out2" / ".dockerignore").read_text() == "dist/\n"  # flag wins


def test_a_nearer_pyproject_without_the_setting_stops_the_search(tmp_path):
    notebook = project_with(tmp_path, '[tool.nb2prod]\ntemplates = "tpl"\n')
    (notebook.parent / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert configured_templates(notebook) is None


@pytest.mark.parametrize("pyproject, message", [
    ('[tool.nb2prod]\ntemplates = "missing"\n', "template directory not found"),
    ("[tool.nb2prod]\ntemplates = 3\n", "must be a directory path"),
    ("[tool.nb2prod\n", "invalid TOML"),
])
def test_bad_templates_setting_is_a_clear_error(tmp_path, capsys, pyproject, message):
    notebook = project_with(tmp_path, pyproject)
    assert build(tmp_path, "out", notebook=notebook) == 2
    err = capsys.readouterr().err
    assert "pyproject.toml" in err and message in err


# --- build --ci github ------------------------------------------------------


def workflow(folder: Path) -> dict:
    return yaml.safe_load((folder / ".github" / "workflows" / "ci.yml").read_text())


def test_ci_github_workflow_tests_checks_and_builds_the_image(tmp_path):
    assert build(tmp_path, "out", "--ci", "github") == 0
    flow = workflow(tmp_path / "out")
    assert set(flow["jobs"]) == {"test", "notebook-in-sync", "image"}
    runs = {job: "\n".join(s.get("run", "") for s in spec["steps"])
            for job, spec in flow["jobs"].items()}
    assert "pip install '.[test]'" in runs["test"] and "pytest" in runs["test"]
    assert 'nb2prod build "$NOTEBOOK" --output . --name churn --ci github --check' \
        in runs["notebook-in-sync"]
    assert "docker build" in runs["image"]
    assert flow["env"]["NOTEBOOK"] == "${{ vars.NB2PROD_NOTEBOOK || 'churn.ipynb' }}"


def test_the_workflow_check_command_passes_on_a_fresh_build(tmp_path, monkeypatch):
    """What the CI job runs: the notebook beside the package, built into `.`."""
    package = tmp_path / "repo"
    assert build(tmp_path, "repo", "--ci", "github") == 0
    shutil.copy(CHURN, package / "churn.ipynb")
    monkeypatch.chdir(package)
    assert main(["build", "churn.ipynb", "--output", ".", "--name", "churn", "--ci", "github",
                 "--check"]) == 0


def test_ci_workflow_is_deterministic_and_safe_for_odd_notebook_names(tmp_path):
    odd = Path(shutil.copy(CHURN, tmp_path / "it's \"odd\": v2.ipynb"))
    plan = make_plan(odd, None)
    first = render(plan, None, ("github",))
    assert first == render(plan, None, ("github",))
    flow = yaml.safe_load(first[".github/workflows/ci.yml"])
    assert flow["env"]["NOTEBOOK"] == \
        "${{ vars.NB2PROD_NOTEBOOK || 'it''s \"odd\": v2.ipynb' }}"
    assert set(render(plan)) == set(first) - {".github/workflows/ci.yml"}


def test_unknown_ci_target_is_a_usage_error(tmp_path, capsys):
    assert build(tmp_path, "out", "--ci", "gitlab") == 2
    assert "unknown --ci 'gitlab'" in capsys.readouterr().err


def test_every_template_has_a_context_description():
    names = {name for name, _ in FILES} | {name for name, _ in CI_FILES.values()}
    assert names <= set(CONTEXT)
    assert names <= {p.name for p in BUILTIN_TEMPLATES.glob("*.j2")}
