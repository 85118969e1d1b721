"""Container helpers: the offline wheelhouse and building the generated image.

The generated Dockerfile (templates/Dockerfile.j2) always COPYs `wheelhouse/` from
the build context. `ensure_wheelhouse` creates that directory with a README.txt so
the COPY never fails; `fill_wheelhouse` puts wheels in it. When it holds any `*.whl`,
the Dockerfile installs with `--no-index --find-links /wheelhouse` (so
`podman build --network none` works); otherwise pip uses the package index.

Everything here shells out with argument lists (never a shell), and turns failures
into one-line `UserError`s.
"""

from __future__ import annotations

import collections
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from nb2prod.errors import UserError
from nb2prod.progress import Progress

WHEELHOUSE = "wheelhouse"

#: Build backend the generated pyproject.toml names in [build-system]; `pip wheel`
#: needs it inside the image, so an offline wheelhouse must carry it.
BUILD_REQUIREMENTS = ("setuptools>=61", "wheel")

#: Platform tags for the default base images (Debian bookworm: glibc 2.36, x86_64;
#: python:3.11-slim is bookworm too). pip only takes exact tags, so every glibc
#: from 2.36 down to manylinux2014 (2.17) and the legacy aliases are listed;
#: pure-Python wheels (`none-any`) are always accepted.
DEFAULT_PLATFORMS = tuple(f"manylinux_2_{minor}_x86_64" for minor in range(36, 16, -1)) + (
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
)

NO_TOOL_MESSAGE = (
    "neither podman nor docker found; install podman (apt-get install podman) or docker"
)

WHEELHOUSE_README = """\
This directory is the build context's wheelhouse (see the comment at the top of
../Dockerfile).

- It always exists, so the Dockerfile's `COPY wheelhouse/ ...` never fails.
- If it contains *.whl files, the image installs ONLY from here
  (pip --no-index --find-links), so `docker build --network none` works.
  Then it must hold every dependency plus the build backend (setuptools, wheel).
- If it contains no wheels, the image installs from the package index.

Fill it with `nb2prod build --wheelhouse`, which runs `pip download
--only-binary=:all:` for the image's Python version and manylinux x86_64.
"""


def ensure_wheelhouse(out_dir: Path) -> Path:
    """Create `out_dir/wheelhouse/` with its README.txt; return the directory.

    The generated package must always have this directory (the Dockerfile COPYs it).
    """
    wheelhouse = Path(out_dir) / WHEELHOUSE
    wheelhouse.mkdir(parents=True, exist_ok=True)
    readme = wheelhouse / "README.txt"
    if not readme.exists():
        readme.write_text(WHEELHOUSE_README, encoding="utf-8")
    return wheelhouse


