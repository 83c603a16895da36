"""``ArtifactConfig``: name, version, tags, metadata and type of an output, inside ``Annotated``.

A plain class (no attrs/dataclasses) because users import it at module
import time, which must stay cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class ArtifactConfig:
    """``Annotated[T, ArtifactConfig(name="model", version="1.0", tags=["prod"],
    run_metadata={"owner": "ml"}, artifact_type="model")]``.

    ``is_model_artifact=True`` / ``is_deployment_artifact=True`` are ZenML's deprecated
    spellings of ``artifact_type="model"`` / ``"service"``.
    """

    __slots__ = ("name", "version", "tags", "run_metadata", "artifact_type")

    def __init__(self, name: str | None = None, version: str | int | None = None,
                 tags: Sequence[str] | None = None,
                 run_metadata: Mapping[str, Any] | None = None,
                 artifact_type: str | None = None, *, is_model_artifact: bool = False,
                 is_deployment_artifact: bool = False) -> None:
        self.name = name
        if version is not None:
            from zen_core.naming import validate_version

            version = validate_version(version, name)
        self.version = version
        self.tags = list(tags or ())
        if tags:
            from zen_core.metadata.metadata_types import check_tags

            self.tags = check_tags(self.tags)
        self.run_metadata: dict[str, Any] = {}
        if run_metadata:
            from zen_core.metadata.metadata_types import check_metadata

            self.run_metadata = check_metadata(run_metadata, "ArtifactConfig(run_metadata=): ")
        if is_model_artifact or is_deployment_artifact:
            artifact_type = _deprecated_type(artifact_type, is_model_artifact,
                                             is_deployment_artifact)
        self.artifact_type = (None if artifact_type is None else
                              check_artifact_type(artifact_type, "ArtifactConfig"))

    def __repr__(self) -> str:
        return (f"ArtifactConfig(name={self.name!r}, version={self.version!r}, "
                f"tags={self.tags!r}, run_metadata={self.run_metadata!r}, "
                f"artifact_type={self.artifact_type!r})")

    def _key(self) -> tuple[Any, ...]:
        return (self.name, self.version, self.tags, self.run_metadata, self.artifact_type)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ArtifactConfig) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.name, self.version, tuple(self.tags), self.artifact_type))


def _deprecated_type(artifact_type: Any, is_model: bool, is_deployment: bool) -> Any:
    """ZenML's deprecated flags as the artifact type they mean (with a warning)."""
    from zen_core.errors import MetadataError
    from zen_core.logger import get_logger

    if is_model and is_deployment:
        raise MetadataError(
            "ArtifactConfig(is_model_artifact=True, is_deployment_artifact=True): an artifact "
            "is a model or a deployment, not both. Fix: pass artifact_type='model' or "
            "artifact_type='service'.")
    implied = "model" if is_model else "service"
    get_logger().warning(
        "artifact_config.deprecated",
        hint=f"ArtifactConfig(is_{'model' if is_model else 'deployment'}_artifact=True) is "
             f"ZenML's deprecated spelling of artifact_type={implied!r}")
    return artifact_type or implied


def check_artifact_type(artifact_type: Any, where: str) -> str:
    """The artifact type as stored (``"model"``, ``"data"`` ...), or a ``MetadataError``."""
    from zen_core.errors import MetadataError
    from zen_core.materializers.base import ArtifactType

    accepted = [t.value for t in ArtifactType]
    value = getattr(artifact_type, "value", artifact_type)
    if value not in accepted:
        raise MetadataError(
            f"{where}(artifact_type={artifact_type!r}) is not an artifact type. Fix: use one "
            f"of {', '.join(map(repr, accepted))} (zen_core.enums.ArtifactType).",
            artifact_type=artifact_type)
    return str(value)
