"""The enums user code imports from ZenML's ``zenml.enums``: ``ArtifactType`` (for
``ArtifactConfig(artifact_type=...)``), ``ExecutionStatus``, ``VisualizationType``."""

from zen_core.materializers.base import ArtifactType, VisualizationType
from zen_core.records import ExecutionStatus

__all__ = ["ArtifactType", "ExecutionStatus", "VisualizationType"]
