"""The metadata store interface: runs, step runs, artifact versions and their links.

Implementations must make a version visible in the same transaction that
allocates its number, so versions are unique and gap-free per name even with
many writers. :class:`zen_core.metadata_stores.sql.SQLMetadataStore` does this
in portable SQL for SQLite (built in) and PostgreSQL (zen-postgres).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from zen_core.components import Component
from zen_core.metadata.metadata_types import NO_METADATA
from zen_core.records import new_id, utc_datetime

if TYPE_CHECKING:
    from zen_core.artifacts.data import StoredData
    from zen_core.records import ArtifactVersion, PipelineRun, StepRun


class ResourceType(enum.StrEnum):
    """What run metadata and tags attach to (``resource_id`` is its id; a pipeline's is its
    name)."""

    PIPELINE_RUN = "pipeline_run"
    STEP_RUN = "step_run"
    ARTIFACT_VERSION = "artifact_version"
    PIPELINE = "pipeline"


@attrs.frozen
class NewArtifactVersion:
    """An artifact version about to be recorded; ``version=None`` means the next number.

    ``run_metadata`` (logged by the step or given by ``ArtifactConfig``/``save_artifact``)
    and ``tags`` are recorded with it; ``artifact_type``, when set, replaces the
    materializer's.
    """

    name: str
    data: StoredData
    version: str | None = None
    tags: Sequence[str] = ()
    origin: str = "step"
    producer_step_run_id: str | None = None
    run_id: str | None = None
    id: str = attrs.field(factory=new_id)
    run_metadata: Mapping[str, Any] = NO_METADATA
    artifact_type: str | None = None
    created: float = attrs.field(factory=time.time)  # seconds since the epoch
    _preview: Any = attrs.field(default=None, init=False, eq=False, repr=False)

    def preview(self) -> ArtifactVersion:
        """The version as it will be recorded (``version`` is ``""`` until a number is given).

        One object per new version: recording it fills in its number and position, so
        whoever holds the preview (the run driver, between two steps) sees them too."""
        if self._preview is None:
            object.__setattr__(self, "_preview", self._make_preview())
        return self._preview

    def _make_preview(self) -> ArtifactVersion:
        from zen_core.records import ArtifactVersion

        d = self.data
        return ArtifactVersion(
            id=self.id, name=self.name, version=self.version or "", uri=d.uri, type=d.type,
            artifact_type=self.artifact_type or d.artifact_type, materializer=d.materializer,
            materializer_version=d.materializer_version, content_hash=d.content_hash,
            size=d.size, files=d.files, created=self.created, tags=list(self.tags),
            metadata=d.metadata, visualizations=d.visualizations,
            producer_step_run_id=self.producer_step_run_id, run_id=self.run_id,
            origin=self.origin, run_metadata=self.run_metadata)


@attrs.frozen
class RunLease:
    """Who runs a running run, and until when it promised to renew: how crashed runs are found.

    ``host``/``pid``/``started`` (the process's start time, so a reused pid is told apart)
    name the owner; ``expires`` is when the run counts as crashed unless renewed.
    """

    host: str | None
    pid: int | None
    started: float | None
    expires: float | None


@attrs.frozen
class ArtifactSummary:
    name: str
    versions: int
    latest_version: str
    latest_created: dt.datetime = attrs.field(converter=utc_datetime)


@attrs.frozen
class PipelineSummary:
    name: str
    runs: int
    latest_run_id: str


# The kinds of record an id can name (``match_ids``, ``adjacent_ids``), and the keys the
# list methods sort by (``order_by``); each list also breaks ties by creation order.
ID_KINDS = ("run", "step_run", "artifact_version")
RUN_ORDER_KEYS = ("created", "finished", "name", "pipeline_name", "status")
VERSION_ORDER_KEYS = ("created", "name", "size")


class MetadataStore(Component):
    """Abstract base of metadata stores; subclasses set ``FLAVOR`` and ``Config``.

    zen_core builds one instance per configuration and process with
    ``cls(config)`` (:class:`~zen_core.components.Component`) and shares it
    between threads: the driver of a run, Clients and the CLI. Each method's
    docstring says when zen_core calls it and what it promises;
    :class:`zen_core.testing.MetadataStoreContract` checks those promises.
    Records are the classes of :mod:`zen_core.models`; ids are strings the
    caller chose (``new_id()``), except that the store numbers versions.
    """

    # -- pipeline runs -------------------------------------------------------

    def create_run(self, run: PipelineRun, lease: RunLease | None = None) -> None:
        """Record a new run (status ``running``) when a pipeline call starts, committed at
        once with its ``lease`` (who runs it, until when: see :meth:`reap_runs`).

        Raise ``RunNameTakenError`` and record nothing when another run has
        ``run.name``; the driver then retries with another name.
        """
        raise NotImplementedError

    def renew_leases(self, run_ids: Sequence[str], expires: float) -> None:
        """Move the lease of each still-running run in ``run_ids`` to ``expires`` (one
        write; called every few seconds off the step path by the process running them)."""
        raise NotImplementedError

    def reap_runs(self, now: float, owner_dead: Callable[[RunLease], bool],
                  unleased_before: float) -> list[str]:
        """Mark crashed runs ``failed`` (error starting ``crashed:``), with their running
        steps; return their ids.

        A running run crashed when its lease expired before ``now``, when it has no lease
        and was created before ``unleased_before``, or when ``owner_dead(lease)`` says its
        owner process is gone. A run whose lease was renewed meanwhile is left alone.
        """
        raise NotImplementedError

    def finish_run(self, run_id: str, status: str, finished: float,
                   error: str | None = None) -> None:
        """Set a run's final ``status`` (``completed`` or ``failed``), its ``finished``
        time and, for a failure, the ``error`` text; called once when the run ends."""
        raise NotImplementedError

    def get_run(self, id_or_name: str) -> PipelineRun | None:
        """The run with this id (32 hex digits), else with this name; ``None`` when none
        has it (the Client then tries it as an id prefix with :meth:`match_ids`)."""
        raise NotImplementedError

    def list_runs(self, *, pipeline_name: str | None = None, status: str | None = None,
                  limit: int | None = None, offset: int = 0, order_by: str = "created",
                  descending: bool = True, tags: Sequence[str] = ()) -> list[PipelineRun]:
        """Runs newest first, optionally of one pipeline, in one status and/or carrying
        every tag of ``tags``.

        ``order_by`` (one of ``RUN_ORDER_KEYS``) and ``descending`` choose another order,
        ties broken by creation order in the same direction. ``offset`` skips that many
        of them, ``limit`` (``None``: no limit) caps the page; ``Client.list_pipeline_runs``,
        ``zen run list`` and the dashboard page with these.
        """
        raise NotImplementedError

    def list_pipelines(self) -> list[PipelineSummary]:
        """One summary per pipeline name that has runs (run count, newest run), by name."""
        raise NotImplementedError

    def count_runs(self, *, pipeline_name: str | None = None,
                   status: str | None = None, tags: Sequence[str] = ()) -> int:
        """How many runs ``list_runs`` with the same filters would return unpaged."""
        raise NotImplementedError

    def delete_run(self, run_id: str) -> None:
        """Delete a run, its step runs, their links and the run metadata and tags of the run
        and its step runs (``zen run delete``). The artifact versions stay; those no step
        run references any more become prunable."""
        raise NotImplementedError

    # -- step runs -----------------------------------------------------------

    def create_step_run(self, step_run: StepRun, inputs: Mapping[str, str],
                        cache_parts: Mapping[str, Any] | None = None,
                        outputs: Mapping[str, str] | None = None) -> None:
        """Record a step run in its current status with its links (``io_name -> artifact id``).

        Called by the driver before a step executes (status ``running``) or when it
        is a cache hit (status ``cached``, with ``outputs`` linking the earlier run's
        versions). ``cache_parts`` (JSON) is returned by :meth:`previous_step_run`
        to explain the next cache miss.
        """
        raise NotImplementedError

    def complete_step_run(self, step_run_id: str, *,
                          outputs: Sequence[tuple[str, NewArtifactVersion]],
                          extra_inputs: Mapping[str, str], finished: float) -> list[ArtifactVersion]:
        """In one transaction: create the outputs' versions, link them, mark completed.

        ``outputs`` pairs each output key with its new version (numbered here when its
        ``version`` is ``None``; its ``tags`` and ``run_metadata`` recorded with it);
        ``extra_inputs`` links versions the step loaded itself.
        Returns the created versions in the order of ``outputs``. Nothing of it is
        visible to anyone before all of it is.
        """
        raise NotImplementedError

    def fail_step_run(self, step_run_id: str, error: str, finished: float) -> None:
        """Mark a step run ``failed`` with its traceback text; no outputs are recorded."""
        raise NotImplementedError

    def transaction(self, group: bool = False) -> contextlib.AbstractContextManager[None]:
        """Group several writes into one transaction (each write is atomic on its own).

        Every write inside the ``with`` block becomes visible to other connections
        together when it ends, or not at all when it raises. ``group=True`` allows the
        store to commit it later together with the writes that follow shortly (group
        commit); reads in this process see it at once. A store that wraps another must
        delegate this and :meth:`flush`: the default does not group anything.
        """
        return contextlib.nullcontext()

    def flush(self) -> None:
        """Commit any writes held for group commit, so other connections and processes see
        them now; call it before handing work to another process (the SQL stores also
        flush at interpreter exit)."""

    def find_cache_candidates(self, cache_key: str, limit: int = 3) -> list[StepRun]:
        """At most ``limit`` earlier ``completed`` or ``cached`` step runs with this cache
        key, newest first; the driver reuses the first whose outputs are still stored."""
        raise NotImplementedError

    def find_cached_step_runs(self, cache_key: str, limit: int = 3
                              ) -> list[tuple[StepRun, dict[str, ArtifactVersion]]]:
        """:meth:`find_cache_candidates`, each with its visible outputs (what
        :meth:`step_io` gives as outputs): what a cache lookup reads. The default asks
        those two methods; a store may answer in one query (the SQL stores do)."""
        return [(candidate, self.step_io(candidate.id)[1])
                for candidate in self.find_cache_candidates(cache_key, limit)]

    def previous_step_run(self, pipeline_name: str, invocation_id: str
                          ) -> tuple[StepRun, dict[str, Any]] | None:
        """The latest successful run of this step invocation with the ``cache_parts`` it
        was recorded with, or ``None``; used to say why a step missed the cache."""
        raise NotImplementedError

    def get_step_run(self, step_run_id: str) -> StepRun | None:
        """The step run with this id, or ``None``."""
        raise NotImplementedError

    def list_step_runs(self, run_id: str) -> list[StepRun]:
        """The step runs of one pipeline run, in the order they were recorded."""
        raise NotImplementedError

    def step_io(self, step_run_id: str) -> tuple[dict[str, ArtifactVersion],
                                                  dict[str, ArtifactVersion]]:
        """``(inputs, outputs)`` of a step run: ``{io_name: version}`` each (lineage)."""
        raise NotImplementedError

    def step_io_many(self, step_run_ids: Sequence[str]
                     ) -> dict[str, tuple[dict[str, ArtifactVersion], dict[str, ArtifactVersion]]]:
        """:meth:`step_io` of each of these step runs (at most a few hundred), by id; an
        unknown id gets empty dicts. The default asks once per step; a store may answer
        in one query (the SQL stores do): listing or drawing a run's steps needs it."""
        return {step_run_id: self.step_io(step_run_id) for step_run_id in step_run_ids}

    # -- artifact versions -----------------------------------------------------

    def create_artifact_version(self, new: NewArtifactVersion) -> ArtifactVersion:
        """Record a version outside a step (``save_artifact``, ``register_artifact``).

        ``new.version`` ``None`` takes the next number of that name, allocated in the
        same transaction that makes the version visible (with its ``tags`` and
        ``run_metadata``), so numbers are unique and
        gap-free with many writers; a pinned number counts for the later automatic ones.
        A pinned version already taken raises ``ArtifactVersionExistsError`` and takes
        no number.
        """
        raise NotImplementedError

    def get_artifact_version(self, name: str, version: str | None = None
                             ) -> ArtifactVersion | None:
        """Version ``version`` of ``name``, or its most recently created version (not the
        highest number) when ``version`` is ``None``; ``None`` when there is none."""
        raise NotImplementedError

    def get_artifact_version_by_id(self, av_id: str) -> ArtifactVersion | None:
        """The version with this id, or ``None``."""
        raise NotImplementedError

    def find_artifact_version(self, name: str, content_hash: str) -> ArtifactVersion | None:
        """The most recently created version of ``name`` holding this content, or ``None``:
        a value stored again as a step's input reuses its version instead of adding one."""
        raise NotImplementedError

    def list_artifact_versions(self, name: str | None = None, *, limit: int | None = None,
                               offset: int = 0, order_by: str = "created",
                               descending: bool = False, tags: Sequence[str] = ()
                               ) -> list[ArtifactVersion]:
        """Versions of ``name`` (of every name when ``None``) in creation order, or ordered
        by ``order_by`` (one of ``VERSION_ORDER_KEYS``) as in :meth:`list_runs`, only those
        carrying every tag of ``tags`` when given; ``offset`` and ``limit`` page through
        them as there."""
        raise NotImplementedError

    def count_artifact_versions(self, name: str | None = None, *,
                                tags: Sequence[str] = ()) -> int:
        """How many versions ``list_artifact_versions(name, tags=tags)`` would return
        unpaged."""
        raise NotImplementedError

    def list_artifacts(self) -> list[ArtifactSummary]:
        """One summary per artifact name (version count, latest version), by name."""
        raise NotImplementedError

    def version_taken(self, name: str, version: str) -> bool:
        """Whether ``name`` has a version ``version``; checked before a step runs so a
        pinned version that is taken fails early."""
        raise NotImplementedError

    def consumers(self, av_id: str) -> list[StepRun]:
        """The step runs that took this version as an input, in the order recorded."""
        raise NotImplementedError

    # -- ids ---------------------------------------------------------------------

    def match_ids(self, kind: str, prefix: str, limit: int = 10) -> list[str]:
        """Ids of records of ``kind`` (one of ``ID_KINDS``) that start with ``prefix``
        (lower-case hex digits), in id order, at most ``limit``: how the Client resolves an
        id prefix, and lists the matches of an ambiguous one."""
        raise NotImplementedError

    def adjacent_ids(self, kind: str, record_id: str) -> tuple[str | None, str | None]:
        """The ids of ``kind`` just before and just after ``record_id`` in id order
        (``None`` past either end): how the CLI finds the shortest prefix that names
        one record."""
        raise NotImplementedError

    # -- pruning ---------------------------------------------------------------

    def unreferenced_artifact_versions(self) -> list[ArtifactVersion]:
        """Versions produced by steps (origin ``step``) or stored as a step's input (origin
        ``external``: an ``ExternalArtifact``) that no existing step run produced or
        consumed, hidden ones included.

        Versions saved or registered by name are never among them. ``zen artifact
        prune`` deletes these.
        """
        raise NotImplementedError

    def hide_artifact_versions(self, ids: Iterable[str]) -> None:
        """Tombstone these versions (one transaction): from then on no read returns them —
        not by name, id, listing, summary or a step run's inputs and outputs — except
        :meth:`unreferenced_artifact_versions`, :meth:`hidden_artifact_versions`,
        :meth:`content_hash_counts` and :meth:`version_taken` (their numbers stay taken).

        Prune hides the versions it removes before it deletes their data, so a prune
        killed half-way never leaves a visible version without data.
        """
        raise NotImplementedError

    def unhide_artifact_versions(self, ids: Iterable[str]) -> None:
        """Make hidden versions visible again (their data could not be deleted, or they
        are referenced again); unknown or visible ids are ignored."""
        raise NotImplementedError

    def hidden_artifact_versions(self) -> list[ArtifactVersion]:
        """Every hidden version in creation order: what a killed prune left to finish."""
        raise NotImplementedError

    def delete_artifact_versions(self, ids: Iterable[str]) -> None:
        """Delete these versions, their links, run metadata and tags (pruning); unknown ids
        are ignored."""
        raise NotImplementedError

    def content_hash_counts(self, hashes: Iterable[str]) -> dict[str, int]:
        """How many versions, hidden ones included, point at each of these content hashes
        (absent: none); pruning deletes stored data only when no version but the ones it
        removes points at it."""
        raise NotImplementedError

    # -- run metadata and tags -------------------------------------------------------

    def add_run_metadata(self, resource_type: str, resource_id: str,
                         values: Mapping[str, Any]) -> None:
        """Record ``values`` (``{key: value}``, checked by ``check_metadata``) for a resource
        of :class:`ResourceType`, after what was logged for it before; committed at once
        (inside :meth:`transaction`, with it). Values keep their type: a ``Uri``,
        ``StorageSize``, tuple or set reads back as one, nested ones too."""
        raise NotImplementedError

    def get_run_metadata(self, resource_type: str, resource_ids: Sequence[str]
                         ) -> dict[str, dict[str, Any]]:
        """``{resource_id: {key: value}}`` of what was logged for these resources (those with
        none are absent): per key the last value logged wins, except that when every value
        of a key is a dict they merge (``zen_core.metadata.metadata_types.merge_entries``)."""
        raise NotImplementedError

    def add_tags(self, resource_type: str, resource_id: str, tags: Sequence[str]) -> None:
        """Attach ``tags`` to a resource; a tag it has already is left as it is."""
        raise NotImplementedError

    def remove_tags(self, resource_type: str, resource_id: str, tags: Sequence[str]) -> None:
        """Detach ``tags`` from a resource; a tag it does not have is ignored."""
        raise NotImplementedError

    def get_tags(self, resource_type: str, resource_ids: Sequence[str]) -> dict[str, list[str]]:
        """``{resource_id: [tag, ...]}`` in the order the tags were first attached (resources
        without tags are absent)."""
        raise NotImplementedError
