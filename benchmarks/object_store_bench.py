"""What bench_s3.py and bench_gcs.py share: a round trip of one payload through a pipeline
on an object store, against the raw fsspec filesystem moving the same bytes, both taken in
turns in one loop so both see the same load of a shared machine."""

import argparse
import gc
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from harness import goal, pass_through_pipeline


def parse_args() -> argparse.Namespace:
    """The options both scripts take: payload size, timed runs, the store's concurrency."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-concurrency", type=int, default=4,
                        help="the store's max_concurrency (default: the store's default, 4)")
    return parser.parse_args()


def make_payload(mb: int) -> tuple[Any, int, memoryview, str]:
    """A numpy float64 array of ``mb`` MiB (bytes when zen-numpy is not installed)."""
    try:
        import numpy as np
        import zen_numpy  # noqa: F401

        array = np.random.default_rng(0).random(mb * 2**20 // 8)
        return array, array.nbytes, memoryview(array).cast("B"), "numpy float64 array"
    except ImportError:
        data = bytearray(os.urandom(mb * 2**20))
        return data, len(data), memoryview(data), "bytearray (zen-numpy not installed)"


def alternate(raw: Callable[[], Any], zen: Callable[[], Any], repeat: int
              ) -> tuple[list[float], list[float]]:
    """Seconds of ``repeat`` calls each of ``raw`` and ``zen``, taken in turns (garbage
    collected, untimed, before each)."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, out in ((raw, times[0]), (zen, times[1])):
            gc.collect()
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return times


def fresh_content(value: Any) -> Callable[[], None]:
    """Change ``value`` (a numpy array or a bytearray) in place, so each save stores new
    content: every timed save is a real upload to a new address, not a dedup hit."""
    counter = [0]

    def change() -> None:
        counter[0] += 1
        if isinstance(value, bytearray):
            value[:8] = counter[0].to_bytes(8, "little")
        else:
            value.reshape(-1)[0] = counter[0]

    return change


def round_trip(service: str, raw_fs: Any, raw_path: str, mb: int, runs: int) -> None:
    """Time and print the GOAL lines of one service; ``raw_fs`` is the raw fsspec filesystem,
    ``raw_path`` a key in the same bucket for its copy of the payload."""
    from zen_core import load_artifact, save_artifact

    payload, size, view, kind = make_payload(mb)
    for _ in range(3):  # touch and free the payload untimed before timing
        bytes(view[: min(size, 64 * 2**20)])
    local = os.path.join(os.environ["ZEN_HOME"], "payload.bin")
    back = local + ".back"
    with open(local, "wb") as f:
        f.write(view)
    print(f"{service}: {size / 2**20:.0f} MiB {kind}; {runs} timed runs each, raw and "
          f"zen_core in turns")

    def raw_put_get() -> None:
        raw_fs.put(local, raw_path)
        raw_fs.get(raw_path, back)

    two_steps = pass_through_pipeline(payload)
    fresh = fresh_content(payload)

    def through_pipeline() -> None:
        fresh()
        run_ = two_steps()
        assert run_.steps["consume"].outputs["output"].load() == len(payload)

    def save_only() -> None:
        fresh()
        save_artifact(payload, name="bench_payload")

    raw_put_get()  # warm-up: connections, bucket, page cache
    through_pipeline()
    t_raw, t_pipe = alternate(raw_put_get, through_pipeline, runs)
    t_put, t_save = alternate(lambda: raw_fs.put(local, raw_path), save_only, runs)
    t_get, t_load = alternate(lambda: raw_fs.get(raw_path, back),
                              lambda: load_artifact("bench_payload"), runs)
    med = statistics.median
    mib = size / 2**20
    print(f"{service}: raw put + get {med(t_raw):.2f} s ({2 * mib / med(t_raw):.0f} MiB/s "
          f"moved); runs raw {_fmt(t_raw)}, zen_core {_fmt(t_pipe)}")
    goal(f"{service} {mib:.0f} MiB round trip / raw put+get", med(t_pipe), med(t_raw),
         max_ratio=1.15, raw_label="raw put+get", spread=t_pipe)
    goal(f"{service} {mib:.0f} MiB save_artifact / raw put", med(t_save), med(t_put),
         max_ratio=1.15, raw_label="raw put", spread=t_save)
    goal(f"{service} {mib:.0f} MiB load_artifact / raw get", med(t_load), med(t_get),
         max_ratio=1.15, raw_label="raw get", spread=t_load)

    # peak memory, untimed: everything Python and numpy allocate, the payload included
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fresh()
    save_artifact(payload, name="bench_mem")
    save_peak = tracemalloc.get_traced_memory()[1] - base + size  # payload predates tracing
    tracemalloc.stop()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    loaded = load_artifact("bench_mem")
    load_peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    assert len(loaded) == len(payload)
    del loaded
    print(f"{service}: peak memory while saving:  {save_peak / 2**20:.0f} MiB = "
          f"{save_peak / size:.2f}x the payload (target <= 2.2x)")
    print(f"{service}: peak memory while loading: {load_peak / 2**20:.0f} MiB = "
          f"{load_peak / size:.2f}x the payload (target <= 2.2x)")
    for path in (local, back):
        os.unlink(path)


def _fmt(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in values) + "]"
