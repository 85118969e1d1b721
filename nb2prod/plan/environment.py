"""The Python environment a package is built for: which distribution provides each
import, at which version, and what those distributions require.

`read_environment(python)` runs a small probe in that interpreter (it need not
be ours: a notebook's kernel often lives in another venv) and returns what
`importlib.metadata` says there. `pins` turns it into the package's
dependencies: compatible ranges for pyproject.toml, exact versions of the whole
requirement closure for requirements.lock. Nothing here writes files.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from nb2prod.errors import UserError

PROBE = r"""
import importlib.metadata as md, json, os, platform, sys
dists = {}
for d in md.distributions():
    name = d.metadata["Name"]
    if name:
        key = "-".join(name.replace("_", "-").replace(".", "-").lower().split("-"))
        dists.setdefault(key, {"name": name, "version": d.version,
                               "requires": list(d.requires or [])})
packages = {k: sorted(set(v)) for k, v in md.packages_distributions().items()}
impl = sys.implementation
version = "{0.major}.{0.minor}.{0.micro}".format(impl.version)
markers = {
    "implementation_name": impl.name, "implementation_version": version,
    "os_name": os.name, "platform_machine": platform.machine(),
    "platform_release": platform.release(), "platform_system": platform.system(),
    "platform_version": platform.version(), "python_full_version": platform.python_version(),
    "platform_python_implementation": platform.python_implementation(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}
print(json.dumps({"version": platform.python_version(), "dists": dists,
                  "packages": packages, "markers": markers}))
"""


@dataclass(frozen=True)
class Environment:
    python_version: str  # e.g. 3.11.9
    dists: dict = field(compare=False)  # normalized name -> {name, version, requires}
    packages: dict = field(compare=False)  # import name -> distribution names
    markers: dict = field(compare=False)  # PEP 508 marker environment


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_environment(python: Path | str) -> Environment:
    """What is installed for `python` (one subprocess, ~0.1 s). A `.json` file instead
    of an interpreter is a recorded probe output (`python -c "$PROBE" > env.json`):
    reproducible builds, e.g. the golden test trees."""
    if str(python).endswith(".json"):
        try:
            data = json.loads(Path(python).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot read the environment snapshot: {exc}", path=str(python),
                            exit_code=2) from None
        return Environment(data["version"], data["dists"], data["packages"], data["markers"])
    try:
        done = subprocess.run([str(python), "-I", "-c", PROBE], capture_output=True,
                              text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UserError(f"cannot run the interpreter: {exc}", path=str(python),
                        exit_code=2, hint="--python names the environment to read") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"cannot read its installed packages: {last}", path=str(python),
                        exit_code=2, hint="--python needs a Python 3.10+ interpreter")
    data = json.loads(done.stdout)
    return Environment(data["version"], data["dists"], data["packages"], data["markers"])


def kernel_python(kernel_name: str | None) -> Path | None:
    """The interpreter of the notebook's kernel, when its kernelspec exists here."""
    if not kernel_name:
        return None
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:
        return None
    try:
        argv = KernelSpecManager().get_kernel_spec(kernel_name).argv
    except (NoSuchKernel, OSError, ValueError):
        return None
    path = Path(argv[0]) if argv else None
    return path if path is not None and path.is_absolute() and path.is_file() else None


def choose_python(python: Path | None, kernel_name: str | None) -> Path:
    """--python, else the kernel's interpreter, else the one running nb2prod."""
    return python or kernel_python(kernel_name) or Path(sys.executable)


def compatible_range(version: str) -> str:
    """`1.9.2` -> `>=1.9,<2`; `0.14.1` -> `>=0.14,<0.15` (a 0.x minor may break)."""
    numbers = [int(n) for n in re.findall(r"\d+", version.split("+")[0])[:2]] or [0]
    major = numbers[0]
    minor = numbers[1] if len(numbers) > 1 else 0
    if major == 0:
        return f">=0.{minor},<0.{minor + 1}"
    return f">={major}.{minor},<{major + 1}"


def closure(env: Environment, roots: list[str]) -> list[tuple[str, str]]:
    """(name, version) of the installed distributions `roots` need, transitively."""
    from packaging.requirements import InvalidRequirement, Requirement

    seen: dict[str, set[str]] = {}
    pending = [(normalize(r), frozenset()) for r in roots]
    while pending:
        key, extras = pending.pop()
        if key not in env.dists or (key in seen and extras <= seen[key]):
            continue
        seen.setdefault(key, set()).update(extras)
        for text in env.dists[key]["requires"]:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            wanted = [""] + sorted(seen[key])
            if req.marker and not any(req.marker.evaluate({**env.markers, "extra": e})
                                      for e in wanted):
                continue
            pending.append((normalize(req.name), frozenset(req.extras)))
    return sorted((env.dists[k]["name"], env.dists[k]["version"]) for k in seen)
