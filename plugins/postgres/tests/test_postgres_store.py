"""The PostgreSQL metadata store against a real server: the shared contract, connections,
migrations and every error a user can cause."""

from __future__ import annotations

import multiprocessing
import socket
import threading
import time
import uuid
from urllib.parse import urlsplit

import pytest
from zen_postgres import PostgresMetadataStore, PostgresMetadataStoreConfig, mask_url
from zen_postgres.testing import with_database

from zen_core.config import structure
from zen_core.errors import ConfigError, MetadataStoreError
from zen_core.metadata_stores import MIGRATIONS, NewArtifactVersion
from zen_core.models import ExecutionStatus, PipelineRun, StepRun
from zen_core.testing import MetadataStoreContract, free_port, stored_data

CONFIG_PATH = "stacks.team.metadata_store"


class TestPostgresContract(MetadataStoreContract):
    @pytest.fixture
    def metadata_store(self, make_store):
        return make_store()


def _new_run() -> PipelineRun:
    return PipelineRun(id=uuid.uuid4().hex, name=f"r-{uuid.uuid4().hex[:8]}", pipeline_name="p",
                       status=ExecutionStatus.RUNNING, created=time.time(), finished=None,
                       params={}, error=None)


def _terminate(pg_admin, application_name: str) -> int:
    rows = pg_admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
        (application_name,)).fetchall()
    return len(rows)


def _config(**table):
    return structure(table, PostgresMetadataStoreConfig, source="/team/zen.toml",
                     path=CONFIG_PATH)


# -- schema and migrations ----------------------------------------------------------------


def test_tables_and_indexes_live_in_the_configured_schema(make_store, pg_admin, pg_url,
                                                          pg_schema):
    import psycopg

    make_store().list_artifacts()
    with psycopg.connect(pg_url) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (pg_schema,))}
        indexes = {r[0] for r in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s", (pg_schema,))}
        [(version,)] = conn.execute(f'SELECT version FROM "{pg_schema}".zen_schema').fetchall()
    assert {"pipeline_runs", "step_runs", "artifact_names", "artifact_versions",
            "step_artifacts", "zen_schema"} <= tables
    assert {"ix_av_name", "ix_av_hash", "ix_steps_cache", "ix_sa_artifact"} <= indexes
    assert version == len(MIGRATIONS)


def test_latest_lookup_uses_the_name_index(make_store, pg_url, pg_schema):
    import psycopg

    store = make_store()
    for i in range(3):
        store.create_artifact_version(NewArtifactVersion("idx", stored_data(str(i))))
    with psycopg.connect(pg_url, options=f"-c search_path={pg_schema}") as conn:
        conn.execute("SET enable_seqscan = off")  # a 3-row table would be scanned otherwise
        plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT seq FROM artifact_versions WHERE name = 'idx' "
            "ORDER BY seq DESC LIMIT 1"))
    assert "ix_av_name" in plan


def test_second_store_on_a_migrated_schema_sees_the_data(make_store):
    first = make_store()
    av = first.create_artifact_version(NewArtifactVersion("shared", stored_data()))
    second = make_store(application_name="second")
    assert second.get_artifact_version("shared").id == av.id
    assert second.create_artifact_version(NewArtifactVersion("shared", stored_data())).version == "2"


def test_newer_schema_is_refused(make_store, pg_url, pg_schema):
    import psycopg

    make_store().list_artifacts()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'UPDATE "{pg_schema}".zen_schema SET version = 99')
    with pytest.raises(MetadataStoreError, match=r"schema version 99.*pip install -U"):
        make_store(application_name="newer").list_artifacts()


def test_user_without_create_rights_gets_a_migration_error(pg_admin, pg_url, make_store):
    role = f"zen_nocreate_{uuid.uuid4().hex[:8]}"
    pg_admin.execute(f'CREATE ROLE "{role}" LOGIN')
    parts = urlsplit(pg_url)
    try:
        store = make_store(url=f"postgresql://{role}@{parts.hostname}:{parts.port}{parts.path}")
        with pytest.raises(MetadataStoreError) as info:
            store.list_artifacts()
        message = str(info.value)
        assert "cannot create or upgrade the zen_core tables" in message
        assert "InsufficientPrivilege" in message
        assert "GRANT CREATE" in message and "metadata_store.schema" in message
    finally:
        pg_admin.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_user_with_only_read_write_grants_uses_a_migrated_schema(pg_admin, pg_url, pg_schema,
                                                                 make_store):
    import psycopg

    owner = make_store()
    owner.create_artifact_version(NewArtifactVersion("granted", stored_data()))
    role = f"zen_dml_{uuid.uuid4().hex[:8]}"
    pg_admin.execute(f'CREATE ROLE "{role}" LOGIN')
    parts = urlsplit(pg_url)
    try:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'GRANT USAGE ON SCHEMA "{pg_schema}" TO "{role}"')
            conn.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA '
                         f'"{pg_schema}" TO "{role}"')
        user = make_store(url=f"postgresql://{role}@{parts.hostname}:{parts.port}{parts.path}")
        assert user.create_artifact_version(
            NewArtifactVersion("granted", stored_data())).version == "2"
        assert user.get_artifact_version("granted").version == "2"
        user.close()
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP OWNED BY "{role}"')
        pg_admin.execute(f'DROP ROLE IF EXISTS "{role}"')


