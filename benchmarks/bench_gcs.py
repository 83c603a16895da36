"""GCS artifact store: a 200 MB numpy array through a pipeline vs raw gcsfs, on an emulator.

    python benchmarks/bench_gcs.py [--mb 200] [--runs 3]

The gcp-storage-emulator runs in its own process on 127.0.0.1 (in memory), started here
and stopped at the end. Timed, medians of several runs, raw and zen_core in turns:

- raw:      gcsfs ``put`` of a local file holding the array's bytes + ``get`` back;
- pipeline: a pipeline whose first step returns the array (hashed while written to a
            local spool, then uploaded once, as a resumable upload, straight to its
            content address) and whose second step takes it as input (parallel ranged
            reads into the array, verified) - plus metadata in SQLite. One element
            changes before each run, so every run stores new content.

GOAL lines: round trip, save_artifact / put and load_artifact / get (goal <= 1.15x);
then peak memory. Shared with bench_s3.py: object_store_bench.py.
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

isolate_zen_home("zen-bench-gcs-")
BUCKET = "zen-bench"


def start_emulator() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "gcp_storage_emulator", "start", "-H",
                             "127.0.0.1", "--port", str(port), "--default-bucket", BUCKET,
                             "--in-memory", "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/storage/v1/b/{BUCKET}", timeout=1)
            return proc, endpoint
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("GCS emulator did not start (pip install "
                                 "gcp-storage-emulator)") from None
            time.sleep(0.2)


def write_config(endpoint: str, max_concurrency: int) -> None:
    with open(os.path.join(os.environ["ZEN_HOME"], "config.toml"), "w") as f:
        f.write(f'active_stack = "gcs"\n[stacks.gcs]\n'
                f'artifact_store = {{ flavor = "gcs", path = "gs://{BUCKET}/zen", '
                f'endpoint_url = "{endpoint}", token = "anon", project = "bench", '
                f'max_concurrency = {max_concurrency} }}\n')


def main() -> None:
    args = parse_args()

    proc, endpoint = start_emulator()
    try:
        from gcsfs.core import GCSFileSystem  # as the store uses: gcsfs.GCSFileSystem first
        # probes the bucket's type over gRPC, which an emulator does not answer (a minute)

        write_config(endpoint, args.max_concurrency)
        raw = GCSFileSystem(endpoint_url=endpoint, token="anon", project="bench",
                                  skip_instance_cache=True)
        print(f"gcs: gcp-storage-emulator (in memory) in its own process at {endpoint}; "
              f"max_concurrency = {args.max_concurrency}")
        round_trip("gcs", raw, f"{BUCKET}/raw/payload.bin", args.mb, args.runs)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
