"""The built-in local store, SQLite metadata store and local orchestrator pass the shared
contracts."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest

from zen_core.errors import MetadataStoreError
from zen_core.metadata_stores.sql import MIGRATIONS
from zen_core.metadata_stores.sqlite import SQLiteMetadataStore, SQLiteMetadataStoreConfig
from zen_core.testing import (
    ArtifactStoreContract,
    MetadataStoreContract,
    OrchestratorContract,
    local_store,
    write_stack,
)


class TestLocalArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def artifact_store(self, tmp_path):
        return local_store(tmp_path / "store")


def test_local_store_reserves_room_for_large_writes_and_writes_them_exactly(tmp_path,
                                                                             monkeypatch):
    import zen_core.artifact_stores.local as local

    reserved = []
    reserve = local._reserve
    monkeypatch.setattr(local, "_reserve",
                        lambda fd, offset, size: (reserved.append((offset, size)),
                                                  reserve(fd, offset, size)))
    store = local_store(tmp_path / "store")
    big = bytes(range(256)) * (36 << 10)  # 9 MiB
    uri = store.join("f.bin")
    with store.open(uri, "wb") as f:
        f.write(b"head")  # still buffered when the large write comes
        f.write(memoryview(big))
        f.write(b"tail")
    assert reserved == [(4, len(big))]  # at the file's logical end, for the large write only
    with open(store._strip(uri), "rb") as f:
        assert f.read() == b"head" + big + b"tail"  # nothing reserved shows as data


class TestSQLiteMetadataStore(MetadataStoreContract):
    @pytest.fixture
    def metadata_store(self, tmp_path):
        store = SQLiteMetadataStore(SQLiteMetadataStoreConfig(str(tmp_path / "zen.db")))
        yield store
        store.close()


class ForgetfulWrapper(SQLiteMetadataStore):
    """A store that forgets to delegate transactions and paging: what the contract catches."""

    def transaction(self, group=False):
        return contextlib.nullcontext()

    def flush(self):
        pass

    def list_runs(self, *, pipeline_name=None, status=None, limit=None, offset=0):
        return super().list_runs(pipeline_name=pipeline_name, status=status, limit=limit)


@pytest.mark.parametrize("check", ["test_a_failing_transaction_leaves_none_of_its_writes",
                                   "test_writes_in_a_transaction_are_seen_together",
                                   "test_runs_page_newest_first_and_count_by_status"])
def test_the_contract_catches_a_store_that_does_not_delegate(check, tmp_path):
    store = ForgetfulWrapper(SQLiteMetadataStoreConfig(str(tmp_path / "zen.db")))
    try:
        with pytest.raises(AssertionError):
            getattr(MetadataStoreContract(), check)(store)
    finally:
        store.close()


def test_sqlite_uses_wal_and_records_its_schema_version(tmp_path):
    store = SQLiteMetadataStore(SQLiteMetadataStoreConfig(str(tmp_path / "zen.db")))
    assert store.list_runs() == []
    conn = sqlite3.connect(tmp_path / "zen.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT version FROM zen_schema").fetchone()[0] == len(MIGRATIONS)
    store.close()


def test_a_database_of_an_older_schema_is_upgraded_in_place(tmp_path, monkeypatch):
    import zen_core.metadata_stores.sql as sql

    path = tmp_path / "zen.db"
    monkeypatch.setattr(sql, "MIGRATIONS", MIGRATIONS[:1])  # as the first release wrote it
    old = SQLiteMetadataStore(SQLiteMetadataStoreConfig(str(path)))
    old.count_runs()  # creates the first schema
    old.close()
    monkeypatch.undo()
    with sqlite3.connect(path) as conn:  # a run recorded by the first release
        conn.execute("INSERT INTO pipeline_runs (id, name, pipeline_name, status, created, "
                     "params) VALUES ('r1', 'p-1', 'p', 'running', 1000.0, '{}')")
    store = SQLiteMetadataStore(SQLiteMetadataStoreConfig(str(path)))
    assert store.get_run("r1").status == "running"  # kept, and readable after the upgrade
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM zen_schema").fetchone()[0] == len(MIGRATIONS)
    # a run from before leases is crashed only once it is older than a lease
    assert store.reap_runs(2000.0, lambda lease: False, unleased_before=999.0) == []
    assert store.reap_runs(2000.0, lambda lease: False, unleased_before=1001.0) == ["r1"]
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


class TestLocalOrchestrator(OrchestratorContract):
    """Steps one after another; after a failure nothing more is started."""

    @pytest.fixture
    def orchestrator_stack(self, zen_home):
        write_stack(zen_home, "local", orchestrator={"flavor": "local"})
