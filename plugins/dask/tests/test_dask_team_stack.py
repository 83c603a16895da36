"""The team setup of docs/scaling.md: steps on a dask cluster, metadata in PostgreSQL.

The driver records the run; the workers only read and write artifacts, so they never
connect to the metadata store.
"""

from __future__ import annotations

import os
import uuid
from typing import Annotated
from urllib.parse import urlsplit

import pytest

from zen_core import Client, pipeline, step
from zen_core.stack import close_all
from zen_core.testing import write_stack

pytest.importorskip("zen_postgres", reason="the team stack needs zen-postgres installed")


@pytest.fixture(scope="module")
def pg_database():
    from zen_postgres.testing import database_for_tests

    with database_for_tests() as url:
        yield url


@step
def part(i: int) -> Annotated[int, "part"]:
    return i * i


@step
def combine(a: int, b: int, c: int) -> Annotated[dict, "combined"]:
    return {"total": a + b + c, "pid": os.getpid()}


@pipeline
def squares():
    combine(part(1, id="one"), part(2, id="two"), part(3, id="three"))


def _connections_to(port: int) -> list[tuple[str, int]]:
    """This process's open TCP connections to ``port`` (runs on each worker)."""
    import psutil

    return [(c.raddr.ip, c.raddr.port) for c in psutil.Process().net_connections("tcp")
            if c.raddr and c.raddr.port == port]


def test_steps_run_on_workers_and_the_driver_records_them_in_postgres(
        dask_cluster, zen_home, tmp_path, pg_database):
    import psycopg

    cluster, dask_client = dask_cluster
    dask_client.wait_for_workers(2, timeout=60)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    write_stack(zen_home, "team",
                artifact_store={"flavor": "local", "path": str(tmp_path / "artifacts")},
                metadata_store={"flavor": "postgres", "url": pg_database, "schema": schema},
                orchestrator={"flavor": "dask", "address": cluster.scheduler_address})
    close_all()

    run = squares()
    assert run.status == "completed"
    combined = run.steps["combine"].outputs["combined"].load()
    assert combined["total"] == 1 + 4 + 9
    workers = set(dask_client.run(os.getpid).values())
    assert combined["pid"] in workers and combined["pid"] != os.getpid()

    # the records are in PostgreSQL, as another team member's client sees them
    with psycopg.connect(pg_database, options=f"-c search_path={schema}") as conn:
        [(runs,)] = conn.execute("SELECT COUNT(*) FROM pipeline_runs").fetchall()
        versions = conn.execute(
            "SELECT name, version FROM artifact_versions ORDER BY name, version").fetchall()
    assert runs == 1
    assert versions == [("combined", "1"), ("part", "1"), ("part", "2"), ("part", "3")]
    close_all()
    part_versions = Client().get_artifact_version("combined").producer.inputs
    assert sorted(av.load() for av in part_versions.values()) == [1, 4, 9]

    # the workers never opened a connection to the metadata store
    port = urlsplit(pg_database).port or 5432
    assert set(map(tuple, dask_client.run(_connections_to, port).values())) == {()}

    rerun = squares()
    assert {s.status for s in rerun.steps.values()} == {"cached"}