# -- connections -----------------------------------------------------------------------


def test_dropped_idle_connection_reconnects_once(make_store, pg_admin):
    app = f"zen_drop_{uuid.uuid4().hex[:8]}"
    store = make_store(application_name=app)
    run = _new_run()
    store.create_run(run)
    assert _terminate(pg_admin, app) == 1
    assert store.get_run(run.id).name == run.name  # a read after the drop
    assert _terminate(pg_admin, app) == 1
    store.finish_run(run.id, ExecutionStatus.COMPLETED, time.time())  # a write after the drop
    assert store.get_run(run.id).status == "completed"


def test_connection_lost_mid_write_rolls_back_with_a_clear_error(make_store, pg_admin):
    app = f"zen_mid_{uuid.uuid4().hex[:8]}"
    store = make_store(application_name=app)
    store.list_artifacts()
    with pytest.raises(MetadataStoreError) as info:
        with store._write() as cur:
            store._insert_version(cur, NewArtifactVersion("half", stored_data()))
            _terminate(pg_admin, app)
            cur.execute("SELECT 1")
    message = str(info.value)
    assert "connection to the PostgreSQL metadata store" in message
    assert "rolled it back, nothing was recorded" in message and "run the pipeline again" in message
    assert store.get_artifact_version("half") is None  # nothing half-written
    assert store.create_artifact_version(NewArtifactVersion("half", stored_data())).version == "1"


def test_connection_lost_mid_read_is_a_clear_error_and_the_next_call_reconnects(
        make_store, pg_admin, monkeypatch):
    """Defect 9: a connection killed between two statements of one read (here: get_run
    looks a name up by id first) raised psycopg's AdminShutdown, raw."""
    import zen_postgres

    app = f"zen_read_{uuid.uuid4().hex[:8]}"
    store = make_store(application_name=app)
    run = _new_run()
    store.create_run(run)
    execute = zen_postgres._ReadCursor.execute
    statements = []

    def killed_after_the_first(self, query, args=()):
        statements.append(query)
        if len(statements) == 2:
            assert _terminate(pg_admin, app) == 1
        return execute(self, query, args)

    with monkeypatch.context() as patched, pytest.raises(MetadataStoreError) as info:
        patched.setattr(zen_postgres._ReadCursor, "execute", killed_after_the_first)
        store.get_run(run.name)
    message = str(info.value)
    assert message.startswith("the connection to the PostgreSQL metadata store ")
    assert "was lost while reading (AdminShutdown: " in message
    assert "nothing was changed. Fix: check the server and the network" in message
    assert "the next call opens a new connection" in message
    assert store.get_run(run.name).id == run.id  # reopened
    store.finish_run(run.id, ExecutionStatus.COMPLETED, time.time())
    assert store.get_run(run.id).status == "completed"


def test_connection_lost_at_commit_is_a_clear_error(make_store, pg_admin, monkeypatch):
    import zen_postgres

    app = f"zen_commit_{uuid.uuid4().hex[:8]}"
    store = make_store(application_name=app)
    store.list_artifacts()
    execute, fetchone = zen_postgres._WriteCursor.execute, zen_postgres._WriteCursor.fetchone
    queries = []

    def recorded(self, query, args=()):
        queries.append(query)
        return execute(self, query, args)

    def killed_before_commit(self):  # the version's seq is the write's last result
        row = fetchone(self)
        if queries[-1].startswith("INSERT INTO artifact_versions"):
            assert _terminate(pg_admin, app) == 1
        return row

    with monkeypatch.context() as patched, pytest.raises(MetadataStoreError) as info:
        patched.setattr(zen_postgres._WriteCursor, "execute", recorded)
        patched.setattr(zen_postgres._WriteCursor, "fetchone", killed_before_commit)
        store.create_artifact_version(NewArtifactVersion("c", stored_data()))
    assert "lost while committing, so whether the write was recorded is unknown" in str(info.value)
    assert store.get_artifact_version("c") is None  # the server never saw the COMMIT


