"""Fast, always-run checks of the container templates and helpers (no container runtime).

The real build+run is tests/e2e/test_container.py (marked `container`).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import stat
import subprocess
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest

from nb2prod.errors import UserError
from nb2prod.targets import container
from tests.tools import extra_tool

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
IN_CI = os.environ.get("CI") == "true"

PLAN = SimpleNamespace(
    dist_name="churn-model",
    import_name="churn_model",
    notebook_name="churn.ipynb",
    python_version="3.11",
    params=(),
)


def render(name: str, plan: SimpleNamespace = PLAN) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template(name).render(plan=plan)


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in dockerfile.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        keyword, _, rest = full.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    assert not pending, "dangling line continuation"
    return out


def stages(dockerfile: str) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for ins in instructions(dockerfile):
        if ins[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(ins)
    return result


# --- Dockerfile template ---------------------------------------------------------------


def test_dockerfile_renders_strictly_and_needs_every_plan_field():
    text = render("Dockerfile.j2")
    assert text.endswith("\n")
    for field in vars(PLAN):
        partial = SimpleNamespace(**{k: v for k, v in vars(PLAN).items() if k != field})
        with pytest.raises(jinja2.UndefinedError):
            render("Dockerfile.j2", partial)


def test_dockerfile_base_image_arg_and_multistage():
    ins = instructions(render("Dockerfile.j2"))
    assert ins[0] == ("ARG", "BASE_IMAGE=python:3.11-slim")
    froms = [args for kw, args in ins if kw == "FROM"]
    assert froms == ["${BASE_IMAGE} AS build", "${BASE_IMAGE} AS runtime"]
    runtime = stages(render("Dockerfile.j2"))[-1]
    copies = [args for kw, args in runtime if kw == "COPY"]
    # The runtime stage takes only the finished venv from the build stage: no sources,
    # no wheels, no build backend.
    assert copies == ["--from=build /opt/venv /opt/venv"]


def test_dockerfile_runtime_contract():
    text = render("Dockerfile.j2")
    runtime = stages(text)[-1]
    kws = dict(runtime)  # last occurrence of each instruction wins, like Docker
    env = " ".join(args for kw, args in runtime if kw == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "PYTHONUNBUFFERED=1" in env
    assert "PATH=/opt/venv/bin:$PATH" in env
    entrypoint = json.loads(kws["ENTRYPOINT"])  # exec form is a JSON array
    assert entrypoint == ["/opt/venv/bin/python", "-m", "churn_model"]
    assert json.loads(kws["CMD"]) == ["--metrics-out", "/data/metrics.json"]
    assert kws["WORKDIR"] == "/data"
    assert json.loads(kws["VOLUME"]) == ["/data"]
    user = kws["USER"].split(":")[0]
    assert user.isdigit() and int(user) != 0, "runtime must run as a numeric non-root uid"
    # ownership is fixed before VOLUME (changes after VOLUME are discarded)
    order = [kw for kw, _ in runtime]
    assert order.index("VOLUME") > max(i for i, kw in enumerate(order) if kw == "RUN")


def test_dockerfile_only_uses_python3_and_the_venv():
    """Debian-like bases have no `python`, and their system pip is externally managed."""
    for kw, args in instructions(render("Dockerfile.j2")):
        if kw != "RUN":
            continue
        # the first word of every command in the RUN line
        for command in re.split(r"&&|\|\||;|\bthen\b|\belse\b", args):
            words = command.split()
            if words:
                assert words[0] not in {"python", "pip", "pip3"}, f"bare {words[0]!r} in RUN {args}"
        assert "python3 -m pip" not in args, "system pip is PEP 668 externally managed"


def test_dockerfile_wheelhouse_scheme_is_offline_capable():
    text = render("Dockerfile.j2")
    build = stages(text)[0]
    copies = [args for kw, args in build if kw == "COPY"]
    assert "wheelhouse/ /wheelhouse/" in copies
    (run,) = [args for kw, args in build if kw == "RUN"]
    assert "--no-index --find-links /wheelhouse" in run
    assert "*.whl" in run
    assert run.count('"$@"') == 3  # every pip call gets the same index options
    assert '"$@" -r requirements.lock' in run  # exact versions first
    # every COPY source is part of the generated package layout
    for args in copies:
        for src in args.split()[:-1]:
            assert src in {"wheelhouse/", "requirements.lock", "pyproject.toml", "README.md",
                           "src/"}


def test_wheelhouse_selection_shell_logic(tmp_path):
    """Replay the RUN step's option selection under /bin/sh with and without wheels."""
    (run,) = [a for k, a in stages(render("Dockerfile.j2"))[0] if k == "RUN"]
    prefix = run.split("python3 -m venv")[0].replace("/wheelhouse", str(tmp_path))
    script = prefix + ' printf "%s\\n" "$#" "$@"'
    empty = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    assert empty.stdout.split() == ["0"]
    (tmp_path / "README.txt").write_text("x")
    (tmp_path / "six-1.0-py3-none-any.whl").write_text("x")
    full = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    assert full.stdout.split() == ["3", "--no-index", "--find-links", str(tmp_path)]


