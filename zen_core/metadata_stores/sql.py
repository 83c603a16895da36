"""A metadata store in portable SQL, shared by SQLite (built in) and PostgreSQL.

Subclasses supply a DB-API connection in autocommit mode, the placeholder
style and a few DDL words (:class:`Dialect`); every query here runs on both.
Writes are explicit transactions; a version number is allocated by an
upsert on ``artifact_names`` inside the transaction that inserts the version,
so numbers stay unique and gap-free: an aborted write rolls its number back.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from zen_core.errors import ArtifactVersionExistsError, MetadataStoreError, RunNameTakenError
from zen_core.metadata.metadata_types import from_json, merge_entries, to_json
from zen_core.metadata_stores.base import (
    ID_KINDS,
    ArtifactSummary,
    MetadataStore,
    NewArtifactVersion,
    PipelineSummary,
    ResourceType,
    RunLease,
)
from zen_core.naming import is_number, validate_version
from zen_core.records import ArtifactVersion, ExecutionStatus, PipelineRun, StepRun, timestamp


@attrs.frozen
class Dialect:
    placeholder: str  # "?" or "%s"
    seq_pk: str  # an auto-incrementing integer primary key
    float_type: str
    begin_write: str  # starts a transaction that will write


def _move_artifact_tags(cur: Any) -> None:
    """Copy the tags of existing artifact versions from their JSON column into ``tags``."""
    cur.execute("SELECT id, tags FROM artifact_versions WHERE tags <> '[]'")
    rows = [(ResourceType.ARTIFACT_VERSION.value, av_id, tag) for av_id, text in cur.fetchall()
            for tag in dict.fromkeys(_loads(text, [], "artifact_versions", "tags", av_id))]
    if rows:
        cur.executemany("INSERT INTO tags (resource_type, resource_id, tag) VALUES (?, ?, ?)",
                        rows)
    cur.execute("UPDATE artifact_versions SET tags = '[]'")


# Each entry upgrades the schema by one version; never edit a released one. An entry holds
# SQL statements ({seq_pk} and {float} filled in per dialect) or functions given a cursor
# (``?`` placeholders), for data SQL cannot move portably.
MIGRATIONS: list[list[str | Callable[[Any], None]]] = [
    [
        """CREATE TABLE pipeline_runs (
            seq {seq_pk}, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL UNIQUE,
            pipeline_name TEXT NOT NULL, status TEXT NOT NULL, created {float} NOT NULL,
            finished {float}, params TEXT NOT NULL, error TEXT)""",
        "CREATE INDEX ix_runs_pipeline ON pipeline_runs (pipeline_name, seq)",
        "CREATE INDEX ix_runs_status ON pipeline_runs (status, seq)",
        """CREATE TABLE step_runs (
            seq {seq_pk}, id TEXT NOT NULL UNIQUE, run_id TEXT NOT NULL,
            invocation_id TEXT NOT NULL, step_name TEXT NOT NULL, pipeline_name TEXT NOT NULL,
            status TEXT NOT NULL, params TEXT NOT NULL, cache_key TEXT, cache_parts TEXT,
            cache_miss TEXT, started {float}, finished {float}, error TEXT,
            original_step_run_id TEXT)""",
        "CREATE INDEX ix_steps_run ON step_runs (run_id, seq)",
        "CREATE INDEX ix_steps_cache ON step_runs (cache_key, seq)",
        "CREATE INDEX ix_steps_invocation ON step_runs (pipeline_name, invocation_id, seq)",
        """CREATE TABLE artifact_names (
            name TEXT PRIMARY KEY, last_number INTEGER NOT NULL)""",
        """CREATE TABLE artifact_versions (
            seq {seq_pk}, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, version TEXT NOT NULL,
            uri TEXT NOT NULL, type TEXT, artifact_type TEXT NOT NULL, materializer TEXT NOT NULL,
            materializer_version TEXT NOT NULL, content_hash TEXT NOT NULL, size BIGINT NOT NULL,
            files TEXT NOT NULL, created {float} NOT NULL, tags TEXT NOT NULL,
            metadata TEXT NOT NULL, visualizations TEXT NOT NULL, producer_step_run_id TEXT,
            run_id TEXT, origin TEXT NOT NULL, UNIQUE (name, version))""",
        "CREATE INDEX ix_av_name ON artifact_versions (name, seq)",
        "CREATE INDEX ix_av_hash ON artifact_versions (content_hash)",
        """CREATE TABLE step_artifacts (
            step_run_id TEXT NOT NULL, direction TEXT NOT NULL, io_name TEXT NOT NULL,
            artifact_version_id TEXT NOT NULL, PRIMARY KEY (step_run_id, direction, io_name))""",
        "CREATE INDEX ix_sa_artifact ON step_artifacts (artifact_version_id, direction)",
    ],
    [  # 2: who runs a running run, and until when it promised to renew (crash detection)
        "ALTER TABLE pipeline_runs ADD COLUMN owner_host TEXT",
        "ALTER TABLE pipeline_runs ADD COLUMN owner_pid BIGINT",
        "ALTER TABLE pipeline_runs ADD COLUMN owner_started {float}",
        "ALTER TABLE pipeline_runs ADD COLUMN lease_expires {float}",
    ],
    [  # 3: run metadata and tags of runs, step runs, artifact versions and pipelines
        """CREATE TABLE run_metadata (
            seq {seq_pk}, resource_type TEXT NOT NULL, resource_id TEXT NOT NULL,
            key TEXT NOT NULL, value TEXT NOT NULL)""",
        "CREATE INDEX ix_rm_resource ON run_metadata (resource_type, resource_id, seq)",
        """CREATE TABLE tags (
            seq {seq_pk}, resource_type TEXT NOT NULL, resource_id TEXT NOT NULL,
            tag TEXT NOT NULL, UNIQUE (resource_type, resource_id, tag))""",
        # artifact_versions.tags stays (dropping a column needs SQLite >= 3.35), always '[]'
        _move_artifact_tags,
    ],
    [  # 4: what runs were configured with (PipelineRun.config)
        "ALTER TABLE pipeline_runs ADD COLUMN config TEXT",
    ],
    [  # 5: a version a prune is removing is hidden first (when), its data goes, then its row
        "ALTER TABLE artifact_versions ADD COLUMN hidden {float}",
    ],
]

_AV_COLS = ("seq, id, name, version, uri, type, artifact_type, materializer, materializer_version, "
            "content_hash, size, files, created, metadata, visualizations, "
            "producer_step_run_id, run_id, origin")
_SR_COLS = ("seq, id, run_id, invocation_id, step_name, pipeline_name, status, params, cache_key, "
            "cache_miss, started, finished, error, original_step_run_id")
_RUN_COLS = "seq, id, name, pipeline_name, status, created, finished, params, error, config"
# the same columns of a table joined as ``av`` / ``sr``
_AV_COLS_AS_AV = ", ".join("av." + c.strip() for c in _AV_COLS.split(","))
_SR_COLS_AS_SR = ", ".join("sr." + c.strip() for c in _SR_COLS.split(","))
_SR_WIDTH = len(_SR_COLS.split(","))
_SUCCESS = (ExecutionStatus.COMPLETED.value, ExecutionStatus.CACHED.value)
_ID_TABLES = dict(zip(ID_KINDS, ("pipeline_runs", "step_runs", "artifact_versions")))
# sort keys -> columns ("created" is the insertion sequence: monotonic, never tied)
_RUN_ORDER = {"created": "seq", "finished": "finished", "name": "name",
              "pipeline_name": "pipeline_name", "status": "status"}
_VERSION_ORDER = {"created": "seq", "name": "name", "size": "size"}


class SQLMetadataStore(MetadataStore):
    dialect: Dialect

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self._conn: Any = None
        self._pid = -1
        self._lock = threading.RLock()
        self._txn: Any = None  # the cursor of the write (or transaction()) under way
        self._group: Any = None  # (cursor, raw cursor, opened at) of an open group commit
        self._committer: threading.Thread | None = None
        _open_stores.add(self)

    # -- connection and transactions ------------------------------------------

    def _connect(self) -> Any:
        """A new DB-API connection in autocommit mode."""
        raise NotImplementedError

    def _is_unique_violation(self, exc: BaseException) -> bool:
        raise NotImplementedError

    def _connection(self) -> Any:
        if self._conn is None or self._pid != os.getpid():  # never share across fork
            self._group = self._txn = None  # the parent's, if forked
            self._conn = self._connect()
            self._pid = os.getpid()
            self._migrate()
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._commit_group()
                self._conn.close()
            self._conn = None

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config, "_conn": None, "_pid": -1}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()
        self._txn = self._group = self._committer = None

    def _sql(self, query: str) -> str:
        return query if self.dialect.placeholder == "?" else query.replace("?", "%s")

    # Group commit: writes marked ``group=True`` may wait up to GROUP_COMMIT_S in one open
    # transaction, so a chain of quick steps shares commits. Each write after the group's
    # first is a savepoint (a failing write undoes only itself; a failing first write rolls
    # back the group, which holds nothing else); a write not marked, a close, or the committer
    # thread ends the group. Readers on this connection see the writes at once; other
    # processes within GROUP_COMMIT_S. A killed process loses only uncommitted groups,
    # and with them the version numbers they took, so numbering stays gap-free.
    GROUP_COMMIT_S = 0.0

    @contextlib.contextmanager
    def _write(self, group: bool = False) -> Iterator[Any]:
        with self._lock:
            if self._txn is not None:  # inside transaction(): join it
                yield self._txn
                return
            first = self._group is None  # the group's only write so far: no savepoint
            if first:
                raw = self._connection().cursor()
                raw.execute(self.dialect.begin_write)
                self._group = (_Cursor(raw, self._sql), raw, time.monotonic())
            cur = self._group[0]
            if not first:
                cur.execute("SAVEPOINT zen_write")
            self._txn = cur
            try:
                yield cur
            except BaseException:
                self._txn = None
                if first:
                    self._rollback_group()
                    raise
                try:
                    cur.execute("ROLLBACK TO zen_write")
                    cur.execute("RELEASE zen_write")
                finally:
                    self._commit_group()  # what earlier writes of the group did stays
                raise
            self._txn = None
            if not first:
                cur.execute("RELEASE zen_write")
            if group and self.GROUP_COMMIT_S > 0 and (
                    time.monotonic() - self._group[2] < self.GROUP_COMMIT_S):
                self._start_committer()
            else:
                self._commit_group()

    def _rollback_group(self) -> None:
        group, self._group = self._group, None
        if group is not None and self._pid == os.getpid():
            try:
                group[1].execute("ROLLBACK")
            except Exception:  # (none active: the database undid it) the write's error tells
                pass
            finally:
                group[1].close()

    def _commit_group(self) -> None:
        group, self._group = self._group, None
        if group is not None and self._pid == os.getpid():  # a forked child leaves it alone
            try:
                group[1].execute("COMMIT")
            finally:
                group[1].close()

    COMMITTER_IDLE_S = 1.0  # the committer thread waits this long for a next group

    def _start_committer(self) -> None:  # (called holding self._lock)
        if self._committer is None:
            self._committer = threading.Thread(target=self._commit_periodically,
                                               name="zen-group-commit", daemon=True)
            self._committer.start()

    def _commit_periodically(self) -> None:
        """Commit each open group once it has waited GROUP_COMMIT_S. The thread stays for
        the groups that follow (a run opens one after each step) and ends after
        COMMITTER_IDLE_S without any, rather than starting a thread per group."""
        idle_until = time.monotonic() + self.COMMITTER_IDLE_S
        try:
            while True:
                with self._lock:
                    now = time.monotonic()
                    if self._group is None:
                        if now >= idle_until:
                            return
                        remaining = self.GROUP_COMMIT_S
                    else:
                        idle_until = now + self.COMMITTER_IDLE_S
                        remaining = self._group[2] + self.GROUP_COMMIT_S - now
                        if remaining <= 0:
                            try:
                                self._commit_group()
                            except Exception:  # the next write reports the problem
                                pass
                            continue
                time.sleep(remaining)
        finally:
            with self._lock:  # whatever ended it, the next group starts a new one
                if self._committer is threading.current_thread():
                    self._committer = None

    def flush(self) -> None:
        with self._lock:
            self._commit_group()

    @contextlib.contextmanager
    def transaction(self, group: bool = False) -> Iterator[None]:
        with self._write(group):
            yield

    @contextlib.contextmanager
    def _read(self) -> Iterator[Any]:
        with self._lock:
            cur = self._connection().cursor()
            try:
                yield _Cursor(cur, self._sql)
            finally:
                cur.close()

    def _migrate(self) -> None:
        cur = self._conn.cursor()
        try:
            cur.execute("CREATE TABLE IF NOT EXISTS zen_schema (version INTEGER NOT NULL)")
            cur.execute("SELECT version FROM zen_schema")
            row = cur.fetchone()
            current = row[0] if row else 0
            if current > len(MIGRATIONS):
                raise MetadataStoreError(
                    f"the metadata store {self._where()} has schema version {current}, newer than "
                    f"this zen_core understands ({len(MIGRATIONS)}). Fix: upgrade zen-artifacts "
                    f"(pip install -U zen-artifacts).",
                    schema_version=current,
                )
            if current == len(MIGRATIONS):
                return
            cur.execute(self.dialect.begin_write)
            try:
                cur.execute("SELECT version FROM zen_schema")  # re-read under the write lock
                row = cur.fetchone()
                current = row[0] if row else 0
                fmt = {"seq_pk": self.dialect.seq_pk, "float": self.dialect.float_type}
                for statements in MIGRATIONS[current:]:
                    for statement in statements:
                        if callable(statement):
                            statement(_Cursor(cur, self._sql))
                        else:
                            cur.execute(statement.format(**fmt))
                if row is None:
                    cur.execute(self._sql("INSERT INTO zen_schema (version) VALUES (?)"),
                                (len(MIGRATIONS),))
                else:
                    cur.execute(self._sql("UPDATE zen_schema SET version = ?"), (len(MIGRATIONS),))
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
        finally:
            cur.close()

    def _where(self) -> str:
        return repr(getattr(self.config, "path", None) or getattr(self.config, "url", "?"))

    # -- pipeline runs -----------------------------------------------------------

    def create_run(self, run: PipelineRun, lease: RunLease | None = None) -> None:
        lease = lease or RunLease(None, None, None, None)
        try:
            with self._write() as cur:
                cur.execute(
                    "INSERT INTO pipeline_runs (id, name, pipeline_name, status, created, "
                    "finished, params, error, owner_host, owner_pid, owner_started, "
                    "lease_expires, config) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (run.id, run.name, run.pipeline_name, str(run.status),
                     timestamp(run.created), timestamp(run.finished), _dumps(run.params),
                     run.error, lease.host, lease.pid, lease.started, lease.expires,
                     _dumps(run.options)),
                )
        except Exception as exc:
            if self._is_unique_violation(exc):  # the id is random: it is the name
                raise RunNameTakenError(f"a pipeline run named {run.name!r} exists already",
                                        name=run.name) from None
            raise

    def finish_run(self, run_id: str, status: str, finished: float,
                   error: str | None = None) -> None:
        with self._write() as cur:
            cur.execute("UPDATE pipeline_runs SET status = ?, finished = ?, error = ? WHERE id = ?",
                        (str(status), finished, error, run_id))

    def renew_leases(self, run_ids: Sequence[str], expires: float) -> None:
        if not run_ids:
            return
        with self._write() as cur:
            for start in range(0, len(run_ids), 500):
                chunk = list(run_ids[start : start + 500])
                cur.execute(f"UPDATE pipeline_runs SET lease_expires = ? WHERE status = ? AND "
                            f"id IN ({', '.join('?' * len(chunk))})",
                            (expires, ExecutionStatus.RUNNING.value, *chunk))

    def reap_runs(self, now: float, owner_dead: Callable[[RunLease], bool],
                  unleased_before: float) -> list[str]:
        with self._read() as cur:
            cur.execute("SELECT id, owner_host, owner_pid, owner_started, lease_expires, created "
                        "FROM pipeline_runs WHERE status = ?", (ExecutionStatus.RUNNING.value,))
            rows = cur.fetchall()
        reaped = []
        for run_id, host, pid, started, expires, created in rows:
            lease = RunLease(host, pid, started, expires)
            if expires is not None and expires < now:
                why = "its process stopped renewing its lease"
            elif expires is None and created < unleased_before:
                why = "it was started without a lease and never finished"
            elif host is not None and owner_dead(lease):
                why = f"its process (pid {pid} on {host}) is gone"
            else:
                continue
            error = f"crashed: {why}; the run was marked failed when it was found"
            with self._write() as write:
                # only if its lease is still what was read: a renewal in between wins
                same_lease = "lease_expires IS NULL" if expires is None else "lease_expires = ?"
                write.execute(
                    f"UPDATE pipeline_runs SET status = ?, finished = ?, error = ? WHERE id = ? "
                    f"AND status = ? AND {same_lease} RETURNING id",
                    (ExecutionStatus.FAILED.value, now, error, run_id,
                     ExecutionStatus.RUNNING.value, *([] if expires is None else [expires])))
                if write.fetchone() is not None:
                    write.execute("UPDATE step_runs SET status = ?, finished = ?, error = ? "
                                  "WHERE run_id = ? AND status = ?",
                                  (ExecutionStatus.FAILED.value, now, error, run_id,
                                   ExecutionStatus.RUNNING.value))
                    reaped.append(run_id)
        return reaped

    def get_run(self, id_or_name: str) -> PipelineRun | None:
        with self._read() as cur:
            cur.execute(f"SELECT {_RUN_COLS} FROM pipeline_runs WHERE id = ?", (id_or_name,))
            row = cur.fetchone()
            if row is None:
                cur.execute(f"SELECT {_RUN_COLS} FROM pipeline_runs WHERE name = ?", (id_or_name,))
                row = cur.fetchone()
        return _run(row) if row else None

    def _version_filter(self, name: str | None, tags: Sequence[str]) -> tuple[str, list]:
        clauses, args = _tag_clauses(ResourceType.ARTIFACT_VERSION, "artifact_versions.id", tags)
        clauses.append("hidden IS NULL")  # a prune is removing it
        if name is not None:
            clauses.append("name = ?")
            args.append(name)
        return " WHERE " + " AND ".join(clauses), args

    def _run_filter(self, pipeline_name: str | None, status: str | None,
                    tags: Sequence[str]) -> tuple[str, list]:
        clauses, args = _tag_clauses(ResourceType.PIPELINE_RUN, "pipeline_runs.id", tags)
        if pipeline_name:
            clauses.append("pipeline_name = ?")
            args.append(pipeline_name)
        if status:
            clauses.append("status = ?")
            args.append(str(status))
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def list_runs(self, *, pipeline_name: str | None = None, status: str | None = None,
                  limit: int | None = None, offset: int = 0, order_by: str = "created",
                  descending: bool = True, tags: Sequence[str] = ()) -> list[PipelineRun]:
        where, args = self._run_filter(pipeline_name, status, tags)
        order = _order(_RUN_ORDER, order_by, descending)
        query, args = _page(f"SELECT {_RUN_COLS} FROM pipeline_runs{where} ORDER BY {order}",
                            args, limit, offset)
        with self._read() as cur:
            cur.execute(query, args)
            return [_run(r) for r in cur.fetchall()]

    def list_pipelines(self) -> list[PipelineSummary]:
        with self._read() as cur:
            cur.execute(
                "SELECT g.pipeline_name, g.n, r.id FROM (SELECT pipeline_name, COUNT(*) AS n, "
                "MAX(seq) AS last FROM pipeline_runs GROUP BY pipeline_name) g "
                "JOIN pipeline_runs r ON r.seq = g.last ORDER BY g.pipeline_name")
            return [PipelineSummary(r[0], int(r[1]), r[2]) for r in cur.fetchall()]

    def count_runs(self, *, pipeline_name: str | None = None, status: str | None = None,
                   tags: Sequence[str] = ()) -> int:
        where, args = self._run_filter(pipeline_name, status, tags)
        with self._read() as cur:
            cur.execute(f"SELECT COUNT(*) FROM pipeline_runs{where}", args)
            return int(cur.fetchone()[0])

    def delete_run(self, run_id: str) -> None:
        with self._write() as cur:
            for table in ("run_metadata", "tags"):
                cur.execute(f"DELETE FROM {table} WHERE resource_type = ? AND resource_id IN "
                            f"(SELECT id FROM step_runs WHERE run_id = ?)",
                            (ResourceType.STEP_RUN.value, run_id))
                cur.execute(f"DELETE FROM {table} WHERE resource_type = ? AND resource_id = ?",
                            (ResourceType.PIPELINE_RUN.value, run_id))
            cur.execute("DELETE FROM step_artifacts WHERE step_run_id IN "
                        "(SELECT id FROM step_runs WHERE run_id = ?)", (run_id,))
            cur.execute("DELETE FROM step_runs WHERE run_id = ?", (run_id,))
            cur.execute("DELETE FROM pipeline_runs WHERE id = ?", (run_id,))

    # -- step runs -----------------------------------------------------------

    def _insert_step_run(self, cur: Any, s: StepRun, cache_parts: Mapping[str, Any] | None) -> None:
        cur.execute(
            "INSERT INTO step_runs (id, run_id, invocation_id, step_name, pipeline_name, status, "
            "params, cache_key, cache_parts, cache_miss, started, finished, error, "
            "original_step_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (s.id, s.run_id, s.name, s.step_name, s.pipeline_name, str(s.status), _dumps(s.params),
             s.cache_key, _dumps(cache_parts) if cache_parts is not None else None, s.cache_miss,
             timestamp(s.started), timestamp(s.finished), s.error, s.original_step_run_id),
        )

    def _link(self, cur: Any, step_run_id: str, *by_direction: tuple[str, Mapping[str, str]]
              ) -> None:
        """Insert lineage links: ``(direction, {io_name: artifact version id})`` pairs."""
        rows = [(step_run_id, direction, name, av_id)
                for direction, links in by_direction for name, av_id in links.items()]
        if rows:
            cur.executemany(
                "INSERT INTO step_artifacts (step_run_id, direction, io_name, artifact_version_id) "
                "VALUES (?, ?, ?, ?)", rows)

    def create_step_run(self, step_run: StepRun, inputs: Mapping[str, str],
                        cache_parts: Mapping[str, Any] | None = None,
                        outputs: Mapping[str, str] | None = None) -> None:
        with self._write() as cur:
            self._insert_step_run(cur, step_run, cache_parts)
            self._link(cur, step_run.id, ("in", inputs), ("out", outputs or {}))

    def complete_step_run(self, step_run_id: str, *,
                          outputs: Sequence[tuple[str, NewArtifactVersion]],
                          extra_inputs: Mapping[str, str], finished: float) -> list[ArtifactVersion]:
        with self._write() as cur:
            created = [self._insert_version(cur, new) for _, new in outputs]
            made = {io: av.id for (io, _), av in zip(outputs, created)}
            self._link(cur, step_run_id, ("out", made), ("in", extra_inputs))
            cur.execute("UPDATE step_runs SET status = ?, finished = ? WHERE id = ?",
                        (ExecutionStatus.COMPLETED.value, finished, step_run_id))
        return created

    def fail_step_run(self, step_run_id: str, error: str, finished: float) -> None:
        with self._write() as cur:
            cur.execute("UPDATE step_runs SET status = ?, finished = ?, error = ? WHERE id = ?",
                        (ExecutionStatus.FAILED.value, finished, error, step_run_id))

    def find_cache_candidates(self, cache_key: str, limit: int = 3) -> list[StepRun]:
        with self._read() as cur:
            cur.execute(
                f"SELECT {_SR_COLS} FROM step_runs WHERE cache_key = ? AND status IN (?, ?) "
                f"ORDER BY seq DESC LIMIT {int(limit)}",
                (cache_key, *_SUCCESS),
            )
            return [_step_run(r) for r in cur.fetchall()]

    def find_cached_step_runs(self, cache_key: str, limit: int = 3
                              ) -> list[tuple[StepRun, dict[str, ArtifactVersion]]]:
        sr_cols, av_cols = _SR_COLS_AS_SR, _AV_COLS_AS_AV
        with self._read() as cur:
            cur.execute(
                f"SELECT {sr_cols}, sa.io_name, {av_cols} FROM (SELECT {_SR_COLS} FROM step_runs "
                f"WHERE cache_key = ? AND status IN (?, ?) ORDER BY seq DESC LIMIT {int(limit)}) sr "
                f"LEFT JOIN step_artifacts sa ON sa.step_run_id = sr.id AND sa.direction = 'out' "
                f"LEFT JOIN artifact_versions av ON av.id = sa.artifact_version_id "
                f"AND av.hidden IS NULL ORDER BY sr.seq DESC, av.seq",
                (cache_key, *_SUCCESS),
            )
            rows = cur.fetchall()
        found: dict[str, tuple[StepRun, dict[str, ArtifactVersion]]] = {}
        width = _SR_WIDTH
        for row in rows:
            step_run_id = row[1]
            if step_run_id not in found:
                found[step_run_id] = (_step_run(row[:width]), {})
            if row[width + 2] is not None:  # an output's version (none, or hidden: no row)
                found[step_run_id][1][row[width]] = _artifact(row[width + 1:])
        return list(found.values())

    def previous_step_run(self, pipeline_name: str, invocation_id: str
                          ) -> tuple[StepRun, dict[str, Any]] | None:
        with self._read() as cur:
            cur.execute(
                f"SELECT {_SR_COLS}, cache_parts FROM step_runs WHERE pipeline_name = ? AND "
                f"invocation_id = ? AND status IN (?, ?) AND cache_parts IS NOT NULL "
                f"ORDER BY seq DESC LIMIT 1",
                (pipeline_name, invocation_id, *_SUCCESS),
            )
            row = cur.fetchone()
        if row is None:
            return None
        return _step_run(row[:-1]), _loads(row[-1], {}, "step_runs", "cache_parts", row[1])

    def get_step_run(self, step_run_id: str) -> StepRun | None:
        with self._read() as cur:
            cur.execute(f"SELECT {_SR_COLS} FROM step_runs WHERE id = ?", (step_run_id,))
            row = cur.fetchone()
        return _step_run(row) if row else None

    def list_step_runs(self, run_id: str) -> list[StepRun]:
        with self._read() as cur:
            cur.execute(f"SELECT {_SR_COLS} FROM step_runs WHERE run_id = ? ORDER BY seq", (run_id,))
            return [_step_run(r) for r in cur.fetchall()]

    def step_io(self, step_run_id: str) -> tuple[dict[str, ArtifactVersion],
                                                  dict[str, ArtifactVersion]]:
        with self._read() as cur:
            return self._io(cur, step_run_id)

    def step_io_many(self, step_run_ids: Sequence[str]
                     ) -> dict[str, tuple[dict[str, ArtifactVersion], dict[str, ArtifactVersion]]]:
        found: dict[str, tuple[dict[str, ArtifactVersion], dict[str, ArtifactVersion]]] = {
            step_run_id: ({}, {}) for step_run_id in step_run_ids}
        if not found:
            return found
        cols = _AV_COLS_AS_AV
        with self._read() as cur:
            cur.execute(
                f"SELECT sa.step_run_id, sa.direction, sa.io_name, {cols} FROM step_artifacts sa "
                f"JOIN artifact_versions av ON av.id = sa.artifact_version_id "
                f"WHERE sa.step_run_id IN ({', '.join('?' * len(found))}) "
                f"AND av.hidden IS NULL ORDER BY av.seq",
                tuple(found),
            )
            rows = cur.fetchall()
        for row in rows:
            inputs, outputs = found[row[0]]
            (inputs if row[1] == "in" else outputs)[row[2]] = _artifact(row[3:])
        return found

    def _io(self, cur: Any, step_run_id: str) -> tuple[dict[str, ArtifactVersion],
                                                        dict[str, ArtifactVersion]]:
        cols = _AV_COLS_AS_AV
        cur.execute(
            f"SELECT sa.direction, sa.io_name, {cols} FROM step_artifacts sa "
            f"JOIN artifact_versions av ON av.id = sa.artifact_version_id "
            f"WHERE sa.step_run_id = ? AND av.hidden IS NULL ORDER BY av.seq",
            (step_run_id,),
        )
        inputs: dict[str, ArtifactVersion] = {}
        outputs: dict[str, ArtifactVersion] = {}
        for row in cur.fetchall():
            (inputs if row[0] == "in" else outputs)[row[1]] = _artifact(row[2:])
        return inputs, outputs

    # -- artifact versions -----------------------------------------------------

    def _insert_version(self, cur: Any, new: NewArtifactVersion) -> ArtifactVersion:
        if new.version is None:
            cur.execute(
                "INSERT INTO artifact_names (name, last_number) VALUES (?, 1) "
                "ON CONFLICT (name) DO UPDATE SET last_number = artifact_names.last_number + 1 "
                "RETURNING last_number",
                (new.name,),
            )
            number = int(cur.fetchone()[0])
            if number == 1:  # a new name, or its counter row was lost: count on from the versions
                number = self._highest_number(cur, new.name) + 1
                if number > 1:
                    cur.execute("UPDATE artifact_names SET last_number = ? WHERE name = ?",
                                (number, new.name))
            version = str(number)
        else:
            version = validate_version(new.version, new.name)
            if is_number(version):  # a pinned number still counts for the automatic ones
                cur.execute(
                    "INSERT INTO artifact_names (name, last_number) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET last_number = CASE WHEN "
                    "artifact_names.last_number > excluded.last_number THEN "
                    "artifact_names.last_number ELSE excluded.last_number END",
                    (new.name, int(version)),
                )
        av = new.preview()
        av.version = version
        try:
            cur.execute(
                "INSERT INTO artifact_versions (id, name, version, uri, type, artifact_type, "
                "materializer, materializer_version, content_hash, size, files, created, tags, "
                "metadata, visualizations, producer_step_run_id, run_id, origin) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
                (av.id, av.name, av.version, av.uri, av.type, av.artifact_type, av.materializer,
                 av.materializer_version, av.content_hash, av.size, _dumps(av.files),
                 new.created, "[]", _dumps(av.metadata), _dumps(av.visualizations),
                 av.producer_step_run_id, av.run_id, av.origin),
            )
        except Exception as exc:
            if self._is_unique_violation(exc):
                raise ArtifactVersionExistsError.taken(new.name, version) from None
            raise
        av.seq = int(cur.fetchone()[0])
        if new.tags:
            self._add_tags(cur, ResourceType.ARTIFACT_VERSION, av.id, new.tags)
        if new.run_metadata:
            self._add_run_metadata(cur, ResourceType.ARTIFACT_VERSION, av.id, new.run_metadata)
        return av

    def _highest_number(self, cur: Any, name: str) -> int:
        """The highest numeric version ``name`` has (0: none); read only for a name's first
        automatic number, so a deleted counter row heals instead of blocking the name."""
        cur.execute("SELECT version FROM artifact_versions WHERE name = ?", (name,))
        return max((int(v) for (v,) in cur.fetchall() if is_number(v)), default=0)

    def create_artifact_version(self, new: NewArtifactVersion) -> ArtifactVersion:
        with self._write() as cur:
            return self._insert_version(cur, new)

    def get_artifact_version(self, name: str, version: str | None = None
                             ) -> ArtifactVersion | None:
        with self._read() as cur:
            if version is None:
                cur.execute(f"SELECT {_AV_COLS} FROM artifact_versions WHERE name = ? AND "
                            f"hidden IS NULL ORDER BY seq DESC LIMIT 1", (name,))
            else:
                cur.execute(f"SELECT {_AV_COLS} FROM artifact_versions WHERE name = ? AND "
                            f"version = ? AND hidden IS NULL", (name, str(version)))
            row = cur.fetchone()
        return _artifact(row) if row else None

    def get_artifact_version_by_id(self, av_id: str) -> ArtifactVersion | None:
        with self._read() as cur:
            cur.execute(f"SELECT {_AV_COLS} FROM artifact_versions WHERE id = ? AND "
                        f"hidden IS NULL", (av_id,))
            row = cur.fetchone()
        return _artifact(row) if row else None

    def find_artifact_version(self, name: str, content_hash: str) -> ArtifactVersion | None:
        with self._read() as cur:
            cur.execute(f"SELECT {_AV_COLS} FROM artifact_versions WHERE content_hash = ? AND "
                        f"name = ? AND hidden IS NULL ORDER BY seq DESC LIMIT 1", (content_hash, name))
            row = cur.fetchone()
        return _artifact(row) if row else None

    def list_artifact_versions(self, name: str | None = None, *, limit: int | None = None,
                               offset: int = 0, order_by: str = "created",
                               descending: bool = False, tags: Sequence[str] = ()
                               ) -> list[ArtifactVersion]:
        where, args = self._version_filter(name, tags)
        order = _order(_VERSION_ORDER, order_by, descending)
        query, args = _page(f"SELECT {_AV_COLS} FROM artifact_versions{where} ORDER BY {order}",
                            args, limit, offset)
        with self._read() as cur:
            cur.execute(query, args)
            return [_artifact(r) for r in cur.fetchall()]

    def count_artifact_versions(self, name: str | None = None, *,
                                tags: Sequence[str] = ()) -> int:
        where, args = self._version_filter(name, tags)
        with self._read() as cur:
            cur.execute(f"SELECT COUNT(*) FROM artifact_versions{where}", args)
            return int(cur.fetchone()[0])

    def list_artifacts(self) -> list[ArtifactSummary]:
        with self._read() as cur:
            cur.execute(
                "SELECT g.name, g.n, av.version, av.created FROM (SELECT name, COUNT(*) AS n, "
                "MAX(seq) AS last FROM artifact_versions WHERE hidden IS NULL GROUP BY name) g "
                "JOIN artifact_versions av ON av.seq = g.last ORDER BY g.name"
            )
            return [ArtifactSummary(r[0], int(r[1]), r[2], r[3]) for r in cur.fetchall()]

    def version_taken(self, name: str, version: str) -> bool:
        with self._read() as cur:
            cur.execute("SELECT 1 FROM artifact_versions WHERE name = ? AND version = ?",
                        (name, version))
            return cur.fetchone() is not None

    def consumers(self, av_id: str) -> list[StepRun]:
        cols = _SR_COLS_AS_SR
        with self._read() as cur:
            cur.execute(
                f"SELECT DISTINCT {cols} FROM step_artifacts sa JOIN step_runs sr "
                f"ON sr.id = sa.step_run_id WHERE sa.artifact_version_id = ? AND "
                f"sa.direction = 'in' ORDER BY sr.seq",
                (av_id,),
            )
            return [_step_run(r) for r in cur.fetchall()]

    # -- ids -----------------------------------------------------------------------

    def match_ids(self, kind: str, prefix: str, limit: int = 10) -> list[str]:
        # a range, not LIKE, so the id index serves it: hex digits all sort before "g"
        with self._read() as cur:
            cur.execute(f"SELECT id FROM {_id_table(kind)} WHERE id >= ? AND id < ? "
                        f"ORDER BY id LIMIT {int(limit)}", (prefix, prefix + "g"))
            return [r[0] for r in cur.fetchall()]

    def adjacent_ids(self, kind: str, record_id: str) -> tuple[str | None, str | None]:
        table = _id_table(kind)
        with self._read() as cur:
            cur.execute(f"SELECT MAX(id) FROM {table} WHERE id < ?", (record_id,))
            before = cur.fetchone()[0]
            cur.execute(f"SELECT MIN(id) FROM {table} WHERE id > ?", (record_id,))
            return before, cur.fetchone()[0]

    # -- pruning -----------------------------------------------------------------

    def unreferenced_artifact_versions(self) -> list[ArtifactVersion]:
        with self._read() as cur:
            cur.execute(
                f"SELECT {_AV_COLS} FROM artifact_versions av WHERE av.origin IN "
                f"('step', 'external') AND "
                f"NOT EXISTS (SELECT 1 FROM step_artifacts sa JOIN step_runs sr "
                f"ON sr.id = sa.step_run_id WHERE sa.artifact_version_id = av.id) ORDER BY seq"
            )
            return [_artifact(r) for r in cur.fetchall()]

    def hide_artifact_versions(self, ids: Iterable[str]) -> None:
        self._set_hidden(ids, time.time())

    def unhide_artifact_versions(self, ids: Iterable[str]) -> None:
        self._set_hidden(ids, None)

    def _set_hidden(self, ids: Iterable[str], when: float | None) -> None:
        ids = list(ids)
        with self._write() as cur:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                cur.execute(f"UPDATE artifact_versions SET hidden = ? WHERE id IN "
                            f"({', '.join('?' * len(chunk))})", (when, *chunk))

    def hidden_artifact_versions(self) -> list[ArtifactVersion]:
        with self._read() as cur:
            cur.execute(f"SELECT {_AV_COLS} FROM artifact_versions WHERE hidden IS NOT NULL "
                        f"ORDER BY seq")
            return [_artifact(r) for r in cur.fetchall()]

    def delete_artifact_versions(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        with self._write() as cur:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                cur.execute(f"DELETE FROM step_artifacts WHERE artifact_version_id IN ({marks})",
                            chunk)
                for table in ("run_metadata", "tags"):
                    cur.execute(f"DELETE FROM {table} WHERE resource_type = ? AND "
                                f"resource_id IN ({marks})",
                                (ResourceType.ARTIFACT_VERSION.value, *chunk))
                cur.execute(f"DELETE FROM artifact_versions WHERE id IN ({marks})", chunk)

    def content_hash_counts(self, hashes: Iterable[str]) -> dict[str, int]:
        hashes = list(hashes)
        counts: dict[str, int] = {}
        with self._read() as cur:
            for start in range(0, len(hashes), 500):
                chunk = hashes[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                cur.execute(f"SELECT content_hash, COUNT(*) FROM artifact_versions "
                            f"WHERE content_hash IN ({marks}) GROUP BY content_hash", chunk)
                counts.update((r[0], int(r[1])) for r in cur.fetchall())
        return counts

    # -- run metadata and tags -------------------------------------------------------

    def add_run_metadata(self, resource_type: str, resource_id: str,
                         values: Mapping[str, Any]) -> None:
        if not values:
            return
        with self._write() as cur:
            self._add_run_metadata(cur, resource_type, resource_id, values)

    def _add_run_metadata(self, cur: Any, resource_type: str, resource_id: str,
                          values: Mapping[str, Any]) -> None:
        cur.executemany(
            "INSERT INTO run_metadata (resource_type, resource_id, key, value) VALUES (?, ?, ?, ?)",
            [(str(resource_type), resource_id, key, json.dumps(to_json(value),
                                                               separators=(",", ":")))
             for key, value in values.items()])

    def get_run_metadata(self, resource_type: str, resource_ids: Sequence[str]
                         ) -> dict[str, dict[str, Any]]:
        entries: dict[str, list[tuple[str, Any]]] = {}
        for rid, key, text in self._by_resource(
                "SELECT resource_id, key, value FROM run_metadata", resource_type, resource_ids):
            entries.setdefault(rid, []).append(
                (key, from_json(_loads(text, None, "run_metadata", "value", rid))))
        return {rid: merge_entries(found) for rid, found in entries.items()}

    def add_tags(self, resource_type: str, resource_id: str, tags: Sequence[str]) -> None:
        if not tags:
            return
        with self._write() as cur:
            self._add_tags(cur, resource_type, resource_id, tags)

    def _add_tags(self, cur: Any, resource_type: str, resource_id: str,
                  tags: Sequence[str]) -> None:
        cur.executemany(
            "INSERT INTO tags (resource_type, resource_id, tag) VALUES (?, ?, ?) "
            "ON CONFLICT (resource_type, resource_id, tag) DO NOTHING",
            [(str(resource_type), resource_id, tag) for tag in dict.fromkeys(tags)])

    def remove_tags(self, resource_type: str, resource_id: str, tags: Sequence[str]) -> None:
        if not tags:
            return
        with self._write() as cur:
            cur.executemany(
                "DELETE FROM tags WHERE resource_type = ? AND resource_id = ? AND tag = ?",
                [(str(resource_type), resource_id, tag) for tag in dict.fromkeys(tags)])

    def get_tags(self, resource_type: str, resource_ids: Sequence[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for rid, tag in self._by_resource("SELECT resource_id, tag FROM tags", resource_type,
                                          resource_ids):
            found.setdefault(rid, []).append(tag)
        return found

    def _by_resource(self, select: str, resource_type: str,
                     resource_ids: Sequence[str]) -> list[Any]:
        """Rows of ``select`` for these resources, in the order they were written."""
        ids = list(dict.fromkeys(resource_ids))
        rows: list[Any] = []
        with self._read() as cur:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                cur.execute(f"{select} WHERE resource_type = ? AND resource_id IN "
                            f"({', '.join('?' * len(chunk))}) ORDER BY seq",
                            (str(resource_type), *chunk))
                rows.extend(cur.fetchall())
        return rows


_open_stores: weakref.WeakSet[SQLMetadataStore] = weakref.WeakSet()


_inherited_connections: list[Any] = []


def _reset_after_fork() -> None:
    """In a forked child: fresh locks (a parent thread may have held one at the fork),
    and no claim on the parent's connection or open group."""
    for store in list(_open_stores):
        store._lock = threading.RLock()
        store._group = store._txn = store._committer = None
        if store._conn is not None:
            # never close it here: closing could checkpoint or remove the parent's WAL
            _inherited_connections.append(store._conn)
            store._conn = None


