"""The metadata store interface: runs, step runs, artifact versions and their links.

Implementations must make a version visible in the same transaction that
allocates its number, so versions are unique and gap-free per name even with
many writers. :class:`zen_core.metadata_stores.sql.SQLMetadataStore` does this
in portable SQL for SQLite (built in) and PostgreSQL (zen-postgres).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from zen_core.components import Component
from zen_core.records import new_id

if TYPE_CHECKING:
    from zen_core.artifacts.data import StoredData
    from zen_core.records import ArtifactVersion, PipelineRun, StepRun


@attrs.frozen
class NewArtifactVersion:
    """An artifact version about to be recorded; ``version=None`` means the next number."""

    name: str
    data: StoredData
    version: str | None = None
    tags: Sequence[str] = ()
    origin: str = "step"
    producer_step_run_id: str | None = None
    run_id: str | None = None
    id: str = attrs.field(factory=new_id)

    def preview(self) -> ArtifactVersion:
        """The version as it will be recorded (``version`` is ``""`` until a number is given)."""
        from zen_core.records import ArtifactVersion

        d = self.data
        return ArtifactVersion(
            id=self.id, name=self.name, version=self.version or "", uri=d.uri, type=d.type,
            artifact_type=d.artifact_type, materializer=d.materializer,
            materializer_version=d.materializer_version, content_hash=d.content_hash,
            size=d.size, files=d.files, created=time.time(), tags=list(self.tags),
            metadata=d.metadata, visualizations=d.visualizations,
            producer_step_run_id=self.producer_step_run_id, run_id=self.run_id,
            origin=self.origin)


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
    latest_created: float


class MetadataStore(Component):
    """Abstract base; subclasses set ``FLAVOR`` and ``Config``."""

    # -- pipeline runs -------------------------------------------------------
    def create_run(self, run: PipelineRun, lease: RunLease | None = None) -> None:
        """Record a new run, committed at once with its ``lease`` (who runs it, until when);
        raise ``RunNameTakenError`` (recording nothing) when its name is taken."""
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
                   error: str | None = None) -> None: raise NotImplementedError
    def get_run(self, id_or_name: str) -> PipelineRun | None: raise NotImplementedError
    def list_runs(self, *, pipeline_name: str | None = None, status: str | None = None,
                  limit: int | None = None, offset: int = 0) -> list[PipelineRun]:
        raise NotImplementedError
    def count_runs(self, *, pipeline_name: str | None = None,
                   status: str | None = None) -> int: raise NotImplementedError
    def delete_run(self, run_id: str) -> None: raise NotImplementedError

    # -- step runs -----------------------------------------------------------
    def create_step_run(self, step_run: StepRun, inputs: Mapping[str, str],
                        cache_parts: Mapping[str, Any] | None = None,
                        outputs: Mapping[str, str] | None = None) -> None:
        """Record a step run in its current status with its links (``io_name -> artifact id``).

        ``outputs`` links existing versions: a cached step run reuses earlier outputs.
        """
        raise NotImplementedError

    def complete_step_run(self, step_run_id: str, *,
                          outputs: Sequence[tuple[str, NewArtifactVersion]],
                          extra_inputs: Mapping[str, str], finished: float) -> list[ArtifactVersion]:
        """In one transaction: create the outputs' versions, link them, mark completed."""
        raise NotImplementedError

    def fail_step_run(self, step_run_id: str, error: str, finished: float) -> None:
        raise NotImplementedError

    def transaction(self, group: bool = False) -> contextlib.AbstractContextManager[None]:
        """Group several writes into one transaction (each write is atomic on its own).

        ``group=True`` allows the store to commit it later together with the writes that
        follow shortly (group commit); reads in this process see it at once.
        """
        return contextlib.nullcontext()

    def flush(self) -> None:
        """Commit any writes held for group commit."""

    def find_cache_candidates(self, cache_key: str, limit: int = 3) -> list[StepRun]:
        """Earlier successful step runs with this key, newest first (outputs via step_io)."""
        raise NotImplementedError

    def previous_step_run(self, pipeline_name: str, invocation_id: str
                          ) -> tuple[StepRun, dict[str, Any]] | None:
        """The latest finished run of this invocation and its cache-key parts."""
        raise NotImplementedError

    def get_step_run(self, step_run_id: str) -> StepRun | None: raise NotImplementedError
    def list_step_runs(self, run_id: str) -> list[StepRun]: raise NotImplementedError
    def step_io(self, step_run_id: str) -> tuple[dict[str, ArtifactVersion],
                                                  dict[str, ArtifactVersion]]:
        raise NotImplementedError

    # -- artifact versions -----------------------------------------------------
    def create_artifact_version(self, new: NewArtifactVersion) -> ArtifactVersion:
        raise NotImplementedError
    def get_artifact_version(self, name: str, version: str | None = None
                             ) -> ArtifactVersion | None: raise NotImplementedError
    def get_artifact_version_by_id(self, av_id: str) -> ArtifactVersion | None:
        raise NotImplementedError
    def list_artifact_versions(self, name: str | None = None, *, limit: int | None = None,
                               offset: int = 0) -> list[ArtifactVersion]:
        raise NotImplementedError
    def list_artifacts(self) -> list[ArtifactSummary]: raise NotImplementedError
    def version_taken(self, name: str, version: str) -> bool: raise NotImplementedError
    def consumers(self, av_id: str) -> list[StepRun]: raise NotImplementedError

    # -- pruning ---------------------------------------------------------------
    def unreferenced_artifact_versions(self) -> list[ArtifactVersion]:
        """Versions produced by steps that no existing step run produced or consumed."""
        raise NotImplementedError
    def delete_artifact_versions(self, ids: Iterable[str]) -> None: raise NotImplementedError
    def content_hash_counts(self, hashes: Iterable[str]) -> dict[str, int]:
        """How many versions point at each of these content hashes (absent: none)."""
        raise NotImplementedError
