"""A real PostgreSQL for the zen-postgres tests: one fresh database per session, one
fresh schema per test. Without a server the tests skip; with CI=true they fail."""

from __future__ import annotations

import uuid

import pytest
from zen_postgres.testing import PostgresUnavailable, admin_connection, temporary_database

from zen_core.testing import service_unavailable


@pytest.fixture(scope="session")
def pg_server():
    """``(admin url, autocommit connection)`` (skips, or fails under CI, when none)."""
    try:
        with admin_connection() as server:
            yield server
    except PostgresUnavailable as exc:
        service_unavailable(f"zen-postgres tests need a PostgreSQL server: {exc}")


@pytest.fixture(scope="session")
def pg_admin(pg_server):
    """An autocommit connection to the server as a user who may create databases."""
    return pg_server[1]


@pytest.fixture(scope="session")
def pg_url(pg_server) -> str:
    """URL of a database created for this test session and dropped after it."""
    with temporary_database(pg_server) as url:
        yield url


@pytest.fixture
def pg_schema() -> str:
    """A schema name no other test uses (the store creates it on first use)."""
    return f"t_{uuid.uuid4().hex[:16]}"


@pytest.fixture
def make_store(pg_url, pg_schema):
    """Build stores on this test's schema; all are closed at the end of the test."""
    from zen_postgres import PostgresMetadataStore, PostgresMetadataStoreConfig

    stores = []

    def make(**options):
        options.setdefault("url", pg_url)
        options.setdefault("schema", pg_schema)
        store = PostgresMetadataStore(PostgresMetadataStoreConfig(**options))
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()
