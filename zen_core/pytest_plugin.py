"""zen_core's pytest plugin: readable contract failures and isolation fixtures.

pytest loads it in every test run where zen-artifacts is installed (entry
point ``pytest11``: ``zen_core``), so it stays light: importing it imports
pytest and nothing of zen_core beyond its lazy top-level package, and it
adds only ``zen_``-prefixed fixtures that a test asks for by name (none is
autouse). Turn it off with ``pytest -p no:zen_core``.

It lives outside :mod:`zen_core.testing` because it must register that
package for assertion rewriting before anything imports it: a failing
contract check then shows the compared values, not a bare
``AssertionError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from zen_core.plugins import ZenPluginManager
    from zen_core.stack import Stack

pytest.register_assert_rewrite("zen_core.testing")


@pytest.fixture
def zen_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A throwaway ``ZEN_HOME`` for this test (not created until used), with no
    ``ZEN_STACK`` and no ``zen.toml`` in reach; live components are closed afterwards."""
    from zen_core.stack import close_all
    from zen_core.testing.isolation import isolate_zen_home

    yield isolate_zen_home(monkeypatch, tmp_path)
    close_all()


@pytest.fixture
def zen_stack(zen_home: Path) -> Callable[..., Stack]:
    """Make a stack the active one in this test's ``ZEN_HOME`` and get it live::

        stack = zen_stack(artifact_store={"flavor": "memory", "path": "memory://zen"})

    Keyword arguments are the component tables (``artifact_store=``,
    ``metadata_store=``, ``orchestrator=``, each with its ``flavor``); those left
    out are the default stack's. ``name=`` names the stack (default ``"test"``).
    """
    from zen_core.config import load_config
    from zen_core.stack import get_stack
    from zen_core.testing.isolation import write_stack

    def make(name: str = "test", **components: dict[str, Any]) -> Stack:
        write_stack(zen_home, name, **components)
        return get_stack(load_config())

    return make


@pytest.fixture
def zen_plugins() -> Iterator[ZenPluginManager]:
    """A fresh plugin manager with only the built-ins, in use for this test: register the
    plugins under test on it (``zen_plugins.register(module, name="mine")``)."""
    from zen_core.plugins import new_plugin_manager, use

    with use(new_plugin_manager(entry_points=False)) as pm:
        yield pm
