"""A store over any fsspec filesystem needs only FLAVOR, Config and the filesystem
(zen_core.testing.MemoryArtifactStore has nothing more).

(The worked example ``examples/zen_fsspec`` runs the same contract on a real FTP server.)
"""

from __future__ import annotations

import uuid

import attrs
import pytest

from zen_core.artifact_stores import ArtifactStore
from zen_core.testing import ArtifactStoreContract, MemoryArtifactStore


@attrs.frozen
class MinimalConfig:
    path: str


class TestMemoryStoreWithAHostLikeRoot(ArtifactStoreContract):
    """``memory://name``: the filesystem's paths (``/name/...``) are not the URI minus its
    protocol, which the old base assumed."""

    @pytest.fixture
    def artifact_store(self):
        return MemoryArtifactStore(MemoryArtifactStore.Config(f"memory://zen-{uuid.uuid4().hex}"))


def test_uris_and_filesystem_paths_map_through_the_root():
    store = MemoryArtifactStore(MemoryArtifactStore.Config("memory://zen"))
    assert store._fs_path("memory://zen/.zen/objects/ab") == "/zen/.zen/objects/ab"
    assert store._as_uri("/zen/.zen/objects/ab") == "memory://zen/.zen/objects/ab"
    assert store._as_uri("/zen") == "memory://zen"
    assert store._as_uri("/elsewhere/x") == "memory:///elsewhere/x"  # outside: fsspec's form


def test_a_missing_filesystem_constructor_is_named():
    class Incomplete(ArtifactStore):
        FLAVOR = "incomplete"
        Config = MinimalConfig

    with pytest.raises(NotImplementedError, match=r"Incomplete must implement _make_fs\(\)"):
        Incomplete(MinimalConfig("memory://x")).fs  # noqa: B018
