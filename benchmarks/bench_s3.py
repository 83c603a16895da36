"""S3 artifact store: a 200 MB numpy array through a pipeline vs raw s3fs, on a moto server.

    python benchmarks/bench_s3.py [--mb 200] [--runs 3]

The moto S3 server runs in its own process on 127.0.0.1 (as a real S3 would be
elsewhere). Timed, medians of several runs:

- raw:      s3fs ``put`` of a local file holding the array's bytes + ``get`` back
            (what any S3 client pays to move the bytes there and back), same process;
- pipeline: a pipeline whose first step returns the array (materialized to the S3
            store: hashed while written to a local spool, then uploaded once, as a
            multipart upload, straight to its content address) and whose second step
            takes it as input (ranged reads straight into the array, verified) - plus
            metadata in SQLite. One element changes before each run, so every run stores
            new content (no run is a dedup hit).

Raw and zen_core runs alternate in one loop (same machine load); GOAL lines give the
medians, their ratio and the issue's goal (<= 1.15x), for the round trip, and for
save_artifact / put and load_artifact / get alone. Peak memory while saving / loading
(Python and numpy allocations, tracemalloc, in separate untimed runs) <= 2.2x the
array's size, the array itself included. Without zen-numpy installed the payload is a
bytearray of the same size instead. Shared with bench_gcs.py: object_store_bench.py.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

from harness import isolate_zen_home
from object_store_bench import parse_args, round_trip

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


def write_config(endpoint: str, max_concurrency: int) -> None:
    home = os.environ["ZEN_HOME"]
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write(f'active_stack = "s3"\n[stacks.s3]\n'
                f'artifact_store = {{ flavor = "s3", path = "s3://{BUCKET}/zen", '
                f'endpoint_url = "{endpoint}", key = "{KEY}", secret = "{SECRET}", '
                f'region = "us-east-1", max_concurrency = {max_concurrency} }}\n')


def main() -> None:
    args = parse_args()

    proc, endpoint = start_moto()
    try:
        run(endpoint, args.mb, args.runs, args.max_concurrency)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run(endpoint: str, mb: int, runs: int, max_concurrency: int) -> None:
    import s3fs

    write_config(endpoint, max_concurrency)
    raw = s3fs.S3FileSystem(endpoint_url=endpoint, key=KEY, secret=SECRET,
                            client_kwargs={"region_name": "us-east-1"}, skip_instance_cache=True)
    raw.call_s3("create_bucket", Bucket=BUCKET)
    print(f"s3: moto S3 server in its own process at {endpoint}; "
          f"max_concurrency = {max_concurrency}")
    round_trip("s3", raw, f"{BUCKET}/raw/payload.bin", mb, runs)


if __name__ == "__main__":
    main()
