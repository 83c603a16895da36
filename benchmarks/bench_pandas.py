"""zen-pandas: a 1,000,000 x 10 DataFrame through a two-step pipeline vs raw parquet.

    python benchmarks/bench_pandas.py             # 1,000,000 rows
    python benchmarks/bench_pandas.py --rows 200000

Step 1 returns the frame (saved: parquet straight into the store, hashed in the same pass,
plus metadata, a describe() page and a CSV sample); step 2 takes it as input (loaded: one
sequential verified read into an Arrow buffer, then pyarrow -> pandas). Cache disabled; the
default stack in a temporary ZEN_HOME. Raw: df.to_parquet + pd.read_parquet of the same
frame to the same disk. Goal (issue 17): pipeline <= 1.05x raw (medians, measured
alternately).
The frame: 6 float64, 2 int64, 1 bool and 1 low-cardinality string column.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import pandas as pd
from harness import goal, isolate_zen_home, pass_through_pipeline


def _frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    columns = {f"f{i}": rng.standard_normal(rows) for i in range(6)}
    columns["i0"] = rng.integers(0, 1_000_000, rows)
    columns["i1"] = np.arange(rows)
    columns["flag"] = rng.random(rows) < 0.5
    columns["city"] = rng.choice(["Berlin", "Lagos", "Lima", "Osaka", "Perth"], rows)
    return pd.DataFrame(columns)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    home = isolate_zen_home("zen-bench-pandas-")
    frame = _frame(args.rows)
    for _ in range(3):  # touch the payload untimed
        frame.sum(numeric_only=True)
    two_steps = pass_through_pipeline(frame, pd.DataFrame)
    raw_path = os.path.join(home, "raw.parquet")

    def raw() -> None:
        frame.to_parquet(raw_path)
        assert pd.read_parquet(raw_path).shape == frame.shape

    def zen() -> None:
        run = two_steps()
        assert run.steps["consume"].outputs["output"].load() == args.rows

    raw()
    zen()  # warm-up: imports, database
    raw_times, zen_times = [], []
    for _ in range(args.runs):
        t = time.perf_counter()
        raw()
        raw_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        zen()
        zen_times.append(time.perf_counter() - t)
    raw_med, zen_med = statistics.median(raw_times), statistics.median(zen_times)
    size = os.path.getsize(raw_path)
    print(f"time: {args.rows:,} x {frame.shape[1]} DataFrame "
          f"({frame.memory_usage(deep=True).sum() / 2**20:.0f} MiB in memory, "
          f"{size / 2**20:.0f} MiB parquet), {args.runs} runs each")
    print(f"time:   raw to_parquet + read_parquet  median {raw_med:.3f} s  "
          f"(runs: {', '.join(f'{t:.2f}' for t in raw_times)})")
    print(f"time:   two-step pipeline              median {zen_med:.3f} s  "
          f"(runs: {', '.join(f'{t:.2f}' for t in zen_times)})")
    print(f"time:   ratio pipeline / raw = {zen_med / raw_med:.2f}x (goal <= 1.05x)")
    goal(f"pandas {args.rows:,} x {frame.shape[1]} save+load / raw to_parquet+read_parquet",
         zen_med, raw_med, max_ratio=1.05, spread=zen_times)


if __name__ == "__main__":
    main()
