"""Long work shows progress (issue 24 item 5): `build --image` and `tag`.

A line when the work starts, what it is doing, a summary at the end: on a
terminal a status line (rich, on stderr), elsewhere plain lines without ANSI.
The container tool is a stand-in script printing what podman and docker print,
so the tests run the real command line end to end without building an image.
"""

from __future__ import annotations

import os
import pty
import select
import stat
import subprocess
import sys

import pytest

from nb2prod.errors import UserError
from nb2prod.progress import Progress
from nb2prod.targets import container
from tests.conftest import EXAMPLES, ROOT

PODMAN_OUTPUT = """\
[1/2] STEP 1/3: FROM python:3.11-slim AS build
[1/2] STEP 2/3: COPY src/ ./src/
--> Using cache 3adbb7a4966
[1/2] STEP 3/3: RUN pip wheel --no-deps . \x1b[31mred\x1b[0m
[2/2] STEP 1/2: FROM python:3.11-slim AS runtime
[2/2] STEP 2/2: COPY --from=build /opt/venv /opt/venv
COMMIT t:1
Successfully tagged localhost/t:1
"""


def fake_tool(folder, name: str, output: str, code: int = 0):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "out.txt").write_text(output)
    path = folder / name
    path.write_text(f"#!/bin/sh\n/bin/cat '{folder / 'out.txt'}'\nexit {code}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


class Recorder:
    def __init__(self):
        self.events = []

    def progress(self):
        return Progress(say=lambda t: self.events.append(("say", t)),
                        doing=lambda t: self.events.append(("doing", t)),
                        done=lambda: self.events.append(("done",)))


@pytest.mark.parametrize("line, expected", [
    ("STEP 2/9: RUN pip install x", "step 2/9: RUN pip install x"),
    ("[1/2] STEP 3/6: COPY src/ ./src/", "step 3/6 (stage 1/2): COPY src/ ./src/"),
    ("Step 4/12 : RUN apt-get update", "step 4/12: RUN apt-get update"),
    ("#7 [build 3/9] RUN pip wheel .", "step 3/9 (stage build): RUN pip wheel ."),
    ("#7 [2/5] COPY a b", "step 2/5: COPY a b"),
    ("#7 0.512 Collecting numpy", None),
    ("--> Using cache 3adbb7a4966", None),
])
def test_step_lines_of_podman_docker_and_buildkit(line, expected):
    assert container.step_line(line) == expected


def test_an_image_build_says_start_steps_summary_and_keeps_the_log(tmp_path, monkeypatch):
    fake_tool(tmp_path / "bin", "podman", PODMAN_OUTPUT)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    recorder = Recorder()
    container.build_image(tmp_path, "t:1", progress=recorder.progress())
    kinds = [event[0] for event in recorder.events]
    assert kinds == ["say"] + ["doing"] * 5 + ["done", "say"]
    assert recorder.events[0][1].startswith("building image t:1 with podman")
    assert recorder.events[3] == ("doing", "step 3/3 (stage 1/2): RUN pip wheel --no-deps . red")
    assert "built image t:1 with podman in" in recorder.events[-1][1]
    assert "(5 steps)" in recorder.events[-1][1]
    assert (tmp_path / container.IMAGE_LOG).read_text() == PODMAN_OUTPUT


def test_a_failed_image_build_is_one_line_naming_the_step_and_the_log(tmp_path, monkeypatch):
    output = PODMAN_OUTPUT.split("[2/2]")[0] + "error: pip failed\nError: building at STEP\n"
    fake_tool(tmp_path / "bin", "docker", output, code=1)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    recorder = Recorder()
    with pytest.raises(UserError) as info:
        container.build_image(tmp_path, "t:1", progress=recorder.progress())
    message = str(info.value)
    assert "docker build failed with exit code 1 at step 3/3 (stage 1/2): Error: building" in message
    assert str(tmp_path / container.IMAGE_LOG) in message and "\n" not in message
    assert recorder.events[-1] == ("done",)  # the status line is cleared before the error


def _build_command(tmp_path):
    fake_tool(tmp_path / "bin", "podman", PODMAN_OUTPUT)
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT), "COLUMNS": "120", "TERM": "xterm"}
    argv = [sys.executable, "-m", "nb2prod", "build", str(EXAMPLES / "kale_iris.ipynb"),
            "-o", str(tmp_path / "pkg"), "--image", "localhost/iris:1"]
    return argv, env


