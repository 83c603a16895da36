"""Core benchmarks: import time, per-step overhead, fan-out, cached reruns, growth.

    python benchmarks/bench_core.py            # everything
    python benchmarks/bench_core.py steps      # one section: import|steps|fanout|cached|growth

Each figure is the median of several runs on the default stack (local store +
SQLite + local orchestrator) in a throwaway ZEN_HOME.
"""

from __future__ import annotations

import subprocess
import sys

from harness import isolate_zen_home, median_time

isolate_zen_home("zen-bench-")

from zen_core import pipeline, step  # noqa: E402


def bench_import() -> None:
    def spawn(code: str) -> float:
        return median_time(lambda: subprocess.run([sys.executable, "-c", code], check=True), 15)

    bare = spawn("pass")
    ours = spawn("from zen_core import step, pipeline")
    print(f"import: `from zen_core import step, pipeline` in a fresh process {ours * 1000:.1f} ms "
          f"(python alone {bare * 1000:.1f} ms; target <= 100 ms)")


@step
def source() -> int:
    return 1


@step
def inc(x: int) -> int:
    return x + 1


def chain(n: int):
    @pipeline(name=f"chain{n}", enable_cache=False)
    def p():
        x = source()
        for _ in range(n - 1):
            x = inc(x)

    return p


def bench_steps() -> None:
    p = chain(50)
    p()  # warm: first run imports and creates the database
    t = median_time(p, 7)
    print(f"steps: 50-step chain, cache off: {t * 1000:.1f} ms per run, "
          f"{t / 50 * 1000:.3f} ms per step (target <= 1 ms)")


def bench_fanout() -> None:
    @pipeline(enable_cache=False)
    def fanout():
        x = source()
        for _ in range(100):
            inc(x)

    fanout()
    t = median_time(fanout, 7)
    print(f"fanout: 1 -> 100 steps, cache off: {t * 1000:.1f} ms per run (target <= 200 ms)")


def bench_cached() -> None:
    @pipeline(name="cached_chain")
    def p():
        x = source()
        for _ in range(49):
            x = inc(x)

    p()
    p()
    t = median_time(p, 7)
    print(f"cached: fully cached 50-step chain: {t * 1000:.1f} ms per run, "
          f"{t / 50 * 1000:.3f} ms per step (target <= 0.5 ms)")


def bench_growth() -> None:
    import resource

    p = chain(10)
    p()
    before = median_time(p, 7)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(1000):
        p()
    after = median_time(p, 7)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"growth: 10-step run with ~0 stored runs {before * 1000:.1f} ms, with 1,000 more "
          f"stored runs {after * 1000:.1f} ms (ratio {after / before:.2f}); max RSS "
          f"{rss_before / 1024:.0f} -> {rss_after / 1024:.0f} MiB")


SECTIONS = {"import": bench_import, "steps": bench_steps, "fanout": bench_fanout,
            "cached": bench_cached, "growth": bench_growth}

if __name__ == "__main__":
    for name in sys.argv[1:] or SECTIONS:
        SECTIONS[name]()
