"""Throwaway PostgreSQL databases for tests and benchmarks of stacks on zen-postgres.

    from zen_postgres.testing import temporary_database

    with temporary_database() as url:  # created on the server now, dropped on exit
        write_stack(home, metadata_store={"flavor": "postgres", "url": url})

In a pytest fixture, :func:`database_for_tests` does the same and skips the tests
(fails them under ``CI=true``) when no server answers.

The server is the one named by ``ZEN_TEST_POSTGRES_URL`` (the URL of a user allowed
to create databases), else ``root@`` or ``postgres@127.0.0.1:5432``, whichever
answers first. When none does, :class:`PostgresUnavailable` says what was tried.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

__all__ = ["PostgresUnavailable", "admin_connection", "database_for_tests", "temporary_database",
           "with_database"]

DEFAULT_ADMIN_URLS = ("postgresql://root@127.0.0.1:5432/postgres",
                      "postgresql://postgres@127.0.0.1:5432/postgres")


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server answered at the admin URLs tried."""


def admin_urls() -> tuple[str, ...]:
    url = os.environ.get("ZEN_TEST_POSTGRES_URL")
    return (url,) if url else DEFAULT_ADMIN_URLS


def with_database(url: str, database: str) -> str:
    """``url`` pointing at ``database`` instead."""
    return urlsplit(url)._replace(path="/" + database).geturl()


@contextlib.contextmanager
def admin_connection() -> Iterator[tuple[str, Any]]:
    """``(url, autocommit psycopg connection)`` of the first admin URL that answers."""
    import psycopg

    errors = []
    for url in admin_urls():
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
        except psycopg.Error as exc:
            errors.append(f"{url}: {' '.join(str(exc).split())}")
            continue
        with conn:
            yield url, conn
        return
    raise PostgresUnavailable(
        f"no PostgreSQL server that lets the user create databases answered "
        f"({'; '.join(errors)}). Fix: start it (pg_ctlcluster ... main start) or point "
        f"ZEN_TEST_POSTGRES_URL at one.")


@contextlib.contextmanager
def temporary_database(admin: tuple[str, Any] | None = None) -> Iterator[str]:
    """The URL of a new, empty database, dropped (connections and all) on exit.

    ``admin`` is an ``(url, connection)`` from :func:`admin_connection` to reuse; without
    it one is opened for the database's lifetime.
    """
    if admin is None:
        with admin_connection() as opened, temporary_database(opened) as url:
            yield url
        return
    admin_url, conn = admin
    name = f"zen_test_{uuid.uuid4().hex[:12]}"
    conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(admin_url, name)
    finally:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def database_for_tests() -> Iterator[str]:
    """:func:`temporary_database` for a pytest fixture: without a server the tests skip,
    or fail under ``CI=true`` (:func:`zen_core.testing.service_unavailable`)."""
    from zen_core.testing import service_unavailable

    try:
        with temporary_database() as url:
            yield url
    except PostgresUnavailable as exc:
        service_unavailable(f"these tests need a PostgreSQL server: {exc}")
