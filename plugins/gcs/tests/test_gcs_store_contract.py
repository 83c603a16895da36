"""The core's artifact store contract and the materializer contract, on a GCS emulator."""

from __future__ import annotations

import pytest

from zen_core.materializers.builtin import BytesMaterializer, ContainerMaterializer
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
