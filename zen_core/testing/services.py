"""Services tests start, and what a fresh process imports."""

from __future__ import annotations

import json
import os

import pytest


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now: for a server a test starts, or for
    an address that must refuse connections."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_unavailable(message: str) -> None:
    """Skip the test for a missing service (a server, a browser); with ``CI=true`` fail it,
    so a CI that lost a service goes red instead of quietly testing less."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: a missing service fails the tests)")
    pytest.skip(message)




_STARTUP_SCRIPT = """
import json, sys
import click
import zen_core
from zen_core.materializers.registry import get_registry
from zen_core.plugins import get_plugin_manager, list_plugins
from zen_core.components import KIND_NAMES
from zen_core.stack import flavors

pm = get_plugin_manager()
list_plugins(pm)
get_registry().for_type(int)
for kind in KIND_NAMES:
    flavors(kind, pm)
pm.hook.zen_register_commands(cli=click.Group())
for name in sys.argv[2:]:
    __import__(name)
print(json.dumps(sorted({p for p in json.loads(sys.argv[1]) for m in sys.modules
                         if m == p or m.startswith(p + ".")})))
"""


def modules_imported_at_startup(modules: list[str], also_import: tuple[str, ...] = ()
                                ) -> list[str]:
    """Which of ``modules`` (or of their submodules) a fresh process has imported after doing
    what every zen_core process does at start (load the plugins, list them, build the
    materializer registry, the flavors and the CLI commands) and importing
    ``also_import``: a plugin's heavy library must not be among them."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _STARTUP_SCRIPT, json.dumps(modules), *also_import],
        capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)
