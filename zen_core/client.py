"""The Client: read runs, step runs and artifact versions of the active stack."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from zen_core.config import ZenConfig, load_config
from zen_core.errors import ArtifactNotFoundError, RunNotFoundError
from zen_core.naming import is_text
from zen_core.records import ArtifactVersion, PipelineRun, StepRun

__all__ = ["Client"]

if TYPE_CHECKING:
    from zen_core.lineage import LineageGraph
    from zen_core.materializers.registry import MaterializerRegistry
    from zen_core.prune import PruneReport
    from zen_core.run_context import RunContext
    from zen_core.stack import Stack
    from zen_core.verify import VerifyReport


class Client:
    """Reads ``ZEN_HOME`` and the config when created; talks to the active stack."""

    def __init__(self) -> None:
        self.config: ZenConfig = load_config()
        self._context: RunContext | None = None

    @classmethod
    def _for_context(cls, context: RunContext) -> Client:
        client = cls.__new__(cls)
        client.config = context.config
        client._context = context
        return client

    @property
    def context(self) -> RunContext:
        """The configuration, plugins, materializers and stack this Client works with."""
        if self._context is None:
            from zen_core.run_context import RunContext

            self._context = RunContext.create(self.config)
        return self._context

    @property
    def active_stack(self) -> Stack:
        return self.context.stack

    @property
    def _store(self) -> Any:
        return self.active_stack.metadata_store

    @property
    def materializers(self) -> MaterializerRegistry:
        return self.context.registry

    def _bind(self, record: Any) -> Any:
        if record is not None:
            record._client = self
        return record

    # -- runs ------------------------------------------------------------------------

    def get_pipeline_run(self, id_or_name: str) -> PipelineRun:
        run = self._store.get_run(str(id_or_name)) if is_text(str(id_or_name)) else None
        if run is None:
            recent = [r.name for r in self._store.list_runs(limit=5)]
            raise RunNotFoundError(
                f"no pipeline run with id or name {id_or_name!r}. Recent runs: "
                f"{', '.join(recent) or 'none'}. Fix: list them with `zen run list`.",
                id_or_name=id_or_name)
        return self._bind(run)

    def list_pipeline_runs(self, pipeline_name: str | None = None, status: str | None = None,
                           limit: int | None = None, offset: int = 0) -> list[PipelineRun]:
        """Newest first."""
        return [self._bind(r) for r in self._store.list_runs(
            pipeline_name=pipeline_name, status=status, limit=limit, offset=offset)]

    def reap_crashed_runs(self) -> list[str]:
        """Mark runs whose process died or stopped renewing its lease as ``failed``
        (error ``crashed: ...``), with their running steps; return their ids."""
        from zen_core import leases

        return leases.reap(self._store, self.config)

    def delete_pipeline_run(self, id_or_name: str) -> None:
        """Delete a run's records; its artifact versions stay until ``prune_artifacts``."""
        run = self.get_pipeline_run(id_or_name)
        self._store.delete_run(run.id)

    def get_step_run(self, step_run_id: str) -> StepRun:
        step = self._store.get_step_run(step_run_id)
        if step is None:
            raise RunNotFoundError(f"no step run with id {step_run_id!r}.", id=step_run_id)
        return self._bind(step)

    # -- artifacts ---------------------------------------------------------------------

    def get_artifact_version(self, name_or_id: str, version: str | int | None = None
                             ) -> ArtifactVersion:
        """A version by name (the latest when ``version`` is None) or by id."""
        store = self._store
        if not is_text(name_or_id) or (version is not None and not is_text(str(version))):
            asked = repr(name_or_id) + ("" if version is None else f" version {version!r}")
            raise ArtifactNotFoundError(  # no record can hold it: do not ask the database
                f"no artifact {asked}: it is not valid Unicode text (it holds a lone "
                f"surrogate). Fix: list artifacts with `zen artifact list`.",
                name=name_or_id, version=version)
        av = store.get_artifact_version(name_or_id, None if version is None else str(version))
        if av is None and version is None and len(name_or_id) == 32:
            av = store.get_artifact_version_by_id(name_or_id)
        if av is None:
            raise self._not_found(name_or_id, version)
        return self._bind(av)

    def _not_found(self, name: str, version: str | int | None) -> ArtifactNotFoundError:
        existing = self._store.list_artifact_versions(name, limit=20)
        if existing and version is not None:
            versions = ", ".join(v.version for v in existing)
            return ArtifactNotFoundError(
                f"artifact {name!r} has no version {str(version)!r} (versions: {versions}"
                f"{' ...' if len(existing) == 20 else ''}). Fix: pick one of these, or omit the "
                f"version for the latest.", name=name, version=version)
        names = [s.name for s in self._store.list_artifacts()]
        close = difflib.get_close_matches(name, names, n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        return ArtifactNotFoundError(
            f"no artifact named {name!r}.{hint} Fix: list artifacts with `zen artifact list`.",
            name=name, version=version)

    def list_artifact_versions(self, name: str | None = None, limit: int | None = None,
                               offset: int = 0) -> list[ArtifactVersion]:
        """Oldest first; all artifacts when ``name`` is None."""
        if name is not None and not is_text(name):
            return []  # no record can hold it
        return [self._bind(av) for av in self._store.list_artifact_versions(
            name, limit=limit, offset=offset)]

    def list_artifacts(self) -> list[Any]:
        """One summary per artifact name: version count and latest version."""
        return self._store.list_artifacts()

    def get_lineage(self, artifact: ArtifactVersion | str, direction: str = "upstream"
                    ) -> LineageGraph:
        from zen_core.lineage import build_lineage

        av = artifact if isinstance(artifact, ArtifactVersion) else self.get_artifact_version(artifact)
        return build_lineage(self, av, direction)

    def prune_artifacts(self, only_artifact: bool = False, only_metadata: bool = False,
                        ignore_errors: bool = False, dry_run: bool = False,
                        progress: Any = None) -> PruneReport:
        """Delete artifact versions no run produced or consumed (see docs/artifacts.md, Pruning)."""
        from zen_core.prune import prune

        self.reap_crashed_runs()  # a crashed run's outputs are referenced like any run's
        return prune(self.active_stack, only_artifact=only_artifact,
                     only_metadata=only_metadata, ignore_errors=ignore_errors, dry_run=dry_run,
                     progress=progress)

    def verify_artifacts(self, name: str | None = None, version: str | int | None = None,
                         repair: bool = False, progress: Any = None) -> VerifyReport:
        """Re-hash the stored data of every version (of ``name``, or that one ``version``) and
        report what is damaged; ``repair`` moves damaged objects aside so reruns store fresh
        copies (see docs/artifacts.md, Verifying and repairing)."""
        from zen_core.verify import verify

        if name is None:
            versions = self.list_artifact_versions()
        elif version is None:
            versions = self.list_artifact_versions(name) or [self.get_artifact_version(name)]
        else:
            versions = [self.get_artifact_version(name, version)]
        return verify(self.active_stack, versions, repair=repair, progress=progress)

    # -- used by the records' lazy properties -------------------------------------------

    def _load(self, av: ArtifactVersion) -> Any:
        from zen_core.artifacts.data import load_data

        return load_data(self.active_stack.artifact_store, self.materializers, uri=av.uri,
                         materializer=av.materializer, type_path=av.type, files=av.files,
                         allow_pickle=self.config.allow_pickle, label=av.label,
                         content_hash=av.content_hash)

    def _get_step_run_or_none(self, step_run_id: str) -> StepRun | None:
        return self._bind(self._store.get_step_run(step_run_id))

    def _get_run_or_none(self, run_id: str) -> PipelineRun | None:
        return self._bind(self._store.get_run(run_id))

    def _consumers(self, av_id: str) -> list[StepRun]:
        return [self._bind(s) for s in self._store.consumers(av_id)]

    def _step_io(self, step_run_id: str) -> tuple[dict[str, ArtifactVersion],
                                                  dict[str, ArtifactVersion]]:
        inputs, outputs = self._store.step_io(step_run_id)
        for av in (*inputs.values(), *outputs.values()):
            self._bind(av)
        return inputs, outputs

    def _step_runs(self, run_id: str) -> list[StepRun]:
        return [self._bind(s) for s in self._store.list_step_runs(run_id)]
