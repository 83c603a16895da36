"""A real PostgreSQL for the zen-postgres tests: one fresh database per session, one
fresh schema per test. Without a server the tests skip; with CI=true they fail."""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit

import pytest

_DEFAULT_ADMIN_URLS = ("postgresql://root@127.0.0.1:5432/postgres",
                       "postgresql://postgres@127.0.0.1:5432/postgres")


def _admin_urls() -> tuple[str, ...]:
    url = os.environ.get("ZEN_TEST_POSTGRES_URL")
    return (url,) if url else _DEFAULT_ADMIN_URLS


def with_database(url: str, database: str) -> str:
    return urlsplit(url)._replace(path="/" + database).geturl()


@pytest.fixture(scope="session")
def pg_admin():
    """An autocommit connection to the server (skips, or fails under CI, when none)."""
    import psycopg

    errors = []
    for url in _admin_urls():
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
        except psycopg.Error as exc:
            errors.append(f"{url}: {' '.join(str(exc).split())}")
            continue
        conn.admin_url = url  # type: ignore[attr-defined]
        yield conn
        conn.close()
        return
    msg = ("zen-postgres tests need a PostgreSQL server that lets the user create databases; "
           f"none answered ({'; '.join(errors)}). Fix: start it (pg_ctlcluster ... main start) "
           "or point ZEN_TEST_POSTGRES_URL at one.")
    if os.environ.get("CI") == "true":
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def pg_url(pg_admin) -> str:
    """URL of a database created for this test session and dropped after it."""
    name = f"zen_test_{uuid.uuid4().hex[:12]}"
    pg_admin.execute(f'CREATE DATABASE "{name}"')
    yield with_database(pg_admin.admin_url, name)
    pg_admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
