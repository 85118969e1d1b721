"""Shared fixtures for the generated tests of loans."""

from __future__ import annotations

import pytest

from loans.pipeline import Params, notebook_display, run_steps


@pytest.fixture(scope="session")
def values():
    """The values the pipeline hands to metrics and tests, from one default run."""
    notebook_display()  # values print as they did in the notebook
    return run_steps(Params())
