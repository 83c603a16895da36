"""Core benchmarks: import, per-step cost, cached reruns, long chains, the first call in a
process, processes starting runs at once, fan-out and growth.

    python benchmarks/bench_core.py            # everything
    python benchmarks/bench_core.py steps      # one section (see SECTIONS at the end)

Each figure is a median of several runs on the default stack (local store + SQLite +
local orchestrator) in a throwaway ZEN_HOME, next to a raw figure measured in the same
run: a plain Python loop doing the same work by hand (write each value to a new file
in a new folder, renamed into place, and one SQLite row per step, committed per run).
``GOAL`` lines state the targets of issue 17.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

from harness import goal, isolate_zen_home, median_time

HOME = isolate_zen_home("zen-bench-")

from zen_core import pipeline, step  # noqa: E402

# Python caches compiled modules as users' installs do (a developer's shell may say not to).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def bench_import() -> None:
    def spawn(code: str) -> float:
        return median_time(lambda: subprocess.run([sys.executable, "-c", code], check=True,
                                                  env=CHILD_ENV), 15)

    bare = spawn("pass")
    ours = spawn("from zen_core import step, pipeline")
    goal("`from zen_core import step, pipeline` in a fresh process", ours, bare, unit="ms",
         raw_label="python alone", max_value=100)


@step
def source() -> int:
    return 1


@step
def inc(x: int) -> int:
    return x + 1


def chain(n: int, cache: bool | None = False, name: str | None = None):
    @pipeline(name=name or f"chain{n}", enable_cache=cache)
    def p():
        x = source()
        for _ in range(n - 1):
            x = inc(x)

    return p


def raw_chain(n: int, folder: str):
    """The chain by hand: each value written to a new file in a new folder renamed into
    place, and a row per step in SQLite, committed once per run."""
    db = sqlite3.connect(os.path.join(folder, "raw.db"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS steps (id TEXT PRIMARY KEY, run INTEGER, "
               "name TEXT, uri TEXT)")
    runs = iter(range(10**9))

    def run() -> None:
        r = next(runs)
        db.execute("BEGIN")
        x = 1
        for i in range(n):
            x = x + 1 if i else 1
            staging = os.path.join(folder, f"s-{r}-{i}")
            os.mkdir(staging)
            with open(os.path.join(staging, "data.json"), "w") as f:
                f.write(json.dumps(x))
            final = os.path.join(folder, f"o-{r}-{i}")
            os.rename(staging, final)
            db.execute("INSERT INTO steps VALUES (?, ?, ?, ?)", (f"{r}-{i}", r, "inc", final))
        db.execute("COMMIT")

    def cached() -> None:  # the cache check by hand: a row lookup and a stat per step
        for i in range(n):
            (uri,) = db.execute("SELECT uri FROM steps WHERE id = ?", (f"0-{i}",)).fetchone()
            os.stat(os.path.join(uri, "data.json"))

    return run, cached


def _pair(zen, raw, repeat: int) -> tuple[float, float, list[float]]:
    """Medians of ``repeat`` alternating timed calls of ``zen`` and ``raw``."""
    zen_times, raw_times = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        raw()
        raw_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        zen()
        zen_times.append(time.perf_counter() - start)
    return statistics.median(zen_times), statistics.median(raw_times), zen_times


def bench_steps(n: int = 50) -> None:
    p = chain(n)
    raw, _ = raw_chain(n, tempfile.mkdtemp(dir=HOME))
    p(), raw()  # warm: imports, the database, the folders
    zen_t, raw_t, runs = _pair(p, raw, 9)
    goal(f"trivial chain of {n} steps, uncached, per step", zen_t / n, raw_t / n, unit="ms",
         max_value=0.3, spread=[t / n for t in runs])


def bench_cached(n: int = 50) -> None:
    p = chain(n, cache=None, name="cached_chain")
    raw, raw_cached = raw_chain(n, tempfile.mkdtemp(dir=HOME))
    raw()
    p(), p()
    zen_t, raw_t, runs = _pair(p, raw_cached, 9)
    goal(f"fully cached rerun of {n} steps, per step", zen_t / n, raw_t / n, unit="ms",
         raw_label="lookup+stat", max_value=0.1, spread=[t / n for t in runs])


def bench_long(repeat: int = 3) -> None:
    """Per-step time of 1,000- and 5,000-step chains against a 50-step chain timed in
    turn with them (the disk's commit cost drifts over minutes: compared in turns)."""
    short = chain(50)
    short()
    for n in (1000, 5000):
        p = chain(n)
        p()
        long_times, short_times = [], []
        for _ in range(repeat):
            for _ in range(3):
                start = time.perf_counter()
                short()
                short_times.append((time.perf_counter() - start) / 50)
            start = time.perf_counter()
            p()
            long_times.append((time.perf_counter() - start) / n)
        goal(f"chain of {n:,} steps, per step (50-step chain in turns as raw)",
             statistics.median(long_times), statistics.median(short_times), unit="ms",
             raw_label="50 steps", max_ratio=1.2, spread=long_times)


# A fresh process's program: a 10-step pipeline ``p``, defined after importing zen_core.
TEN_STEPS = textwrap.dedent("""
    import statistics, sys, time
    start = time.perf_counter()
    from zen_core import pipeline, step

    @step
    def source() -> int:
        return 1

    @step
    def inc(x: int) -> int:
        return x + 1

    @pipeline(name="ten_steps", enable_cache=False)
    def p():
        x = source()
        for _ in range(9):
            x = inc(x)

    defined = time.perf_counter()
""")

FIRST_CALL = TEN_STEPS + textwrap.dedent("""
    p()
    first = time.perf_counter() - defined
    later = []
    for _ in range(7):
        t = time.perf_counter()
        p()
        later.append(time.perf_counter() - t)
    print(defined - start, first, statistics.median(later))
""")


def bench_first_call(processes: int = 7) -> None:
    """A fresh process with every plugin installed: its first run of a 10-step pipeline
    against the median of its later runs (the stack and database exist already)."""
    run = [sys.executable, "-c", FIRST_CALL]
    subprocess.run(run, check=True, env=CHILD_ENV, capture_output=True)  # the database
    rows = []
    for _ in range(processes):
        out = subprocess.run(run, check=True, env=CHILD_ENV, capture_output=True, text=True)
        rows.append([float(v) for v in out.stdout.split()])
    defined, first, later = (statistics.median(col) for col in zip(*rows))
    print(f"first call: import + definitions {defined * 1e3:.1f} ms, first run "
          f"{first * 1e3:.1f} ms, later runs {later * 1e3:.1f} ms (medians of {processes} "
          f"processes)")
    goal("first call in a process, extra over later calls", first - later, later,
         unit="ms", raw_label="later call", max_value=3,
         spread=[r[1] - r[2] for r in rows])


CONCURRENT = TEN_STEPS + "p()\n"


def bench_concurrent(processes: int = 8, repeat: int = 3) -> None:
    """``processes`` fresh processes start a run of a 10-step pipeline at once on one
    home (one SQLite database, one store): the time until all have finished, against
    one such process alone."""
    run = [sys.executable, "-c", CONCURRENT]
    subprocess.run(run, check=True, env=CHILD_ENV)  # the database exists, as for a user

    def lone() -> None:
        subprocess.run(run, check=True, env=CHILD_ENV)

    def together() -> None:
        children = [subprocess.Popen(run, env=CHILD_ENV) for _ in range(processes)]
        if any(child.wait() for child in children):
            raise SystemExit("a concurrent run failed")

    zen_t, raw_t, runs = _pair(together, lone, repeat)
    goal(f"{processes} processes starting a run at once, all done (one alone as raw)",
         zen_t, raw_t, raw_label="one alone", max_ratio=4, spread=runs)


def bench_fanout() -> None:
    @pipeline(enable_cache=False)
    def fanout():
        x = source()
        for _ in range(100):
            inc(x)

    fanout()
    t = median_time(fanout, 7)
    print(f"fanout: 1 -> 100 steps, cache off: {t * 1000:.1f} ms per run (target <= 200 ms)")


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


SECTIONS = {"import": bench_import, "steps": bench_steps, "cached": bench_cached,
            "long": bench_long, "first": bench_first_call, "concurrent": bench_concurrent,
            "fanout": bench_fanout, "growth": bench_growth}

if __name__ == "__main__":
    for name in sys.argv[1:] or SECTIONS:
        SECTIONS[name]()
