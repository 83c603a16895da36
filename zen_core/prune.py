"""Pruning: delete artifact versions no run references, and leftovers of killed writes.

Removed are versions produced by steps that no existing step run produced
or consumed (versions saved or registered by name are kept), the stored
objects only they used (content-addressed data shared with a kept version
stays), staging folders whose writer is gone, and objects no version points
at (older than a grace period, so a step that is publishing right now is
safe). Files under the store root outside ``.zen/`` are never touched.

The order makes a killed prune harmless: the versions are hidden first, then
their data is deleted, then their records; the next prune finishes what a
killed one hid. An object is deleted by moving it to ``.zen/trash/``, counting
its users again, and only then deleting it: a save that reused it meanwhile
(and so is counted now) gets it back, and a save counted only later finds it
gone and publishes it again from the staging copy it keeps until then.
"""

from __future__ import annotations

import os
import socket
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from zen_core.artifact_stores.base import CORRUPT, TRASH, ZEN_DIR, StagingEntry
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
    uploads: list[str] = attrs.field(factory=list)  # incomplete uploads aborted (S3 multipart)
    bytes_freed: int = 0
    errors: list[tuple[str, str]] = attrs.field(factory=list)  # (uri, error) kept because of it

    def summary(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        return (f"{verb} {len(self.versions)} artifact version(s), {len(self.objects)} stored "
                f"object(s) and {len(self.staging)} staging folder(s); "
                f"{_human(self.bytes_freed)} {'to free' if self.dry_run else 'freed'}"
                + (f"; {len(self.uploads)} incomplete upload(s) "
                   f"{'to abort' if self.dry_run else 'aborted'}" if self.uploads else "")
                + (f"; {len(self.errors)} could not be deleted" if self.errors else ""))

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run,
                "versions": [{"id": v.id, "name": v.name, "version": v.version} for v in
                             self.versions],
                "objects": self.objects, "staging": self.staging, "uploads": self.uploads,
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
    chosen = [av.id for av in candidates]
    if not dry_run:  # hidden by a killed prune, then referenced again: visible once more
        taken = set(chosen)
        revived = [av.id for av in meta.hidden_artifact_versions() if av.id not in taken]
        if revived:
            meta.unhide_artifact_versions(revived)
    hide = not dry_run and not only_metadata and not only_artifact
    if hide:
        meta.hide_artifact_versions(chosen)  # nobody sees them from here on
    kept: set[str] = set()  # versions whose data could not be deleted: shown again

    if not only_metadata:
        # An object may go only when every version pointing at it goes.
        users = Counter(av.content_hash for av in candidates)
        in_use = meta.content_hash_counts(users)
        by_uri: dict[str, list[ArtifactVersion]] = {}
        for av in candidates:
            by_uri.setdefault(av.uri, []).append(av)
        objects = list(by_uri.items())
        for i, (uri, group) in enumerate(objects):
            tick("versions", len(group))
            content_hash = group[0].content_hash
            if not store.owned_by_zen(uri) or in_use.get(content_hash, 0) > users[content_hash]:
                continue
            try:
                gone = dry_run or _delete_object(store, meta, uri, content_hash,
                                                 users[content_hash])
            except Exception as exc:
                ids = [av.id for av in group]
                if not ignore_errors:
                    later = [av.id for _, g in objects[i:] for av in g]
                    if hide:  # what was not deleted is shown again, whole
                        meta.unhide_artifact_versions(later)
                    if not only_artifact:
                        done = set(later) | kept
                        meta.delete_artifact_versions(v for v in chosen if v not in done)
                    raise StoreError(
                        f"could not delete {uri} of artifact {group[0].label}: {exc}. Pruning "
                        f"stopped there; that version and the ones after it are kept. "
                        f"Fix the cause, or rerun with --ignore-errors.",
                        uri=uri) from exc
                if hide:
                    meta.unhide_artifact_versions(ids)
                kept.update(ids)
                report.errors.append((uri, f"{type(exc).__name__}: {exc}"))
                continue
            if gone:
                report.objects.append(uri)
                report.bytes_freed += group[0].size
        _prune_leftovers(stack, report, dry_run, orphan_grace_s, ignore_errors, tick, users)
    report.versions = [av for av in candidates if av.id not in kept]
    if not dry_run and not only_artifact:
        meta.delete_artifact_versions(av.id for av in report.versions)
    return report


def _delete_object(store: Any, meta: Any, uri: str, content_hash: str, users: int) -> bool:
    """Delete one stored object unless a save reused it meanwhile; whether it went.

    Moved to the trash first, so the count taken after the move sees every save whose
    check for the object came before it; a save checking later finds it gone and
    publishes it again itself (see ``zen_core.artifacts.data.settle``).
    """
    trash = store.move_aside(uri, TRASH)
    if trash is None:
        return False  # already gone
    try:
        if meta.content_hash_counts([content_hash]).get(content_hash, 0) > users:
            _put_back(store, trash, content_hash)
            return False
        store.delete(trash)
    except BaseException:
        _put_back(store, trash, content_hash)  # the versions, shown again, keep their data
        raise
    return True


def _put_back(store: Any, trash: str, content_hash: str) -> None:
    """Return a trashed object to its content address (a fresh copy there wins)."""
    try:
        store.publish(trash, content_hash)
    except FileNotFoundError:  # another prune took it first; the save republishes its own
        pass


def _prune_leftovers(stack: Stack, report: PruneReport, dry_run: bool, grace: float,
                     ignore_errors: bool, tick: Callable[[str, int], None],
                     users: Counter[str]) -> None:
    """Staging and incomplete uploads of dead writers, objects that no version references,
    the trash of killed prunes and objects moved aside as corrupt."""
    store = stack.artifact_store
    now = time.time()

    def gone(entry: StagingEntry) -> bool:
        """Whether a staging folder's writer is gone: its process on this host, or (on
        another host, where it cannot be asked) nothing written for ``grace`` seconds."""
        if entry.host == socket.gethostname():
            return not _pid_alive(entry.pid)
        return entry.mtime is not None and now - entry.mtime >= grace

    for entry in store.iter_staging():
        tick("staging", 1)
        if gone(entry):
            _remove(store, entry.uri, report, report.staging, dry_run, ignore_errors)
    staging_root = store.join(ZEN_DIR, "staging")
    for upload in store.iter_incomplete_uploads():
        tick("staging", 1)
        if upload.uri.startswith(staging_root + "/"):
            folder = upload.uri[len(staging_root) + 1 :].split("/", 1)[0]
            writer = StagingEntry.parse(f"{staging_root}/{folder}", upload.started)
        else:  # an upload straight to a content address names no writer: judged by its age
            writer = StagingEntry(upload.uri, "", -1, upload.started)
        if not gone(writer):
            continue
        try:
            if not dry_run:
                store.abort_upload(upload)
        except Exception as exc:
            if not ignore_errors:
                raise StoreError(f"could not abort the incomplete upload of {upload.uri}: "
                                 f"{exc}. Rerun with --ignore-errors to continue past it.",
                                 uri=upload.uri) from exc
            report.errors.append((upload.uri, f"{type(exc).__name__}: {exc}"))
            continue
        report.uploads.append(upload.uri)
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
    trashed = list(store.iter_aside(TRASH))
    counts = stack.metadata_store.content_hash_counts({h for h, _ in trashed})
    for content_hash, uri in trashed:
        tick("objects", 1)
        if counts.get(content_hash, 0) > users[content_hash]:
            if not dry_run:  # a kept version needs it: a killed prune's, put back
                _put_back(store, uri, content_hash)
            continue
        _remove(store, uri, report, report.objects, dry_run, ignore_errors)
    for _, uri in store.iter_aside(CORRUPT):
        tick("objects", 1)
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
