"""The built-in local store and SQLite metadata store pass the shared contracts."""

from __future__ import annotations

import sqlite3

import pytest

from zen_core.errors import MetadataStoreError
from zen_core.metadata_stores.sqlite import SQLiteMetadataStore, SQLiteMetadataStoreConfig
from zen_core.testing import ArtifactStoreContract, MetadataStoreContract, local_store


class TestLocalArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def artifact_store(self, tmp_path):
        return local_store(tmp_path / "store")


class TestSQLiteMetadataStore(MetadataStoreContract):
    @pytest.fixture
    def metadata_store(self, tmp_path):
        store = SQLiteMetadataStore(SQLiteMetadataStoreConfig(str(tmp_path / "zen.db")))
        yield store
        store.close()


def test_sqlite_uses_wal_and_records_its_schema_version(tmp_path):
    store = SQLiteMetadataStore(SQLiteMetadataStoreConfig(str(tmp_path / "zen.db")))
    assert store.list_runs() == []
    conn = sqlite3.connect(tmp_path / "zen.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT version FROM zen_schema").fetchone()[0] == 1
    store.close()


def test_a_newer_schema_is_refused_with_upgrade_advice(tmp_path):
    path = tmp_path / "zen.db"
    store = SQLiteMetadataStore(SQLiteMetadataStoreConfig(str(path)))
    store.list_runs()
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE zen_schema SET version = 99")
    conn.commit()
    with pytest.raises(MetadataStoreError, match=r"schema version 99.*pip install -U zen-artifacts"):
        SQLiteMetadataStore(SQLiteMetadataStoreConfig(str(path))).list_runs()


def test_unwritable_database_location(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = SQLiteMetadataStore(SQLiteMetadataStoreConfig(str(blocker / "zen.db")))
    with pytest.raises(MetadataStoreError, match=r"cannot open the SQLite metadata store.*writable"):
        store.list_runs()
