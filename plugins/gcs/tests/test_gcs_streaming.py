"""Large artifacts stream (resumable upload up, ranged reads down)."""

from __future__ import annotations

import os

import pytest

from zen_core import load_artifact, save_artifact
from zen_core.client import Client

MiB = 2**20


@pytest.fixture
def small_blocks(make_gcs_stack):
    """A stack with 1 MiB blocks, so a few MiB already go through several upload chunks."""
    return make_gcs_stack(block_size=MiB, max_concurrency=2)


def test_large_write_and_ranged_reads(small_blocks):
    store = Client().active_stack.artifact_store
    payload = os.urandom(3 * MiB + 123)
    uri = small_blocks + "/user/big.bin"
    with store.open(uri, "wb") as f:
        assert f.write(memoryview(payload)) == len(payload)
    assert store.list_files(small_blocks + "/user") == {"big.bin": len(payload)}
    with store.open(uri, "rb") as f:
        head = f.read(10)
        rest = bytearray(len(payload) - 10)
        assert f.readinto(rest) == len(rest)
        assert f.read(1) == b""
        f.seek(-5, 2)
        tail = f.read()
    assert head + bytes(rest) == payload and tail == payload[-5:]


def test_bytes_artifact_round_trip(small_blocks):
    payload = os.urandom(3 * MiB)
    av = save_artifact(payload, name="big")
    assert av.uri.startswith(small_blocks + "/.zen/objects/")
    assert load_artifact("big") == payload


def test_numpy_array_round_trip(small_blocks):
    np = pytest.importorskip("numpy")
    pytest.importorskip("zen_numpy")
    array = np.arange(MiB, dtype=np.float32).reshape(1024, -1)
    save_artifact(array, name="array")
    av = Client().get_artifact_version("array")
    assert av.materializer.startswith("zen_numpy.")
    np.testing.assert_array_equal(av.load(), array)
