"""Every worked example under examples/ is a complete package whose entry point works.

The examples need not be installed: each module is registered by hand in a fresh
plugin manager, exactly what its entry point makes zen_core do.
"""

from __future__ import annotations

import importlib
import sys
import tomllib
from pathlib import Path

import pytest

from zen_core.plugins import list_plugins, new_plugin_manager

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PROVIDES = {  # what each example's plugin module provides, as zen plugins list shows it
    "zen_fraction": {"materializers": ["FractionMaterializer"]},
    "zen_fsspec": {"artifact_stores": ["fsspec"]},
    "zen_threads": {"orchestrators": ["threads"]},
}


def test_every_example_is_checked_here():
    assert sorted(p.parent.name for p in EXAMPLES.glob("*/pyproject.toml")) == sorted(PROVIDES)


@pytest.fixture(params=sorted(PROVIDES))
def example(request):
    folder = EXAMPLES / request.param
    if str(folder) not in sys.path:
        sys.path.append(str(folder))  # an installed copy (earlier on the path) wins
    return folder


def test_pyproject_declares_distribution_entry_point_and_test_extra(example):
    project = tomllib.loads((example / "pyproject.toml").read_text())["project"]
    short = example.name.removeprefix("zen_")
    assert project["name"] == f"zen-{short}"
    assert project["entry-points"]["zen_core"] == {short: example.name}
    assert any(dep.startswith("zen-artifacts") for dep in project["dependencies"])
    assert any(dep.startswith("pytest") for dep in project["optional-dependencies"]["test"])
    assert (example / "README.md").is_file() and list((example / "tests").glob("test_*.py"))


def test_registered_module_is_listed_with_what_it_provides(example):
    module = importlib.import_module(example.name)
    pm = new_plugin_manager(entry_points=False)
    short = example.name.removeprefix("zen_")
    pm.register(module, name=short)
    [info] = [i for i in list_plugins(pm) if i.name == short]
    assert info.provides == PROVIDES[example.name] and not info.builtin
