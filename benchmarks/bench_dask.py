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


def _first_child(what: str) -> float:
    """In a fresh process (dask and zen_core imported, nothing started): seconds to start a
    raw LocalCluster like the orchestrator's (``raw``), or for the first run of
    ``eight_naps`` on a fresh stack, whose orchestrator starts its own cluster (``zen``)."""
    import dask
    from distributed import LocalCluster
    from zen_dask.orchestrator import DaskOrchestrator

    start = time.perf_counter()
    if what == "raw":
        with dask.config.set(DaskOrchestrator.CLUSTER_CONFIG):
            cluster = LocalCluster(**CLUSTER, dashboard_address=None, host="127.0.0.1")
        took = time.perf_counter() - start
        cluster.close()
        return took
    eight_naps()
    return time.perf_counter() - start


def bench_first() -> None:
    times: dict[str, list[float]] = {"raw": [], "zen": []}
    for _ in range(FIRST_RUNS):
        for what, found in times.items():  # alternately, each in a fresh process
            out = subprocess.run([sys.executable, __file__, "--first-child", what],
                                 capture_output=True, text=True, check=True)
            found.append(float(out.stdout.split()[-1]))
    started, first = statistics.median(times["raw"]), statistics.median(times["zen"])
    print(f"first: fresh processes, {FIRST_RUNS} runs each: raw LocalCluster start {started:.2f} s "
          f"(runs: {', '.join(f'{t:.2f}' for t in times['raw'])}); first run of 8 x {SLEEP_S:g} s "
          f"steps on 4 workers, its cluster start included, {first:.2f} s = start + "
          f"{first - started:.2f} s (runs: {', '.join(f'{t:.2f}' for t in times['zen'])}; "
          f"goal: start + 3 s)")
    goal("dask first fan-out 8x1 s, fresh 4-worker LocalCluster", first, started,
         raw_label="cluster start", max_value=started + 2 * SLEEP_S + 1.0, spread=times["zen"])


SECTIONS = {"first": bench_first, "parallel": bench_parallel, "overhead": bench_overhead}


def main(argv: list[str]) -> None:
    if argv[:1] == ["--first-child"]:
        took = _first_child(argv[1])
        from zen_core.stack import close_all

        close_all()
        print(took)
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
