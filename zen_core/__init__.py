"""zen_core: ML pipelines whose step outputs become versioned, typed, lineage-tracked artifacts.

The public API is re-exported here lazily: ``from zen_core import step,
pipeline`` imports only the small modules that define them; storage,
database and plugin machinery load on the first run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zen_core._lazy import lazy_exports

__version__ = "0.1.0"

__all__ = ["ArtifactConfig", "Client", "ExternalArtifact", "UnmaterializedArtifact", "add_tags",
           "get_step_context", "load_artifact", "log_artifact_metadata", "log_metadata",
           "pipeline", "register_artifact", "remove_tags", "save_artifact", "step"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "step": "zen_core.steps",
    "pipeline": "zen_core.pipelines",
    "ArtifactConfig": "zen_core.artifacts.artifact_config",
    "save_artifact": "zen_core.artifacts.utils",
    "load_artifact": "zen_core.artifacts.utils",
    "register_artifact": "zen_core.artifacts.utils",
    "Client": "zen_core.client",
    "ExternalArtifact": "zen_core.artifacts.external_artifact",
    "UnmaterializedArtifact": "zen_core.artifacts.unmaterialized_artifact",
    "get_step_context": "zen_core.steps.step_context",
    "log_metadata": "zen_core.metadata.log",
    "log_artifact_metadata": "zen_core.metadata.log",
    "add_tags": "zen_core.metadata.log",
    "remove_tags": "zen_core.metadata.log",
})

if TYPE_CHECKING:
    from zen_core.artifacts.artifact_config import ArtifactConfig
    from zen_core.artifacts.external_artifact import ExternalArtifact
    from zen_core.artifacts.unmaterialized_artifact import UnmaterializedArtifact
    from zen_core.artifacts.utils import load_artifact, register_artifact, save_artifact
    from zen_core.client import Client
    from zen_core.metadata.log import add_tags, log_artifact_metadata, log_metadata, remove_tags
    from zen_core.pipelines import pipeline
    from zen_core.steps import step
    from zen_core.steps.step_context import get_step_context
