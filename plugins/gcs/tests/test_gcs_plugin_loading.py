"""The plugin is found through its entry point, and loading it imports no heavy library."""

from __future__ import annotations

from zen_core.plugins import list_plugins, new_plugin_manager
from zen_core.stack import flavors
from zen_core.testing import modules_imported_at_startup


def test_entry_point_is_listed():
    [info] = [p for p in list_plugins(new_plugin_manager()) if p.name == "gcs"]
    assert info.distribution == "zen-gcs" and info.error is None
    assert info.provides == {"artifact_stores": ["gcs"]}


def test_flavor_resolves_to_the_store():
    from zen_gcs import GCSArtifactStore

    assert flavors("artifact_store", new_plugin_manager())["gcs"] == ("gcs", GCSArtifactStore)


def test_loading_the_plugin_does_not_import_gcsfs():
    assert modules_imported_at_startup(["gcsfs", "google.auth", "google.cloud.storage"]) == []
