"""A store over any fsspec filesystem needs only FLAVOR, Config and the filesystem.

(The worked example ``examples/zen_fsspec`` runs the same contract on a real FTP server.)
"""

from __future__ import annotations

import uuid
from typing import Any

import attrs
import pytest

from zen_core.artifact_stores import ArtifactStore
from zen_core.testing import ArtifactStoreContract


@attrs.frozen
class MinimalConfig:
    path: str


class MinimalMemoryStore(ArtifactStore):
    FLAVOR = "minimal-memory"
    Config = MinimalConfig
    PROCESS_LOCAL = True

    def _make_fs(self) -> Any:
        from fsspec.implementations.memory import MemoryFileSystem

        return MemoryFileSystem()


class TestMinimalStoreWithAHostLikeRoot(ArtifactStoreContract):
    """``memory://name``: the filesystem's paths (``/name/...``) are not the URI minus its
    protocol, which the old base assumed."""

    @pytest.fixture
    def artifact_store(self):
        return MinimalMemoryStore(MinimalConfig(f"memory://zen-{uuid.uuid4().hex}"))


def test_uris_and_filesystem_paths_map_through_the_root():
    store = MinimalMemoryStore(MinimalConfig("memory://zen"))
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
