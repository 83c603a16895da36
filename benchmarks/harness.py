"""What the benchmark scripts share: a throwaway ZEN_HOME, medians of timed calls, and
the two-step pipeline that moves one payload through the artifact store.

The scripts run as ``python benchmarks/bench_x.py``, so this folder is on ``sys.path``
and they ``import harness``. (No ``from __future__ import annotations`` here: the steps
below annotate with a local variable, which zen_core must be able to resolve.)
"""

import atexit
import gc
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any


def isolate_zen_home(prefix: str, dir: str | None = None) -> str:
    """Point ZEN_HOME at a new temporary folder and work in it, so the default stack is a
    fresh one and no ZEN_STACK or zen.toml of the user's applies; the folder is removed
    when the script ends. Call before importing zen_core."""
    home = tempfile.mkdtemp(prefix=prefix, dir=dir)
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    os.environ["ZEN_HOME"] = home
    os.environ.pop("ZEN_STACK", None)
    os.chdir(home)
    return home


def median_time(fn: Callable[[], Any], repeat: int = 5, *, warmup: int = 0,
                collect: bool = False) -> float:
    """Median seconds of ``repeat`` calls of ``fn``, after ``warmup`` untimed calls;
    ``collect`` runs the garbage collector (untimed) before each timed call."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        if collect:
            gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def pass_through_pipeline(value: Any, annotation: Any = Any) -> Callable[[], Any]:
    """A pipeline ``two_steps``: step ``produce`` returns ``value`` as ``annotation``, step
    ``consume`` loads it back and returns its ``len``. Call it to run it."""
    from zen_core import pipeline, step

    @step(enable_cache=False)
    def produce() -> annotation:
        return value

    @step(enable_cache=False)
    def consume(data: annotation) -> int:
        return len(data)

    @pipeline(enable_cache=False)
    def two_steps():
        consume(produce())

    return two_steps


def goal(workload: str, zen: float, raw: float | None = None, *, unit: str = "s",
         max_ratio: float | None = None, max_value: float | None = None,
         raw_label: str = "raw", spread: list[float] | None = None) -> bool:
    """Print one ``GOAL`` line: zen_core's figure, the raw figure measured in the same run,
    their ratio and whether the issue's goal is met; ``nox -s bench`` gathers these lines
    into its summary table. ``max_ratio`` bounds ``zen / raw``, ``max_value`` bounds ``zen``
    (in ``unit``); ``spread`` lists the individual runs behind the median ``zen``."""
    scale = {"s": 1.0, "ms": 1e3, "us": 1e6}[unit]
    ratio = zen / raw if raw else None
    met = ((max_ratio is None or (ratio is not None and ratio <= max_ratio))
           and (max_value is None or zen * scale <= max_value))
    wanted = " and ".join(
        ([f"ratio <= {max_ratio:g}"] if max_ratio is not None else [])
        + ([f"<= {max_value:g} {unit}"] if max_value is not None else []))
    raw_text = f"{raw_label} {raw * scale:.4g} {unit}" if raw else f"{raw_label} -"
    ratio_text = f"{ratio:.2f}x" if ratio is not None else "-"
    runs = f" runs [{', '.join(f'{v * scale:.4g}' for v in spread)}]" if spread else ""
    line = (f"GOAL | {workload} | zen {zen * scale:.4g} {unit} | {raw_text} | ratio {ratio_text} "
            f"| goal {wanted or '-'} | {'met' if met else 'MISSED'}{runs}")
    print(line, flush=True)
    summary = os.environ.get("ZEN_BENCH_SUMMARY")
    if summary:  # set by ``nox -s bench``, which prints every script's goals at the end
        with open(summary, "a") as f:
            f.write(line + "\n")
    return met
