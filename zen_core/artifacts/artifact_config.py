"""``ArtifactConfig``: name, version and tags of an output, used inside ``Annotated``.

A plain class (no attrs/dataclasses) because users import it at module
import time, which must stay cheap.
"""

from __future__ import annotations

from collections.abc import Sequence


class ArtifactConfig:
    """``Annotated[T, ArtifactConfig(name="model", version="1.0", tags=["prod"])]``."""

    __slots__ = ("name", "version", "tags")

    def __init__(self, name: str | None = None, version: str | int | None = None,
                 tags: Sequence[str] | None = None) -> None:
        self.name = name
        if version is not None:
            from zen_core.naming import validate_version

            version = validate_version(version, name)
        self.version = version
        self.tags = list(tags or ())

    def __repr__(self) -> str:
        return f"ArtifactConfig(name={self.name!r}, version={self.version!r}, tags={self.tags!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ArtifactConfig) and (self.name, self.version, self.tags) == (
            other.name, other.version, other.tags)

    def __hash__(self) -> int:
        return hash((self.name, self.version, tuple(self.tags)))
