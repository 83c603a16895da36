"""What the benchmark scripts share: a throwaway ZEN_HOME and medians of timed calls.

The scripts run as ``python benchmarks/bench_x.py``, so this folder is on ``sys.path``
and they ``import harness``.
"""

from __future__ import annotations

import gc
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any


def isolate_zen_home(prefix: str, dir: str | None = None) -> str:
    """Point ZEN_HOME at a new temporary folder and work in it, so the default stack is a
    fresh one and no ZEN_STACK or zen.toml of the user's applies. Call before importing
    zen_core."""
    home = tempfile.mkdtemp(prefix=prefix, dir=dir)
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
