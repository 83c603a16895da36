"""zen-postgres is found through its entry point and loads without importing psycopg."""

from __future__ import annotations

from zen_core.plugins import list_plugins, new_plugin_manager
from zen_core.stack import flavors
from zen_core.testing import modules_imported_at_startup


def test_entry_point_is_listed_with_its_flavors():
    [info] = [p for p in list_plugins() if p.name == "postgres"]
    assert info.distribution == "zen-postgres"
    assert info.error is None
    assert info.provides == {"metadata_stores": ["postgres", "postgresql"]}


def test_both_flavor_names_build_the_same_store():
    found = flavors("metadata_store", new_plugin_manager())
    assert found["postgres"][0] == "postgres"
    assert issubclass(found["postgresql"][1], found["postgres"][1])


def test_loading_the_plugin_does_not_import_psycopg():
    assert modules_imported_at_startup(["psycopg", "psycopg_binary"],
                                       also_import=("zen_postgres",)) == []


def test_test_helpers_say_which_server_they_could_not_reach(monkeypatch):
    import pytest
    from zen_postgres.testing import PostgresUnavailable, temporary_database

    from zen_core.testing import free_port

    url = f"postgresql://nobody@127.0.0.1:{free_port()}/postgres"
    monkeypatch.setenv("ZEN_TEST_POSTGRES_URL", url)
    with pytest.raises(PostgresUnavailable) as info, temporary_database():
        pass
    message = str(info.value)
    assert url in message and "ZEN_TEST_POSTGRES_URL" in message and "Fix:" in message
