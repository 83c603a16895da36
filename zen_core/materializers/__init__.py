"""Materializers turn step outputs into files and back; subclass :class:`Materializer`.

The public face for materializer plugins: the base class and its enums, the
built-in materializers (to subclass or to delegate to), and the registry
that picks one for a type. Names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zen_core._lazy import lazy_exports
from zen_core.materializers.base import (
    ArtifactType,
    Materializer,
    VisualizationType,
    qualified_name,
)

__all__ = ["ArtifactType", "BaseMaterializer", "BuiltInMaterializer", "BytesMaterializer", "ContainerMaterializer",
           "Materializer", "MaterializerRegistry", "PathMaterializer", "PickleMaterializer",
           "VisualizationType", "get_registry", "import_object", "qualified_name"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "BaseMaterializer": "zen_core.materializers.base_materializer",
    "BuiltInMaterializer": "zen_core.materializers.builtin",
    "BytesMaterializer": "zen_core.materializers.builtin",
    "ContainerMaterializer": "zen_core.materializers.builtin",
    "PickleMaterializer": "zen_core.materializers.builtin",
    "PathMaterializer": "zen_core.materializers.path",
    "MaterializerRegistry": "zen_core.materializers.registry",
    "get_registry": "zen_core.materializers.registry",
    "import_object": "zen_core.materializers.registry",
})

if TYPE_CHECKING:
    from zen_core.materializers.base_materializer import BaseMaterializer
    from zen_core.materializers.builtin import (
        BuiltInMaterializer,
        BytesMaterializer,
        ContainerMaterializer,
        PickleMaterializer,
    )
    from zen_core.materializers.path import PathMaterializer
    from zen_core.materializers.registry import MaterializerRegistry, get_registry, import_object
