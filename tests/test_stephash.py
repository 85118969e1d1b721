"""Build-time pieces of production runs: code hashes, step settings, pins."""

from __future__ import annotations

import sys

import pytest

from nb2prod.errors import UserError
from nb2prod.notebook import load_notebook
from nb2prod.plan.build import build_plan
from nb2prod.plan.environment import (
    Environment,
    closure,
    compatible_range,
    read_environment,
)
from nb2prod.plan.records import PlanOptions
from tests.conftest import EXAMPLES, make_notebook

HELPERS = "def a():\n    return 1\n\ndef b():\n    return a() + 1\n\ndef c():\n    return 3"
CELLS = [
    ("import math", ["imports"]),
    (HELPERS, ["functions"]),
    ("x = b()", ["step:uses_b"]),
    ("y = c()", ["step:uses_c"]),
    ("z = math.pi", ["step:uses_math"]),
]


def hashes(tmp_path, cells) -> dict[str, str]:
    plan = build_plan(load_notebook(make_notebook(tmp_path / "nb.ipynb", cells)))
    return {s.name: s.code_hash for s in plan.steps}


def with_helpers(text: str):
    return [(text, tags) if tags == ["functions"] else (src, tags) for src, tags in CELLS]


def test_editing_a_helper_changes_exactly_the_steps_that_reach_it(tmp_path):
    before = hashes(tmp_path, CELLS)
    assert len(set(before.values())) == 3 and all(len(h) == 16 for h in before.values())
    after_a = hashes(tmp_path, with_helpers(HELPERS.replace("return 1", "return 5")))
    assert [k for k in before if before[k] != after_a[k]] == ["uses_b"]  # b() calls a()
    after_c = hashes(tmp_path, with_helpers(HELPERS.replace("return 3", "return 4")))
    assert [k for k in before if before[k] != after_c[k]] == ["uses_c"]
    imports = [("import math  # noqa", ["imports"]) if t == ["imports"] else (s, t)
               for s, t in CELLS]
    assert hashes(tmp_path, imports) == before  # a comment is not code
    renamed = [("import cmath as math", ["imports"]) if t == ["imports"] else (s, t)
               for s, t in CELLS]
    changed = hashes(tmp_path, renamed)
    assert [k for k in before if before[k] != changed[k]] == ["uses_math"]


def test_settings_are_checked_and_read(tmp_path):
    cells = [("x = 1", ["step:a", "retry:2", "secret:db-creds:password:DB_PASSWORD",
                        "label:team:ml", "annotation:owner:https://example.com/x"])]
    plan = build_plan(load_notebook(make_notebook(tmp_path / "nb.ipynb", cells)))
    from nb2prod.plan.stepsettings import plan_settings

    (settings,) = plan_settings(plan).values()
    assert settings.retry == 2 and settings.labels == (("team", "ml"),)
    assert settings.annotations == (("owner", "https://example.com/x"),)  # colons kept
    assert [(s.name, s.key, s.env) for s in settings.secrets] == [
        ("db-creds", "password", "DB_PASSWORD")]
    bad = [("x = 1", ["step:a", "secret:db-creds:DB_PASSWORD"])]
    plan = build_plan(load_notebook(make_notebook(tmp_path / "bad.ipynb", bad)))
    (problem,) = [p for p in plan.problems if p.code == "NB617"]
    assert (problem.cell, problem.severity) == (1, "error")
    assert problem.message == ("tag `secret:db-creds:DB_PASSWORD`: a secret tag is "
                               "secret:SECRET:KEY:ENV")
    assert plan_settings(plan)["a"].secrets == ()  # render reads a checked plan: no raise


def test_credential_looking_parameter_default_is_an_error(tmp_path):
    cells = [("api_key = 'sk-live-4f9a8b7c6d5e4f3a2b1cQ9'\nn = 3", ["parameters"]),
             ("x = n", ["step:a"])]
    plan = build_plan(load_notebook(make_notebook(tmp_path / "nb.ipynb", cells)))
    found = [(p.code, p.cell, p.line, p.severity) for p in plan.problems]
    assert ("NB624", 1, 1, "error") in found and not any(p[2] == 2 for p in found)
    from nb2prod.cli import main

    notebook = tmp_path / "nb.ipynb"
    assert main(["build", str(notebook), "-o", str(tmp_path / "out"), "-q"]) == 1
    assert not (tmp_path / "out").exists()  # the credential was not written anywhere


