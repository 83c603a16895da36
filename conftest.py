"""The repository's tests: each runs in its own ZEN_HOME (the zen_core pytest plugin's
``zen_home`` fixture, made autouse here), and ``pytester`` is available."""

import pytest

pytest_plugins = ("pytester",)


@pytest.fixture(autouse=True)
def _isolated_zen_home(zen_home):
    """Every test of this repository gets a throwaway ZEN_HOME, asked for or not."""
    return zen_home
