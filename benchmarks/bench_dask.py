"""Dask orchestrator benchmarks: parallel wall time and per-step overhead.

    python benchmarks/bench_dask.py            # both sections
    python benchmarks/bench_dask.py parallel   # one section: parallel|overhead

The stack is a local artifact store + SQLite + the ``dask`` orchestrator with
its own LocalCluster of 4 single-threaded process workers, started (and warmed
by one run) before anything is timed. Each figure is the median of several
runs, next to raw dask doing the same work on the same cluster.
"""

from __future__ import annotations

import os
import sys
import time

from harness import isolate_zen_home, median_time

if __name__ == "__main__":  # dask's worker processes import this module too: not in them
    with open(os.path.join(isolate_zen_home("zen-bench-dask-"), "config.toml"), "w") as _f:
        _f.write('active_stack = "bench"\n[stacks.bench]\n'
                 'orchestrator = { flavor = "dask", n_workers = 4, threads_per_worker = 1, '
                 'processes = true }\n')

from zen_core import pipeline, step  # noqa: E402
from zen_core.client import Client  # noqa: E402

REPEAT = 5
SLEEP_S = 1.0
CHAIN = 50


@step(enable_cache=False)
def nap(i: int) -> int:
    time.sleep(SLEEP_S)
    return i


@pipeline(enable_cache=False)
def eight_naps():
    for i in range(8):
        nap(i)


@step(enable_cache=False)
def source() -> int:
    return 1


@step(enable_cache=False)
def inc(x: int) -> int:
    return x + 1


@pipeline(enable_cache=False)
def long_chain():
    x = source()
    for _ in range(CHAIN - 1):
        x = inc(x)


def _sleep(i: int) -> int:
    time.sleep(SLEEP_S)
    return i


def _inc(x: int) -> int:
    return x + 1


def dask_client():
    return Client().active_stack.orchestrator.client


def bench_parallel() -> None:
    client = dask_client()
    raw = median_time(lambda: client.gather(client.map(_sleep, range(8), pure=False)))
    ours = median_time(eight_naps)
    print(f"parallel: 8 independent steps sleeping {SLEEP_S:g} s on 4 single-threaded process "
          f"workers: run wall time {ours:.3f} s (raw dask client.map {raw:.3f} s; ratio "
          f"{ours / raw:.2f}x; target <= 2.6 s)")


def raw_chain(client) -> None:
    x = 1
    for _ in range(CHAIN - 1):
        x = client.submit(_inc, x, pure=False).result()


def bench_overhead() -> None:
    from distributed import Client as DaskClient

    client = dask_client()  # the orchestrator's own client, as zen_core tunes it
    with DaskClient(client.scheduler.address, set_as_default=False) as stock:
        stock_raw = median_time(lambda: raw_chain(stock)) / CHAIN
    raw = median_time(lambda: raw_chain(client)) / CHAIN
    ours = median_time(long_chain) / CHAIN
    print(f"overhead: {CHAIN}-step chain of trivial steps: {ours * 1000:.1f} ms per step "
          f"(raw dask submit+result round trip on the same client {raw * 1000:.1f} ms, ratio "
          f"{ours / raw:.2f}x, zen_core's own share {(ours - raw) * 1000:.1f} ms; on a stock "
          f"dask Client {stock_raw * 1000:.1f} ms; target <= 20 ms)")


SECTIONS = {"parallel": bench_parallel, "overhead": bench_overhead}


def main(argv: list[str]) -> None:
    wanted = argv or list(SECTIONS)
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        sys.exit(f"unknown section(s) {sorted(unknown)}; choose from {sorted(SECTIONS)}")
    start = time.perf_counter()
    long_chain()  # starts the cluster and warms every worker (imports, plugin manager)
    eight_naps()
    print(f"setup: LocalCluster start and warm-up runs {time.perf_counter() - start:.1f} s "
          f"(not timed below)")
    for name in wanted:
        SECTIONS[name]()
    from zen_core.stack import close_all

    close_all()


if __name__ == "__main__":
    main(sys.argv[1:])