def test_hadolint_passes_at_warning_threshold(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(render("Dockerfile.j2"))
    proc = subprocess.run(
        [extra_tool("hadolint"), "--no-color", "--failure-threshold", "warning", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- .dockerignore template ------------------------------------------------------------


def ignored(patterns: list[str], path: str) -> bool:
    """Approximation of Docker's matcher: enough for the patterns the template uses."""
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        # a pattern matching a directory excludes everything below it
        if pat.startswith("**/"):  # any contiguous run of components
            pat = pat[3:]
            spans = [(i, j) for i in range(len(parts)) for j in range(i, len(parts))]
        else:  # anchored at the context root; a matched directory covers its contents
            spans = [(0, j) for j in range(len(parts))]
        candidates = ["/".join(parts[i : j + 1]) for i, j in spans]
        if any(fnmatch.fnmatchcase(c, pat) for c in candidates):
            result = not negate
    return result


def dockerignore_patterns() -> list[str]:
    text = render("dockerignore.j2")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


@pytest.mark.parametrize(
    "path",
    [
        ".ipynb_checkpoints/x-checkpoint.ipynb",
        "src/churn_model/.ipynb_checkpoints/a.py",
        "src/churn_model/__pycache__/pipeline.cpython-311.pyc",
        "__pycache__/x.pyc",
        "src/churn_model.egg-info/PKG-INFO",
        ".venv/bin/python",
        "venv/bin/python",
        ".git/HEAD",
        "build/lib/churn_model/__init__.py",
        "dist/churn_model-0.1.0-py3-none-any.whl",
    ],
)
def test_dockerignore_excludes(path):
    assert ignored(dockerignore_patterns(), path)


@pytest.mark.parametrize(
    "path",
    [
        "wheelhouse",
        "wheelhouse/README.txt",
        "wheelhouse/numpy-2.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        "pyproject.toml",
        "README.md",
        "src/churn_model/__init__.py",
        "src/churn_model/pipeline.py",
        "src/churn_model/__main__.py",
        "Dockerfile",
    ],
)
def test_dockerignore_keeps_what_the_build_needs(path):
    assert not ignored(dockerignore_patterns(), path)


# --- helpers in nb2prod.targets.container--------------------------------------------------


def fake_tool(directory: Path, name: str, body: str = "exit 0") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def test_find_container_tool_prefers_podman(tmp_path, monkeypatch):
    podman = fake_tool(tmp_path / "a", "podman")
    docker = fake_tool(tmp_path / "b", "docker")
    monkeypatch.setenv("PATH", f"{tmp_path / 'b'}{os.pathsep}{tmp_path / 'a'}")
    assert container.find_container_tool() == str(podman)
    monkeypatch.setenv("PATH", str(tmp_path / "b"))
    assert container.find_container_tool() == str(docker)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert container.find_container_tool() is None


def test_build_image_without_tool_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(UserError) as info:
        container.build_image(tmp_path, "localhost/x:1")
    assert str(info.value) == (
        "neither podman nor docker found; install podman (apt-get install podman) or docker"
    )
    assert "\n" not in str(info.value)


def test_build_image_runs_the_tool_with_an_argument_list(tmp_path, monkeypatch):
    log = tmp_path / "argv.txt"
    fake_tool(tmp_path / "bin", "podman", f'printf "%s\\n" "$@" > "{log}"')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    ctx = tmp_path / "pkg dir"  # a space: proves no shell is involved
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\n")
    container.build_image(
        ctx, "localhost/churn:1", base_image="localhost/nb2prod-base:bookworm", network_none=True
    )
    assert log.read_text().splitlines() == [
        "build",
        "-t",
        "localhost/churn:1",
        "--build-arg",
        "BASE_IMAGE=localhost/nb2prod-base:bookworm",
        "--network",
        "none",
        str(ctx),
    ]


def test_build_image_failure_is_one_line_user_error(tmp_path, monkeypatch):
    fake_tool(
        tmp_path / "bin", "docker", 'echo "step 3/9 failed" >&2; echo "Error: boom" >&2; exit 3'
    )
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(UserError) as info:
        container.build_image(tmp_path, "t:1", quiet=True)
    message = str(info.value)
    assert "docker build failed with exit code 3: Error: boom" in message
    assert "\n" not in message


def test_build_image_missing_dockerfile(tmp_path, monkeypatch):
    fake_tool(tmp_path / "bin", "podman")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(UserError, match="no Dockerfile"):
        container.build_image(tmp_path, "t:1")


def test_ensure_wheelhouse_always_has_a_readme(tmp_path):
    wheelhouse = container.ensure_wheelhouse(tmp_path)
    assert wheelhouse == tmp_path / "wheelhouse"
    assert "--no-index" in (wheelhouse / "README.txt").read_text()
    container.ensure_wheelhouse(tmp_path)  # idempotent


def test_pip_download_command_targets_the_image_not_the_host(tmp_path):
    cmd = container.pip_download_command(tmp_path, ["pandas>=2"], python_version="3.11")
    assert cmd[1:4] == ["-m", "pip", "download"]
    assert "--only-binary=:all:" in cmd
    assert cmd[cmd.index("--python-version") + 1] == "3.11"
    platforms = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--platform"]
    assert "manylinux2014_x86_64" in platforms
    assert "manylinux_2_36_x86_64" in platforms  # Debian bookworm's glibc
    assert "manylinux_2_28_x86_64" in platforms  # e.g. numpy 2.x only ships this
    tail = cmd[cmd.index("--") + 1 :]
    assert tail == ["pandas>=2", "setuptools>=61", "wheel"]


def test_fill_wheelhouse_pip_failure_is_one_line_user_error(tmp_path):
    # an unparsable requirement makes the real pip fail before touching the network
    with pytest.raises(UserError) as info:
        container.fill_wheelhouse(tmp_path, ["not a requirement !!"], python_version="3.11")
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'wheelhouse'}: pip download failed: ")
    assert "\n" not in message
    assert (tmp_path / "wheelhouse" / "README.txt").exists()
