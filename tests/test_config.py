"""Configuration: files, merging, stack selection and every error a user can make."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zen_core.config import ConfigPath, load_config
from zen_core.errors import ConfigError, StackNotFoundError, UnknownFlavorError
from zen_core.stack import get_stack


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_without_any_file(zen_home):
    config = load_config()
    assert config.active_stack == "default" and config.allow_pickle is True
    stack = get_stack(config)
    assert stack.artifact_store.path == str(zen_home / "artifacts")
    assert stack.metadata_store.config.path == str(zen_home / "zen.db")
    assert stack.orchestrator.FLAVOR == "local"


def test_project_file_found_upward_and_merged_key_by_key(zen_home, tmp_path):
    write(zen_home / "config.toml", """
active_stack = "home"
allow_pickle = true
[stacks.home]
artifact_store = { flavor = "local", path = "/tmp/home-store" }
""")
    project = tmp_path / "project"
    write(project / "zen.toml", """
allow_pickle = false
[stacks.proj]
artifact_store = { flavor = "local", path = "store" }
""")
    nested = project / "a" / "b"
    nested.mkdir(parents=True)
    os.chdir(nested)
    config = load_config()
    assert config.allow_pickle is False  # the project file wins
    assert config.active_stack == "home"  # kept from the home file
    assert set(config.stacks) == {"default", "home", "proj"}  # stacks merge by name
    # relative paths are relative to the file that names them
    assert config.stacks["proj"].artifact_store.options["path"] == str(project / "store")


def test_zen_stack_env_selects_a_stack(zen_home, monkeypatch):
    write(zen_home / "config.toml", """
[stacks.other]
artifact_store = { flavor = "local", path = "/tmp/other" }
""")
    monkeypatch.setenv("ZEN_STACK", "other")
    assert get_stack(load_config()).artifact_store.path == "/tmp/other"
    monkeypatch.setenv("ZEN_STACK", "nope")
    with pytest.raises(StackNotFoundError, match=r"ZEN_STACK: stack 'nope'.*defined: default, other"):
        load_config().stack()


def test_unknown_top_level_key(zen_home):
    path = write(zen_home / "config.toml", 'active_stak = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    message = str(info.value)
    assert str(path) in message and "active_stak" in message and "active_stack" in message


def test_wrong_type(zen_home):
    write(zen_home / "config.toml", 'allow_pickle = "no"\n')
    with pytest.raises(ConfigError, match=r"allow_pickle = 'no' must be true or false"):
        load_config()


def test_invalid_toml(zen_home):
    write(zen_home / "config.toml", "active_stack = \n")
    with pytest.raises(ConfigError, match=r"config.toml: not valid TOML"):
        load_config()


def test_unknown_component_option_names_key_path_and_accepted_keys(zen_home):
    path = write(zen_home / "config.toml", """
[stacks.default]
metadata_store = { flavor = "sqlite", path = "/tmp/x.db", pth = 1 }
""")
    with pytest.raises(ConfigError) as info:
        get_stack(load_config())
    message = str(info.value)
    assert str(path) in message and "stacks.default.metadata_store" in message
    assert "'pth'" in message and "path" in message and "busy_timeout_s" in message


def test_bad_component_value(zen_home):
    write(zen_home / "config.toml", """
[stacks.default]
metadata_store = { flavor = "sqlite", path = "/tmp/x.db", busy_timeout_s = "long" }
""")
    with pytest.raises(ConfigError, match=r"busy_timeout_s = 'long'"):
        get_stack(load_config())


def test_unknown_flavor_lists_installed_and_names_the_plugin(zen_home):
    path = write(zen_home / "config.toml", """
[stacks.default]
orchestrator = { flavor = "daskk" }
""")
    with pytest.raises(UnknownFlavorError) as info:
        get_stack(load_config())
    message = str(info.value)
    assert str(path) in message and "stacks.default.orchestrator.flavor = 'daskk'" in message
    assert "local" in message and "correct the spelling" in message


def test_unknown_flavor_of_a_known_plugin_names_the_distribution(zen_home):
    from zen_core.stack import flavors

    if "s3" in flavors("artifact_store"):
        pytest.skip("zen-s3 is installed here")
    write(zen_home / "config.toml", """
