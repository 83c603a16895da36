"""PostgreSQL metadata store at 100,000 artifact versions: latest-version lookups and listings.

Creates a throwaway database with zen_postgres.testing.temporary_database (on the server
named by ZEN_TEST_POSTGRES_URL, else root@ or postgres@127.0.0.1:5432), bulk-loads 100,000
versions over 10,000 names with COPY (the store's own API is timed on a smaller batch),
then times:

- ``get_artifact_version(name)`` (latest) and ``get_artifact_version(name, version)``
  per call, median of several rounds of many lookups, against the same SQL sent
  through a bare psycopg cursor (the raw baseline, measured in the same run);
- ``list_artifacts()`` over all 10,000 names, against the bare query.

Target: latest-version lookup <= 3 ms. Run: python benchmarks/bench_postgres.py
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
import uuid

NAMES = 10_000
PER_NAME = 10
TOTAL = NAMES * PER_NAME
ROUNDS = 5
LOOKUPS = 2_000  # per round
TARGET_MS = 3.0

_COLS = ("id, name, version, uri, type, artifact_type, materializer, materializer_version, "
         "content_hash, size, files, created, tags, metadata, visualizations, "
         "producer_step_run_id, run_id, origin")


def _name(i: int) -> str:
    return f"training_pipeline::step_{i % 37}::output_{i:05d}"


def bulk_load(conn, schema: str) -> float:
    """COPY 100,000 versions (version numbers 1..PER_NAME per name, interleaved in time)."""
    files = json.dumps({"data.json": [120, "0" * 32]})
    meta = json.dumps({"rows": 3, "columns": ["a", "b"]})
    start = time.perf_counter()
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(f'SET LOCAL search_path TO "{schema}"')
        now = time.time()
        with cur.copy(f"COPY artifact_versions ({_COLS}) FROM STDIN") as copy:
            for v in range(1, PER_NAME + 1):
                for i in range(NAMES):
                    h = uuid.uuid4().hex
                    copy.write_row((uuid.uuid4().hex, _name(i), str(v), f"/store/.zen/objects/{h[:2]}/{h}",
                                    "builtins.dict", "data", "zen_core.materializers.builtin.ContainerMaterializer",
                                    "1", h, 120, files, now + v * NAMES + i, "[]", meta, "{}",
                                    None, None, "saved"))
        with cur.copy("COPY artifact_names (name, last_number) FROM STDIN") as copy:
            for i in range(NAMES):
                copy.write_row((_name(i), PER_NAME))
        cur.execute("ANALYZE artifact_versions")
        cur.execute("ANALYZE artifact_names")
    return time.perf_counter() - start


def time_calls(fn, args_list) -> float:
    """Median seconds per call over ``args_list``."""
    times = []
    for args in args_list:
        t0 = time.perf_counter_ns()
        fn(*args)
        times.append(time.perf_counter_ns() - t0)
    return statistics.median(times) / 1e9


def main() -> int:
    from zen_postgres.testing import PostgresUnavailable, temporary_database

    try:
        with temporary_database() as url:
            run(url)
    except PostgresUnavailable as exc:
        print(f"bench_postgres: {exc}")
        return 1
    return 0


def run(url: str) -> None:
    import psycopg
    from zen_postgres import PostgresMetadataStore, PostgresMetadataStoreConfig

    from zen_core.artifacts.data import StoredData
    from zen_core.metadata_stores.base import NewArtifactVersion

    store = PostgresMetadataStore(PostgresMetadataStoreConfig(url=url, schema="bench"))
    try:
        store.list_artifacts()  # creates the tables
        raw = psycopg.connect(url, autocommit=True, options="-c search_path=bench")
        load_s = bulk_load(raw, "bench")
        print(f"bulk load (COPY): {TOTAL:,} versions over {NAMES:,} names in {load_s:.2f} s "
              f"({TOTAL / load_s:,.0f} rows/s)")

        # the store's own write path, for scale: one transaction, and one per version
        def _stored(i: str) -> StoredData:
            h = i.ljust(32, "0")
            return StoredData(uri=f"/store/.zen/objects/{h[:2]}/{h}", content_hash=h, size=1,
                              files={"data.bin": [1, "0"]}, materializer="bench.Bytes",
                              materializer_version="1", type="builtins.bytes",
                              artifact_type="data", metadata={}, visualizations={})

        batch = 2_000
        t0 = time.perf_counter()
        with store.transaction():
            for i in range(batch):
                store.create_artifact_version(NewArtifactVersion(f"api_{i % 100}", _stored(str(i))))
        grouped = (time.perf_counter() - t0) / batch
        t0 = time.perf_counter()
        for i in range(500):
            store.create_artifact_version(NewArtifactVersion(f"api_{i % 100}", _stored(str(i))))
        single = (time.perf_counter() - t0) / 500
        print(f"create_artifact_version: {grouped * 1e3:.3f} ms each in one transaction of "
              f"{batch:,}; {single * 1e3:.3f} ms each as its own transaction")

        rng = random.Random(7)
        latest_sql = (f"SELECT seq, {_COLS} FROM artifact_versions WHERE name = %s "
                      f"ORDER BY seq DESC LIMIT 1")
        pinned_sql = f"SELECT seq, {_COLS} FROM artifact_versions WHERE name = %s AND version = %s"
        cur = raw.cursor()

        def raw_latest(name: str) -> None:
            cur.execute(latest_sql, (name,))
            cur.fetchone()

        def raw_pinned(name: str, version: str) -> None:
            cur.execute(pinned_sql, (name, version))
            cur.fetchone()

        # warm: caches, and psycopg's server-side prepared statements (after 5 uses)
        for i in range(300):
            store.get_artifact_version(_name(i))
            store.get_artifact_version(_name(i), "3")
            raw_latest(_name(i))
            raw_pinned(_name(i), "3")
        assert store.get_artifact_version(_name(42)).version == str(PER_NAME)

        results: dict[str, list[float]] = {k: [] for k in
                                           ("latest", "raw_latest", "pinned", "raw_pinned")}
        for _ in range(ROUNDS):
            names = [(_name(rng.randrange(NAMES)),) for _ in range(LOOKUPS)]
            pinned = [(n, str(rng.randint(1, PER_NAME))) for (n,) in names]
            results["latest"].append(time_calls(store.get_artifact_version, names))
            results["raw_latest"].append(time_calls(raw_latest, names))
            results["pinned"].append(time_calls(store.get_artifact_version, pinned))
            results["raw_pinned"].append(time_calls(raw_pinned, pinned))
        med = {k: statistics.median(v) for k, v in results.items()}
        print(f"get_artifact_version(name) latest: median {med['latest'] * 1e3:.3f} ms "
              f"(raw psycopg {med['raw_latest'] * 1e3:.3f} ms, ratio "
              f"{med['latest'] / med['raw_latest']:.2f}x) over {ROUNDS} rounds x {LOOKUPS:,} "
              f"lookups; target <= {TARGET_MS} ms: "
              f"{'met' if med['latest'] * 1e3 <= TARGET_MS else 'MISSED'}")
        print(f"get_artifact_version(name, version): median {med['pinned'] * 1e3:.3f} ms "
              f"(raw {med['raw_pinned'] * 1e3:.3f} ms, ratio "
              f"{med['pinned'] / med['raw_pinned']:.2f}x)")

        list_sql = ("SELECT g.name, g.n, av.version, av.created FROM (SELECT name, COUNT(*) AS n, "
                    "MAX(seq) AS last FROM artifact_versions GROUP BY name) g "
                    "JOIN artifact_versions av ON av.seq = g.last ORDER BY g.name")
        listed = store.list_artifacts()
        assert len(listed) == NAMES + 100
        store_list, raw_list = [], []
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            store.list_artifacts()
            store_list.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            cur.execute(list_sql)
            cur.fetchall()
            raw_list.append(time.perf_counter() - t0)
        s, r = statistics.median(store_list), statistics.median(raw_list)
        print(f"list_artifacts() over {len(listed):,} names / {TOTAL + 2_500:,} versions: "
              f"median {s * 1e3:.1f} ms (raw query {r * 1e3:.1f} ms, ratio {s / r:.2f}x)")

        by_name = [(_name(rng.randrange(NAMES)),) for _ in range(200)]
        per_name = time_calls(store.list_artifact_versions, by_name)
        print(f"list_artifact_versions(name) ({PER_NAME} versions each): median "
              f"{per_name * 1e3:.3f} ms over {len(by_name)} names")
        raw.close()
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
