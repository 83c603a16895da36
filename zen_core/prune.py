"""Pruning: delete artifact versions no run references, and leftovers of killed writes.

Removed are versions produced by steps that no existing step run produced
or consumed (versions saved or registered by name are kept), the stored
objects only they used (content-addressed data shared with a kept version
stays), staging folders whose writer is gone, and objects no version points
at (older than a grace period, so a step that is publishing right now is
safe). Files under the store root outside ``.zen/`` are never touched.
"""

from __future__ import annotations

import os
import socket
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from zen_core.errors import StoreError
from zen_core.records import ArtifactVersion

if TYPE_CHECKING:
    from zen_core.stack import Stack

ORPHAN_GRACE_S = 3600.0


@attrs.define
class PruneReport:
    dry_run: bool
    versions: list[ArtifactVersion] = attrs.field(factory=list)  # metadata removed (or would be)
    objects: list[str] = attrs.field(factory=list)  # data folders removed
    staging: list[str] = attrs.field(factory=list)
    bytes_freed: int = 0
    errors: list[tuple[str, str]] = attrs.field(factory=list)  # (uri, error) kept because of it

    def summary(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        return (f"{verb} {len(self.versions)} artifact version(s), {len(self.objects)} stored "
                f"object(s) and {len(self.staging)} staging folder(s); "
                f"{_human(self.bytes_freed)} {'to free' if self.dry_run else 'freed'}"
                + (f"; {len(self.errors)} could not be deleted" if self.errors else ""))

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run,
                "versions": [{"id": v.id, "name": v.name, "version": v.version} for v in
                             self.versions],
                "objects": self.objects, "staging": self.staging,
                "bytes_freed": self.bytes_freed,
                "errors": [{"uri": u, "error": e} for u, e in self.errors]}


def prune(stack: Stack, *, only_artifact: bool = False, only_metadata: bool = False,
          ignore_errors: bool = False, dry_run: bool = False,
          progress: Callable[[str, int], None] | None = None,
          orphan_grace_s: float = ORPHAN_GRACE_S) -> PruneReport:
    if only_artifact and only_metadata:
        raise ValueError("only_artifact and only_metadata exclude each other; pass at most one")
    meta = stack.metadata_store
    store = stack.artifact_store
    report = PruneReport(dry_run)
    tick = progress or (lambda what, n: None)

    candidates = meta.unreferenced_artifact_versions()
    failed: set[str] = set()

    def forget(versions: list[ArtifactVersion]) -> None:
        if not only_artifact and not dry_run:
            meta.delete_artifact_versions(av.id for av in versions)

    if not only_metadata:
        # An object may go only when every version pointing at it goes.
        users = Counter(av.content_hash for av in candidates)
        in_use = meta.content_hash_counts(users)
        for i, av in enumerate(candidates):
            tick("versions", 1)
            if not store.owned_by_zen(av.uri) or in_use.get(av.content_hash, 0) > users[
                    av.content_hash] or av.uri in report.objects:
                continue
            if not dry_run:
                try:
                    store.delete(av.uri)
                except Exception as exc:
                    if not ignore_errors:
                        # Forget only the versions whose data is gone; keep the rest whole.
                        gone = set(report.objects)
                        forget([v for j, v in enumerate(candidates) if v.id not in failed and (
                            v.uri in gone or (j < i and v.uri != av.uri))])
                        raise StoreError(
                            f"could not delete {av.uri} of artifact {av.label}: {exc}. Pruning "
                            f"stopped there; that version and the ones after it are kept. "
                            f"Fix the cause, or rerun with --ignore-errors.",
                            uri=av.uri) from exc
                    report.errors.append((av.uri, f"{type(exc).__name__}: {exc}"))
                    failed.update(v.id for v in candidates if v.uri == av.uri)
                    continue
            report.objects.append(av.uri)
            report.bytes_freed += av.size
        _prune_leftovers(stack, report, dry_run, orphan_grace_s, ignore_errors, tick)
    report.versions = [av for av in candidates if av.id not in failed]
    forget(report.versions)
    return report


def _prune_leftovers(stack: Stack, report: PruneReport, dry_run: bool, grace: float,
                     ignore_errors: bool, tick: Callable[[str, int], None]) -> None:
    """Staging of dead writers, and objects that no version references."""
    store = stack.artifact_store
    now = time.time()
    host = socket.gethostname()
    for entry in store.iter_staging():
        tick("staging", 1)
        alive = (_pid_alive(entry.pid) if entry.host == host
                 else entry.mtime is None or now - entry.mtime < grace)
        if alive:
            continue
        _remove(store, entry.uri, report, report.staging, dry_run, ignore_errors)
    objects = dict(store.iter_objects())
    known = stack.metadata_store.content_hash_counts(objects)
    for content_hash, uri in objects.items():
        tick("objects", 1)
        if content_hash in known or uri in report.objects:
            continue
        mtime = store.modified(uri)
        if mtime is None or now - mtime < grace:
            continue  # perhaps a step publishing right now, its metadata not yet written
        _remove(store, uri, report, report.objects, dry_run, ignore_errors)


def _remove(store: Any, uri: str, report: PruneReport, bucket: list[str], dry_run: bool,
            ignore_errors: bool) -> None:
    try:
        size = store.size_of(uri)
        if not dry_run:
            store.delete(uri)
    except Exception as exc:
        if not ignore_errors:
            raise StoreError(f"could not delete {uri}: {exc}. Rerun with --ignore-errors to "
                             f"continue past it.", uri=uri) from exc
        report.errors.append((uri, f"{type(exc).__name__}: {exc}"))
        return
    bucket.append(uri)
    report.bytes_freed += size


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
