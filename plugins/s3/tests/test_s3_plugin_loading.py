"""The plugin is found through its entry point, and loading it imports no heavy library."""

from __future__ import annotations

from zen_core.plugins import list_plugins, new_plugin_manager
from zen_core.stack import flavors
from zen_core.testing import modules_imported_at_startup


def test_entry_point_is_listed():
    [info] = [p for p in list_plugins(new_plugin_manager()) if p.name == "s3"]
    assert info.distribution == "zen-s3" and info.error is None
    assert info.provides == {"artifact_stores": ["s3"]}


def test_flavor_resolves_to_the_store():
    from zen_s3 import S3ArtifactStore

    assert flavors("artifact_store", new_plugin_manager())["s3"] == ("s3", S3ArtifactStore)


def test_loading_the_plugin_does_not_import_s3fs():
    assert modules_imported_at_startup(["s3fs", "botocore", "aiobotocore", "boto3"]) == []
