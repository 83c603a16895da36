"""The plugin is found through its entry point, and loading it imports no heavy library."""

from __future__ import annotations

import subprocess
import sys

from zen_core.plugins import list_plugins, new_plugin_manager
from zen_core.stack import flavors


def test_entry_point_is_listed():
    [info] = [p for p in list_plugins(new_plugin_manager()) if p.name == "gcs"]
    assert info.distribution == "zen-gcs" and info.error is None
    assert info.provides == {"artifact_stores": ["gcs"]}


def test_flavor_resolves_to_the_store():
    from zen_gcs import GCSArtifactStore

    assert flavors("artifact_store", new_plugin_manager())["gcs"] == ("gcs", GCSArtifactStore)


def test_loading_the_plugin_does_not_import_gcsfs():
    code = ("import sys, zen_core; from zen_core.plugins import get_plugin_manager, list_plugins;"
            "list_plugins(get_plugin_manager());"
            "heavy = [m for m in ('gcsfs', 'google.auth', 'google.cloud.storage') if m in sys.modules];"
            "print(heavy); sys.exit(1 if heavy else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
