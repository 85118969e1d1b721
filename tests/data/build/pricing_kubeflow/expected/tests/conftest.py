"""Shared fixtures for the generated tests of pricing."""

from __future__ import annotations

import pytest

from pricing.pipeline import Params, run_steps


@pytest.fixture(scope="session")
def values():
    """The values the pipeline hands to metrics and tests, from one default run."""
    return run_steps(Params())
