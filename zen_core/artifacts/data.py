"""Moving one artifact's data between Python and an artifact store.

Saving writes into a staging folder through the materializer (hashing in the
same pass), then publishes the folder under its content address. Only then
may metadata point at it, so nothing half-written is ever visible. Loading
verifies every file the materializer reads against the recorded manifest.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from zen_core.artifact_stores.base import CORRUPT
from zen_core.errors import (
    ArtifactDataMissingError,
    IntegrityError,
    MaterializerError,
    MaterializerNotFoundError,
    StoreError,
    ZenError,
)
from zen_core.hashing import combine, hash_stream
from zen_core.materializers.base import Materializer, qualified_name, remember_stored_type

if TYPE_CHECKING:
    from zen_core.artifact_stores.base import ArtifactStore
    from zen_core.materializers.registry import MaterializerRegistry


@attrs.frozen
class StoredData:
    """What saving produced: everything the metadata store records about the data.

    ``staging`` is set when identical content was stored already: the staging copy
    is kept until the version is recorded, then :func:`settle` checks that the
    object is still there (a prune may have deleted it meanwhile) and discards it.
    """

    uri: str
    content_hash: str
    size: int
    files: dict[str, list]
    materializer: str
    materializer_version: str
    type: str
    artifact_type: str
    metadata: dict[str, Any]
    visualizations: dict[str, str]
    staging: str | None = None


def save_data(store: ArtifactStore, mat_cls: type[Materializer], data: Any, *,
              allow_pickle: bool, label: str, staging: str | None = None) -> StoredData:
    """Materialize ``data`` into staging, hash it, publish it under its content address.

    ``staging``: a staging folder of the store that already holds files of this artifact
    (written by the step through ``get_step_context().get_output_artifact_uri()``); they
    are hashed and published with what the materializer writes. When the same content is
    stored already the object is reused and the staging copy kept
    (``StoredData.staging``): the caller records the version, then calls :func:`settle`.
    """
    from zen_core.materializers.builtin import PickleMaterializer

    given, staging = staging, None
    layer = "store"  # which one to blame: the materializer's save, or the store around it
    try:
        staging = given or store.new_staging_uri()
        layer = "materializer"
        mat = mat_cls(staging, store, allow_pickle=allow_pickle, label=label)
        if mat_cls is PickleMaterializer:
            PickleMaterializer.warn_or_refuse(type(data), allow_pickle)
        with mat._io_scope():
            mat.save(data)
            visualizations = dict(mat.save_visualizations(data) or {})
            metadata = dict(mat.extract_metadata(data) or {})
        layer = "store"
        files = (dict(mat.written) if mat_cls.WRITES_ONLY_THROUGH_OPEN and given is None
                 else _complete_manifest(store, staging, mat.written))
        content_hash = combine(files)
        if not files:
            store.makedirs(staging)
        placed = store.place(staging, content_hash, files)
    except BaseException as exc:
        if staging is not None:
            _discard(store, staging)
        if isinstance(exc, ZenError) or not isinstance(exc, Exception):
            raise
        unwritable = _unwritable(exc, store)
        if unwritable:
            raise StoreError(
                f"cannot save artifact {label}: the artifact store {store.path!r} {unwritable} "
                f"({type(exc).__name__}: {exc}). Fix: {_UNWRITABLE_FIX[unwritable]}; nothing "
                f"was recorded.", artifact=label, store=store.path, reason=unwritable,
            ) from exc
        if layer == "store":
            raise StoreError(
                f"the artifact store {store.path!r} failed to publish artifact {label} (saved "
                f"by {mat_cls.__name__}): {type(exc).__name__}: {exc}. Fix: check that the "
                f"store is reachable and has space, then run again; the materializer is not "
                f"at fault and nothing was recorded.",
                artifact=label, uri=staging,
            ) from exc
        raise MaterializerError(
            f"{mat_cls.__name__} failed to save artifact {label} "
            f"({qualified_name(type(data))}) to {staging}: {type(exc).__name__}: {exc}",
            artifact=label, uri=staging,
        ) from exc
    final = placed.uri
    return StoredData(
        uri=final,
        content_hash=content_hash,
        size=sum(size for size, _ in files.values()),
        files=files,
        materializer=qualified_name(mat_cls),
        materializer_version=str(mat_cls.VERSION),
        type=remember_stored_type(type(data)),
        artifact_type=str(mat_cls.ASSOCIATED_ARTIFACT_TYPE),
        metadata=metadata,
        visualizations={final + uri[len(staging):] if uri.startswith(staging) else uri: str(kind)
                        for uri, kind in visualizations.items()},
        staging=placed.kept_staging,
    )


_UNWRITABLE_FIX = {
    "is read-only": "mount it writable, or point the stack's artifact_store.path at a "
                    "writable place",
    "may not be written by this user": "give this user write access to it (or run as one "
                                       "who has), or point the stack's artifact_store.path at "
                                       "a writable place",
    "is full": "free space there (`zen artifact prune` removes what no run needs) or grow "
               "the volume, then run again",
}


def _unwritable(exc: BaseException, store: ArtifactStore) -> str | None:
    """Why a store refuses writes, from the OS error anywhere in ``exc``'s chain (a denied
    read of the user's own file, say by the path materializer, is not the store's)."""
    import errno

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        code = getattr(exc, "errno", None)
        if code == errno.EROFS:
            return "is read-only"
        filename = getattr(exc, "filename", None)
        if code in (errno.EACCES, errno.EPERM) and (
                filename is None or store.contains(str(filename))):
            return "may not be written by this user"
        if code in (errno.ENOSPC, errno.EDQUOT):
            return "is full"
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return None


def settle(store: ArtifactStore, stored: StoredData) -> None:
    """Finish a save whose version is recorded (and committed, so prunes count it).

    A save that reused an already stored object kept its staging copy; if the object
    was deleted (by a prune that counted its users before this version existed) or moved
    aside as corrupt meanwhile, the copy publishes it again; then the copy goes.
    """
    if stored.staging is None:
        return
    try:
        if data_present(store, stored.uri, stored.files):
            store.discard_staging(stored.staging)
        else:
            store.publish(stored.staging, stored.content_hash)
    except ZenError:
        raise
    except Exception as exc:
        raise StoreError(
            f"the artifact store {store.path!r} could not confirm the data at {stored.uri} "
            f"after its version was recorded: {type(exc).__name__}: {exc}. Fix: check the "
            f"store, then run `zen artifact verify`; a rerun stores missing data again.",
            uri=stored.uri, staging=stored.staging) from exc


def abandon(store: ArtifactStore, stored: StoredData) -> None:
    """Drop what a save kept when its version could not be recorded."""
    if stored.staging is not None:
        _discard(store, stored.staging)


def _complete_manifest(store: ArtifactStore, staging: str,
                       written: dict[str, list]) -> dict[str, list]:
    """Add files the materializer wrote past ``self.open`` (hashed by a read)."""
    on_disk = store.list_files(staging)
    # a file rewritten past self.open after it was hashed has another size: hash it again
    files = {rel: entry for rel, entry in written.items() if on_disk.get(rel) == entry[0]}
    for rel in on_disk.keys() - files.keys():
        with store.open(f"{staging}/{rel}", "rb") as f:
            files[rel] = list(hash_stream(f))
    return files


def _discard(store: ArtifactStore, uri: str) -> None:
    try:
        store.discard_staging(uri)
    except Exception:  # leftover staging is removed by `zen artifact prune`
        pass


def load_data(store: ArtifactStore, registry: MaterializerRegistry, *, uri: str,
              materializer: str, type_path: str | None, files: dict[str, list] | None,
              allow_pickle: bool, label: str, data_type: Any = None,
              content_hash: str | None = None) -> Any:
    """Load an artifact's data, verifying what the materializer reads.

    The record is checked first: its URI must lie inside the store, and its manifest
    must exist (and match ``content_hash`` when given), so a tampered record is never
    read from elsewhere or loaded unverified.
    """
    check_record(store, uri=uri, files=files, content_hash=content_hash, label=label)
    try:
        mat_cls = registry.by_name(materializer)
        if data_type is None:
            data_type = registry.resolve_type(type_path, mat_cls) if type_path else object
    except MaterializerNotFoundError as exc:  # say which artifact could not be loaded
        raise MaterializerNotFoundError(f"cannot load artifact {label} ({uri}): {exc}",
                                        **{**exc.details, "artifact": label, "uri": uri}) from exc
    mat = mat_cls(uri, store, files=files, allow_pickle=allow_pickle, label=label)
    try:
        with mat._io_scope():
            value = mat.load(data_type)
        mat._close_reads()
    except IntegrityError as exc:
        if "actual" in exc.details and store.owned_by_zen(uri):  # the bytes, not the record
            raise _set_aside(store, uri, exc) from exc
        raise
    except ZenError:
        raise
    except Exception as exc:
        if isinstance(exc, OSError):
            missing = _missing_files(store, uri, files)
            if missing:
                what = (f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing "
                        f"from {uri}" if store.exists(uri) and missing != [""] else
                        f"{uri} does not exist")
                aside = [moved for h, moved in store.iter_aside(CORRUPT) if h == content_hash
                         ] if content_hash and store.owned_by_zen(uri) else []
                why = (f"It was found corrupt and moved aside to {aside[-1]}" if aside else
                       "It was deleted outside zen_core (or pruned with --only-artifact)")
                raise ArtifactDataMissingError(
                    f"the data of artifact {label} is missing from the store: {what}. {why}. "
                    f"Fix: rerun the step that produced it (or save it again).",
                    uri=uri, artifact=label, missing=missing,
                ) from exc
        raise MaterializerError(
            f"{mat_cls.__name__} failed to load artifact {label} from {uri}: "
            f"{type(exc).__name__}: {exc}",
            artifact=label, uri=uri,
        ) from exc
    return value


def _set_aside(store: ArtifactStore, uri: str, exc: IntegrityError) -> IntegrityError:
    """Move a corrupt object out of its content address so the advised repair works: the
    next save of the same content (a rerun, cached or not, or ``save_artifact``) then
    publishes a fresh copy instead of reusing the damaged one."""
    try:
        moved = store.move_aside(uri, CORRUPT)
    except Exception as move_exc:  # the data stays wrong either way: report both
        return IntegrityError(
            f"{exc} Moving the damaged object aside failed too ({type(move_exc).__name__}: "
            f"{move_exc}); run `zen artifact verify --repair` once the store is writable.",
            **exc.details)
    where = f"was moved aside to {moved}" if moved else "is gone already"
    return IntegrityError(
        f"{exc} The damaged object {where}, so the rerun (even with caching on) or a save "
        f"of the same data stores a fresh copy.", **{**exc.details, "moved_to": moved})


def check_record(store: ArtifactStore, *, uri: str, files: dict[str, list] | None,
                 content_hash: str | None, label: str) -> None:
    """Refuse a record that points outside the store or has no (or a forged) manifest."""
    if not store.contains(uri):
        raise StoreError(
            f"artifact {label} is recorded at {uri!r}, outside the active artifact store "
            f"(root {store.path!r}); zen_core reads only inside its store. Its record was "
            f"changed, or it belongs to another stack. Fix: activate the stack whose artifact "
            f"store holds it.", uri=uri, root=store.path, artifact=label)
    if files is None or (content_hash is not None and combine(files) != content_hash):
        problem = ("has no manifest of its stored files" if files is None else
                   "has a manifest that does not match its content hash")
        raise IntegrityError(
            f"artifact {label} {problem}: its record was changed after it was saved, and "
            f"zen_core does not load data it cannot verify. Fix: rerun the step that produced it "
            f"(with enable_cache=False) to store it again.", uri=uri, artifact=label)


def _missing_files(store: ArtifactStore, uri: str, files: dict[str, list] | None) -> list[str]:
    """The manifest's files that are gone from the store or have another size (one listing)."""
    if not files:
        return []
    if list(files) == [""]:  # a registered single file
        return [] if store.exists(uri) else [""]
    present = store.file_sizes(uri, files)
    return sorted(rel for rel, (size, _) in files.items() if present.get(rel) != size)