def test_threads_share_a_pool_and_versions_stay_gap_free(make_store):
    store = make_store(pool_size=3)
    errors = []

    def work():
        try:
            for i in range(10):
                store.create_artifact_version(NewArtifactVersion("threads", stored_data(str(i))))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    versions = sorted(int(v.version) for v in store.list_artifact_versions("threads"))
    assert versions == list(range(1, 41))
    assert store._open <= 3


def test_steps_writing_the_same_names_in_any_order_do_not_deadlock(make_store, pg_url,
                                                                   pg_schema, pg_admin):
    import psycopg

    app = f"zen_order_{uuid.uuid4().hex[:8]}"
    store = make_store(application_name=app)
    for name in ("a", "b"):
        store.create_artifact_version(NewArtifactVersion(name, stored_data()))
    run = _new_run()
    store.create_run(run)
    step = StepRun(id=uuid.uuid4().hex, run_id=run.id, name="s", step_name="s",
                   pipeline_name="p", status=ExecutionStatus.RUNNING, params={}, cache_key="k",
                   cache_miss=None, started=time.time(), finished=None, error=None,
                   original_step_run_id=None)
    store.create_step_run(step, {})
    errors = []

    def complete():  # outputs in the order b, a
        try:
            store.complete_step_run(step.id, outputs=[
                ("o1", NewArtifactVersion("b", stored_data(), producer_step_run_id=step.id)),
                ("o2", NewArtifactVersion("a", stored_data(), producer_step_run_id=step.id)),
            ], extra_inputs={}, finished=time.time())
        except Exception as exc:  # reported below
            errors.append(exc)

    other = psycopg.connect(pg_url, options=f"-c search_path={pg_schema}")
    try:
        other.execute("UPDATE artifact_names SET last_number = last_number WHERE name = 'a'")
        writer = threading.Thread(target=complete)
        writer.start()
        for _ in range(400):  # until the writer queues behind the other transaction
            waiting = pg_admin.execute(
                "SELECT 1 FROM pg_stat_activity WHERE application_name = %s AND "
                "wait_event_type = 'Lock'", (app,)).fetchone()
            if waiting:
                break
            time.sleep(0.025)
        # the other transaction now takes 'b': had the writer locked 'b' first, one of the
        # two would be aborted as a deadlock
        other.execute("UPDATE artifact_names SET last_number = last_number WHERE name = 'b'")
        other.commit()
        writer.join(30)
    finally:
        other.close()
    assert waiting and errors == []
    assert store.get_artifact_version("a").version == "2"
    assert store.get_artifact_version("b").version == "2"


def test_exhausted_pool_names_the_setting(make_store):
    store = make_store(pool_size=1, pool_timeout_s=0.2)
    with store._read():
        with pytest.raises(MetadataStoreError, match=r"all 1 connections.*pool_size"):
            store.get_run("nothing")
    assert store.get_run("nothing") is None  # usable again once the connection is back


def _child_writes(store: PostgresMetadataStore) -> None:
    store.create_artifact_version(NewArtifactVersion("forked", stored_data("child")))


def test_forked_child_gets_its_own_connection(make_store):
    store = make_store()
    store.create_artifact_version(NewArtifactVersion("forked", stored_data("parent")))
    child = multiprocessing.get_context("fork").Process(target=_child_writes, args=(store,))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    # the parent's connection survived the child's use and exit
    assert store.create_artifact_version(NewArtifactVersion("forked", stored_data())).version == "3"
    assert store.get_artifact_version("forked", "2").content_hash.startswith("child")


def test_store_pickles_without_connections(make_store):
    import pickle

    store = make_store()
    store.create_artifact_version(NewArtifactVersion("pickled", stored_data()))
    clone = pickle.loads(pickle.dumps(store))
    assert clone.get_artifact_version("pickled").version == "1"
    clone.close()


def test_close_then_use_reconnects(make_store):
    store = make_store()
    store.create_artifact_version(NewArtifactVersion("reopen", stored_data()))
    store.close()
    assert store.get_artifact_version("reopen").version == "1"


# -- errors a user can cause -----------------------------------------------------------------


