"""S3 artifact store: a 200 MB numpy array through a pipeline vs raw s3fs, on a moto server.

    python benchmarks/bench_s3.py [--mb 200] [--runs 3]

The moto S3 server runs in its own process on 127.0.0.1 (as a real S3 would be
elsewhere). Timed, medians of several runs:

- raw:      s3fs ``put`` of a local file holding the array's bytes + ``get`` back
            (what any S3 client pays to move the bytes there and back), same process;
- pipeline: a pipeline whose first step returns the array (materialized to the S3
            store: hashed while streamed as a multipart upload, then published by a
            server-side copy) and whose second step takes it as input (ranged reads
            straight into the array, verified) - plus metadata in SQLite.

Target: pipeline <= 1.5x raw. Peak memory while saving / loading (Python and numpy
allocations, tracemalloc, in separate untimed runs) <= 2.2x the array's size, the
array itself included.
Without zen-numpy installed the payload is ``bytes`` of the same size instead.
"""

from __future__ import annotations

import argparse
import gc
import os
import socket
import subprocess
import sys
import time
import tracemalloc
import urllib.request

from harness import isolate_zen_home, median_time, pass_through_pipeline

isolate_zen_home("zen-bench-s3-")
KEY, SECRET, BUCKET = "bench", "bench-secret", "zen-bench"


def start_moto() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
            return proc, endpoint
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("moto server did not start (pip install 'moto[server]')") from None
            time.sleep(0.2)


def write_config(endpoint: str) -> None:
    home = os.environ["ZEN_HOME"]
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write(f'active_stack = "s3"\n[stacks.s3]\n'
                f'artifact_store = {{ flavor = "s3", path = "s3://{BUCKET}/zen", '
                f'endpoint_url = "{endpoint}", key = "{KEY}", secret = "{SECRET}", '
                f'region = "us-east-1" }}\n')


def make_payload(mb: int):
    try:
        import numpy as np
        import zen_numpy  # noqa: F401

        array = np.random.default_rng(0).random(mb * 2**20 // 8)
        return array, array.nbytes, memoryview(array).cast("B"), "numpy float64 array"
    except ImportError:
        data = os.urandom(mb * 2**20)
        return data, len(data), memoryview(data), "bytes (zen-numpy not installed)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    proc, endpoint = start_moto()
    try:
        run(endpoint, args.mb, args.runs)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run(endpoint: str, mb: int, runs: int) -> None:
    import s3fs

    write_config(endpoint)
    raw = s3fs.S3FileSystem(endpoint_url=endpoint, key=KEY, secret=SECRET,
                            client_kwargs={"region_name": "us-east-1"}, skip_instance_cache=True)
    raw.call_s3("create_bucket", Bucket=BUCKET)
    payload, size, view, kind = make_payload(mb)
    for _ in range(3):  # touch and free the payload untimed before timing
        bytes(view[: min(size, 64 * 2**20)])
    local = os.path.join(os.environ["ZEN_HOME"], "payload.bin")
    back = local + ".back"
    with open(local, "wb") as f:
        f.write(view)
    print(f"s3: {size / 2**20:.0f} MiB {kind}; moto S3 server in its own process at {endpoint}; "
          f"{runs} timed runs each")

    def raw_put_get() -> None:
        raw.put(local, f"{BUCKET}/raw/payload.bin")
        raw.get(f"{BUCKET}/raw/payload.bin", back)

    two_steps = pass_through_pipeline(payload)

    def through_pipeline() -> None:
        run_ = two_steps()
        assert run_.steps["consume"].outputs["output"].load() == len(payload)

    raw_put_get()  # warm-up: connections, bucket, page cache
    through_pipeline()
    t_raw = median_time(raw_put_get, runs, collect=True)
    t_pipe = median_time(through_pipeline, runs, collect=True)
    put_only = median_time(lambda: raw.put(local, f"{BUCKET}/raw/payload.bin"), runs, collect=True)
    get_only = median_time(lambda: raw.get(f"{BUCKET}/raw/payload.bin", back), runs, collect=True)

    from zen_core import load_artifact, save_artifact

    save_only = median_time(lambda: save_artifact(payload, name="bench_payload"), runs, collect=True)
    load_only = median_time(lambda: load_artifact("bench_payload"), runs, collect=True)

    print(f"s3: raw s3fs put + get:        median {t_raw:.2f} s "
          f"({2 * size / 2**20 / t_raw:.0f} MiB/s moved)")
    print(f"s3: pipeline save + load:      median {t_pipe:.2f} s -> {t_pipe / t_raw:.2f}x raw "
          f"(target <= 1.5x)")
    print(f"s3:   save_artifact vs put:    {save_only:.2f} s vs {put_only:.2f} s "
          f"-> {save_only / put_only:.2f}x")
    print(f"s3:   load_artifact vs get:    {load_only:.2f} s vs {get_only:.2f} s "
          f"-> {load_only / get_only:.2f}x")

    # peak memory, untimed: everything Python and numpy allocate, the payload included
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
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
    print(f"s3: peak memory while saving:  {save_peak / 2**20:.0f} MiB = "
          f"{save_peak / size:.2f}x the payload (target <= 2.2x)")
    print(f"s3: peak memory while loading: {load_peak / 2**20:.0f} MiB = "
          f"{load_peak / size:.2f}x the payload (target <= 2.2x)")
    for path in (local, back):
        os.unlink(path)


if __name__ == "__main__":
    main()