def test_build_image_off_a_terminal_prints_plain_lines(tmp_path):
    argv, env = _build_command(tmp_path)
    run = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    assert "\x1b" not in run.stderr
    assert lines[0].startswith("nb2prod: building image localhost/iris:1 with podman")
    assert "nb2prod: step 2/3 (stage 1/2): COPY src/ ./src/" in lines
    assert lines[-1].startswith("nb2prod: built image localhost/iris:1 with podman in")
    assert "next: pip install" in run.stdout  # the build's own summary is unchanged
    quiet = subprocess.run([*argv, "-q"], capture_output=True, text=True, env=env, timeout=300)
    assert quiet.returncode == 0 and quiet.stderr == ""


def read_terminal(argv, env, cwd) -> tuple[int, str]:
    """Run `argv` with a pseudo-terminal as stdout and stderr; (exit code, what it showed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                            env=env, cwd=cwd)
    os.close(slave)
    shown = b""
    while True:
        ready, _, _ = select.select([master], [], [], 300)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return proc.wait(timeout=60), shown.decode("utf-8", "replace")


def test_build_image_on_a_terminal_shows_a_status_line(tmp_path):
    argv, env = _build_command(tmp_path)
    code, shown = read_terminal(argv, env, tmp_path)
    assert code == 0, shown
    assert "building image localhost/iris:1 with podman" in shown
    assert "built image localhost/iris:1 with podman in" in shown
    assert "\x1b[" in shown  # the status line is drawn and erased: steps leave no line
    assert "\nnb2prod: step 2/3" not in shown.replace("\r\n", "\n")


def _big_notebook(tmp_path, cells: int = 200):
    from tests.conftest import make_notebook

    source = [{"cell_type": "markdown", "source": "## Load"}, "import math\nx0 = 1"]
    source += [f"x{i} = x{i - 1} + math.sqrt({i})" for i in range(1, cells)] + [f"x{cells - 1}"]
    return make_notebook(tmp_path / "big.ipynb", source)


def test_tag_on_a_terminal_shows_its_phases(tmp_path):
    notebook = _big_notebook(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120", "TERM": "xterm"}
    argv = [sys.executable, "-m", "nb2prod", "tag", str(notebook), "--suggest"]
    code, shown = read_terminal(argv, env, tmp_path)
    assert code == 0, shown
    for phase in ("nb2prod tag: analysing 201 code cells", "nb2prod tag: laying out 201 suggestions"):
        assert phase in shown
    assert "proposed tags for" in shown  # the table still follows
    plain = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert plain.returncode == 0 and plain.stderr == ""  # off a terminal: no status at all
    assert "proposed tags for" in plain.stdout and "\x1b" not in plain.stdout


def test_tag_write_on_a_terminal_says_what_it_writes(tmp_path):
    notebook = _big_notebook(tmp_path, cells=20)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120", "TERM": "xterm"}
    code, shown = read_terminal([sys.executable, "-m", "nb2prod", "tag", str(notebook),
                                 "--write"], env, tmp_path)
    assert code == 0, shown
    assert "nb2prod tag: writing the tags of 21 cells into" in shown
    assert "tagged " in shown and "next: nb2prod build" in shown


def test_a_wheelhouse_download_says_what_pip_collects(tmp_path, monkeypatch):
    script = fake_tool(tmp_path / "bin", "pip", "Collecting numpy==2.4.6\n  Downloading numpy"
                       "-2.4.6.whl (16.8 MB)\nSaved ./numpy-2.4.6.whl\nCollecting \x1b[1mscipy\n")
    monkeypatch.setattr(container, "pip_download_command", lambda dest, *a, **k: [
        "/bin/sh", "-c", f"'{script}' && : > '{dest}/numpy-2.4.6-py3-none-any.whl'"])
    recorder = Recorder()
    wheels = container.fill_wheelhouse(tmp_path / "pkg", ["numpy==2.4.6"],
                                       python_version="3.11", progress=recorder.progress())
    assert [w.name for w in wheels] == ["numpy-2.4.6-py3-none-any.whl"]
    assert recorder.events[1:4] == [("doing", "collecting numpy==2.4.6"),
                                    ("doing", "collecting scipy"), ("done",)]
    assert recorder.events[0][1].startswith("downloading the wheels of 1 requirement(s)")
    assert recorder.events[-1][1].startswith("1 wheel(s) (0 MB) in ")


def test_a_failed_wheelhouse_download_is_one_line(tmp_path, monkeypatch):
    script = fake_tool(tmp_path / "bin", "pip", "Collecting nope==9\nERROR: No matching "
                       "distribution found for nope==9\n", code=1)
    monkeypatch.setattr(container, "pip_download_command", lambda *a, **k: [str(script)])
    recorder = Recorder()
    with pytest.raises(UserError) as info:
        container.fill_wheelhouse(tmp_path / "pkg", ["nope==9"], python_version="3.11",
                                  progress=recorder.progress())
    assert "pip download failed: No matching distribution found for nope==9" in str(info.value)
    assert recorder.events[-1] == ("done",)
