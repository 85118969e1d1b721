"""Shared fixtures for the generated tests of sales-etl."""

from __future__ import annotations

import pytest

from sales_etl.pipeline import Params, run_steps


@pytest.fixture(scope="session")
def values():
    """The values the pipeline hands to metrics and tests, from one default run."""
    return run_steps(Params())
