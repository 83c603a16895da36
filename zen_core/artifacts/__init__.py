"""Artifacts outside pipelines, and how their data moves in and out of an artifact store.

* :mod:`zen_core.artifacts.utils`: ``save_artifact``, ``load_artifact``,
  ``register_artifact`` (also importable from ``zen_core``);
* :mod:`zen_core.artifacts.data`: ``save_data`` / ``load_data``, which
  materialize one value into a store (hashed, then published under its
  content address) and read it back verified: what plugins' tests call;
  ``settle`` finishes a save that reused stored content once it is recorded;
* :mod:`zen_core.artifacts.artifact_config`: ``ArtifactConfig``;
* :mod:`zen_core.artifacts.external_artifact`: ``ExternalArtifact`` (a value as a step
  input); :mod:`zen_core.artifacts.unmaterialized_artifact`: ``UnmaterializedArtifact``
  (an input annotation that skips loading);
* ``validate_name``: the rules every artifact name follows.

Names are loaded on first use, so importing this package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zen_core._lazy import lazy_exports

__all__ = ["ArtifactConfig", "ExternalArtifact", "StoredData", "UnmaterializedArtifact",
           "load_artifact", "load_data", "register_artifact", "save_artifact", "save_data",
           "settle", "validate_name"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "ArtifactConfig": "zen_core.artifacts.artifact_config",
    "ExternalArtifact": "zen_core.artifacts.external_artifact",
    "UnmaterializedArtifact": "zen_core.artifacts.unmaterialized_artifact",
    "save_artifact": "zen_core.artifacts.utils",
    "load_artifact": "zen_core.artifacts.utils",
    "register_artifact": "zen_core.artifacts.utils",
    "StoredData": "zen_core.artifacts.data",
    "save_data": "zen_core.artifacts.data",
    "load_data": "zen_core.artifacts.data",
    "settle": "zen_core.artifacts.data",
    "validate_name": "zen_core.naming",
})

if TYPE_CHECKING:
    from zen_core.artifacts.artifact_config import ArtifactConfig
    from zen_core.artifacts.data import StoredData, load_data, save_data, settle
    from zen_core.artifacts.external_artifact import ExternalArtifact
    from zen_core.artifacts.unmaterialized_artifact import UnmaterializedArtifact
    from zen_core.artifacts.utils import load_artifact, register_artifact, save_artifact
    from zen_core.naming import validate_name