def pip_download_command(
    dest: Path,
    requirements: Sequence[str],
    *,
    python_version: str,
    platforms: Sequence[str] = DEFAULT_PLATFORMS,
) -> list[str]:
    """The `pip download` command `fill_wheelhouse` runs (exposed for tests and logs)."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--no-input",
        "--progress-bar",
        "off",
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        python_version,
    ]
    for platform in platforms:
        cmd += ["--platform", platform]
    cmd += ["--dest", str(dest), "--", *requirements, *BUILD_REQUIREMENTS]
    return cmd


def _last_error_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    line = (errors or lines or ["(no output)"])[-1]
    return line.removeprefix("ERROR:").strip()


def fill_wheelhouse(
    out_dir: Path,
    requirements: Sequence[str],
    *,
    python_version: str,
    platforms: Sequence[str] = DEFAULT_PLATFORMS,
    progress: Progress | None = None,
) -> list[Path]:
    """Download wheels for `requirements` (+ setuptools, wheel) into out_dir/wheelhouse.

    Wheels are chosen for the image, not the host: CPython `python_version`
    (e.g. "3.11") on manylinux x86_64 (`platforms`), binary wheels only, with all
    transitive dependencies. Returns every wheel now in the wheelhouse, sorted.
    Raises UserError (one line) when pip fails, e.g. a requirement has no wheel
    for that platform or the index is unreachable. `progress` hears the start,
    each distribution pip collects and a summary.
    """
    wheelhouse = ensure_wheelhouse(out_dir)
    cmd = pip_download_command(
        wheelhouse, requirements, python_version=python_version, platforms=platforms
    )
    started = time.monotonic()
    try:
        if progress is None:
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            code, output = proc.returncode, proc.stderr or proc.stdout
        else:
            progress.say(f"downloading the wheels of {len(requirements)} requirement(s) "
                         f"and their dependencies into {wheelhouse} (pip download)")
            code, output = _download_watched(cmd, progress)
    except OSError as exc:  # the interpreter itself could not be started
        raise UserError(f"could not run pip: {exc}", path=wheelhouse) from exc
    if code != 0:
        reason = _last_error_line(output)
        raise UserError(
            f"pip download failed: {reason}",
            path=wheelhouse,
            hint=(
                f"the wheelhouse needs binary wheels for CPython {python_version} on "
                "manylinux x86_64 and a reachable package index"
            ),
        )
    wheels = sorted(wheelhouse.glob("*.whl"))
    if progress is not None:
        megabytes = sum(w.stat().st_size for w in wheels) / 1e6
        progress.say(f"{len(wheels)} wheel(s) ({megabytes:.0f} MB) in {wheelhouse}, "
                     f"downloaded in {_took(time.monotonic() - started)}")
    return wheels


PIP_COLLECTING = re.compile(r"Collecting (?P<what>\S+)")
"""pip's line as it starts on a distribution."""


def _download_watched(cmd: list[str], progress: Progress) -> tuple[int, str]:
    """Run pip, telling `progress` each distribution it collects; (exit code, output)."""
    output: list[str] = []
    try:
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              encoding="utf-8", errors="replace") as proc:
            for line in proc.stdout:
                output.append(line)
                found = PIP_COLLECTING.match(line.strip())
                if found:
                    progress.doing(f"collecting {CONTROL.sub('', found.group('what'))}")
            return proc.wait(), "".join(output)
    finally:
        progress.done()


def lock_hashes(wheels: Sequence[Path], lock: Sequence[tuple[str, str]]) -> dict:
    """Normalized name -> sorted sha256 of its locked version's wheels; {} unless every
    locked distribution has one (pip's hash-checking mode wants them all)."""
    import hashlib

    from nb2prod.plan.environment import normalize

    found: dict[str, list[str]] = {}
    for wheel in wheels:
        name, version = wheel.name.split("-")[:2]
        found.setdefault(f"{normalize(name)}=={version}", []).append(
            hashlib.sha256(wheel.read_bytes()).hexdigest())
    hashes = {normalize(n): sorted(found.get(f"{normalize(n)}=={v}", [])) for n, v in lock}
    return hashes if all(hashes.values()) else {}


def find_container_tool() -> str | None:
    """Path of `podman` or, failing that, `docker` on PATH; None if neither is there."""
    for name in ("podman", "docker"):
        found = shutil.which(name)
        if found:
            return found
    return None


def build_image(
    out_dir: Path,
    tag: str,
    *,
    base_image: str | None = None,
    network_none: bool = False,
    quiet: bool = False,
    progress: Progress | None = None,
) -> None:
    """Build out_dir/Dockerfile into image `tag` with podman (preferred) or docker.

    `base_image` overrides the Dockerfile's `ARG BASE_IMAGE`; `network_none` builds
    with `--network none` (needs a filled wheelhouse). With `progress`, the tool's
    output goes to IMAGE_LOG and `progress` hears the start, each Dockerfile step and
    a summary; else it goes to the terminal unless `quiet`, in which case it is
    captured and its last line is put in the error. podman reads `CONTAINERS_CONF`
    from the environment (see scripts/containers.conf for hosts with hybrid cgroups
    or restricted ulimits).
    """
    tool = find_container_tool()
    if tool is None:
        raise UserError(NO_TOOL_MESSAGE)
    out_dir = Path(out_dir)
    if not (out_dir / "Dockerfile").is_file():
        raise UserError("no Dockerfile to build", path=out_dir / "Dockerfile")
    name = Path(tool).name
    cmd = [tool, "build", "-t", tag]
    if base_image:
        cmd += ["--build-arg", f"BASE_IMAGE={base_image}"]
    if network_none:
        cmd += ["--network", "none"]
    cmd.append(str(out_dir))
    if progress is not None:
        _build_logged(cmd, out_dir, tag, progress)
        return
    try:
        proc = subprocess.run(cmd, capture_output=quiet, text=True, check=False)
    except OSError as exc:
        raise UserError(f"could not run {name}: {exc}") from exc
    if proc.returncode != 0:
        detail = f": {_last_error_line(proc.stderr or proc.stdout)}" if quiet else ""
        _raise_build_failed(name, proc.returncode, detail, out_dir,
                            [] if quiet else ["see the build output above"])


