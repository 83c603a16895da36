"""zen-dask registers through its entry point and loads without importing dask."""

from __future__ import annotations

from zen_core.plugins import list_plugins, new_plugin_manager
from zen_core.stack import flavors
from zen_core.testing import modules_imported_at_startup


def test_entry_point_is_listed():
    [info] = [p for p in list_plugins(new_plugin_manager()) if p.name == "dask"]
    assert info.distribution == "zen-dask" and info.error is None
    assert info.provides == {"orchestrators": ["dask"]}


def test_dask_flavor_is_available():
    from zen_dask import DaskOrchestrator

    assert flavors("orchestrator", new_plugin_manager())["dask"] == ("dask", DaskOrchestrator)


def test_loading_the_plugin_does_not_import_dask():
    assert modules_imported_at_startup(["dask", "distributed", "cloudpickle", "tornado"]) == []