def test_unreachable_server_names_host_port_database_and_masks_password():
    port = free_port()
    store = PostgresMetadataStore(PostgresMetadataStoreConfig(
        url=f"postgresql://zen:s3cr3t-pw@127.0.0.1:{port}/teamdb", connect_timeout_s=2))
    with pytest.raises(MetadataStoreError) as info:
        store.list_artifacts()
    message = str(info.value)
    assert f"host '127.0.0.1', port {port}, database 'teamdb'" in message
    assert "user 'zen'" in message
    assert "s3cr3t-pw" not in message and "zen:***@" in message
    assert "Fix: start the server" in message and "metadata_store.url" in message
    assert info.value.port == str(port) and "s3cr3t" not in info.value.url


def test_silent_server_fails_within_the_connect_timeout():
    # accepts TCP connections but never answers: only the connect timeout ends the wait
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        store = PostgresMetadataStore(PostgresMetadataStoreConfig(
            url=f"postgresql://zen@127.0.0.1:{port}/db", connect_timeout_s=1))
        with pytest.raises(MetadataStoreError) as info:
            store.list_artifacts()
    message = str(info.value)
    assert f"port {port}" in message and "connect timeout 1s" in message
    assert "timeout" in message.split("connect timeout 1s")[1]


def test_missing_database_is_named(pg_server):
    missing = f"zen_missing_{uuid.uuid4().hex[:8]}"
    url = with_database(pg_server[0], missing)
    store = PostgresMetadataStore(PostgresMetadataStoreConfig(url=url))
    with pytest.raises(MetadataStoreError) as info:
        store.list_artifacts()
    assert f"database {missing!r}" in str(info.value)
    assert "does not exist" in str(info.value) and "create the database" in str(info.value)


@pytest.mark.parametrize(("url", "expected"), [
    ("mysql://zen:hunter22@db/zen", r"'mysql://zen:\*\*\*@db/zen' is not a PostgreSQL URL"),
    ("db.example:5432/zen", r"'db.example:5432/zen' is not a PostgreSQL URL"),
    ("postgresql://zen:hunter22@db:fivefour/zen",
     r"'postgresql://zen:\*\*\*@db:fivefour/zen' cannot be parsed.*'fivefour' is not a number"),
    ("postgresql://zen:hunter22@db/zen?sslmode",
     r"cannot be parsed: missing key/value separator.*percent-encoded"),
])
def test_bad_url_is_a_config_error(url, expected):
    with pytest.raises(ConfigError, match=expected) as info:
        _config(url=url)
    message = str(info.value)
    assert "/team/zen.toml" in message and CONFIG_PATH in message
    assert "postgresql://USER:PASSWORD@HOST:PORT/DATABASE" in message
    assert "hunter22" not in message


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("schema", "team-a", r"schema = 'team-a' is not a plain PostgreSQL identifier"),
    ("pool_size", 0, r"pool_size = 0 must be greater than 0"),
    ("connect_timeout_s", -1, r"connect_timeout_s = -1(\.0)? must be greater than 0"),
])
def test_bad_options_are_config_errors(key, value, expected):
    with pytest.raises(ConfigError, match=expected):
        _config(url="postgresql://db/zen", **{key: value})


def test_unknown_option_lists_the_accepted_ones():
    with pytest.raises(ConfigError, match=r"\bpool\b.*Accepted keys: url, schema"):
        _config(url="postgresql://db/zen", pool=3)


@pytest.mark.parametrize("url", [
    "postgresql://zen:hunter22@db:5432/zen",
    "postgresql://zen@db:5432/zen?sslmode=require&password=hunter22",
])
def test_describe_masks_the_password(url):
    store = PostgresMetadataStore(_config(url=url))
    described = store.describe()
    assert "hunter22" not in repr(described)
    assert described["url"] == mask_url(url) and "***" in described["url"]
    assert described["flavor"] == "postgres"


def test_transaction_groups_writes_and_rolls_back_together(make_store):
    store = make_store()
    seen_elsewhere = []
    with store.transaction():
        run = _new_run()
        store.create_run(run)
        store.create_artifact_version(NewArtifactVersion("grouped", stored_data()))
        assert store.get_run(run.id) is not None  # this thread reads its own writes
        reader = threading.Thread(target=lambda: seen_elsewhere.append(store.get_run(run.id)))
        reader.start()
        reader.join()
    assert seen_elsewhere == [None]  # other threads see nothing before the commit
    assert store.get_run(run.id) is not None

    with pytest.raises(RuntimeError, match="abort"):
        with store.transaction():
            store.create_artifact_version(NewArtifactVersion("grouped", stored_data()))
            raise RuntimeError("abort")
    assert [v.version for v in store.list_artifact_versions("grouped")] == ["1"]
    assert store.create_artifact_version(NewArtifactVersion("grouped", stored_data())).version == "2"
