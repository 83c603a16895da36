"""The Client: read runs, step runs and artifact versions of the active stack."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from zen_core.config import ZenConfig, load_config
from zen_core.errors import ArtifactNotFoundError, RunNotFoundError
from zen_core.records import ArtifactVersion, PipelineRun, StepRun

__all__ = ["Client"]

if TYPE_CHECKING:
    from zen_core.lineage import LineageGraph
    from zen_core.materializers.registry import MaterializerRegistry
    from zen_core.prune import PruneReport
    from zen_core.run_context import RunContext
    from zen_core.stack import Stack


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
        run = self._store.get_run(str(id_or_name))
        if run is None:
            recent = [r.name for r in self._store.list_runs(limit=5)]
            raise RunNotFoundError(
                f"no pipeline run with id or name {id_or_name!r}. Recent runs: "
                f"{', '.join(recent) or 'none'}. Fix: list them with `zen run list`.",
                id_or_name=id_or_name)
        return self._bind(run)

    def list_pipeline_runs(self, pipeline_name: str | None = None, status: str | None = None,
                           limit: int | None = None, offset: int = 0,
                           tags: str | Sequence[str] | None = None) -> list[PipelineRun]:
        """Newest first; with ``tags``, only runs carrying every one of them."""
        return self._preload([self._bind(r) for r in self._store.list_runs(
            pipeline_name=pipeline_name, status=status, limit=limit, offset=offset,
            tags=_tag_list(tags))])

    def reap_crashed_runs(self) -> list[str]:
        """Mark runs whose process died or stopped renewing its lease as ``failed``
        (error ``crashed: ...``), with their running steps; return their ids."""
        from zen_core import leases

        return leases.reap(self._store, self.config)

    def delete_pipeline_run(self, id_or_name: str) -> None:
        """Delete a run's records; its artifact versions stay until ``prune_artifacts``."""
        run = self.get_pipeline_run(id_or_name)
        self._store.delete_run(run.id)

    def list_run_steps(self, pipeline_run_id: PipelineRun | str | None = None, *,
                       name: str | None = None, status: str | None = None,
                       limit: int | None = None, offset: int = 0) -> list[StepRun]:
        """The step runs of one pipeline run (a run, its id or name), in execution order;
        ``name`` (invocation id) and ``status`` filter, ``offset``/``limit`` page."""
        if pipeline_run_id is None:
            raise RunNotFoundError(
                "list_run_steps() needs the pipeline run whose steps to list. Fix: pass the "
                "run, its id or its name (list_run_steps(run) or pipeline_run_id=...).")
        run = (pipeline_run_id if isinstance(pipeline_run_id, PipelineRun)
               else self.get_pipeline_run(pipeline_run_id))
        steps = [s for s in self._step_runs(run.id)
                 if (name is None or s.name == name) and (status is None or s.status == status)]
        return steps[offset:None if limit is None else offset + limit]

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
                               offset: int = 0, tags: str | Sequence[str] | None = None
                               ) -> list[ArtifactVersion]:
        """Oldest first; all artifacts when ``name`` is None; with ``tags``, only versions
        carrying every one of them."""
        return self._preload([self._bind(av) for av in self._store.list_artifact_versions(
            name, limit=limit, offset=offset, tags=_tag_list(tags))])

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

    def _preload(self, records: list[Any]) -> list[Any]:
        """Fetch the tags and logged run metadata of these records (of one kind) that are
        not known yet, in one query each, so a listing does not ask once per record."""
        pending = [r for r in records if r._run_metadata is None
                   or getattr(r, "_tags", ()) is None]
        if not pending:
            return records
        kind, ids = pending[0].RESOURCE_TYPE, [r.id for r in pending]
        metadata = self._store.get_run_metadata(kind, ids)
        tags = self._store.get_tags(kind, ids) if hasattr(pending[0], "_tags") else {}
        for r in pending:
            if r._run_metadata is None:
                r._run_metadata = metadata.get(r.id, {})
            if getattr(r, "_tags", ()) is None:
                r._tags = tags.get(r.id, [])
        return records


def _tag_list(tags: str | Sequence[str] | None) -> list[str]:
    return [tags] if isinstance(tags, str) else list(tags or ())
