"""Records of what happened: pipeline runs, step runs and artifact versions.

(``zen_core.models`` re-exports them under the names user code imports.)

Records are plain attrs classes filled by the metadata store; relations
(steps, inputs, producer, consumers ...) are fetched on first access through
the Client that returned the record, then kept.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import enum
import os
import secrets
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from zen_core.client import Client
    from zen_core.lineage import LineageGraph
    from zen_core.queries import Page

_UNSET: Any = object()


_EPOCH = dt.datetime(1970, 1, 1)  # naive UTC, like the records' times
_SECOND = dt.timedelta(seconds=1)


def utc_datetime(value: float | dt.datetime | None) -> dt.datetime | None:
    """A time as records hold it: a naive UTC ``datetime``, as ZenML's records are.

    Stores keep seconds since the epoch (``float``); the records convert on the way in
    (in their constructors: records set later are given ``datetime``s). An aware
    ``datetime`` is converted to UTC first.
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is None else value.astimezone(dt.UTC).replace(tzinfo=None)
    return _EPOCH + value * _SECOND  # twice as fast as fromtimestamp(): once per record


def timestamp(value: dt.datetime | float | None) -> float | None:
    """Seconds since the epoch of a record's time (naive means UTC): what stores keep."""
    if value is None or isinstance(value, int | float):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return (value - _EPOCH) / _SECOND


def local_time(when: dt.datetime | None) -> str:
    """A record's time as people read it: local time, to the second (``-`` for none)."""
    if when is None:
        return "-"
    return when.replace(tzinfo=dt.UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _seconds(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds()


def new_id() -> str:
    """A 32-hex-digit id that sorts by creation time (like UUIDv7).

    Time-ordered ids land next to each other in database indexes, so a commit
    touches a few pages instead of one random page per index. Ids made close in
    time share their first digits: shorten them from the end, not the start.
    """
    return f"{time.time_ns() // 1000:014x}{secrets.token_hex(9)}"

# Artifact versions loaded while a step runs, so they enter its lineage.
loaded_in_step: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "zen_loaded_in_step", default=None)


class ExecutionStatus(enum.StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    CACHED = "cached"
    FAILED = "failed"


class ArtifactOrigin(enum.StrEnum):
    STEP = "step"  # produced by a step run
    SAVED = "saved"  # save_artifact()
    REGISTERED = "registered"  # register_artifact(), data owned by the user
    EXTERNAL = "external"  # a value given to a step as its input (ExternalArtifact, or an
    # argument of a step called outside a pipeline); pruned once no run uses it


class _Bound:
    """Shared plumbing: the Client a record came from, and what is fetched through it."""

    _client: Client | None
    _run_metadata: Mapping[str, Any] | None
    RESOURCE_TYPE: str = ""  # how run metadata and tags name this kind of record

    def _require_client(self) -> Client:
        if self._client is None:
            from zen_core.client import Client

            self._client = Client()
        return self._client

    def _logged_metadata(self) -> Mapping[str, Any]:
        """The run metadata logged for this record (fetched once, then kept)."""
        if self._run_metadata is None:
            self._require_client()._preload([self])
        return self._run_metadata  # type: ignore[return-value]

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in attrs.fields(type(self))
                if not f.name.startswith("_")}
        data["run_metadata"] = self.run_metadata  # type: ignore[attr-defined]
        if isinstance(self, _Tagged):
            data["tags"] = self.tags
        return data


class _Tagged(_Bound):
    """A record that carries tags (artifact versions, pipeline runs)."""

    _tags: list[str] | None

    @property
    def tags(self) -> list[str]:
        if self._tags is None:
            self._require_client()._preload([self])
        return self._tags  # type: ignore[return-value]


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)  # plain, fast attribute writes
class ArtifactVersion(_Tagged):
    id: str
    name: str
    version: str
    uri: str
    type: str | None
    artifact_type: str
    materializer: str
    materializer_version: str
    content_hash: str
    size: int
    files: dict[str, list] | None  # the manifest {path: [size, hash]}; None if unreadable
    created: dt.datetime = attrs.field(converter=utc_datetime)
    metadata: dict[str, Any]  # what the materializer extracted
    visualizations: dict[str, str]
    producer_step_run_id: str | None
    run_id: str | None
    origin: str
    seq: int = 0
    # tags and logged run metadata: None until fetched through the Client on first use
    _tags: list[str] | None = attrs.field(default=None, repr=False, alias="tags")
    _run_metadata: Mapping[str, Any] | None = attrs.field(default=None, repr=False,
                                                           alias="run_metadata")
    _client: Client | None = attrs.field(default=None, repr=False, alias="_client")
    _data: Any = attrs.field(default=_UNSET, repr=False, alias="_data")

    RESOURCE_TYPE = "artifact_version"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ArtifactVersion) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def run_metadata(self) -> dict[str, Any]:
        """``{key: value}``: what the materializer extracted, ``storage_size`` (bytes), and
        what was logged for this version (``log_metadata``, ``ArtifactConfig(run_metadata=)``,
        ``add_output_metadata``), the logged values winning."""
        from zen_core.metadata.metadata_types import StorageSize

        return {**self.metadata, "storage_size": StorageSize(self.size),
                **self._logged_metadata()}

    @property
    def label(self) -> str:
        if not self.version:  # handed to the next steps before its number was given
            return f"{self.name!r} (id {self.id})"
        return f"{self.name!r} version {self.version!r}"

    def load(self) -> Any:
        """Read the data from the artifact store, verifying its content hash."""
        collected = loaded_in_step.get()
        if collected is not None:
            collected.append(self.id)
        return self._require_client()._load(self)

    @property
    def data(self) -> Any:
        """The loaded data, read once and kept."""
        if self._data is _UNSET:
            self._data = self.load()
        return self._data

    @property
    def producer(self) -> StepRun | None:
        if self.producer_step_run_id is None:
            return None
        return self._require_client()._get_step_run_or_none(self.producer_step_run_id)

    @property
    def consumers(self) -> list[StepRun]:
        return self._require_client()._consumers(self.id)

    @property
    def run(self) -> PipelineRun | None:
        if self.run_id is None:
            return None
        return self._require_client()._get_run_or_none(self.run_id)

    def lineage(self, direction: str = "upstream") -> LineageGraph:
        return self._require_client().get_lineage(self, direction=direction)

    def download_files(self, path: str | os.PathLike[str], overwrite: bool = False) -> None:
        """Save the stored files as they are, without a materializer, into the zip file
        ``path`` (its folders are created); each file is verified against the manifest."""
        self._require_client()._download(self, path, overwrite)

    def visualize(self) -> dict[str, str] | None:
        """Show the visualizations in a notebook (returning ``None``, so nothing echoes);
        elsewhere return ``{uri: kind}``."""
        from zen_core.visualize import show

        return show(self)

    def _repr_html_(self) -> str:
        from zen_core.visualize import artifact_card

        return artifact_card(self)