def data_present(store: ArtifactStore, uri: str, files: dict[str, list] | None) -> bool:
    """Whether every file of a manifest is in the store with its size (no hashing)."""
    return files is not None and not _missing_files(store, uri, files)


def zip_files(store: ArtifactStore, *, uri: str, files: dict[str, list] | None,
              content_hash: str, label: str, target: str | os.PathLike[str],
              overwrite: bool = False) -> None:
    """Write an artifact's stored files, verified, into the zip file ``target``.

    The zip appears whole or not at all (written beside it, then renamed), so a
    file that fails verification leaves nothing behind; its folders are created.
    """
    from zen_core.errors import DownloadExistsError, DownloadPathError

    path = Path(target)
    if path.suffix != ".zip":
        raise DownloadPathError(
            f"cannot save artifact {label} to {str(target)!r}: the files are saved as one zip "
            f"file, so the path must end with '.zip'. Fix: e.g. {str(path) + '.zip'!r}.",
            path=str(target))
    if path.exists() and not overwrite:
        raise DownloadExistsError(
            f"cannot save artifact {label} to {str(target)!r}: the file exists. Fix: choose "
            f"another path, or pass overwrite=True.", path=str(target))
    check_record(store, uri=uri, files=files, content_hash=content_hash, label=label)
    reader = Materializer(uri, store, files=files, label=label)  # reads verified files only
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for rel in sorted(files or {}):
                name = rel or uri.rstrip("/").rsplit("/", 1)[-1]  # a registered single file
                with reader.open(rel, "rb") as source, archive.open(name, "w") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
