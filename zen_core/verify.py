"""``zen artifact verify``: an fsck for the artifact store.

Loading verifies only what it reads, when it reads it; this re-hashes every
file of every stored object a set of versions points at and reports what is
damaged (bytes changed) or missing. With ``repair`` a damaged object that
zen_core owns is moved aside (as a failed load does), so the next save of the
same content publishes a fresh copy, and the report says which versions need
their producing steps rerun (or their data saved or registered again).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import attrs

from zen_core.artifact_stores.base import CORRUPT
from zen_core.artifacts.data import check_record
from zen_core.errors import ZenError
from zen_core.hashing import hash_stream
from zen_core.records import ArtifactOrigin, ArtifactVersion

if TYPE_CHECKING:
    from zen_core.stack import Stack


@attrs.define
class Damage:
    """One stored object that failed verification, and the versions that point at it."""

    uri: str
    problem: str  # "corrupt" (bytes changed), "missing" (files gone) or "record" (bad manifest)
    detail: str  # which files, or why the record cannot be verified
    versions: list[ArtifactVersion]
    fixes: list[str] = attrs.field(factory=list)  # one line per version: what brings it back
    moved_to: str | None = None  # where --repair moved the damaged object

    def to_dict(self) -> dict[str, Any]:
        return {"uri": self.uri, "problem": self.problem, "detail": self.detail,
                "moved_to": self.moved_to, "fixes": self.fixes,
                "versions": [{"id": v.id, "name": v.name, "version": v.version}
                             for v in self.versions]}


@attrs.define
class VerifyReport:
    repair: bool
    versions: int = 0  # artifact versions checked
    objects: int = 0  # stored objects re-hashed
    bytes: int = 0
    damaged: list[Damage] = attrs.field(factory=list)

    @property
    def ok(self) -> bool:
        return not self.damaged

    def summary(self) -> str:
        text = (f"verified {self.versions} artifact version(s) in {self.objects} stored "
                f"object(s), {self.bytes} bytes: ")
        if self.ok:
            return text + "all intact"
        counts = {p: sum(d.problem == p for d in self.damaged) for p in ("corrupt", "missing",
                                                                           "record")}
        text += ", ".join(f"{n} {p}" for p, n in counts.items() if n)
        if self.repair:
            moved = sum(d.moved_to is not None for d in self.damaged)
            text += f"; {moved} damaged object(s) moved aside"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"repair": self.repair, "ok": self.ok, "versions": self.versions,
                "objects": self.objects, "bytes": self.bytes,
                "damaged": [d.to_dict() for d in self.damaged]}


def verify(stack: Stack, versions: Iterable[ArtifactVersion], *, repair: bool = False,
           progress: Callable[[int], None] | None = None) -> VerifyReport:
    """Re-hash the stored objects of ``versions``; ``progress(n)`` is told the bytes read."""
    store = stack.artifact_store
    report = VerifyReport(repair)
    by_uri: dict[str, list[ArtifactVersion]] = {}
    for av in versions:
        by_uri.setdefault(av.uri, []).append(av)
        report.versions += 1
    tick = progress or (lambda n: None)
    for uri, users in by_uri.items():
        report.objects += 1
        damage = _check(store, uri, users[0], tick)
        report.bytes += sum(int(entry[0]) for entry in (users[0].files or {}).values())
        if damage is None:
            continue
        problem, detail = damage
        found = Damage(uri, problem, detail, users)
        if repair and problem == "corrupt" and store.owned_by_zen(uri):
            found.moved_to = store.move_aside(uri, CORRUPT)
        found.fixes = [_fix(stack, av, found) for av in users]
        report.damaged.append(found)
    return report


def _check(store: Any, uri: str, av: ArtifactVersion, tick: Callable[[int], None]
           ) -> tuple[str, str] | None:
    """``(problem, detail)`` of one stored object, or ``None`` when it is intact."""
    try:
        check_record(store, uri=uri, files=av.files, content_hash=av.content_hash,
                     label=av.label)
    except ZenError as exc:
        return "record", str(exc)
    changed, missing = [], []
    for rel, (size, digest) in sorted((av.files or {}).items()):
        try:
            with store.open(f"{uri}/{rel}" if rel else uri, "rb") as f:
                actual = list(hash_stream(f))
        except FileNotFoundError:
            missing.append(rel or uri)
            continue
        tick(int(size))
        if actual != [size, digest]:
            changed.append(f"{rel or uri} ({actual[0]} bytes, {size} stored)"
                           if actual[0] != size else f"{rel or uri} (same size, other bytes)")
    if changed:
        return "corrupt", "changed: " + ", ".join(changed)
    if missing:
        return "missing", "missing: " + ", ".join(missing)
    return None


def _fix(stack: Stack, av: ArtifactVersion, damage: Damage) -> str:
    """What brings one damaged version back."""
    if av.origin == ArtifactOrigin.REGISTERED:
        return (f"{av.label}: its registered files at {av.uri} changed; zen_core never "
                f"rewrites them. Register them again (a new version) once they are right.")
    if damage.problem == "corrupt" and damage.moved_to is None:
        return (f"{av.label}: run `zen artifact verify {av.name}:{av.version} --repair` to move "
                f"the damaged object aside first, then save its data again.")
    if av.origin == ArtifactOrigin.SAVED:
        return f"{av.label}: save its data again with save_artifact(data, {av.name!r})."
    meta = stack.metadata_store
    step = meta.get_step_run(av.producer_step_run_id) if av.producer_step_run_id else None
    if step is None:
        where = "the step that produced it (its run was deleted)"
    else:
        run = meta.get_run(step.run_id)
        where = (f"step {step.name!r} of pipeline {step.pipeline_name!r} (run "
                 f"{run.name if run else step.run_id})")
    if damage.problem == "record":  # the cache cannot tell: its check trusts the record
        return f"{av.label}: rerun {where} with enable_cache=False."
    return f"{av.label}: rerun {where}; the rerun misses the cache and stores it again."