os.register_at_fork(after_in_child=_reset_after_fork)


@atexit.register
def _flush_open_stores() -> None:
    for store in list(_open_stores):
        try:
            store.flush()
        except Exception:
            pass


class _Cursor:
    """Rewrites ``?`` placeholders for the dialect; everything else passes through."""

    def __init__(self, cur: Any, sql: Any) -> None:
        self._cur = cur
        self._sql = sql

    def execute(self, query: str, args: Sequence[Any] = ()) -> Any:
        return self._cur.execute(self._sql(query), tuple(args))

    def executemany(self, query: str, rows: list[Sequence[Any]]) -> Any:
        return self._cur.executemany(self._sql(query), rows)

    def fetchone(self) -> Any:
        return self._cur.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cur.fetchall()


def _tag_clauses(resource_type: str, id_column: str, tags: Sequence[str]
                 ) -> tuple[list[str], list[Any]]:
    """One ``EXISTS`` clause per tag: the rows carrying every tag of ``tags``."""
    tags = [tags] if isinstance(tags, str) else list(dict.fromkeys(tags))
    clauses = [f"EXISTS (SELECT 1 FROM tags t WHERE t.resource_type = ? AND "
               f"t.resource_id = {id_column} AND t.tag = ?)" for _ in tags]
    return clauses, [arg for tag in tags for arg in (str(resource_type), tag)]
