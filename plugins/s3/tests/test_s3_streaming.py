"""What is particular to S3 in streaming: multipart uploads, and aborting one.

(Ranged reads, round trips and a killed writer are in the object store contract.)
"""

from __future__ import annotations

import os

import pytest

from zen_core.client import Client
from zen_core.testing import ObjectStoreFixtures

MiB = 2**20


class TestMultipart(ObjectStoreFixtures):
    @pytest.fixture
    def small_blocks(self, make_stack):
        """A stack with S3's smallest part size, so a few MiB already go multipart."""
        return make_stack(block_size=5 * MiB, max_concurrency=2)

    def test_large_write_is_a_multipart_upload(self, small_blocks):
        store = Client().active_stack.artifact_store
        payload = os.urandom(12 * MiB + 123)
        uri = small_blocks + "/user/big.bin"
        with store.open(uri, "wb") as f:
            assert f.write(memoryview(payload)) == len(payload)  # one write of everything
        etag = store.fs.info(store._key(uri))["ETag"].strip('"')
        assert etag.endswith("-3")  # three parts: 5 + 5 + 2 MiB
        with store.open(uri, "rb") as f:
            assert f.read() == payload

    def test_small_write_is_a_single_put(self, make_stack):
        root = make_stack()
        store = Client().active_stack.artifact_store
        with store.open(root + "/user/small.bin", "wb") as f:
            f.write(b"tiny")
        assert "-" not in store.fs.info(store._key(root + "/user/small.bin"))["ETag"]

    def test_aborted_upload_leaves_no_object(self, small_blocks):
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
