"""The core's artifact store contract and the materializer contract, on a moto S3 server."""

from __future__ import annotations

import pytest

from zen_core.materializers.builtin import BytesMaterializer, ContainerMaterializer
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
