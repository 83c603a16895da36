"""The plugin manager: built-ins through the same hooks, broken plugins isolated, conflicts."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from zen_core.errors import MaterializerConflictError
from zen_core.materializers import Materializer
from zen_core.materializers.builtin import BuiltInMaterializer
from zen_core.materializers.registry import MaterializerRegistry
from zen_core.plugins import BUILTIN_PLUGINS, hookimpl, list_plugins, new_plugin_manager
from zen_core.stack import flavors


@pytest.fixture
def pm():
    return new_plugin_manager(entry_points=False)


def test_builtins_register_through_the_hooks(pm):
    assert [name for name, _ in pm.list_name_plugin()] == list(BUILTIN_PLUGINS)
    assert set(flavors("artifact_store", pm)) == {"local"}
    assert set(flavors("metadata_store", pm)) == {"sqlite"}
    assert set(flavors("orchestrator", pm)) == {"local"}
    registry = MaterializerRegistry.from_plugins(pm)
    assert registry.for_type(int) is BuiltInMaterializer
    assert registry.for_type(bool) is BuiltInMaterializer


def test_two_materializers_for_one_type_fail(pm):
    class IntAgain(Materializer):
        ASSOCIATED_TYPES = (int,)

    class Throwaway:
        @hookimpl
        def zen_materializers(self):
            return [IntAgain]

    pm.register(Throwaway(), name="throwaway")
    registry = MaterializerRegistry.from_plugins(pm)
    with pytest.raises(MaterializerConflictError) as info:
        registry.for_type(int)
    message = str(info.value)
    assert "builtins.int" in message and "IntAgain" in message and "BuiltInMaterializer" in message
    assert "[materializers]" in message and "output_materializers" in message
    assert registry.for_type(str) is BuiltInMaterializer  # other types are unaffected
    chosen = MaterializerRegistry.from_plugins(
        pm, {"builtins.int": f"{IntAgain.__module__}.{IntAgain.__qualname__}"})
    assert chosen.for_type(int) is IntAgain


def test_most_specific_class_in_the_mro_wins(pm):
    class Base:
        pass

    class Child(Base):
        pass

    class BaseMat(Materializer):
        ASSOCIATED_TYPES = (Base,)

    class ChildMat(Materializer):
        ASSOCIATED_TYPES = (Child,)

    class Plugin:
        @hookimpl
        def zen_materializers(self):
            return [BaseMat, ChildMat]

    pm.register(Plugin(), name="mro")
    registry = MaterializerRegistry.from_plugins(pm)
    assert registry.for_type(Child) is ChildMat
    assert registry.for_type(type("GrandChild", (Child,), {})) is ChildMat
    assert registry.for_type(Base) is BaseMat


def test_types_claimed_by_name_resolve_once_imported(pm):
    class DecimalMat(Materializer):
        ASSOCIATED_TYPES = ("decimal.Decimal",)

    class Plugin:
        @hookimpl
        def zen_materializers(self):
            return [DecimalMat]

    pm.register(Plugin(), name="lazy")
    import decimal

    assert MaterializerRegistry.from_plugins(pm).for_type(decimal.Decimal) is DecimalMat
    assert DecimalMat.can_handle_type(decimal.Decimal)


def test_misspelled_hook_fails_naming_it(pm):
    from pluggy import PluginValidationError

    class Typo:
        @hookimpl
        def zen_materialisers(self):
            return []

    pm.register(Typo(), name="typo")
    with pytest.raises(PluginValidationError, match="zen_materialisers"):
        pm.check_pending()


def test_a_broken_plugin_is_reported_and_the_rest_keep_working(tmp_path):
    dist = tmp_path / "zen_broken-1.2.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: zen-broken\nVersion: 1.2\n")
    (dist / "entry_points.txt").write_text("[zen_core]\nbroken = zen_broken_mod\n")
    (tmp_path / "zen_broken_mod.py").write_text("raise ImportError('needs libfoo')\n")
    typo = tmp_path / "zen_typo-0.1.dist-info"
    typo.mkdir()
    (typo / "METADATA").write_text("Metadata-Version: 2.1\nName: zen-typo\nVersion: 0.1\n")
    (typo / "entry_points.txt").write_text("[zen_core]\ntypo = zen_typo_mod\n")
    (tmp_path / "zen_typo_mod.py").write_text(
        "from zen_core.plugins import hookimpl\n"
        "@hookimpl\ndef zen_materialisers():\n    return []\n")
    code = textwrap.dedent(f"""
        import sys, json, warnings
        sys.path.insert(0, {str(tmp_path)!r})
        from zen_core.plugins import list_plugins, new_plugin_manager
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pm = new_plugin_manager()
        print(json.dumps([str(w.message) for w in caught]))
        print(json.dumps([[i.name, i.distribution, i.error] for i in list_plugins(pm)]))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    warned, listing = out.stdout.strip().splitlines()
    assert "plugin 'broken' from distribution zen-broken 1.2 failed to load" in warned
    assert "needs libfoo" in warned and "pip install -U zen-broken" in warned
    assert "zen_core.artifact_stores.local" in listing
    rows = __import__("json").loads(listing)
    assert ["broken", "zen-broken", "needs libfoo"] in rows
    assert any(r[0] == "typo" and "zen_materialisers" in r[2] for r in rows)
    assert "zen_core.artifact_stores.local" in listing


def test_list_plugins_shows_builtins_with_what_they_provide(pm):
    infos = {i.name: i for i in list_plugins(pm)}
    local = infos["zen_core.artifact_stores.local"]
    assert local.builtin and local.distribution == "zen-artifacts"
    assert local.provides == {"artifact_stores": ["local"]}
    assert "BuiltInMaterializer" in infos["zen_core.materializers.builtin"].provides["materializers"]


def test_importing_the_api_is_light():
    code = ("import sys; from zen_core import step, pipeline, ArtifactConfig; "
            "print(sorted(m for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {m.split(".")[0] for m in eval(out.stdout)}
    heavy = {"attrs", "cattrs", "fsspec", "structlog", "pluggy", "xxhash", "click", "sqlite3",
             "numpy", "pandas", "torch", "sklearn", "inspect", "json"}
    assert loaded & heavy == set()
