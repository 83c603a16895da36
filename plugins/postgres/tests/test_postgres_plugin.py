"""zen-postgres is found through its entry point and loads without importing psycopg."""

from __future__ import annotations

import subprocess
import sys

from zen_core.plugins import list_plugins, new_plugin_manager
from zen_core.stack import flavors


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
    code = (
        "import sys, zen_core\n"
        "from zen_core.plugins import get_plugin_manager, list_plugins\n"
        "assert get_plugin_manager().has_plugin('postgres'); list_plugins()\n"
        "import zen_postgres\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('psycopg', 'psycopg_binary'))\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


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
