"""``UnmaterializedArtifact``: a step input annotation that skips loading the data."""

from __future__ import annotations

import attrs

from zen_core.records import ArtifactVersion

__all__ = ["UnmaterializedArtifact", "is_unmaterialized"]


@attrs.define(eq=False)
class UnmaterializedArtifact(ArtifactVersion):
    """Annotate a step input with this to receive its :class:`ArtifactVersion` (``uri``,
    ``files``, ``run_metadata`` ...) instead of the loaded data: for steps that read the
    stored files themselves, or need only the record. ``load()`` still loads it.

    The input is recorded, cached and traced like any other.
    """

    @classmethod
    def of(cls, av: ArtifactVersion) -> UnmaterializedArtifact:
        """The same record as an ``UnmaterializedArtifact``."""
        return cls(**{f.alias: getattr(av, f.name) for f in attrs.fields(ArtifactVersion)})


def is_unmaterialized(annotation: object) -> bool:
    """Whether a step input annotated so receives its ArtifactVersion instead of the data."""
    return isinstance(annotation, type) and issubclass(annotation, UnmaterializedArtifact)
