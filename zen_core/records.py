"""Records of what happened: pipeline runs, step runs and artifact versions.

(``zen_core.models`` re-exports them under the names user code imports.)

Records are plain attrs classes filled by the metadata store; relations
(steps, inputs, producer, consumers ...) are fetched on first access through
the Client that returned the record, then kept.
"""

from __future__ import annotations

import contextvars
import enum
import secrets
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from zen_core.client import Client
    from zen_core.lineage import LineageGraph

_UNSET: Any = object()


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


@attrs.define(eq=False)
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
    created: float
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

    def visualize(self) -> dict[str, str] | None:
        """Show the visualizations in a notebook (returning ``None``, so nothing echoes);
        elsewhere return ``{uri: kind}``."""
        from zen_core.visualize import show

        return show(self)

    def _repr_html_(self) -> str:
        from zen_core.visualize import artifact_card

        return artifact_card(self)


@attrs.define(eq=False)
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
    started: float | None
    finished: float | None
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
            self._inputs, self._outputs = self._require_client()._step_io(self.id)
        return self._inputs

    @property
    def outputs(self) -> dict[str, ArtifactVersion]:
        if self._outputs is None:
            self._inputs, self._outputs = self._require_client()._step_io(self.id)
        return self._outputs

    @property
    def duration(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started

    @property
    def run(self) -> PipelineRun | None:
        return self._require_client()._get_run_or_none(self.run_id)

    def _repr_html_(self) -> str:
        from zen_core.visualize import step_card

        return step_card(self)


@attrs.define(eq=False)
class PipelineRun(_Tagged):
    id: str
    name: str
    pipeline_name: str
    status: str
    created: float
    finished: float | None
    params: dict[str, Any]
    error: str | None
    seq: int = 0
    _tags: list[str] | None = attrs.field(default=None, repr=False, alias="tags")
    _run_metadata: Mapping[str, Any] | None = attrs.field(default=None, repr=False,
                                                           alias="run_metadata")
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
    def duration(self) -> float | None:
        return None if self.finished is None else self.finished - self.created

    def _repr_html_(self) -> str:
        from zen_core.visualize import run_card

        return run_card(self)
