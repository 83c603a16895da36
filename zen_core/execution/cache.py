"""Step caching: the cache key of a step invocation, and whether an earlier run can stand in.

A key covers the step's source, its parameters, the content hashes of its
inputs, its output names with their materializers (name and ``VERSION``) and
the substitutions its output names use. A hit is an earlier successful step
run with the same key whose outputs are all still there, written by
materializers still registered at the same version.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from zen_core.artifacts.data import data_present
from zen_core.errors import ZenError
from zen_core.hashing import new_hasher

if TYPE_CHECKING:
    from zen_core.artifact_stores.base import ArtifactStore
    from zen_core.execution.compose import Invocation
    from zen_core.execution.task import OutputPlan
    from zen_core.materializers.registry import MaterializerRegistry
    from zen_core.metadata_stores.base import MetadataStore
    from zen_core.records import ArtifactVersion, StepRun


def digest(value: Any) -> str:
    """A content hash of a JSON-able value (key order does not matter)."""
    h = new_hasher()
    h.update(json.dumps(value, sort_keys=True, default=str, separators=(",", ":")).encode())
    return h.hexdigest()


class StepCache:
    """Cache keys and hits of one run, against its metadata and artifact stores."""

    def __init__(self, metadata_store: MetadataStore, artifact_store: ArtifactStore,
                 registry: MaterializerRegistry) -> None:
        self.metadata_store = metadata_store
        self.artifact_store = artifact_store
        self.registry = registry

    def key_parts(self, node: Invocation, inputs: Mapping[str, ArtifactVersion],
                  plans: list[OutputPlan], substitutions: Mapping[str, str]) -> dict[str, Any]:
        """What the cache key is made of (recorded, so a later miss can say what changed)."""
        outputs = {}
        for plan in plans:
            if plan.materializer is None:
                outputs[plan.io_name] = [plan.artifact_name, None]
            else:
                mat = self.registry.by_name(plan.materializer)
                outputs[plan.io_name] = [plan.artifact_name, f"{plan.materializer}@{mat.VERSION}"]
        return {
            "code": node.step.signature.source_hash,
            "params": {k: digest(v) for k, v in sorted(node.params.items())},
            "inputs": {k: av.content_hash for k, av in sorted(inputs.items())},
            "outputs": outputs,
            "substitutions": dict(sorted(substitutions.items())),
        }

    def hit(self, cache_key: str, plans: list[OutputPlan]
            ) -> tuple[StepRun, dict[str, ArtifactVersion]] | None:
        """The newest earlier step run with this key whose outputs are all still valid."""
        wanted = {p.key for p in plans}
        checked: set[str] = set()
        for limit in (1, 3):  # the newest candidate nearly always stands: read it alone first
            candidates = self.metadata_store.find_cached_step_runs(cache_key, limit)
            for original, outputs in candidates:
                if original.id in checked:
                    continue
                checked.add(original.id)
                if set(outputs) != wanted and not (not outputs and plans and all(
                        p.materializer is None for p in plans)):
                    continue
                if all(self._still_valid(av) for av in outputs.values()):
                    return original, outputs
            if len(candidates) < limit:
                break  # there are no more
        return None

    def _still_valid(self, av: ArtifactVersion) -> bool:
        """Metadata present (it was just read), every file of its manifest still in the store
        with its size (one listing, no hashing: loading verifies), written by a materializer
        still registered at the same version."""
        try:
            mat = self.registry.by_name(av.materializer)
        except ZenError:
            return False
        if str(mat.VERSION) != av.materializer_version:
            return False
        return data_present(self.artifact_store, av.uri, av.files)

    def miss_reason(self, pipeline_name: str, node_id: str, parts: dict[str, Any],
                    cache_key: str) -> str:
        """Why this invocation's last successful run could not stand in, in a few words."""
        previous = self.metadata_store.previous_step_run(pipeline_name, node_id)
        if previous is None:
            return "no earlier run"
        _, old = previous
        if digest(old) == cache_key:
            return "outputs missing"
        if old.get("code") != parts["code"]:
            return "code changed"
        for kind, label in (("params", "parameter"), ("inputs", "input")):
            for name in sorted(set(old.get(kind, {})) | set(parts[kind])):
                if old.get(kind, {}).get(name) != parts[kind].get(name):
                    return f"{label} {name!r} changed"
        if old.get("substitutions") != parts["substitutions"]:
            return "substitutions changed"
        return "outputs or materializers changed"
