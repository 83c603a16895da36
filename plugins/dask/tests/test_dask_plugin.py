"""zen-dask registers through its entry point and loads without importing dask."""

from __future__ import annotations

import json
import subprocess
import sys

from zen_core.plugins import list_plugins, new_plugin_manager
from zen_core.stack import flavors


def test_entry_point_is_listed():
    [info] = [p for p in list_plugins(new_plugin_manager()) if p.name == "dask"]
    assert info.distribution == "zen-dask" and info.error is None
    assert info.provides == {"orchestrators": ["dask"]}


def test_dask_flavor_is_available():
    from zen_dask import DaskOrchestrator

    assert flavors("orchestrator", new_plugin_manager())["dask"] == ("dask", DaskOrchestrator)


def test_loading_the_plugin_does_not_import_dask():
    code = (
        "import json, sys, zen_core\n"
        "from zen_core.plugins import get_plugin_manager, list_plugins\n"
        "from zen_core.stack import flavors\n"
        "list_plugins(get_plugin_manager()); flavors('orchestrator')\n"
        "print(json.dumps(sorted(m for m in sys.modules\n"
        "      if m.split('.')[0] in ('dask', 'distributed', 'cloudpickle', 'tornado'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == []
