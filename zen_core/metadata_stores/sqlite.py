"""The embedded SQLite metadata store: one file, safe for several processes at once.

WAL lets readers run beside a writer; ``synchronous=NORMAL`` keeps commits
cheap (durable at checkpoints, never corrupt); ``BEGIN IMMEDIATE`` takes the
write lock up front so concurrent writers queue on the busy timeout instead
of failing with "database is locked" half-way through a transaction.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

import attrs

from zen_core.config import ConfigPath, at_most, positive
from zen_core.errors import MetadataStoreError
from zen_core.metadata_stores.base import MetadataStore
from zen_core.metadata_stores.sql import Dialect, SQLMetadataStore
from zen_core.plugins import hookimpl


@attrs.frozen
class SQLiteMetadataStoreConfig:
    path: ConfigPath
    # how long a writer waits for another's lock before failing (a day at most)
    busy_timeout_s: float = attrs.field(default=60.0, validator=[positive, at_most(86400)])


class SQLiteMetadataStore(SQLMetadataStore):
    FLAVOR = "sqlite"
    Config = SQLiteMetadataStoreConfig
    URL_SCHEMES = ("",)
    GROUP_COMMIT_S = 0.02  # each commit costs a write per touched page: share them
    dialect = Dialect(
        placeholder="?",
        # the rowid: a new row always gets max + 1, so order among rows is creation order
        # (AUTOINCREMENT would add a write to sqlite_sequence on every insert)
        seq_pk="INTEGER PRIMARY KEY",
        float_type="REAL",
        begin_write="BEGIN IMMEDIATE",
    )

    def _connect(self) -> Any:
        path = os.path.expanduser(self.config.path)
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            conn = sqlite3.connect(path, timeout=self.config.busy_timeout_s,
                                   isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={int(self.config.busy_timeout_s * 1000)}")
        except (OSError, sqlite3.Error) as exc:
            raise MetadataStoreError(
                f"cannot open the SQLite metadata store at {path!r}: {exc}. Fix: check that the "
                f"folder is writable, or set metadata_store.path in the config.",
                path=path,
            ) from exc
        return conn

    def _is_unique_violation(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)


@hookimpl
def zen_metadata_stores() -> list[type[MetadataStore]]:
    return [SQLiteMetadataStore]
