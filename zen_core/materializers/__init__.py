"""Materializers turn step outputs into files and back; subclass :class:`Materializer`."""

from zen_core.materializers.base import ArtifactType, Materializer, VisualizationType

__all__ = ["ArtifactType", "Materializer", "VisualizationType"]
