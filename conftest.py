"""Shared by the core's tests and every plugin's: each test gets its own ZEN_HOME."""

import pytest

from zen_core.stack import close_all
from zen_core.testing import isolate_zen_home


@pytest.fixture(autouse=True)
def zen_home(monkeypatch, tmp_path):
    home = isolate_zen_home(monkeypatch, tmp_path)
    yield home
    close_all()