[stacks.default]
artifact_store = { flavor = "s3", path = "s3://bucket/zen" }
""")
    with pytest.raises(UnknownFlavorError, match=r"pip install zen-s3"):
        get_stack(load_config())


def test_missing_flavor(zen_home):
    write(zen_home / "config.toml", """
[stacks.default]
artifact_store = { path = "/tmp/x" }
""")
    with pytest.raises(ConfigError, match=r"stacks.default.artifact_store.flavor is missing.*\"local\""):
        load_config()


def test_unknown_stack_component(zen_home):
    write(zen_home / "config.toml", """
[stacks.default]
artifact_stor = { flavor = "local" }
""")
    with pytest.raises(ConfigError, match=r"unknown key stacks.default.artifact_stor.*artifact_store"):
        load_config()


def test_pipelines_use_the_config_read_at_call_time(zen_home, tmp_path):
    from zen_core import pipeline, step
    from zen_core.client import Client

    @step
    def one() -> int:
        return 1

    @pipeline
    def p():
        one()

    p()
    write(zen_home / "config.toml", f"""
active_stack = "elsewhere"
[stacks.elsewhere]
artifact_store = {{ flavor = "local", path = "{tmp_path / 'b'}" }}
metadata_store = {{ flavor = "sqlite", path = "{tmp_path / 'b.db'}" }}
""")
    run = p()
    assert run.steps["one"].status == "completed"  # a new, empty stack: no cache
    assert Client().active_stack.artifact_store.path == str(tmp_path / "b")


def test_secrets_are_masked_in_config_errors(zen_home):
    write(zen_home / "config.toml", """
[stacks.team]
metadata_stor = { flavor = "postgres", url = "postgresql://zen:hunter2@db/zen" }
""")
    with pytest.raises(ConfigError) as info:
        load_config()
    assert "hunter2" not in str(info.value) and "zen:***@db" in str(info.value)


def test_project_stack_overrides_component_by_component(zen_home, tmp_path):
    write(zen_home / "config.toml", """
[stacks.team]
artifact_store = { flavor = "local", path = "/tmp/team-store" }
metadata_store = { flavor = "sqlite", path = "/tmp/team.db" }
""")
    write(tmp_path / "work" / "zen.toml", """
[stacks.team]
metadata_store = { flavor = "sqlite", path = "/tmp/project.db" }
""")
    team = load_config().stacks["team"]
    assert team.artifact_store.options["path"] == "/tmp/team-store"
    assert team.metadata_store.options["path"] == "/tmp/project.db"


def test_plugin_tables_must_belong_to_a_plugin(zen_home):
    write(zen_home / "config.toml", "[plugins.nosuch]\nx = 1\n")
    with pytest.raises(ConfigError, match=r"\[plugins.nosuch\] belongs to no installed plugin"):
        get_stack(load_config())


def test_plugin_tables_are_validated_by_the_plugin_class(zen_home):
    import attrs

    from zen_core.plugins import hookimpl, new_plugin_manager
    from zen_core.stack import check_plugin_tables

    @attrs.frozen
    class Settings:
        level: int = 1

    class Plugin:
        @hookimpl
        def zen_config_sections(self):
            return {"mine": Settings}

    pm = new_plugin_manager(entry_points=False)
    pm.register(Plugin(), name="mine")
    write(zen_home / "config.toml", "[plugins.mine]\nlevell = 2\n")
    with pytest.raises(ConfigError, match=r"\[plugins.mine\].*'levell'.*Accepted keys: level"):
        check_plugin_tables(load_config(), pm)
    write(zen_home / "config.toml", "[plugins.mine]\nlevel = 2\n")
    check_plugin_tables(load_config(), pm)
    assert load_config().plugin_section("mine", Settings) == Settings(level=2)


def test_a_string_is_not_a_list(zen_home):
    import attrs

    from zen_core.config import structure

    @attrs.frozen
    class Settings:
        names: list[str] = attrs.field(factory=list)

    assert structure({"names": ["a", "b"]}, Settings, source="f", path="p") == Settings(["a", "b"])
    with pytest.raises(ConfigError, match=r"names = 'abc' is invalid.*expected a list"):
        structure({"names": "abc"}, Settings, source="f", path="p")


# -- paths in plugin Config classes ------------------------------------------------------------


def _cache_orchestrator_pm():
    """A plugin manager with an orchestrator whose Config has ConfigPath fields."""
    import attrs

    from zen_core.orchestrators.local import LocalOrchestrator
    from zen_core.plugins import hookimpl, new_plugin_manager

    @attrs.frozen
    class CachingConfig:
        cache_dir: ConfigPath
        spill: ConfigPath | None = None
        label: str = "plain"

    class CachingOrchestrator(LocalOrchestrator):
        FLAVOR = "caching"
        Config = CachingConfig

    class Plugin:
        @hookimpl
        def zen_orchestrators(self):
            return [CachingOrchestrator]

    pm = new_plugin_manager(entry_points=False)
    pm.register(Plugin(), name="caching")
    return pm


def test_config_path_fields_resolve_against_the_file_that_sets_them(zen_home, tmp_path):
    pm = _cache_orchestrator_pm()
    write(zen_home / "config.toml", """