@pytest.mark.parametrize("version, expected", [("1.9.2", ">=1.9,<2"), ("2.4", ">=2.4,<3"),
                                               ("0.14.1", ">=0.14,<0.15"), ("3", ">=3.0,<4"),
                                               ("2026.6", ">=2026.6,<2027")])
def test_compatible_ranges(version, expected):
    assert compatible_range(version) == expected


def test_closure_follows_markers_and_extras():
    env = Environment("3.11.0", {
        "a": {"name": "A", "version": "1.0", "requires": ["b>=1", "c; python_version < '3'",
                                                          "d; extra == 'x'"]},
        "b": {"name": "b", "version": "2.0", "requires": ["e[x]"]},
        "c": {"name": "c", "version": "1.0", "requires": []},
        "d": {"name": "d", "version": "1.0", "requires": []},
        "e": {"name": "e", "version": "1.0", "requires": ["d; extra == 'x'"]},
    }, {}, {"python_version": "3.11", "python_full_version": "3.11.0", "os_name": "posix",
            "sys_platform": "linux", "platform_machine": "x86_64",
            "platform_python_implementation": "CPython", "platform_release": "",
            "platform_system": "Linux", "platform_version": "", "implementation_name":
            "cpython", "implementation_version": "3.11.0"})
    assert closure(env, ["a"]) == [("A", "1.0"), ("b", "2.0"), ("d", "1.0"), ("e", "1.0")]


def test_plan_pins_from_this_interpreter(tmp_path):
    env = read_environment(sys.executable)
    plan = build_plan(load_notebook(EXAMPLES / "churn.ipynb"), PlanOptions(environment=env))
    from importlib.metadata import version

    sk = version("scikit-learn")
    assert f"scikit-learn{compatible_range(sk)}" in plan.dependencies
    assert ("scikit-learn", sk) in plan.lock and any(n == "scipy" for n, _ in plan.lock)
    again = build_plan(load_notebook(EXAMPLES / "churn.ipynb"), PlanOptions(environment=env))
    assert again == plan


def test_unreadable_interpreter_is_a_usage_error(tmp_path):
    with pytest.raises(UserError) as caught:
        read_environment(tmp_path / "no-python")
    assert caught.value.exit_code == 2


def test_lock_hashes_only_when_every_locked_wheel_is_there(tmp_path):
    import hashlib

    from nb2prod.targets.container import lock_hashes

    wheels = []
    for name in ("scikit_learn-1.9.1-cp311-cp311-manylinux_2_17_x86_64.whl",
                 "numpy-2.4.6-cp311-cp311-manylinux_2_17_x86_64.whl",
                 "numpy-2.4.5-cp311-cp311-manylinux_2_17_x86_64.whl"):
        (tmp_path / name).write_bytes(name.encode())
        wheels.append(tmp_path / name)
    lock = [("numpy", "2.4.6"), ("scikit-learn", "1.9.1")]
    hashes = lock_hashes(wheels, lock)
    assert hashes == {"numpy": [hashlib.sha256(wheels[1].name.encode()).hexdigest()],
                      "scikit-learn": [hashlib.sha256(wheels[0].name.encode()).hexdigest()]}
    assert lock_hashes(wheels, [*lock, ("scipy", "1.17.1")]) == {}  # pip wants all or none


def test_requirements_lock_renders_pins_and_hashes():
    from nb2prod.render.templates import render

    env = read_environment(sys.executable)
    plan = build_plan(load_notebook(EXAMPLES / "churn.ipynb"), PlanOptions(environment=env))
    plain = render(plan)["requirements.lock"]
    assert all(f"{n}=={v}" in plain.splitlines() for n, v in plan.lock)
    hashes = {n.lower(): ["ab" * 32] for n, _ in plan.lock}
    hashed = render(plan, wheel_hashes=hashes)["requirements.lock"]
    assert hashed.count("--hash=sha256:" + "ab" * 32) == len(plan.lock)
    unpinned = render(build_plan(load_notebook(EXAMPLES / "churn.ipynb")))["requirements.lock"]
    assert "==" not in unpinned and "--python" in unpinned
