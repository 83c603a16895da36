"""zen-numpy: a 500 MB float64 array through a two-step pipeline vs raw np.save + np.load.

    python benchmarks/bench_numpy.py            # timing and memory
    python benchmarks/bench_numpy.py --mb 100   # a smaller array

time:   step 1 returns the array (saved: .npy + hash + metadata + histogram SVG), step 2 takes it
        as input (loaded: header + readinto + hash check); cache disabled; the default stack
        in a temporary ZEN_HOME. Raw: np.save + np.load of the same array to a new file on the
        same disk. One element changes (untimed) before each run, so each run stores new data
        as a real pipeline would; running the identical data again (deduplicated by content
        address) is reported too. Goal (issue 17): pipeline <= 1.15x raw (medians, measured
        alternately).
memory: peak RSS of a fresh process that builds the array and runs the pipeline once,
        against the array's size. Target: <= 2.2x (the array, the loaded copy, and headroom).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
from harness import goal, isolate_zen_home, pass_through_pipeline


def _touch(array) -> None:
    """Fault in and cache the payload untimed, so no timed section pays first-touch costs."""
    for _ in range(3):
        float(array[:: 4096].sum())
        array.copy(order="K").sum()


def bench_time(mb: int, runs: int, home: str) -> None:
    array = np.random.default_rng(0).standard_normal(mb * 1024 * 1024 // 8)
    _touch(array)
    two_steps = pass_through_pipeline(array, np.ndarray)
    counter = iter(range(10**9))

    def raw() -> None:
        path = os.path.join(home, f"raw-{next(counter)}.npy")  # a new file, like a new artifact
        np.save(path, array)
        loaded = np.load(path)
        assert loaded.shape == array.shape

    def zen() -> None:
        run = two_steps()
        assert run.steps["consume"].outputs["output"].load() == array.shape[0]

    def fresh_content() -> None:  # untimed: new data each run, so each save is a new object
        array[0] = next(counter)
        # raw files stay on disk like the artifacts do, so both pay the same page writeback

    raw()
    zen()  # warm-up: imports, database, matplotlib fonts
    raw_times, zen_times, same_times = [], [], []
    for _ in range(runs):
        fresh_content()
        t = time.perf_counter()
        raw()
        raw_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        zen()
        zen_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        zen()  # the same content again: stored once, the new copy is discarded
        same_times.append(time.perf_counter() - t)
    raw_med, zen_med = statistics.median(raw_times), statistics.median(zen_times)
    same_med = statistics.median(same_times)
    print(f"time: {array.nbytes / 2**20:.0f} MiB float64, {runs} runs each")
    print(f"time:   raw np.save + np.load (new file)   median {raw_med:.3f} s  "
          f"(runs: {', '.join(f'{t:.2f}' for t in raw_times)})")
    print(f"time:   two-step pipeline (new data)       median {zen_med:.3f} s  "
          f"(runs: {', '.join(f'{t:.2f}' for t in zen_times)})")
    print(f"time:   ratio pipeline / raw = {zen_med / raw_med:.2f}x (goal <= 1.15x)")
    print(f"time:   same data again (deduplicated)     median {same_med:.3f} s = "
          f"{same_med / raw_med:.2f}x raw (the store discards the identical staging copy)")
    goal(f"numpy {array.nbytes / 2**20:.0f} MiB save+load / raw np.save+np.load", zen_med, raw_med,
         max_ratio=1.15, spread=zen_times)


def _peak_rss() -> int:
    """This process's peak RSS in bytes: VmHWM, which (unlike ru_maxrss on Linux) does not
    inherit the parent's peak across fork + exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _peak_rss_child(mb: int) -> None:
    """Runs in a fresh process: print the baseline, the array size and the peak RSS (bytes)."""
    import zen_numpy  # noqa: F401

    import zen_core  # noqa: F401  - imports count in the baseline, not in the pipeline

    baseline = _peak_rss()
    array = np.full(mb * 1024 * 1024 // 8, 1.5)
    run = pass_through_pipeline(array, np.ndarray)()
    assert run.status == "completed"
    peak = _peak_rss()
    print(baseline, array.nbytes, peak)


def bench_memory(mb: int, runs: int) -> None:
    results = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, __file__, "--child", "--mb", str(mb)],
                             capture_output=True, text=True, check=True)
        results.append(tuple(int(x) for x in out.stdout.split()))
    baseline = statistics.median(r[0] for r in results)
    size = results[0][1]
    peak = statistics.median(r[2] for r in results)
    print(f"memory: fresh process per run, {runs} runs, array {size / 2**20:.0f} MiB")
    print(f"memory:   interpreter + imports before the array: {baseline / 2**20:.0f} MiB")
    print(f"memory:   peak RSS median {peak / 2**20:.0f} MiB = {peak / size:.2f}x the array "
          f"(target <= 2.2x); above the interpreter: {(peak - baseline) / size:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    home = isolate_zen_home("zen-bench-numpy-")
    if args.child:
        _peak_rss_child(args.mb)
        return
    bench_time(args.mb, args.runs, home)
    bench_memory(args.mb, max(3, args.runs // 2 + 1))


if __name__ == "__main__":
    main()