def _id_table(kind: str) -> str:
    if kind not in _ID_TABLES:
        raise ValueError(f"unknown id kind {kind!r}; one of {', '.join(ID_KINDS)}")
    return _ID_TABLES[kind]




def _order(columns: Mapping[str, str], key: str, descending: bool) -> str:
    """An ORDER BY clause for a sort key; ties by insertion, NULLs last on every database."""
    if key not in columns:
        raise ValueError(f"cannot order by {key!r}; one of {', '.join(columns)}")
    way = "DESC" if descending else "ASC"
    column = columns[key]
    if column == "seq":
        return f"seq {way}"
    return f"CASE WHEN {column} IS NULL THEN 1 ELSE 0 END, {column} {way}, seq {way}"


def _page(query: str, args: list[Any], limit: int | None, offset: int) -> tuple[str, list[Any]]:
    if limit is not None:
        query += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    elif offset:
        query += f" LIMIT 9223372036854775807 OFFSET {int(offset)}"
    return query, args


def _dumps(value: Any) -> str:
    if not value and isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[]"  # most tags, metadata, links
    return json.dumps(value, default=str, separators=(",", ":"))


def _loads(text: Any, fallback: Any, table: str, column: str, row_id: str) -> Any:
    """A JSON column's value; a row changed outside zen_core into invalid JSON gives
    ``fallback`` and one warning, so listing and showing still work (an unreadable
    manifest falls back to ``None``, which loading refuses)."""
    if text == "{}":  # most metadata, visualizations and parameters
        return {}
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        from zen_core.logger import get_logger

        get_logger().warning("metadata.invalid_json", table=table, column=column, id=row_id,
                             error=str(exc), hint="the row was changed outside zen_core")
        return fallback


