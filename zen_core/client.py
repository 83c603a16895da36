"""The Client: read runs, step runs and artifact versions of the active stack."""

from __future__ import annotations

import difflib
import os
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from zen_core.config import ZenConfig, load_config
from zen_core.errors import (
    AmbiguousIdError,
    ArtifactNotFoundError,
    PipelineNotFoundError,
    RunNotFoundError,
)
from zen_core.ids import id_prefix, normalize_id, shortest_unique_prefix
from zen_core.metadata_stores.base import RUN_ORDER_KEYS, VERSION_ORDER_KEYS
from zen_core.naming import is_text
from zen_core.queries import Page, PageRequest, parse_sort, run_metadata_filter
from zen_core.records import (
    ArtifactInfo,
    ArtifactVersion,
    ExecutionStatus,
    PipelineInfo,
    PipelineRun,
    StepRun,
)

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

    # -- ids ------------------------------------------------------------------------

    def _find(self, kind: str, value: Any, by_name: Any = None) -> Any:
        """The record of ``kind`` that ``value`` names: a full id in any spelling (a
        ``UUID``, dashed, 32 hex), else what ``by_name`` finds for it, else a unique id
        prefix. ``None`` when nothing matches; an ambiguous prefix lists its matches."""
        if isinstance(value, str) and not is_text(value):
            return None  # no record can hold it (a lone surrogate): do not ask the database
        full = normalize_id(value)
        if full is not None:
            return self._by_id(kind, full)
        if by_name is not None and isinstance(value, str):
            found = by_name(value)
            if found is not None:
                return found
        prefix = id_prefix(value)
        if prefix is None:
            return None
        matches = self._store.match_ids(kind, prefix, limit=_SHOWN_MATCHES + 1)
        if len(matches) == 1:
            return self._by_id(kind, matches[0])
        if matches:
            raise self._ambiguous(kind, value, matches)
        return None

    def _by_id(self, kind: str, record_id: str) -> Any:
        store = self._store
        get = {"run": store.get_run, "step_run": store.get_step_run,
               "artifact_version": store.get_artifact_version_by_id}[kind]
        return self._bind(get(record_id))

    def _ambiguous(self, kind: str, value: Any, matches: list[str]) -> AmbiguousIdError:
        shown = [self._by_id(kind, m) for m in matches[:_SHOWN_MATCHES]]
        listed = "\n".join(f"  {r.id}  {_describe(r)}" for r in shown if r is not None)
        count = (f"more than {_SHOWN_MATCHES}" if len(matches) > _SHOWN_MATCHES
                 else str(len(matches)))
        return AmbiguousIdError(
            f"{count} {kind.replace('_', ' ')}s have an id starting with {value!r}, "
            f"among them:\n{listed}\nFix: give more of the id (the CLI shows a prefix long "
            f"enough to be unique).", prefix=value, matches=matches)

    def shortest_prefixes(self, kind: str, ids: list[str]) -> dict[str, str]:
        """The shortest unique prefix of each id (at least ``MIN_SHOWN`` digits): what the
        CLI and the dashboard show, and what ``get_*`` accepts back."""
        store = self._store
        return {i: shortest_unique_prefix(i, store.adjacent_ids(kind, i)) for i in ids}

    # -- pipelines and runs ----------------------------------------------------------

    def get_pipeline(self, name_id_or_prefix: str) -> PipelineInfo:
        """A pipeline by name (zen_core records pipelines by the names of their runs)."""
        name = str(name_id_or_prefix)
        runs = self._store.count_runs(pipeline_name=name)
        if not runs:
            known = [p.name for p in self._store.list_pipelines()]
            close = difflib.get_close_matches(name, known, n=3)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise PipelineNotFoundError(
                f"no pipeline named {name!r} has runs.{hint} Pipelines with runs: "
                f"{', '.join(known[:20]) or 'none'}. Fix: run it first, or check the name "
                f"(`zen run list` shows each run's pipeline).", name=name)
        return self._bind(PipelineInfo(name=name, num_runs=runs))

    def list_pipelines(self, *, size: int | None = None, page: int = 1) -> Page[PipelineInfo]:
        """Every pipeline that has runs, by name."""
        request = PageRequest(size, page)
        summaries = self._store.list_pipelines()
        end = None if request.limit is None else request.offset + request.limit
        return request.wrap([self._bind(PipelineInfo(name=s.name, num_runs=s.runs))
                             for s in summaries[request.offset:end]], len(summaries))

    def get_pipeline_run(self, name_id_or_prefix: str | uuid.UUID) -> PipelineRun:
        """A run by id (any spelling), name, or unique id prefix."""
        run = self._find("run", name_id_or_prefix, self._store.get_run)
        if run is None:
            recent = [r.name for r in self._store.list_runs(limit=5)]
            raise RunNotFoundError(
                f"no pipeline run with id, name or id prefix {_typed(name_id_or_prefix)!r}. Recent "
                f"runs: {', '.join(recent) or 'none'}. Fix: list them with `zen run list`.",
                id_or_name=name_id_or_prefix)
        return run

    def list_pipeline_runs(self, *, pipeline_name: str | None = None, status: str | None = None,
                           sort_by: str = "desc:created", size: int | None = None,
                           page: int = 1, tags: str | Sequence[str] | None = None
                           ) -> Page[PipelineRun]:
        """Runs, newest first unless ``sort_by`` says otherwise (``"created"``,
        ``"asc:name"``, ...); every match unless ``size`` pages them; with ``tags``, only
        runs carrying every one of them."""
        request = PageRequest(size, page)
        order_by, descending = parse_sort(sort_by, RUN_ORDER_KEYS, "pipeline runs")
        status = None if status is None else str(status)
        tags = _tag_list(tags)
        runs = self._preload([self._bind(r) for r in self._store.list_runs(
            pipeline_name=pipeline_name, status=status, limit=request.limit,
            offset=request.offset, order_by=order_by, descending=descending, tags=tags)])
        total = len(runs) if size is None else self._store.count_runs(
            pipeline_name=pipeline_name, status=status, tags=tags)
        return request.wrap(runs, total)

    def reap_crashed_runs(self) -> list[str]:
        """Mark runs whose process died or stopped renewing its lease as ``failed``
        (error ``crashed: ...``), with their running steps; return their ids."""
        from zen_core import leases

        return leases.reap(self._store, self.config)

    def delete_pipeline_run(self, name_id_or_prefix: str | uuid.UUID) -> None:
        """Delete a run's records; its artifact versions stay until ``prune_artifacts``."""
        run = self.get_pipeline_run(name_id_or_prefix)
        self._store.delete_run(run.id)

    def list_run_steps(self, pipeline_run_id: PipelineRun | str | uuid.UUID | None = None, *,
                       name: str | None = None, status: str | None = None,
                       size: int | None = None, page: int = 1) -> Page[StepRun]:
        """The step runs of one pipeline run (a run, its id, a unique id prefix or its name),
        in execution order; ``name`` (invocation id) and ``status`` filter; every match
        unless ``size`` pages them."""
        if pipeline_run_id is None:
            raise RunNotFoundError(
                "list_run_steps() needs the pipeline run whose steps to list. Fix: pass the "
                "run, its id or its name (list_run_steps(run) or pipeline_run_id=...).")
        request = PageRequest(size, page)
        run = (pipeline_run_id if isinstance(pipeline_run_id, PipelineRun)
               else self.get_pipeline_run(pipeline_run_id))
        steps = [s for s in self._step_runs(run.id)
                 if (name is None or s.name == name) and (status is None or s.status == status)]
        end = None if request.limit is None else request.offset + request.limit
        return request.wrap(steps[request.offset:end], len(steps))

    def get_step_run(self, step_run_id: str | uuid.UUID) -> StepRun:
        """A step run by id (any spelling) or unique id prefix."""
        step = self._find("step_run", step_run_id)
        if step is None:
            raise RunNotFoundError(
                f"no step run with id or id prefix {_typed(step_run_id)!r}. Fix: find its id with "
                f"`zen run show RUN --json` (each step's \"id\").", id=step_run_id)
        return step

    get_run_step = get_step_run  # ZenML's name

    # -- artifacts ---------------------------------------------------------------------

    def get_artifact(self, name_id_or_prefix: str) -> ArtifactInfo:
        """An artifact name with its versions (``.versions``, ``.latest_version``)."""
        name = str(name_id_or_prefix)
        latest = self._store.get_artifact_version(name)
        if latest is None:
            raise self._not_found(name, None)
        return self._bind(ArtifactInfo(name=name,
                                       num_versions=self._store.count_artifact_versions(name),
                                       latest_version_name=latest.version,
                                       latest_version_id=latest.id))

    def get_artifact_version(self, name_id_or_prefix: str | uuid.UUID,
                             version: str | int | None = None) -> ArtifactVersion:
        """A version by name (the latest when ``version`` is None), by id (any spelling;
        ``version`` is then ignored, as in ZenML), or by unique id prefix."""
        store = self._store
        if version is not None and not is_text(str(version)):
            raise ArtifactNotFoundError(  # no record can hold it: do not ask the database
                f"no artifact {name_id_or_prefix!r} version {version!r}: the version is not "
                f"valid Unicode text (it holds a lone surrogate). Fix: list artifacts with "
                f"`zen artifact list`.", name=name_id_or_prefix, version=version)
        wanted = None if version is None else str(version)
        av = self._find("artifact_version", name_id_or_prefix,
                        lambda name: self._bind(store.get_artifact_version(name, wanted)))
        if av is None:
            raise self._not_found(str(name_id_or_prefix), version)
        return av

    def _not_found(self, name: str, version: str | int | None) -> ArtifactNotFoundError:
        if not is_text(name):  # no record can hold it: do not ask the database
            return ArtifactNotFoundError(
                f"no artifact {name!r}: it is not valid Unicode text (it holds a lone "
                f"surrogate). Fix: list artifacts with `zen artifact list`.",
                name=name, version=version)
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

    def list_artifact_versions(self, name: str | None = None, *,
                               run_metadata: str | Sequence[str] | None = None,
                               sort_by: str = "created", size: int | None = None,
                               page: int = 1, tags: str | Sequence[str] | None = None
                               ) -> Page[ArtifactVersion]:
        """Versions of ``name`` (of every name when None), oldest first unless ``sort_by``
        says otherwise; every match unless ``size`` pages them. ``run_metadata`` keeps the
        versions whose run metadata matches each ``"key:value"`` or ``"key:op:value"``;
        ``tags`` those carrying every one of them."""
        request = PageRequest(size, page)
        order_by, descending = parse_sort(sort_by, VERSION_ORDER_KEYS, "artifact versions")
        if name is not None and not is_text(name):
            return request.wrap([], 0)  # no record can hold it
        store = self._store
        tags = _tag_list(tags)
        if run_metadata is not None:
            matches = run_metadata_filter(run_metadata)
            found = [av for av in self._preload([self._bind(av) for av in
                     store.list_artifact_versions(name, order_by=order_by,
                                                  descending=descending, tags=tags)])
                     if matches(av.run_metadata)]
            end = None if request.limit is None else request.offset + request.limit
            return request.wrap(found[request.offset:end], len(found))
        versions = self._preload([self._bind(av) for av in store.list_artifact_versions(
            name, limit=request.limit, offset=request.offset, order_by=order_by,
            descending=descending, tags=tags)])
        total = len(versions) if size is None else store.count_artifact_versions(name, tags=tags)
        return request.wrap(versions, total)

    def list_artifacts(self) -> list[Any]:
        """One summary per artifact name: version count and latest version."""
        return self._store.list_artifacts()

    def get_lineage(self, artifact: ArtifactVersion | str | uuid.UUID,
                    direction: str = "upstream") -> LineageGraph:
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

    def _download(self, av: ArtifactVersion, path: str | os.PathLike[str],
                  overwrite: bool) -> None:
        from zen_core.artifacts.data import zip_files

        zip_files(self.active_stack.artifact_store, uri=av.uri, files=av.files,
                  content_hash=av.content_hash, label=av.label, target=path,
                  overwrite=overwrite)

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

    def _step_runs(self, run_id: str) -> list[StepRun]:
        steps = [self._bind(s) for s in self._store.list_step_runs(run_id)]
        for s in steps:
            s._siblings = steps
        return steps

    _FINAL = (ExecutionStatus.COMPLETED, ExecutionStatus.CACHED, ExecutionStatus.FAILED)
    IO_BATCH = 100  # step runs whose inputs and outputs one query fetches

    def _fetch_io(self, step: StepRun) -> None:
        """Fill ``step``'s inputs and outputs; when it was listed with its run's other steps,
        those of the next ones too, in one query (whoever asks one step of a listing asks
        the next: a page of steps, a run's graph). A step still running is left to ask
        again: its outputs are not all recorded yet."""
        siblings = step._siblings or [step]
        start = next((i for i, s in enumerate(siblings) if s is step), 0)
        batch = [step] + [s for s in siblings[start + 1:start + self.IO_BATCH]
                          if s._inputs is None and s.status in self._FINAL]
        found = self._store.step_io_many([s.id for s in batch])
        for s in batch:
            inputs, outputs = found[s.id]
            for av in (*inputs.values(), *outputs.values()):
                self._bind(av)
            s._inputs, s._outputs = inputs, outputs

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

_SHOWN_MATCHES = 10  # records an ambiguous-prefix error lists


def _typed(value: Any) -> Any:
    """A looked-up value as the user typed it (a ``UUID`` as its usual text)."""
    return str(value) if isinstance(value, uuid.UUID) else value


def _describe(record: Any) -> str:
    if isinstance(record, PipelineRun):
        return f"run {record.name}"
    if isinstance(record, StepRun):
        return f"step {record.name} of run {record.run_id}"
    return f"artifact {record.name}:{record.version}"
