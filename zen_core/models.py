"""The records users get back from the Client (defined in :mod:`zen_core.records`).

This module is the public face user code and plugins import them from, as ZenML code
imports ``zenml.models``. ZenML's response-model names are aliases of the same classes,
so type hints such as ``run: PipelineRunResponse`` keep working.
"""

from zen_core.queries import Page
from zen_core.records import (
    ArtifactInfo,
    ArtifactOrigin,
    ArtifactVersion,
    ExecutionStatus,
    PipelineInfo,
    PipelineRun,
    PipelineRunConfiguration,
    StepConfiguration,
    StepRun,
)

# ZenML's names for the same records
ArtifactResponse = ArtifactInfo
ArtifactVersionResponse = ArtifactVersion
PipelineResponse = PipelineInfo
PipelineRunResponse = PipelineRun
StepRunResponse = StepRun

__all__ = ["ArtifactInfo", "ArtifactOrigin", "ArtifactResponse", "ArtifactVersion",
           "ArtifactVersionResponse", "ExecutionStatus", "Page", "PipelineInfo",
           "PipelineResponse", "PipelineRun", "PipelineRunConfiguration", "PipelineRunResponse",
           "StepConfiguration", "StepRun", "StepRunResponse"]
