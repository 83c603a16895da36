"""Run metadata: ``log_metadata``, ``log_artifact_metadata`` and typed metadata values.

``from zen_core.metadata import Uri, Path, DType, StorageSize`` (also importable from
``zen_core.metadata.metadata_types``, ZenML's module path). Names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zen_core._lazy import lazy_exports

__all__ = ["DType", "MetadataType", "Path", "StorageSize", "Uri", "log_artifact_metadata",
           "log_metadata"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "DType": "zen_core.metadata.metadata_types",
    "MetadataType": "zen_core.metadata.metadata_types",
    "Path": "zen_core.metadata.metadata_types",
    "StorageSize": "zen_core.metadata.metadata_types",
    "Uri": "zen_core.metadata.metadata_types",
    "log_metadata": "zen_core.metadata.log",
    "log_artifact_metadata": "zen_core.metadata.log",
})

if TYPE_CHECKING:
    from zen_core.metadata.log import log_artifact_metadata, log_metadata
    from zen_core.metadata.metadata_types import DType, MetadataType, Path, StorageSize, Uri
