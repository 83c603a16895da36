"""The pytest plugin zen_core ships: rewritten contract assertions and isolation fixtures,
as a plugin's own test suite outside this repository sees them (``pytester``)."""

from __future__ import annotations

import subprocess
import sys

FORGETFUL_STORE_TESTS = """
import pytest

from zen_core.metadata_stores.sqlite import SQLiteMetadataStore, SQLiteMetadataStoreConfig
from zen_core.testing import MetadataStoreContract


class IgnoresOffset(SQLiteMetadataStore):
    def list_runs(self, *, pipeline_name=None, status=None, limit=None, offset=0):
        return super().list_runs(pipeline_name=pipeline_name, status=status, limit=limit)


class TestIgnoresOffset(MetadataStoreContract):
    @pytest.fixture
    def metadata_store(self, tmp_path):
        store = IgnoresOffset(SQLiteMetadataStoreConfig(str(tmp_path / "zen.db")))
        yield store
        store.close()
"""


def test_a_failing_contract_check_shows_the_compared_values(pytester):
    pytester.makepyfile(test_store=FORGETFUL_STORE_TESTS)
    args = ("-p", "no:cacheprovider", "-k", "runs_page")
    rewritten = pytester.runpytest_subprocess(*args)
    rewritten.assert_outcomes(failed=1)
    rewritten.stdout.fnmatch_lines(["E * AssertionError: assert [[]'*'[]] == [[]'*'[]]"])
    bare = pytester.runpytest_subprocess(*args, "-p", "no:zen_core")  # as before the plugin
    bare.assert_outcomes(failed=1)
    assert "AssertionError: assert" not in bare.stdout.str()
    bare.stdout.fnmatch_lines(["E * AssertionError"])


def test_its_fixtures_isolate_a_plugin_s_tests_without_any_conftest(pytester, monkeypatch):
    monkeypatch.setenv("ZEN_HOME", str(pytester.path / "must-stay-untouched"))
    pytester.makepyfile(test_isolated="""
        import os

        from zen_core import pipeline, step
        from zen_core.client import Client
        from zen_core.plugins import list_plugins


        @step
        def one() -> int:
            return 1


        @pipeline
        def p():
            one()


        def test_home_and_stack(zen_home, zen_stack, tmp_path):
            assert os.environ["ZEN_HOME"] == str(zen_home) and str(tmp_path) in str(zen_home)
            stack = zen_stack(artifact_store={"flavor": "local", "path": "store"})
            assert stack.name == "test" and stack.artifact_store.path == str(zen_home / "store")
            p()
            assert Client().list_artifact_versions()[0].load() == 1


        def test_plugins(zen_plugins):
            assert [i.name for i in list_plugins() if not i.builtin] == []
            assert list_plugins() == list_plugins(zen_plugins)
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert not (pytester.path / "must-stay-untouched").exists()


def test_loading_the_plugin_is_light_and_adds_no_autouse_fixture():
    code = ("import sys, zen_core.pytest_plugin\n"
            "print(sorted(m for m in sys.modules if m.startswith('zen_core')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert eval(out.stdout) == ["zen_core", "zen_core._lazy", "zen_core.pytest_plugin"]
    import zen_core.pytest_plugin as plugin

    for name in ("zen_home", "zen_stack", "zen_plugins"):
        marker = getattr(getattr(plugin, name), "_fixture_function_marker", None)
        assert marker is not None and marker.autouse is False, name