active_stack = "home"
[stacks.home]
orchestrator = { flavor = "caching", cache_dir = "cache", spill = "~/spill", label = "x/y" }
[stacks.remote]
orchestrator = { flavor = "caching", cache_dir = "s3://bucket/cache", spill = "/abs/spill" }
""")
    home = get_stack(load_config(), pm=pm).orchestrator.config
    assert home.cache_dir == str((zen_home / "cache").resolve())
    assert home.spill == str(Path("~/spill").expanduser().resolve())
    assert home.label == "x/y"  # a plain str is left alone
    remote = get_stack(load_config(), "remote", pm=pm).orchestrator.config
    assert remote.cache_dir == "s3://bucket/cache" and remote.spill == "/abs/spill"
    for project in ("one", "two"):  # one relative value, two folders: two components
        write(tmp_path / project / "zen.toml",
              '[stacks.home]\norchestrator = { flavor = "caching", cache_dir = "cache" }\n')
        os.chdir(tmp_path / project)
        config = get_stack(load_config(), pm=pm).orchestrator.config
        assert config.cache_dir == str(tmp_path / project / "cache")


def test_config_path_fields_of_plugin_tables_resolve_per_key(zen_home, tmp_path):
    import attrs

    @attrs.frozen
    class Settings:
        index: ConfigPath = "index.json"
        notes: ConfigPath = "notes.txt"

    write(zen_home / "config.toml", '[plugins.mine]\nindex = "idx.json"\nnotes = "home.txt"\n')
    write(tmp_path / "project" / "zen.toml", '[plugins.mine]\nnotes = "n.txt"\n')
    os.chdir(tmp_path / "project")
    settings = load_config().plugin_section("mine", Settings)
    assert settings.index == str(zen_home / "idx.json")  # set by config.toml
    assert settings.notes == str(tmp_path / "project" / "n.txt")  # set by zen.toml


# -- [materializers] overrides -----------------------------------------------------------------


def test_override_keys_accept_the_defining_and_the_public_spelling():
    import json

    from zen_core.materializers.builtin import BuiltInMaterializer, PickleMaterializer
    from zen_core.materializers.registry import MaterializerRegistry
    from zen_core.plugins import collect, new_plugin_manager

    pm = new_plugin_manager(entry_points=False)
    chosen = "zen_core.materializers.builtin.BuiltInMaterializer"
    for key in ("json.decoder.JSONDecoder", "json.JSONDecoder"):  # defined in json.decoder
        registry = MaterializerRegistry(collect(pm, "zen_materializers"), {key: chosen})
        assert registry.for_type(json.JSONDecoder) is BuiltInMaterializer
        assert registry.for_type(type("Sub", (json.JSONDecoder,), {})) is BuiltInMaterializer
    registry = MaterializerRegistry(collect(pm, "zen_materializers"), {})
    assert registry.for_type(json.JSONDecoder) is PickleMaterializer  # unclaimed without it


def test_override_keys_are_matched_once_their_module_is_imported_never_by_importing(tmp_path,
                                                                                  monkeypatch):
    import importlib
    import sys

    from zen_core.materializers.builtin import BytesMaterializer
    from zen_core.materializers.registry import MaterializerRegistry
    from zen_core.plugins import collect, new_plugin_manager

    package = tmp_path / "lazy_overridden_pkg"
    write(package / "__init__.py", "from lazy_overridden_pkg.impl import Blob\n")
    write(package / "impl.py", "class Blob(bytes):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    overrides = {"lazy_overridden_pkg.Blob": "zen_core.materializers.builtin.BytesMaterializer"}
    registry = MaterializerRegistry(collect(new_plugin_manager(entry_points=False),
                                            "zen_materializers"), overrides)
    registry.for_type(int)
    assert "lazy_overridden_pkg" not in sys.modules
    blob = importlib.import_module("lazy_overridden_pkg").Blob
    assert registry.for_type(blob) is BytesMaterializer
    monkeypatch.delitem(sys.modules, "lazy_overridden_pkg")
    monkeypatch.delitem(sys.modules, "lazy_overridden_pkg.impl")


def test_an_override_naming_no_installed_materializer_is_a_config_error(zen_home):
    from zen_core import pipeline, step

    @step
    def one() -> int:
        return 1

    @pipeline
    def overridden():
        one()

    write(zen_home / "config.toml",
          '[materializers]\n"fractions.Fraction" = "zen_core.materializers.BuiltInMaterializer"\n')
    with pytest.raises(ConfigError) as info:
        overridden()
    assert str(info.value).startswith(
        f"{zen_home / 'config.toml'}: [materializers] 'fractions.Fraction' = "
        f"'zen_core.materializers.BuiltInMaterializer' names no installed materializer. Fix: "
        f"write its qualified name, 'zen_core.materializers.builtin.BuiltInMaterializer'")
    assert info.value.key_path == "materializers.'fractions.Fraction'"
    write(zen_home / "config.toml", '[materializers]\n"fractions.Fraction" = "nope.Mat"\n')
    with pytest.raises(ConfigError, match=r"'nope.Mat' names no installed materializer. Fix: "
                                          r"write the qualified name of an installed one \("):
        overridden()


def test_zen_plugins_list_reports_override_keys_that_match_no_type(zen_home):
    from click.testing import CliRunner

    from zen_core.cli import cli

    write(zen_home / "config.toml", '[materializers]\n'
          '"json.JSONDecodr" = "zen_core.materializers.builtin.PickleMaterializer"\n'
          '"json.JSONDecoder" = "zen_core.materializers.builtin.PickleMaterializer"\n'
          '"builtins.int" = "zen_core.materializers.builtin.PickleMaterializer"\n')
    result = CliRunner().invoke(cli, ["plugins", "list"])
    assert result.exit_code == 0, result.output
    assert (f"config: {zen_home / 'config.toml'}: [materializers] key 'json.JSONDecodr' "
            f"matches no known type") in result.output
    assert "'json.JSONDecoder'" not in result.output and "'builtins.int'" not in result.output
def test_secrets_never_show_in_a_config_repr():
    """Every in-repo component config masks its credentials in repr and str (describe() too)."""
    from zen_core.config import ComponentSpec

    configs = []
    for module, cls_name, options in [
        ("zen_s3", "S3ArtifactStoreConfig", {"path": "s3://b/p", "key": "AKIASECRETKEY",
                                            "secret": "s3-secret-value", "token": "s3-token"}),
        ("zen_gcs", "GCSArtifactStoreConfig", {"path": "gs://b/p", "token": "/keys/sa-secret.json"}),
        ("zen_postgres", "PostgresMetadataStoreConfig",
         {"url": "postgresql://zen:pg-password@127.0.0.1/zen"}),
    ]:
        config_cls = getattr(pytest.importorskip(module), cls_name)
        configs.append(config_cls(**options))
    configs.append(ComponentSpec("artifact_store", "s3", {"secret": "spec-secret"}, "f", "k"))
    for config in configs:
        for text in (repr(config), str(config)):
            for secret in ("AKIASECRETKEY", "s3-secret-value", "s3-token", "sa-secret",
                           "pg-password", "spec-secret"):
                assert secret not in text, text
    assert "postgresql://zen:***@127.0.0.1/zen" in repr(configs[2])


@pytest.mark.parametrize("content, fragment", [
    (b'active_stack = "caf\xe9"\n', "not UTF-8 text"),
    (b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested too deeply to read"),
])
def test_unreadable_config_files_are_config_errors(zen_home, content, fragment):
    from zen_core.config import load_config

    zen_home.mkdir(parents=True, exist_ok=True)
    (zen_home / "config.toml").write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(zen_home / "config.toml") in str(info.value) and fragment in str(info.value)
    assert "Fix:" in str(info.value)


@pytest.mark.parametrize("component, fragment", [
    ('artifact_store = { flavor = "local", path = 42 }',
     r"path = 42 is invalid \(TypeError: expected a non-empty path, got int 42\)"),
    ('artifact_store = { flavor = "local", path = "" }',
     r"artifact_store.path = '' is empty, which would mean the folder of the config file"),
    ('artifact_store = { flavor = "local", path = "  " }', r"artifact_store.path = '  ' is empty"),
    ('metadata_store = { flavor = "sqlite", path = "x.db", busy_timeout_s = -5 }',
     r"busy_timeout_s = -5.0 must be greater than 0"),
    ('metadata_store = { flavor = "sqlite", path = "x.db", busy_timeout_s = 1e300 }',
     r"busy_timeout_s = 1e\+300 must be at most 86400"),
    ('metadata_store = { flavor = "sqlite", path = "x.db", busy_timeout_s = nan }',
     r"busy_timeout_s = nan .*expected a finite number"),
    ('metadata_store = { flavor = "sqlite", path = "x.db", busy_timeout_s = true }',
     r"busy_timeout_s = True .*expected a finite number, got bool"),
    ('metadata_store = { flavor = "sqlite", path = ["x.db"] }',
     r"path = \['x.db'\] .*expected a non-empty path, got list"),
])
def test_config_values_of_the_wrong_type_or_meaning_are_refused(zen_home, component, fragment):
    path = write(zen_home / "config.toml", f"[stacks.default]\n{component}\n")
    with pytest.raises(ConfigError, match=fragment) as info:
        get_stack(load_config())
    assert str(path) in str(info.value)
    assert not (Path.cwd() / "42").exists()


def test_a_url_the_flavor_cannot_use_names_the_flavor_that_can(zen_home):
    pytest.importorskip("zen_s3")
    path = write(zen_home / "config.toml",
                 '[stacks.default]\nartifact_store = { flavor = "local", path = "s3://bucket/x" }\n')
    with pytest.raises(ConfigError) as info:
        get_stack(load_config())
    message = str(info.value)
    assert f"{path}: stacks.default.artifact_store.path = 's3://bucket/x' is a s3:// URL, " \
           f"which flavor 'local' cannot use (it takes a plain path or file:// URLs)" in message
    assert 'Fix: use flavor = "s3" (plugin s3) for s3:// URLs' in message
    assert not Path("s3:").exists()


def test_a_scheme_of_an_uninstalled_plugin_names_the_distribution(zen_home):
    from zen_core.components import kind
    from zen_core.config import ComponentSpec
    from zen_core.plugins import new_plugin_manager
    from zen_core.stack import build_component

    pm = new_plugin_manager(entry_points=False)  # the built-ins only: no zen-gcs
    assert kind("artifact_store").known_plugins["gs"] == "zen-gcs"
    spec = ComponentSpec("artifact_store", "local", {"path": "gs://bucket/x"}, "zen.toml",
                         "stacks.team.artifact_store")
    with pytest.raises(ConfigError, match=r"is a gs:// URL.*Fix: pip install zen-gcs"):
        build_component(spec, pm)
