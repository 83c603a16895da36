"""Stack components: the base every one shares, and the table of their kinds.

A stack is one component of each kind in :data:`KINDS`. Config parsing, stack
building, plugin listing, the CLI and the contract tests all iterate this
table, so a new kind of component is one more :class:`Kind` here (plus its
hook spec and base class).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import attrs


class Component:
    """Base of artifact stores, metadata stores and orchestrators.

    A subclass names its ``FLAVOR`` (what ``flavor = "..."`` in a stack table
    selects) and its ``Config``, an attrs class the stack's TOML table is
    validated into; zen_core then calls ``cls(config)``. One instance per
    distinct configuration lives per process and is shared by every pipeline
    call and Client that names it; :meth:`close` releases it.
    """

    FLAVOR: ClassVar[str]
    Config: ClassVar[type]
    # The URL schemes its location (the config's ``path``, else ``url``) may use; "" stands
    # for a plain file path. ``None``: any (the Config checks it). A stack that gives a
    # scheme outside these is refused, naming the installed flavor that declares it.
    URL_SCHEMES: ClassVar[tuple[str, ...] | None] = None

    def __init__(self, config: Any) -> None:
        self.config = config

    def describe(self) -> dict[str, Any]:
        """The flavor and settings for display, with secrets masked (``zen stack describe``)."""
        from zen_core.config import mask_secrets

        return {"flavor": self.FLAVOR, **mask_secrets(attrs.asdict(self.config))}

    def close(self) -> None:
        """Release connections, clusters or pools; a later use may open them again."""


@attrs.frozen
class Kind:
    """One kind of stack component."""

    name: str  # the stack table's key and the Stack attribute, e.g. "artifact_store"
    hook: str  # the provider hook, e.g. "zen_artifact_stores"
    label: str  # for messages, e.g. "artifact store"
    base: str  # "module:Class" of the base class its components subclass
    default_flavor: str
    default_options: Callable[[Path], Mapping[str, Any]]  # of the default stack, from ZEN_HOME
    known_plugins: Mapping[str, str] = attrs.field(factory=dict)  # flavor -> distribution

    @property
    def plural(self) -> str:
        """``artifact_stores``: how ``zen plugins list`` labels what a plugin provides."""
        return self.hook.removeprefix("zen_")

    def base_class(self) -> type:
        module, _, name = self.base.partition(":")
        return getattr(importlib.import_module(module), name)


KINDS: tuple[Kind, ...] = (
    Kind("artifact_store", "zen_artifact_stores", "artifact store",
         "zen_core.artifact_stores.base:ArtifactStore", "local",
         lambda home: {"path": str(home / "artifacts")},
         {"s3": "zen-s3", "gcs": "zen-gcs", "gs": "zen-gcs"}),
    Kind("metadata_store", "zen_metadata_stores", "metadata store",
         "zen_core.metadata_stores.base:MetadataStore", "sqlite",
         lambda home: {"path": str(home / "zen.db")},
         {"postgres": "zen-postgres", "postgresql": "zen-postgres"}),
    Kind("orchestrator", "zen_orchestrators", "orchestrator",
         "zen_core.orchestrators.base:Orchestrator", "local",
         lambda home: {},
         {"dask": "zen-dask"}),
)

KIND_NAMES: tuple[str, ...] = tuple(kind.name for kind in KINDS)


def kind(name: str) -> Kind:
    """The :class:`Kind` called ``name`` (``"artifact_store"`` ...)."""
    for k in KINDS:
        if k.name == name:
            return k
    raise KeyError(f"no component kind {name!r} (kinds: {', '.join(KIND_NAMES)})")