def _run(r: Sequence[Any]) -> PipelineRun:
    return PipelineRun(seq=r[0], id=r[1], name=r[2], pipeline_name=r[3], status=r[4],
                       created=r[5], finished=r[6],
                       params=_loads(r[7], {}, "pipeline_runs", "params", r[1]), error=r[8],
                       options=_options(r[9], "pipeline_runs", r[1]))


def _step_run(r: Sequence[Any]) -> StepRun:
    return StepRun(seq=r[0], id=r[1], run_id=r[2], name=r[3], step_name=r[4], pipeline_name=r[5],
                   status=r[6], params=_loads(r[7], {}, "step_runs", "params", r[1]),
                   cache_key=r[8], cache_miss=r[9], started=r[10], finished=r[11], error=r[12],
                   original_step_run_id=r[13])


def _options(text: Any, table: str, row_id: str) -> dict[str, Any]:
    """The ``config`` column: ``NULL`` in rows written before it existed."""
    return {} if text is None else _loads(text, {}, table, "config", row_id)


def _artifact(r: Sequence[Any]) -> ArtifactVersion:
    def column(i: int, name: str, fallback: Any) -> Any:
        return _loads(r[i], fallback, "artifact_versions", name, r[1])

    return ArtifactVersion(
        seq=r[0], id=r[1], name=r[2], version=r[3], uri=r[4], type=r[5], artifact_type=r[6],
        materializer=r[7], materializer_version=r[8], content_hash=r[9], size=int(r[10]),
        files=column(11, "files", None), created=r[12], metadata=column(13, "metadata", {}),
        visualizations=column(14, "visualizations", {}), producer_step_run_id=r[15],
        run_id=r[16], origin=r[17],
    )
