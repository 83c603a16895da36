"""Artifact benchmarks: lookups among many versions, and the cost of hashing.

    python benchmarks/bench_artifacts.py             # everything
    python benchmarks/bench_artifacts.py lookup      # or: hashing

lookup:  `get_artifact_version(name)` (latest) with 10,000 versions of that name
         among 100,000 in all (target <= 1 ms median); `zen artifact list` (< 1 s).
hashing: save (hash while writing) + load (verify while reading) of 512 MiB
         through the store, against a raw write + read of the same bytes
         (target: at most +0.1 s per GB).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

from harness import isolate_zen_home

isolate_zen_home("zen-bench-")


def bench_lookup() -> None:
    from zen_core.artifacts.data import StoredData
    from zen_core.client import Client
    from zen_core.metadata_stores.base import NewArtifactVersion

    client = Client()
    store = client.active_stack.metadata_store
    data = StoredData(uri="/dev/null", content_hash="0" * 32, size=0, files={},
                      materializer="zen_core.materializers.builtin.BuiltInMaterializer",
                      materializer_version="1", type="builtins.int", artifact_type="data",
                      metadata={}, visualizations={})
    start = time.perf_counter()
    for batch in range(100):
        with store.transaction():
            for i in range(1000):
                n = batch * 1000 + i
                name = "target" if n % 10 == 0 else f"other_{n % 90}"
                store.create_artifact_version(NewArtifactVersion(name, data, origin="saved"))
    print(f"lookup: stored 100,000 versions in {time.perf_counter() - start:.1f} s")
    times = []
    for _ in range(500):
        t = time.perf_counter()
        av = client.get_artifact_version("target")
        times.append(time.perf_counter() - t)
    assert av.version == "10000"
    print(f"lookup: get_artifact_version('target') latest of 10,000 (100,000 in all): median "
          f"{statistics.median(times) * 1000:.3f} ms (target <= 1 ms)")
    times = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "zen_core.cli", "artifact", "list"],
                       check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    print(f"lookup: `zen artifact list` (91 names, whole process): median "
          f"{statistics.median(times):.2f} s (target < 1 s)")


def bench_hashing(size: int = 512 << 20) -> None:
    from zen_core.artifacts.data import load_data, save_data
    from zen_core.client import Client
    from zen_core.materializers.builtin import BytesMaterializer
    from zen_core.materializers.registry import get_registry

    payload = os.urandom(1 << 20) * (size >> 20)
    store = Client().active_stack.artifact_store
    registry = get_registry()
    raw_dir = tempfile.mkdtemp(dir=store.path if os.path.isdir(store.path) else None)
    raw_path = os.path.join(raw_dir, "raw.bin")

    def raw() -> None:
        with open(raw_path, "wb") as f:
            f.write(payload)
        with open(raw_path, "rb") as f:
            assert len(f.read()) == size
        os.unlink(raw_path)

    def ours() -> None:
        stored = save_data(store, BytesMaterializer, payload, allow_pickle=False, label="'b'")
        loaded = load_data(store, registry, uri=stored.uri, materializer=stored.materializer,
                           type_path=stored.type, files=stored.files, allow_pickle=False,
                           label="'b'")
        assert len(loaded) == size
        store.delete(stored.uri)  # the next round writes anew instead of deduplicating

    for _ in range(2):  # touch memory and disk paths before timing
        raw()
        ours()
    raw_t, ours_t = [], []
    for _ in range(5):
        for fn, bucket in ((raw, raw_t), (ours, ours_t)):
            t = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - t)
    r, o = statistics.median(raw_t), statistics.median(ours_t)
    gb = size / (1 << 30)
    print(f"hashing: {size >> 20} MiB save+load: raw {r:.3f} s, zen_core {o:.3f} s "
          f"(ratio {o / r:.2f}); hashing adds {(o - r) / gb:.3f} s per GiB (target <= 0.1 s)")


SECTIONS = {"lookup": bench_lookup, "hashing": bench_hashing}

if __name__ == "__main__":
    for name in sys.argv[1:] or SECTIONS:
        SECTIONS[name]()
