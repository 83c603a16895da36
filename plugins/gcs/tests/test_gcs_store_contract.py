"""The core's artifact store contract and the materializer contract, on a GCS emulator."""

from __future__ import annotations

import pytest

from zen_core.materializers import BytesMaterializer, ContainerMaterializer
from zen_core.testing import ArtifactStoreContract, MaterializerContract


class TestGCSArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def artifact_store(self, gcs_store):
        return gcs_store


class TestBytesOnGCS(MaterializerContract):
    materializer = BytesMaterializer

    @pytest.fixture
    def artifact_store(self, gcs_store):
        return gcs_store

    @pytest.fixture
    def value(self):
        return b"zen" * 1000


class TestDictOnGCS(MaterializerContract):
    materializer = ContainerMaterializer

    @pytest.fixture
    def artifact_store(self, gcs_store):
        return gcs_store

    @pytest.fixture
    def value(self):
        return {"a": [1, 2.5, "x"], "b": {"nested": True}}


def test_store_pickles_without_its_connection(gcs_store):
    """The contract checks a pickled store works; its connection must not travel."""
    import pickle

    assert gcs_store.fs is not None  # connected
    assert pickle.loads(pickle.dumps(gcs_store))._fs is None


def test_uris_carry_the_protocol(gcs_store):
    bare = gcs_store.path[len("gs://"):]
    assert gcs_store.path.startswith("gs://zen-test/")
    assert gcs_store._strip("gcs://" + bare + "/x/") == gcs_store.path + "/x"
    assert gcs_store.contains(bare + "/x") and gcs_store.contains("gcs://" + bare + "/x")
    with gcs_store.open(bare + "/x/y.bin", "wb") as f:  # fsspec-style path without protocol
        f.write(b"1")
    uri = gcs_store.path + "/x/y.bin"
    assert gcs_store.exists(uri) and gcs_store.list_files(gcs_store.path + "/x") == {"y.bin": 1}
