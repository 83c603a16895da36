"""The enums ZenML code imports from ``zenml.enums``, with zen_core's values.

``ArtifactType`` also accepts ZenML's spellings (``ArtifactType("ModelArtifact")`` is
``ArtifactType.MODEL``); ``ExecutionStatus`` has the four statuses zen_core records.
"""

from zen_core.materializers.base import ArtifactType, VisualizationType
from zen_core.records import ExecutionStatus

__all__ = ["ArtifactType", "ExecutionStatus", "VisualizationType"]
