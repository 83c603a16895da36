"""The plugin manager: built-ins through the same hooks, broken plugins isolated, conflicts."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid

import pytest

from zen_core import Client, load_artifact, pipeline, save_artifact, step
from zen_core.errors import MaterializerConflictError
from zen_core.materializers import Materializer
from zen_core.materializers.builtin import BuiltInMaterializer
from zen_core.materializers.registry import MaterializerRegistry
from zen_core.plugins import (
    BUILTIN_PLUGINS,
    ZenPluginManager,
    collect,
    hookimpl,
    hookspec,
    list_plugins,
    new_plugin_manager,
    use,
)
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
    assert ["broken", "zen-broken", "ImportError: needs libfoo"] in rows
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


# -- a plugin that fails inside a hook -------------------------------------------------------


def fake_distribution(folder, monkeypatch, *, dist: str, version: str, entry_point: str,
                      source: str) -> str:
    """Install a one-module plugin distribution on ``sys.path`` for this test; its module name."""
    module = f"{dist.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
    info = folder / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[zen_core]\n{entry_point} = {module}\n")
    (folder / f"{module}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(folder))
    return module


@step
def double(x: int) -> int:
    return 2 * x


@step
def explode(x: int) -> int:
    raise ValueError(f"step cannot take {x}")


@pipeline
def doubling():
    double(double(x=3))


@pipeline
def exploding():
    explode(double(x=1))


PROVIDER_FAILURES = {
    "zen_materializers": "def zen_materializers():\n    raise RuntimeError('no materializers today')",
    "zen_artifact_stores": "def zen_artifact_stores():\n    raise RuntimeError('no stores today')",
    "zen_metadata_stores": "def zen_metadata_stores():\n    raise RuntimeError('no stores today')",
    "zen_orchestrators": "def zen_orchestrators():\n    yield from ()\n    raise RuntimeError('no orchestrators today')",
    "zen_config_sections": "def zen_config_sections():\n    raise RuntimeError('no sections today')",
    "zen_register_commands": "def zen_register_commands(cli):\n    raise RuntimeError('no commands today')",
}
EVENT_FAILURES = {
    "zen_before_step_run": "def zen_before_step_run(step_run):\n    raise RuntimeError('before')",
    "zen_after_step_run": "def zen_after_step_run(step_run):\n    raise RuntimeError('after')",
    "zen_after_artifact_saved":
        "def zen_after_artifact_saved(artifact_version):\n    raise RuntimeError('saved')",
    "zen_on_step_error": "def zen_on_step_error(step_run, exception):\n    raise RuntimeError('error')",
}


def _plugin_source(hook_source: str) -> str:
    return "from zen_core.plugins import hookimpl\n\n@hookimpl\n" + hook_source + "\n"


def _everything_unaffected_still_works(zen_home):
    """zen plugins list, zen stack describe, a pipeline, a load and a failing step behave."""
    from click.testing import CliRunner

    from zen_core.cli import _register_plugin_commands, cli

    _register_plugin_commands()
    runner = CliRunner()
    listing = runner.invoke(cli, ["plugins", "list"])
    assert listing.exit_code == 0, listing.output
    assert "zen_core.orchestrators.local" in listing.output
    listing_json = runner.invoke(cli, ["plugins", "list", "--json"])
    assert listing_json.exit_code == 0, listing_json.output
    described = runner.invoke(cli, ["stack", "describe"])
    assert described.exit_code == 0 and "sqlite" in described.output, described.output
    run = doubling()
    assert run.steps["double_2"].outputs["output"].load() == 12
    assert doubling().steps["double_2"].status == "cached"
    save_artifact(7, "seven")
    assert load_artifact("seven") == 7
    with pytest.raises(ValueError, match="step cannot take 2"):
        exploding()
    return json.loads(listing_json.stdout)


@pytest.mark.parametrize("hook", sorted(PROVIDER_FAILURES))
def test_a_provider_hook_that_raises_fails_only_its_plugin(hook, tmp_path, monkeypatch, zen_home):
    fake_distribution(tmp_path / "site", monkeypatch, dist="zen-flaky", version="2.5",
                      entry_point="flaky", source=_plugin_source(PROVIDER_FAILURES[hook]))
    if hook == "zen_config_sections":  # asked only when the config has [plugins.*] tables
        zen_home.mkdir(parents=True)
        (zen_home / "config.toml").write_text("[plugins.flaky]\nlevel = 1\n")
    with pytest.warns(RuntimeWarning) as caught, use(new_plugin_manager()):
        listing = _everything_unaffected_still_works(zen_home)
    flaky = [p for p in listing["plugins"] if p["name"] == "flaky"]
    assert len(flaky) == 1 and flaky[0]["version"] == "2.5", flaky
    assert flaky[0]["distribution"] == "zen-flaky" and hook in flaky[0]["error"]
    assert "today" in flaky[0]["error"]
    mine = [str(w.message) for w in caught if "'flaky'" in str(w.message)]
    assert len(mine) == 1, mine  # warned once, however often the hook was asked
    assert f"plugin 'flaky' from distribution zen-flaky 2.5 failed in its hook {hook}" in mine[0]
    assert "RuntimeError" in mine[0] and "pip install -U zen-flaky" in mine[0]


@pytest.mark.parametrize("hook", sorted(EVENT_FAILURES))
def test_an_event_hook_that_raises_is_logged_once_and_changes_no_outcome(
        hook, tmp_path, monkeypatch, zen_home, logged_events):
    fake_distribution(tmp_path / "site", monkeypatch, dist="zen-noisy", version="0.3",
                      entry_point="noisy", source=_plugin_source(EVENT_FAILURES[hook]))
    with use(new_plugin_manager()):
        listing = _everything_unaffected_still_works(zen_home)
        with pytest.raises(ValueError, match="step cannot take 2"):
            exploding()  # the hook fails again: not logged again
    [noisy] = [p for p in listing["plugins"] if p["name"] == "noisy"]
    assert noisy["error"] is None  # an observer that fails is not a broken plugin
    failures = [e for e in logged_events if e["event"] == "plugin.hook_failed"]
    assert [e["level"] for e in failures][:1] == ["error"], failures
    assert all(e["level"] == "debug" for e in failures[1:]), failures
    assert failures[0]["plugin"] == "noisy" and failures[0]["hook"] == hook
    assert "RuntimeError" in failures[0]["error"] and failures[0]["version"] == "0.3"


def test_a_misspelled_hook_leaves_the_rest_working(tmp_path, monkeypatch, zen_home):
    fake_distribution(tmp_path / "site", monkeypatch, dist="zen-typo", version="0.1",
                      entry_point="typo", source=_plugin_source(
                          "def zen_materialisers():\n    return []"))
    with pytest.warns(RuntimeWarning, match="zen_materialisers"), use(new_plugin_manager()):
        listing = _everything_unaffected_still_works(zen_home)
    [typo] = [p for p in listing["plugins"] if p["name"] == "typo"]
    assert "zen_materialisers" in typo["error"] and typo["version"] == "0.1"


# -- hook arguments ------------------------------------------------------------------------


class NewerSpecs:
    """zen_materializers as a later zen_core might specify it: with a keyword argument."""

    @hookspec
    def zen_materializers(self, config):
        """Materializer classes; ``config`` is new."""


class NewerPluginManager(ZenPluginManager):
    SPECS = NewerSpecs


def test_each_implementation_gets_only_the_arguments_it_names():
    class OldMat(Materializer):
        ASSOCIATED_TYPES = ("old.Type",)

    class NewMat(Materializer):
        ASSOCIATED_TYPES = ("new.Type",)

    seen = []

    class Old:
        @hookimpl
        def zen_materializers(self):
            return [OldMat]

    class New:
        @hookimpl
        def zen_materializers(self, config):
            seen.append(config)
            return [NewMat]

    pm = NewerPluginManager()
    pm.register(Old(), name="old")
    pm.register(New(), name="new")
    assert collect(pm, "zen_materializers", config="the config") == [("old", OldMat),
                                                                   ("new", NewMat)]
    assert seen == ["the config"] and pm.broken == {}


def test_a_hook_wrapper_fails_its_plugin_with_a_clear_reason(pm):
    class Wrapper:
        @hookimpl(wrapper=True)
        def zen_orchestrators(self):
            return (yield)

    pm.register(Wrapper(), name="wrapper")
    with pytest.warns(RuntimeWarning, match="pluggy hook wrappers .* are not supported"):
        assert set(flavors("orchestrator", pm)) == {"local"}
    assert "wrapper" in pm.broken and not pm.has_plugin("wrapper")


# -- one flavor from two plugins -------------------------------------------------------------


def _orchestrator_plugin(flavor: str):
    from zen_core.orchestrators.local import LocalOrchestrator

    cls = type(f"Orchestrator_{flavor}_{uuid.uuid4().hex[:6]}", (LocalOrchestrator,),
               {"FLAVOR": flavor})
    return cls, type("Plugin", (), {"zen_orchestrators": hookimpl(lambda self: [cls])})()


def _use_stack(zen_home, name: str, flavor: str) -> None:
    zen_home.mkdir(parents=True, exist_ok=True)
    (zen_home / "config.toml").write_text(
        f'active_stack = "{name}"\n[stacks.{name}]\norchestrator = {{ flavor = "{flavor}" }}\n')


def test_a_flavor_two_plugins_provide_fails_only_the_stacks_naming_it_bare(pm, zen_home):
    from click.testing import CliRunner

    from zen_core.cli import cli
    from zen_core.errors import FlavorConflictError, UnknownFlavorError

    first, first_plugin = _orchestrator_plugin("twin")
    second, second_plugin = _orchestrator_plugin("twin")
    pm.register(first_plugin, name="alpha")
    pm.register(second_plugin, name="beta")
    assert set(flavors("orchestrator", pm)) == {"local", "alpha:twin", "beta:twin"}
    with use(pm):
        assert doubling().steps["double_2"].outputs["output"].load() == 12  # the default stack
        _use_stack(zen_home, "ambiguous", "twin")
        with pytest.raises(FlavorConflictError) as info:
            doubling()
        assert str(info.value) == (
            f"{zen_home / 'config.toml'}: stacks.ambiguous.orchestrator.flavor = 'twin' is "
            f"provided by 2 plugins: alpha, beta. Fix: name the one to use, flavor = "
            f'"alpha:twin" or flavor = "beta:twin" (or uninstall the others).')
        listing = CliRunner().invoke(cli, ["plugins", "list"])
        assert listing.exit_code == 0, listing.output
        assert "orchestrator flavor 'twin' is provided by alpha, beta" in listing.output
        data = json.loads(CliRunner().invoke(cli, ["plugins", "list", "--json"]).stdout)
        assert data["conflicts"]["flavors"] == {"orchestrator": {"twin": ["alpha:twin",
                                                                         "beta:twin"]}}
        for plugin, cls in (("alpha", first), ("beta", second)):
            _use_stack(zen_home, plugin, f"{plugin}:twin")
            assert doubling().steps["double_2"].outputs["output"].load() == 12
            assert type(Client().active_stack.orchestrator) is cls
        _use_stack(zen_home, "wrong", "gamma:twin")
        with pytest.raises(UnknownFlavorError, match=r"plugin 'gamma' provides no orchestrator "
                                                     r"flavor 'twin' \(it comes from alpha, beta\)"):
            doubling()


def test_a_built_in_flavor_gets_no_implicit_win(pm, zen_home):
    from zen_core.errors import FlavorConflictError

    mine, plugin = _orchestrator_plugin("local")
    pm.register(plugin, name="mine")
    with use(pm):
        with pytest.raises(FlavorConflictError, match=(
                r'flavor = "zen_core.orchestrators.local:local" or flavor = "mine:local"')):
            doubling()  # the default stack names "local" bare
        _use_stack(zen_home, "builtin", "zen_core.orchestrators.local:local")
        assert doubling().steps["double"].status == "completed"
        _use_stack(zen_home, "mine", "mine:local")
        doubling()
        assert type(Client().active_stack.orchestrator) is mine
