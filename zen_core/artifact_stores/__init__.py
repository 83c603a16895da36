"""Artifact stores: the public face for store plugins.

:class:`ArtifactStore` is the base (a root URI plus an fsspec filesystem);
:class:`ObjectStoreArtifactStore` the base for bucket stores (zen-s3, zen-gcs)
with the config validators they share; :class:`LocalArtifactStore` the
built-in one. Names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zen_core._lazy import lazy_exports

__all__ = ["SPOOL_LIMIT", "ZEN_DIR", "ArtifactStore", "IncompleteUpload", "LocalArtifactStore",
           "MiB", "ObjectStoreArtifactStore", "StagingEntry", "call_quietly", "check_inside",
           "check_spool_dir", "check_spool_limit", "check_uri", "positive"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "ZEN_DIR": "zen_core.artifact_stores.base",
    "ArtifactStore": "zen_core.artifact_stores.base",
    "IncompleteUpload": "zen_core.artifact_stores.base",
    "StagingEntry": "zen_core.artifact_stores.base",
    "check_inside": "zen_core.artifact_stores.base",
    "LocalArtifactStore": "zen_core.artifact_stores.local",
    "MiB": "zen_core.artifact_stores.object_store",
    "SPOOL_LIMIT": "zen_core.artifact_stores.object_store",
    "check_spool_dir": "zen_core.artifact_stores.object_store",
    "check_spool_limit": "zen_core.artifact_stores.object_store",
    "ObjectStoreArtifactStore": "zen_core.artifact_stores.object_store",
    "call_quietly": "zen_core.artifact_stores.object_store",
    "check_uri": "zen_core.artifact_stores.object_store",
    "positive": "zen_core.config",
})

if TYPE_CHECKING:
    from zen_core.artifact_stores.base import (
        ZEN_DIR,
        ArtifactStore,
        IncompleteUpload,
        StagingEntry,
        check_inside,
    )
    from zen_core.artifact_stores.local import LocalArtifactStore
    from zen_core.artifact_stores.object_store import (
        SPOOL_LIMIT,
        MiB,
        ObjectStoreArtifactStore,
        call_quietly,
        check_spool_dir,
        check_spool_limit,
        check_uri,
    )
    from zen_core.config import positive
