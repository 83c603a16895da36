"""A real dask LocalCluster (2 single-threaded process workers), shared by the session."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="session")
def dask_cluster():
    import dask
    from distributed import Client, LocalCluster

    # As the orchestrator configures its own LocalCluster: one task per worker thread, and
    # a step whose worker dies is not retried behind the orchestrator's back.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0,
                          "distributed.scheduler.worker-saturation": 1.0}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None, memory_limit="1GiB")
    client = Client(cluster, set_as_default=False)
    try:
        yield cluster, client
    finally:
        client.close()
        cluster.close()


@pytest.fixture
def dask_stack(dask_cluster, zen_home):
    """Make the session's cluster the orchestrator of the active stack (local artifact
    store, SQLite); call the fixture's value with orchestrator options to change them."""
    cluster, client = dask_cluster
    client.wait_for_workers(2, timeout=60)  # a worker killed by an earlier test restarts

    def configure(**options):
        table = {"flavor": "dask", "address": cluster.scheduler_address, **options}
        inline = ", ".join(f"{k} = {json.dumps(v)}" for k, v in table.items())
        zen_home.mkdir(parents=True, exist_ok=True)
        (zen_home / "config.toml").write_text(
            f'active_stack = "dask"\n[stacks.dask]\norchestrator = {{ {inline} }}\n')
        from zen_core.stack import close_all

        close_all()
        return client

    configure()
    return configure
