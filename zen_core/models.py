"""The records users get back from the Client (defined in :mod:`zen_core.records`).

This module is the public face user code and plugins import them from, as
ZenML code imports ``zenml.models``.
"""

from zen_core.records import (
    ArtifactOrigin,
    ArtifactVersion,
    ExecutionStatus,
    PipelineRun,
    StepRun,
)

__all__ = ["ArtifactOrigin", "ArtifactVersion", "ExecutionStatus", "PipelineRun", "StepRun"]
