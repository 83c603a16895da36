"""``ExternalArtifact``: a value passed to a step in a pipeline body, stored as an artifact.

A step input is an upstream step's output, an artifact version, or a JSON
parameter. ``ExternalArtifact(value=...)`` makes any other value an input without
a step to return it: when the run starts its value is stored (content-addressed)
as a version of ``external::{pipeline}::{step}::{argument}``, reusing that name's
latest version when the content is the same, and the step's cache key sees its
content hash like any input's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zen_core.materializers.base import Materializer
    from zen_core.records import ArtifactVersion
    from zen_core.run_context import RunContext

__all__ = ["ExternalArtifact"]


class ExternalArtifact:
    """``my_step(data=ExternalArtifact(value=np.array([1, 2, 3])))`` in a pipeline body;
    ``materializer`` (a class or its qualified name) overrides the one chosen by type."""

    __slots__ = ("value", "materializer")

    def __init__(self, value: Any = None, materializer: type[Materializer] | str | None = None
                 ) -> None:
        self.value = value
        self.materializer = materializer

    def __repr__(self) -> str:
        return f"ExternalArtifact(value={self.value!r:.60})"

    def store(self, context: RunContext, name: str) -> ArtifactVersion:
        """Store the value as a version of ``name`` (or reuse the latest one holding the same
        content) in the context's stack."""
        from zen_core.artifacts.data import save_data
        from zen_core.materializers.registry import import_object
        from zen_core.metadata_stores.base import NewArtifactVersion
        from zen_core.plugins import notify
        from zen_core.records import ArtifactOrigin

        allow_pickle = context.config.allow_pickle
        mat = self.materializer
        if isinstance(mat, str):  # named in the program's own code: importing it is fine
            mat = import_object(mat, what="materializer")
        if mat is None:
            mat = context.registry.for_type(type(self.value), allow_pickle=allow_pickle)
        stored = save_data(context.stack.artifact_store, mat, self.value,
                           allow_pickle=allow_pickle, label=f"{name!r} (external artifact)")
        store = context.stack.metadata_store
        latest = store.get_artifact_version(name)
        if latest is not None and (latest.content_hash, latest.materializer) == (
                stored.content_hash, stored.materializer):
            return latest
        av = store.create_artifact_version(NewArtifactVersion(
            name=name, data=stored, origin=ArtifactOrigin.EXTERNAL))
        notify(context.plugin_manager, "zen_after_artifact_saved", artifact_version=av)
        return av
