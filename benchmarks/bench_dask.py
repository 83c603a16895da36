"""Dask orchestrator benchmarks: first fan-out, parallel wall time and per-step overhead.

    python benchmarks/bench_dask.py            # every section
    python benchmarks/bench_dask.py parallel   # one section: first|parallel|overhead

The stack is a local artifact store + SQLite + the ``dask`` orchestrator with
its own LocalCluster of 4 single-threaded process workers. ``first`` times, in
fresh processes, a raw ``LocalCluster`` start and then the first run of 8
one-second steps, whose orchestrator starts its own cluster (goal: cluster start
+ 3 s). The other sections start the cluster (and warm it by one run) before
anything is timed; each figure is the median of several runs, next to raw dask
doing the same work on the same cluster, measured alternately.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from harness import goal, isolate_zen_home, median_time

if __name__ == "__main__":  # dask's worker processes import this module too: not in them
    with open(os.path.join(isolate_zen_home("zen-bench-dask-"), "config.toml"), "w") as _f:
        _f.write('active_stack = "bench"\n[stacks.bench]\n'
                 'orchestrator = { flavor = "dask", n_workers = 4, threads_per_worker = 1, '
                 'processes = true }\n')

from zen_core import pipeline, step  # noqa: E402
from zen_core.client import Client  # noqa: E402

REPEAT = 5
FIRST_RUNS = 3  # fresh processes for the first fan-out
SLEEP_S = 1.0
CLUSTER = {"n_workers": 4, "threads_per_worker": 1, "processes": True}
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
    stock_times, tuned_times, zen_times = [], [], []
    with DaskClient(client.scheduler.address, set_as_default=False) as stock:
        raw_chain(stock)
        for _ in range(REPEAT):  # alternately, so all three see the same machine
            for times, run in ((stock_times, lambda: raw_chain(stock)),
                               (tuned_times, lambda: raw_chain(client)),
                               (zen_times, long_chain)):
                start = time.perf_counter()
                run()
                times.append((time.perf_counter() - start) / CHAIN)
    stock_raw, raw = statistics.median(stock_times), statistics.median(tuned_times)
    ours = statistics.median(zen_times)
    print(f"overhead: {CHAIN}-step chain of trivial steps: {ours * 1000:.1f} ms per step "
          f"(raw dask submit+result round trip on a stock dask Client {stock_raw * 1000:.1f} ms, "
          f"ratio {ours / stock_raw:.2f}x; on zen_core's tuned client {raw * 1000:.1f} ms, ratio "
          f"{ours / raw:.2f}x, zen_core's own share {(ours - raw) * 1000:.1f} ms)")
    goal("dask per-step overhead / raw dask round trip (stock Client)", ours, stock_raw,
         unit="ms", max_ratio=1.3, spread=zen_times)


def _first_fan_out() -> tuple[float, float]:
    """In a fresh process: a raw LocalCluster's start, then the first run of ``eight_naps``
    on a fresh stack (its orchestrator starts its own cluster and workers)."""
    import dask
    from distributed import LocalCluster
    from zen_dask.orchestrator import DaskOrchestrator

    with dask.config.set(DaskOrchestrator.CLUSTER_CONFIG):
        start = time.perf_counter()
        cluster = LocalCluster(**CLUSTER, dashboard_address=None, host="127.0.0.1")
        started = time.perf_counter() - start
    cluster.close()
    start = time.perf_counter()
    eight_naps()
    return started, time.perf_counter() - start


def bench_first() -> None:
    starts, firsts = [], []
    for _ in range(FIRST_RUNS):
        out = subprocess.run([sys.executable, __file__, "--first-child"], capture_output=True,
                             text=True, check=True)
        started, first = (float(x) for x in out.stdout.split()[-2:])
        starts.append(started)
        firsts.append(first)
    started, first = statistics.median(starts), statistics.median(firsts)
    over = [f - s for f, s in zip(firsts, starts, strict=True)]
    print(f"first: fresh process, {FIRST_RUNS} runs: raw LocalCluster start {started:.2f} s; "
          f"first run of 8 x {SLEEP_S:g} s steps on 4 workers, cluster start included, "
          f"{first:.2f} s = start + {statistics.median(over):.2f} s (goal: start + 3 s; "
          f"runs: {', '.join(f'{f:.2f}/{s:.2f}' for f, s in zip(firsts, starts, strict=True))})")
    goal("dask first fan-out 8x1 s, fresh 4-worker LocalCluster", first, started,
         raw_label="cluster start", max_value=started + 2 * SLEEP_S + 1.0, spread=firsts)


SECTIONS = {"first": bench_first, "parallel": bench_parallel, "overhead": bench_overhead}


def main(argv: list[str]) -> None:
    if argv == ["--first-child"]:
        started, first = _first_fan_out()
        from zen_core.stack import close_all

        close_all()
        print(started, first)
        return
    wanted = argv or list(SECTIONS)
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        sys.exit(f"unknown section(s) {sorted(unknown)}; choose from {sorted(SECTIONS)}")
    if "first" in wanted:  # before this process starts a cluster of its own
        bench_first()
        wanted = [name for name in wanted if name != "first"]
        if not wanted:
            return
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
