"""zen_core: ML pipelines whose step outputs become versioned, typed, lineage-tracked artifacts.

The public API is re-exported here lazily: ``from zen_core import step,
pipeline`` imports only the small modules that define them; storage,
database and plugin machinery load on the first run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zen_core._lazy import lazy_exports

__version__ = "0.1.0"

__all__ = ["ArtifactConfig", "Client", "load_artifact", "pipeline", "register_artifact",
           "save_artifact", "step"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "step": "zen_core.steps",
    "pipeline": "zen_core.pipelines",
    "ArtifactConfig": "zen_core.artifacts.artifact_config",
    "save_artifact": "zen_core.artifacts.utils",
    "load_artifact": "zen_core.artifacts.utils",
    "register_artifact": "zen_core.artifacts.utils",
    "Client": "zen_core.client",
})

if TYPE_CHECKING:
    from zen_core.artifacts.artifact_config import ArtifactConfig
    from zen_core.artifacts.utils import load_artifact, register_artifact, save_artifact
    from zen_core.client import Client
    from zen_core.pipelines import pipeline
    from zen_core.steps import step
