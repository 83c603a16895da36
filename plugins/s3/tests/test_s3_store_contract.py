"""The core's artifact store contract and the materializer contract, on a moto S3 server."""

from __future__ import annotations

import pytest

from zen_core.materializers import BytesMaterializer, ContainerMaterializer
from zen_core.testing import ArtifactStoreContract, MaterializerContract


class TestS3ArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def artifact_store(self, s3_store):
        return s3_store


class TestBytesOnS3(MaterializerContract):
    materializer = BytesMaterializer

    @pytest.fixture
    def artifact_store(self, s3_store):
        return s3_store

    @pytest.fixture
    def value(self):
        return b"zen" * 1000


class TestDictOnS3(MaterializerContract):
    materializer = ContainerMaterializer

    @pytest.fixture
    def artifact_store(self, s3_store):
        return s3_store

    @pytest.fixture
    def value(self):
        return {"a": [1, 2.5, "x"], "b": {"nested": True}}


def test_store_pickles_without_its_connection(s3_store):
    """The contract checks a pickled store works; its connection must not travel."""
    import pickle

    assert s3_store.fs is not None  # connected
    assert pickle.loads(pickle.dumps(s3_store))._fs is None


def test_uris_carry_the_protocol(s3_store):
    bare = s3_store.path[len("s3://"):]
    assert s3_store.path.startswith("s3://zen-test/")
    assert s3_store._strip("s3a://" + bare + "/x/") == s3_store.path + "/x"
    assert s3_store.contains(bare + "/x") and s3_store.contains("s3a://" + bare + "/x")
    with s3_store.open(bare + "/x/y.bin", "wb") as f:  # fsspec-style path without protocol
        f.write(b"1")
    uri = s3_store.path + "/x/y.bin"
    assert s3_store.exists(uri) and s3_store.list_files(s3_store.path + "/x") == {"y.bin": 1}
