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

    def test_prune_aborts_only_uploads_whose_writer_is_gone(self, small_blocks):
        """Defect 13: a multipart upload left under staging is storage S3 bills until it is
        aborted. Prune aborts those of dead writers and spares a writer still writing."""
        import socket
        import subprocess
        import sys

        store = Client().active_stack.artifact_store
        finished = subprocess.Popen([sys.executable, "-c", "pass"])
        finished.wait()  # its pid is free now: a writer that died
        staging = store.join(".zen", "staging")
        live_uri = store.new_staging_uri() + "/part.bin"
        dead_uri = f"{staging}/{socket.gethostname()}-{finished.pid}-{'0' * 32}/part.bin"
        for uri in (live_uri, dead_uri):
            store.fs.call_s3("create_multipart_upload", Bucket=store.bucket,
                             Key=store._key(uri).split("/", 1)[1])
        outside = store.fs.call_s3("create_multipart_upload", Bucket=store.bucket,
                                   Key=store._key(small_blocks + "/user/mine.bin").split("/", 1)[1])
        assert sorted(u.uri for u in store.iter_incomplete_uploads()) == sorted([live_uri, dead_uri])

        assert Client().prune_artifacts(dry_run=True).uploads == [dead_uri]
        report = Client().prune_artifacts()
        assert report.uploads == [dead_uri] and "1 incomplete upload(s) aborted" in report.summary()
        assert [u.uri for u in store.iter_incomplete_uploads()] == [live_uri]  # still writing
        left = store.fs.call_s3("list_multipart_uploads", Bucket=store.bucket)["Uploads"]
        assert outside["UploadId"] in {u["UploadId"] for u in left}  # not zen_core's: kept