# StepRun.cache_miss of a step that ran because caching was off for it
CACHING_DISABLED = "caching disabled"


@attrs.frozen
class StepConfiguration:
    """How a step invocation was configured (ZenML's ``StepRunResponse.config``);
    ``enable_cache`` is the setting in force for it (step over pipeline over default)."""

    name: str
    parameters: dict[str, Any]
    enable_cache: bool
    settings: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class PipelineRunConfiguration:
    """How a pipeline run was configured (ZenML's ``PipelineRunResponse.config``):
    ``enable_cache`` is the pipeline's own setting (``None``: not set)."""

    name: str
    run_name: str
    parameters: dict[str, Any]
    enable_cache: bool | None = None
    substitutions: dict[str, str] = attrs.field(factory=dict)
    settings: dict[str, Any] = attrs.field(factory=dict)


def _configured(options: dict[str, Any]) -> dict[str, Any]:
    """The recorded options a configuration knows (a newer zen_core may record more)."""
    return {k: v for k, v in (options or {}).items()
            if k in ("enable_cache", "substitutions", "settings")}


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class StepRun(_Bound):
    id: str
    run_id: str
    name: str  # the invocation id within the pipeline
    step_name: str
    pipeline_name: str
    status: str
    params: dict[str, Any]
    cache_key: str | None
    cache_miss: str | None
    started: dt.datetime | None = attrs.field(converter=utc_datetime)
    finished: dt.datetime | None = attrs.field(converter=utc_datetime)
    error: str | None
    original_step_run_id: str | None
    seq: int = 0
    _run_metadata: Mapping[str, Any] | None = attrs.field(default=None, repr=False,
                                                           alias="run_metadata")
    _client: Client | None = attrs.field(default=None, repr=False, alias="_client")
    _inputs: dict[str, ArtifactVersion] | None = attrs.field(default=None, repr=False,
                                                              alias="_inputs")
    _outputs: dict[str, ArtifactVersion] | None = attrs.field(default=None, repr=False,
                                                               alias="_outputs")
    # the step runs listed with this one (its run's), whose inputs and outputs the
    # Client fetches together on the first ask: one query for a whole run's lineage
    _siblings: list[StepRun] | None = attrs.field(default=None, repr=False, alias="_siblings")

    RESOURCE_TYPE = "step_run"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StepRun) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def run_metadata(self) -> dict[str, Any]:
        """``{key: value}`` logged for this step run (``log_metadata`` inside the step)."""
        return dict(self._logged_metadata())

    @property
    def inputs(self) -> dict[str, ArtifactVersion]:
        if self._inputs is None:
            self._require_client()._fetch_io(self)
        return self._inputs  # type: ignore[return-value]

    @property
    def outputs(self) -> dict[str, ArtifactVersion]:
        if self._outputs is None:
            self._require_client()._fetch_io(self)
        return self._outputs  # type: ignore[return-value]

    @property
    def output(self) -> ArtifactVersion:
        """The step's only output (ZenML's ``step.output``)."""
        from zen_core.errors import StepOutputError

        outputs = self.outputs
        if len(outputs) == 1:
            return next(iter(outputs.values()))
        if not outputs:
            raise StepOutputError(
                f"step {self.name!r} of run {self.run_id} has no outputs, so it has no "
                f"`.output`. Fix: read an upstream step's output instead.", step=self.name)
        raise StepOutputError(
            f"step {self.name!r} of run {self.run_id} has {len(outputs)} outputs "
            f"({', '.join(outputs)}), so `.output` is ambiguous. Fix: pick one with "
            f"`.outputs[name]`.", step=self.name, outputs=list(outputs))

    @property
    def config(self) -> StepConfiguration:
        return StepConfiguration(name=self.step_name, parameters=self.params,
                                 enable_cache=self.cache_miss != CACHING_DISABLED)

    @property
    def created(self) -> dt.datetime | None:
        """When the step run was recorded: when it started (or was found in the cache)."""
        return self.started

    start_time = created  # ZenML's spellings
    end_time = property(lambda self: self.finished, doc="When the step run ended (ZenML's name).")

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (``None`` while it runs)."""
        return _seconds(self.started, self.finished)

    @property
    def run(self) -> PipelineRun | None:
        return self._require_client()._get_run_or_none(self.run_id)

    def _repr_html_(self) -> str:
        from zen_core.visualize import step_card

        return step_card(self)


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class PipelineRun(_Tagged):
    id: str
    name: str
    pipeline_name: str
    status: str
    created: dt.datetime = attrs.field(converter=utc_datetime)
    finished: dt.datetime | None = attrs.field(converter=utc_datetime)
    params: dict[str, Any]
    error: str | None
    seq: int = 0
    _tags: list[str] | None = attrs.field(default=None, repr=False, alias="tags")
    _run_metadata: Mapping[str, Any] | None = attrs.field(default=None, repr=False,
                                                           alias="run_metadata")
    # what the run was configured with (enable_cache, substitutions, settings)
    options: dict[str, Any] = attrs.field(factory=dict)
    _client: Client | None = attrs.field(default=None, repr=False, alias="_client")
    _steps: dict[str, StepRun] | None = attrs.field(default=None, repr=False, alias="_steps")

    RESOURCE_TYPE = "pipeline_run"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PipelineRun) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)


    @property
    def run_metadata(self) -> dict[str, Any]:
        """``{key: value}`` logged for this run (``log_metadata(run_id_name_or_prefix=...)``)."""
        return dict(self._logged_metadata())

    @property
    def steps(self) -> dict[str, StepRun]:
        """Step runs by invocation id, in execution order."""
        if self._steps is None or self.status == ExecutionStatus.RUNNING:
            self._steps = {s.name: s for s in self._require_client()._step_runs(self.id)}
        return self._steps

    @property
    def config(self) -> PipelineRunConfiguration:
        return PipelineRunConfiguration(name=self.pipeline_name, run_name=self.name,
                                        parameters=self.params, **_configured(self.options))

    start_time = property(lambda self: self.created, doc="When the run started (ZenML's name).")
    end_time = property(lambda self: self.finished, doc="When the run ended (ZenML's name).")

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (``None`` while it runs)."""
        return _seconds(self.created, self.finished)

    def _repr_html_(self) -> str:
        from zen_core.visualize import run_card

        return run_card(self)


