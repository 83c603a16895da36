"""Large artifacts stream (multipart up, ranged reads down) and a killed writer leaves
nothing that loads."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from zen_core import load_artifact, save_artifact
from zen_core.client import Client

MiB = 2**20


@pytest.fixture
def small_blocks(make_s3_stack):
    """A stack with S3's smallest part size, so a few MiB already go multipart."""
    return make_s3_stack(block_size=5 * MiB, max_concurrency=2)


def test_large_write_is_a_multipart_upload_and_reads_back(small_blocks):
    store = Client().active_stack.artifact_store
    payload = os.urandom(12 * MiB + 123)
    uri = small_blocks + "/user/big.bin"
    with store.open(uri, "wb") as f:
        assert f.write(memoryview(payload)) == len(payload)  # one write of everything
    etag = store.fs.info(store._key(uri))["ETag"].strip('"')
    assert etag.endswith("-3")  # three parts: 5 + 5 + 2 MiB
    with store.open(uri, "rb") as f:
        head = f.read(10)  # small read: from the read-ahead block
        rest = bytearray(len(payload) - 10)
        assert f.readinto(rest) == len(rest)  # large read: parallel ranges into our buffer
        assert f.read(1) == b""
        f.seek(-5, 2)
        tail = f.read()
    assert head + bytes(rest) == payload and tail == payload[-5:]


def test_small_write_is_a_single_put(s3_stack):
    store = Client().active_stack.artifact_store
    with store.open(s3_stack + "/user/small.bin", "wb") as f:
        f.write(b"tiny")
    assert "-" not in store.fs.info(store._key(s3_stack + "/user/small.bin"))["ETag"]


def test_bytes_artifact_round_trip_multipart(small_blocks):
    payload = os.urandom(11 * MiB)
    av = save_artifact(payload, name="big")
    assert av.uri.startswith(small_blocks + "/.zen/objects/")
    assert load_artifact("big") == payload


def test_numpy_array_round_trip(small_blocks):
    np = pytest.importorskip("numpy")
    pytest.importorskip("zen_numpy")
    array = np.arange(3 * MiB, dtype=np.float32).reshape(1024, -1)
    save_artifact(array, name="array")
    av = Client().get_artifact_version("array")
    assert av.materializer.startswith("zen_numpy.")  # not the pickle fallback
    np.testing.assert_array_equal(av.load(), array)


def test_aborted_upload_leaves_no_object(small_blocks):
    store = Client().active_stack.artifact_store
    uri = small_blocks + "/user/aborted.bin"
    with pytest.raises(RuntimeError, match="materializer died"):
        f = store.open(uri, "wb")
        f.write(os.urandom(11 * MiB))  # two parts already uploaded
        f._abort()  # what a failed write does
        raise RuntimeError("materializer died")
    assert not store.exists(uri)
    parts = store.fs.call_s3("list_multipart_uploads", Bucket=store.bucket)
    assert not [u for u in parts.get("Uploads", []) if u["Key"].endswith("aborted.bin")]


KILLED_WRITER = textwrap.dedent('''
    import os
    from zen_core import pipeline, step
    from zen_core.materializers import Materializer

    class DiesMidWrite(Materializer):
        ASSOCIATED_TYPES = (bytes,)
        def save(self, data):
            with self.open("header.json", "wb") as f:
                f.write(b"{}")
            f = self.open("payload.bin", "wb")
            f.write(data)  # parts of a multipart upload in flight
            os._exit(9)  # killed before the upload completes

    @step(enable_cache=False, output_materializers=DiesMidWrite)
    def produce() -> bytes:
        return os.urandom(12 * 2**20)

    @pipeline(enable_cache=False)
    def doomed():
        produce()

    doomed()
''')


def test_killed_writer_leaves_nothing_that_loads(small_blocks, zen_home):
    proc = subprocess.run([sys.executable, "-c", KILLED_WRITER], env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    client = Client()
    store = client.active_stack.artifact_store
    assert client.list_artifact_versions() == []
    assert dict(store.iter_objects()) == {}
    [leftover] = list(store.iter_staging())  # the header made it; the payload never did
    assert leftover.pid == int(leftover.uri.rsplit("-", 2)[1])
    assert list(store.list_files(leftover.uri)) == ["header.json"]

    report = client.prune_artifacts()
    assert report.staging == [leftover.uri]
    assert list(store.iter_staging()) == []
    # the next run proceeds normally
    save_artifact(b"after the crash", name="next")
    assert load_artifact("next") == b"after the crash" and client.get_artifact_version(
        "next").version == "1"