def _raise_build_failed(name: str, code: int, detail: str, out_dir: Path,
                        hints: list[str]) -> None:
    if name == "podman":
        hints.append(
            "on hosts with hybrid cgroups or restricted ulimits set CONTAINERS_CONF to a "
            "containers.conf with runtime=runc and lower default_ulimits"
        )
    raise UserError(
        f"{name} build failed with exit code {code}{detail}",
        path=out_dir,
        hint="; ".join(hints),
        exit_code=1,
    )


IMAGE_LOG = ".nb2prod/image-build.log"
"""Where `build --image` keeps the container tool's whole output (the package folder)."""

STEP_LINES = (
    # podman and buildah: `STEP 3/9: RUN ...`, `[1/2] STEP 3/9: ...` in a multi-stage build
    re.compile(r"(?:\[(?P<stage>\d+/\d+)\] )?STEP (?P<step>\d+/\d+): (?P<what>.*)"),
    re.compile(r"Step (?P<step>\d+/\d+) : (?P<what>.*)"),  # docker's classic builder
    # BuildKit's plain output: `#7 [build 3/9] RUN ...`
    re.compile(r"#\d+ \[(?:(?P<stage>[^\]]*?) )?(?P<step>\d+/\d+)\] (?P<what>.*)"),
)
"""A line of the tool's output that starts a Dockerfile step, by builder."""

CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x1f\x7f]")
"""ANSI sequences and control characters: never copied to the user's screen."""


def step_line(line: str) -> str | None:
    """`step 3/9 (stage build): RUN pip install ...` for a line starting a step, else None."""
    for pattern in STEP_LINES:
        found = pattern.match(line)
        if found:
            stage = found.group("stage") if "stage" in pattern.groupindex else None
            where = f" (stage {stage})" if stage else ""
            what = " ".join(CONTROL.sub("", found.group("what")).split())
            return f"step {found.group('step')}{where}: {what[:120]}"
    return None


def _took(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def _build_logged(cmd: list[str], out_dir: Path, tag: str, progress: Progress) -> None:
    """Run the build with its output in IMAGE_LOG, telling `progress` each step."""
    name, log = Path(cmd[0]).name, out_dir / IMAGE_LOG
    log.parent.mkdir(parents=True, exist_ok=True)
    progress.say(f"building image {tag} with {name} from {out_dir} (minutes the first time: "
                 f"base image and dependencies); full log: {log}")
    started, steps, last = time.monotonic(), 0, collections.deque(maxlen=40)
    current = ""
    try:
        with log.open("w", encoding="utf-8") as sink, subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                encoding="utf-8", errors="replace") as proc:
            for line in proc.stdout:
                sink.write(line)
                last.append(line)
                step = step_line(line.strip())
                if step:
                    steps, current = steps + 1, step
                    progress.doing(step)
            code = proc.wait()
    except OSError as exc:
        raise UserError(f"could not run {name}: {exc}") from exc
    finally:
        progress.done()
    if code != 0:
        at = f" at {current.split(':', 1)[0]}" if current else ""
        _raise_build_failed(name, code, f"{at}: {_last_error_line(''.join(last))}", out_dir,
                            [f"the full log is {log}"])
    progress.say(f"built image {tag} with {name} in {_took(time.monotonic() - started)} "
                 f"({steps} steps); "
                 f"run it: {name} run --rm {shlex.quote(tag)} --help")
