"""Tensor and state-dict artifacts vs. raw safetensors files, same machine, same run.

Saving goes through the whole artifact path (staging, xxh3 hashing in the same
pass, publishing under the content address); loading verifies the hash while
reading. Baselines: ``safetensors.torch.save_file``, ``load`` (read + copy) and
``load_file`` (lazy mmap) on a local file, and a raw ``write``/``readinto`` of the tensor's bytes. Prints medians of
several runs and the ratio artifact/baseline (lower is better).

    python plugins/torch/benchmarks/bench_torch.py
"""

from __future__ import annotations

import gc
import os
import shutil
import statistics
import tempfile
import time

import safetensors.torch
import torch
from zen_torch.materializers import StateDictMaterializer, TensorMaterializer

from zen_core.artifact_stores.local import LocalArtifactStore, LocalArtifactStoreConfig
from zen_core.artifacts.data import load_data, save_data
from zen_core.materializers.registry import MaterializerRegistry

RUNS = 5
TENSOR_MB = int(os.environ.get("BENCH_TENSOR_MB", "256"))



def _local_store(path):  # (not zen_core.testing's: that needs pytest, which benches lack)
    return LocalArtifactStore(LocalArtifactStoreConfig(str(path)))

def medians(fns: dict, runs: int = RUNS) -> dict[str, float]:
    """Median seconds of each function; runs are interleaved so load on a shared
    machine hits artifact and baseline alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            gc.collect()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def bench(label: str, mat, value, tmp: str) -> None:
    from pathlib import Path

    store = _local_store(Path(tmp) / f"store-{label}")
    registry = MaterializerRegistry([("bench", mat)])
    raw_path = os.path.join(tmp, f"{label}.safetensors")
    bytes_path = os.path.join(tmp, f"{label}.bin")
    tensors = value if isinstance(value, dict) else {"tensor": value}
    nbytes = sum(t.numel() * t.element_size() for t in tensors.values())

    for _ in range(3):  # touch the payload untimed so page faults do not land in the first run
        for t in tensors.values():
            t.reshape(-1)[:: 4096 // max(t.element_size(), 1)].sum()
        safetensors.torch.save_file(tensors, raw_path)
        os.remove(raw_path)

    stored = None

    def artifact_save():
        nonlocal stored
        if stored is not None:  # else identical content would be found stored and dropped
            store.delete(stored.uri)
        stored = save_data(store, mat, value, allow_pickle=False, label=f"'{label}'")

    def artifact_load():
        load_data(store, registry, uri=stored.uri, materializer=stored.materializer,
                  type_path=stored.type, files=stored.files, allow_pickle=False,
                  label=f"'{label}'")

    def raw_save():
        safetensors.torch.save_file(tensors, raw_path)

    def raw_load():  # load_file maps the page-cached file lazily, unverified; touch every page
        for t in safetensors.torch.load_file(raw_path).values():
            if t.numel():
                t.reshape(-1).view(torch.uint8)[::4096].sum()

    def raw_load_copy():  # reads the file and copies out owned tensors, as our load does
        with open(raw_path, "rb") as f:
            return safetensors.torch.load(f.read())

    def bytes_save():
        with open(bytes_path, "wb") as f:
            for t in tensors.values():
                f.write(memoryview(t.reshape(-1).view(torch.uint8).numpy()))

    def bytes_load():  # keeps every tensor, like a real load
        loaded = []
        with open(bytes_path, "rb") as f:
            for t in tensors.values():
                loaded.append(torch.empty_like(t))
                f.readinto(memoryview(loaded[-1].reshape(-1).view(torch.uint8).numpy()))
        return loaded

    results = medians({"artifact save": artifact_save, "safetensors save_file": raw_save,
                       "raw write": bytes_save})
    results.update(medians({"artifact load": artifact_load, "safetensors load(bytes)": raw_load_copy,
                            "safetensors mmap+touch": raw_load, "raw readinto": bytes_load}))
    mb = nbytes / 2**20
    print(f"\n{label}: {len(tensors)} tensor(s), {mb:.0f} MiB, median of {RUNS} runs")
    for name, seconds in results.items():
        print(f"  {name:<22} {seconds * 1000:9.1f} ms  {mb / seconds:8.0f} MiB/s")
    print(f"  ratio save: artifact/safetensors = "
          f"{results['artifact save'] / results['safetensors save_file']:.2f}, "
          f"artifact/raw = {results['artifact save'] / results['raw write']:.2f}")
    print(f"  ratio load: artifact/safetensors load(bytes) = "
          f"{results['artifact load'] / results['safetensors load(bytes)']:.2f}, "
          f"artifact/mmap = {results['artifact load'] / results['safetensors mmap+touch']:.1f}, "
          f"artifact/raw = {results['artifact load'] / results['raw readinto']:.2f}")


def main() -> None:
    torch.manual_seed(0)
    tmp = tempfile.mkdtemp(prefix="zen-bench-torch-")
    try:
        big = torch.randn(TENSOR_MB * 2**20 // 4)
        bench("tensor", TensorMaterializer, big, tmp)
        del big
        model = torch.nn.Sequential(*[torch.nn.Linear(1024, 1024) for _ in range(24)])
        bench("state_dict", StateDictMaterializer, model.state_dict(), tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
