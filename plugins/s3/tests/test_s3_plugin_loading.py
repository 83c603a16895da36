"""The plugin is found through its entry point, and loading it imports no heavy library."""

from __future__ import annotations

import subprocess
import sys

from zen_core.plugins import list_plugins, new_plugin_manager
from zen_core.stack import flavors


def test_entry_point_is_listed():
    [info] = [p for p in list_plugins(new_plugin_manager()) if p.name == "s3"]
    assert info.distribution == "zen-s3" and info.error is None
    assert info.provides == {"artifact_stores": ["s3"]}


def test_flavor_resolves_to_the_store():
    from zen_s3 import S3ArtifactStore

    assert flavors("artifact_store", new_plugin_manager())["s3"] == ("s3", S3ArtifactStore)


def test_loading_the_plugin_does_not_import_s3fs():
    code = ("import sys, zen_core; from zen_core.plugins import get_plugin_manager, list_plugins;"
            "list_plugins(get_plugin_manager());"
            "heavy = [m for m in ('s3fs', 'botocore', 'aiobotocore', 'boto3') if m in sys.modules];"
            "print(heavy); sys.exit(1 if heavy else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