@attrs.define(eq=False)
class PipelineInfo(_Bound):
    """A pipeline as its runs know it (ZenML's ``PipelineResponse``): zen_core records
    pipelines by name only, through their runs."""

    name: str
    num_runs: int
    _client: Client | None = attrs.field(default=None, repr=False, alias="_client")

    def get_runs(self, **filters: Any) -> Page[PipelineRun]:
        """Runs of this pipeline, newest first; ``filters`` as for
        ``Client.list_pipeline_runs``."""
        return self._require_client().list_pipeline_runs(pipeline_name=self.name, **filters)

    @property
    def runs(self) -> Page[PipelineRun]:
        """Every run of this pipeline, newest first."""
        return self.get_runs()

    @property
    def last_run(self) -> PipelineRun:
        return self._latest(None)

    @property
    def last_successful_run(self) -> PipelineRun:
        """The newest run that completed."""
        return self._latest(ExecutionStatus.COMPLETED)

    def _latest(self, status: str | None) -> PipelineRun:
        from zen_core.errors import RunNotFoundError

        found = self.get_runs(status=status, size=1)
        if not found:
            what = "runs" if status is None else f"{status} runs"
            raise RunNotFoundError(
                f"pipeline {self.name!r} has no {what} (of {self.num_runs} run(s)). Fix: run "
                f"it, or list its runs with `zen run list --pipeline {self.name}`.",
                pipeline=self.name, status=status)
        return found[0]


@attrs.define(eq=False)
class ArtifactInfo(_Bound):
    """An artifact name and its versions (ZenML's ``ArtifactResponse``)."""

    name: str
    num_versions: int
    latest_version_name: str
    latest_version_id: str
    _client: Client | None = attrs.field(default=None, repr=False, alias="_client")

    @property
    def versions(self) -> dict[str, ArtifactVersion]:
        """Every version by version string, oldest first."""
        return {av.version: av for av in self._require_client().list_artifact_versions(self.name)}

    @property
    def latest_version(self) -> ArtifactVersion:
        """The most recently created version."""
        return self._require_client().get_artifact_version(self.latest_version_id)
