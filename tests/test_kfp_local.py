"""`runtime/kfp_local.py`: KFP's local runner output, summarised (issue 24 item 5).

The transcript below is what kfp 2.x's `kfp.local` writes to stdout (timestamps,
colours, the executor log indented by four spaces); tests/e2e/test_kubeflow.py
runs the real runner.
"""

from __future__ import annotations

import io
import sys
import warnings

import pytest

from nb2prod.runtime import kfp_local

CYAN, GREEN, RED, RESET = "\x1b[96m", "\x1b[92m", "\x1b[91m", "\x1b[0m"


def kfp_says(text: str) -> None:
    print(f"17:22:22.531 - INFO - {text}")


def task(name: str, status: str, output: list[str]) -> None:
    kfp_says(f"Executing task {CYAN}'{name}'{RESET}")
    kfp_says("Streamed logs:\n")
    for line in output:
        print(f"    {line}")
    print("\n")
    colour = GREEN if status == "SUCCESS" else RED
    kfp_says(f"Task {CYAN}'{name}'{RESET} finished with status {colour}{status}{RESET}")
    print("-" * 80)


def a_run(fail: bool = False):
    def call():
        kfp_says(f"Running pipeline: \x1b[95m'iris'{RESET}")
        for name in ("load-data", "train"):
            warnings.warn(f"Task {name!r}: settings ['display_name'] have no effect",
                          stacklevel=1)
            warnings.warn("custom or non-Python base image", RuntimeWarning, stacklevel=1)
            failed = fail and name == "train"
            task(name, "FAILURE" if failed else "SUCCESS",
                 ["[KFP Executor 2026 INFO]: Got executor_input:", "{", '    "inputs": {}', "}"]
                 + (["Traceback (most recent call last):", "ValueError: C must be > 0"]
                    if failed else ["train: (105, 4)"]))
        if fail:
            raise RuntimeError(f"Pipeline \x1b[95m'iris'{RESET} finished with status "
                               f"{RED}FAILURE{RESET}. Inner task failed: {CYAN}'train'{RESET}.")
        kfp_says(f"Pipeline \x1b[95m'iris'{RESET} finished with status {GREEN}SUCCESS{RESET}")
        return "outputs"
    return call


def test_a_line_per_task_and_each_warning_once():
    out = io.StringIO()
    stdout = sys.stdout
    assert kfp_local.run(a_run(), out=out) == "outputs"
    assert sys.stdout is stdout
    lines = out.getvalue().splitlines()
    assert [line.split(" in ")[0] for line in lines] == [
        "warning: settings ['display_name'] have no effect",
        "warning: custom or non-Python base image",
        "task load-data: SUCCESS", "task train: SUCCESS", "pipeline iris: SUCCESS"]
    assert lines[-1].endswith("(2 tasks)")


def test_a_failed_task_shows_its_last_lines_and_the_run_fails_in_one_line():
    out = io.StringIO()
    with pytest.raises(kfp_local.RunFailed) as failed:
        kfp_local.run(a_run(fail=True), out=out)
    assert str(failed.value) == ("Pipeline 'iris' finished with status FAILURE. Inner task "
                                 "failed: 'train'")
    text = out.getvalue()
    assert "task train: FAILURE in " in text and "its last output lines:" in text
    assert text.rstrip().endswith("    ValueError: C must be > 0")
    assert "\x1b" not in text


def test_verbose_passes_everything_on_without_colour_off_a_terminal():
    out = io.StringIO()
    kfp_local.run(a_run(), verbose=True, out=out)
    text = out.getvalue()
    assert "[KFP Executor 2026 INFO]: Got executor_input:" in text
    assert "Task 'train' finished with status SUCCESS" in text and "\x1b" not in text
    assert "task train: SUCCESS" not in text  # KFP's own line says it
    assert text.count("warning: custom or non-Python base image") == 1


def test_verbose_keeps_colour_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out = Terminal()
    kfp_local.run(a_run(), verbose=True, out=out)
    assert f"{GREEN}SUCCESS{RESET}" in out.getvalue()


def test_output_without_kfp_lines_is_not_a_task():
    """A line of a task's output that looks like KFP's (indented by KFP) is output."""
    out = io.StringIO()
    kfp_local.run(lambda: print("    17:22:22.531 - INFO - Executing task 'fake'"), out=out)
    assert out.getvalue() == ""
