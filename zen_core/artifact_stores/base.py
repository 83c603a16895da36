"""Artifact store interface: a root URI plus an fsspec filesystem.

zen_core owns only ``<root>/.zen/``: finished artifacts live under
``.zen/objects/<hash[:2]>/<hash>/`` (content-addressed, so identical data is
stored once), in-flight writes under ``.zen/staging/<host>-<pid>-<uuid>/``,
objects found corrupt under ``.zen/corrupt/`` and objects a prune is deleting
under ``.zen/trash/`` (both ``<hash>-<uuid>/``). Everything else under the
root belongs to the user (e.g. registered files) and is never moved or
deleted by zen_core.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from zen_core.components import Component
from zen_core.errors import StoreError

if TYPE_CHECKING:
    import fsspec

ZEN_DIR = ".zen"
CORRUPT = "corrupt"  # objects a load or `zen artifact verify --repair` found damaged
TRASH = "trash"  # objects a prune is deleting (put back if a save needs them after all)


@attrs.frozen
class Placement:
    """Where :meth:`ArtifactStore.place` put a staged object.

    ``kept_staging`` is the staging folder when identical content was stored already:
    the save keeps it until its version is recorded (see ``zen_core.artifacts.data.settle``).
    """

    uri: str
    kept_staging: str | None


def holds(present: dict[str, int], expected: dict[str, int]) -> bool:
    """Whether a listing has every expected file with its size (an empty object never counts,
    so it is published rather than assumed)."""
    return bool(expected) and all(present.get(rel) == size for rel, size in expected.items())


def manifest_sizes(files: dict[str, list]) -> dict[str, int]:
    """``{relative_path: size}`` of a manifest (``{relative_path: [size, digest]}``)."""
    return {rel: int(entry[0]) for rel, entry in files.items()}


@attrs.frozen
class StagingEntry:
    """A staging folder left behind, with enough to tell whether its writer still lives."""

    uri: str
    host: str
    pid: int
    mtime: float | None

    @staticmethod
    def new_name() -> str:
        """``<host>-<pid>-<uuid>``: prune spares the folders of writers still alive."""
        return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex}"

    @classmethod
    def parse(cls, uri: str, mtime: float | None) -> StagingEntry:
        host, pid, _ = (uri.rstrip("/").rsplit("/", 1)[-1].rsplit("-", 2) + ["", ""])[:3]
        return cls(uri, host, int(pid) if pid.isdigit() else -1, mtime)


@attrs.frozen
class IncompleteUpload:
    """An upload a writer started and never completed (an S3 multipart upload): storage
    the service keeps, and may bill, until it is aborted."""

    uri: str  # the object it would have become
    upload_id: str
    started: float | None


class ArtifactStore(Component):
    """Base class for artifact stores; subclasses set ``FLAVOR`` and ``Config``.

    ``Config`` has a ``path``: the root URI, in whatever form the filesystem
    understands (``memory://zen``, ``ftp://host:2121/zen``, ``s3://bucket/x``).
    A subclass builds the fsspec filesystem (:meth:`_make_fs`) and the base
    does everything else through it: URIs map to filesystem paths and back
    relative to the root, folders are created where the filesystem does not
    create them, and :meth:`publish` is safe between processes. Override
    :meth:`publish` only where the backend has a cheaper atomic move (local
    rename, server-side copy); set ``PROCESS_LOCAL`` for a store whose data
    only this process can see (``memory://``).
    """

    PROCESS_LOCAL: ClassVar[bool] = False

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.path = self._normalize_root(config.path)
        self._fs: fsspec.AbstractFileSystem | None = None
        self._made_dirs: set[str] = set()  # folders this process made: each made once

    # -- construction -------------------------------------------------------

    def _make_fs(self) -> fsspec.AbstractFileSystem:
        raise NotImplementedError(
            f"{type(self).__name__} must implement _make_fs() returning its fsspec filesystem")

    @staticmethod
    def _normalize_root(path: str) -> str:
        return path.rstrip("/") or "/"

    @property
    def fs(self) -> fsspec.AbstractFileSystem:
        if self._fs is None:
            self._fs = self._make_fs()
        return self._fs

    def __getstate__(self) -> dict[str, Any]:
        # Filesystems hold sockets and locks; workers rebuild theirs lazily.
        return {"config": self.config, "path": self.path, "_fs": None, "_made_dirs": set()}

    # -- layout -------------------------------------------------------------

    def join(self, *parts: str) -> str:
        return "/".join([self.path.rstrip("/"), *[p.strip("/") for p in parts if p]])

    @property
    def zen_root(self) -> str:
        return self.join(ZEN_DIR)

    def object_uri(self, content_hash: str) -> str:
        return self.join(ZEN_DIR, "objects", content_hash[:2], content_hash)

    def new_staging_uri(self) -> str:
        return self.join(ZEN_DIR, "staging", StagingEntry.new_name())

    def discard_staging(self, uri: str) -> None:
        """Remove a staging folder whose content is not needed (failed or duplicate)."""
        self.delete(uri)

    def contains(self, uri: str) -> bool:
        """Whether ``uri`` lies strictly inside this store's root."""
        return self._strip(uri).rstrip("/").startswith(self.path.rstrip("/") + "/")

    def links_leaving_root(self, uri: str) -> list[str]:
        """Paths at or under ``uri`` that are links to places outside the root (none where
        the filesystem has no links, as on object stores)."""
        return []

    def owned_by_zen(self, uri: str) -> bool:
        return self._strip(uri).startswith(self.zen_root + "/")

    def _strip(self, uri: str) -> str:
        """Normalize a URI for comparison with the root (protocol kept as written)."""
        return uri.rstrip("/")

    # -- URIs and filesystem paths --------------------------------------------

    @property
    def _root_fs_path(self) -> str:
        return self.fs._strip_protocol(self.path).rstrip("/") or "/"

    def _fs_path(self, uri: str) -> str:
        """The filesystem's path of a URI: the part after the root URI goes after the
        root's path, so hosts, ports and ``memory://name`` roots need no parsing here."""
        uri = uri.rstrip("/")
        rel = _relative(uri, self.path)
        if rel is None:
            return self.fs._strip_protocol(uri)
        root = self._root_fs_path
        return root if not rel else f"{root.rstrip('/')}/{rel}"

    def _as_uri(self, fs_path: str) -> str:
        """The URI, in the root's own spelling, of a path a listing returned."""
        rel = _relative(fs_path.rstrip("/"), self._root_fs_path)
        if rel is None:
            return self.fs.unstrip_protocol(fs_path)
        return self.path if not rel else f"{self.path.rstrip('/')}/{rel}"

    def _fresh(self) -> None:
        """Forget cached listings: other processes publish and prune under the same root."""
        self.fs.invalidate_cache()

    # -- operations ---------------------------------------------------------

    def open(self, uri: str, mode: str = "rb", **kwargs: Any) -> Any:
        if mode[0] in "wax":
            self._make_parent(uri)
        return self.fs.open(self._fs_path(uri), mode, **kwargs)

    def exists(self, uri: str) -> bool:
        self._fresh()
        return self.fs.exists(self._fs_path(uri))

    def isdir(self, uri: str) -> bool:
        self._fresh()
        return self.fs.isdir(self._fs_path(uri))

    def makedirs(self, uri: str) -> None:
        """Create a folder and its parents. Another process creating them at the same time
        is fine (some filesystems then fail a step of ``makedirs``: it is tried again)."""
        path = self._fs_path(uri)
        for attempt in range(_MAKEDIRS_ATTEMPTS):
            try:
                self.fs.makedirs(path, exist_ok=True)
                break
            except Exception:
                self._fresh()
                if self.fs.isdir(path):
                    break
                if attempt == _MAKEDIRS_ATTEMPTS - 1:
                    raise
        self._made_dirs.add(uri.rstrip("/"))

    def _make_parent(self, uri: str) -> None:
        parent = uri.rstrip("/").rsplit("/", 1)[0]
        if parent not in self._made_dirs and _relative(parent, self.path) is not None:
            self.makedirs(parent)

    def delete(self, uri: str) -> None:
        path = self._fs_path(uri)
        self._fresh()
        if self.fs.exists(path):
            # a single file without recursive=True: some filesystems (FTP) refuse it otherwise
            self.fs.rm(path, recursive=self.fs.isdir(path))
        gone = uri.rstrip("/")
        self._made_dirs = {d for d in self._made_dirs if _relative(d, gone) is None}

    def list_files(self, uri: str) -> dict[str, int]:
        """``{relative_path: size}`` of every file under a folder URI."""
        base = self._fs_path(uri).rstrip("/")
        self._fresh()
        out = {}
        for path, info in self.fs.find(base, detail=True).items():
            if info.get("type") == "directory":
                continue
            rel = path[len(base) + 1 :] if path.startswith(base + "/") else os.path.basename(path)
            out[rel] = int(info.get("size") or 0)
        return out

    def file_sizes(self, uri: str, names: Iterable[str]) -> dict[str, int]:
        """``{relative_path: size}`` of those of ``names`` that are files under the folder
        ``uri`` (the others left out): what checking a manifest needs. The default lists
        the folder; a store where asking each file is cheaper may do that instead."""
        present = self.list_files(uri)
        return {name: present[name] for name in names if name in present}

    def modified(self, uri: str) -> float | None:
        """When ``uri`` last changed (seconds since the epoch), or ``None`` if unknown."""
        self._fresh()
        try:
            return _as_timestamp(self.fs.info(self._fs_path(uri)).get("mtime"))
        except FileNotFoundError:
            return None

    def size_of(self, uri: str) -> int:
        return sum(self.list_files(uri).values())

    def place(self, staging_uri: str, content_hash: str,
              files: dict[str, list] | None = None) -> Placement:
        """Publish a finished staging folder at its content address, or reuse what is there.

        When the address already holds every file of the manifest ``files`` (default: what
        is staged) with its size, one listing and no hashing, that object is used and the
        staging folder is left in place as ``kept_staging``. Otherwise the staging folder
        is published (:meth:`publish`: files missing or of another size, a damaged object's,
        are replaced) and is gone.
        """
        final = self.object_uri(content_hash)
        expected = manifest_sizes(files) if files is not None else self.list_files(staging_uri)
        if holds(self.list_files(final), expected):
            return Placement(final, staging_uri)
        return Placement(self.publish(staging_uri, content_hash), None)

    def publish(self, staging_uri: str, content_hash: str) -> str:
        """Move a finished staging folder to its content address; return the final URI.

        Safe between processes without locks: files move one by one to paths named
        by the content hash, so a concurrent publisher of the same content moves the
        same bytes to the same places, and a file already there with its size is kept
        (identical content, or a publish cut short earlier); one missing or of another
        size (a damaged object) is replaced. Metadata points at the object only after
        this returns, so no reader sees it half-published.
        """
        final = self.object_uri(content_hash)
        staged = self.list_files(staging_uri)
        present = self.list_files(final) if staged else {}
        for rel, size in sorted(staged.items()):
            if present.get(rel) != size:
                self._move_file(f"{staging_uri}/{rel}", f"{final}/{rel}", size)
        if not staged:
            self.makedirs(final)
        self.discard_staging(staging_uri)
        return final

    def move_aside(self, uri: str, area: str) -> str | None:
        """Move the stored object at ``uri`` to ``.zen/<area>/<hash>-<uuid>`` (``CORRUPT`` or
        ``TRASH``); return its new URI, or ``None`` when nothing was there.

        Its content address is then free: the next save of that content publishes a fresh
        copy. The default moves file by file; override it where the backend renames a
        folder at once.
        """
        files = self.list_files(uri)
        if not files:
            self.delete(uri)  # an empty folder, or nothing
            return None
        target = self.aside_uri(uri, area)
        for rel, size in sorted(files.items()):
            self._move_file(f"{uri}/{rel}", f"{target}/{rel}", size)
        self.delete(uri)
        return target

    def aside_uri(self, uri: str, area: str) -> str:
        """A fresh place under ``.zen/<area>/`` for the object at ``uri``."""
        name = uri.rstrip("/").rsplit("/", 1)[-1]
        return self.join(ZEN_DIR, area, f"{name}-{uuid.uuid4().hex[:12]}")

    def iter_aside(self, area: str) -> Iterator[tuple[str, str]]:
        """``(content_hash, uri)`` of every object moved to ``.zen/<area>/``."""
        root = self._fs_path(self.join(ZEN_DIR, area))
        self._fresh()
        if not self.fs.exists(root):
            return
        for info in self.fs.ls(root, detail=True):
            name = info["name"].rstrip("/").rsplit("/", 1)[-1]
            yield name.rsplit("-", 1)[0], self._as_uri(info["name"])

    def _move_file(self, source: str, target: str, size: int) -> None:
        """Move one file into the content address; losing a race to an identical file is fine."""
        self._make_parent(target)
        try:
            self.fs.mv(self._fs_path(source), self._fs_path(target))
        except Exception:
            if self._size(target) != size:  # not a concurrent publisher's identical file
                raise

    def _size(self, uri: str) -> int | None:
        self._fresh()
        try:
            return int(self.fs.info(self._fs_path(uri)).get("size") or 0)
        except FileNotFoundError:
            return None

    def iter_objects(self) -> Iterator[tuple[str, str]]:
        """``(content_hash, uri)`` of every stored object."""
        root = self._fs_path(self.join(ZEN_DIR, "objects"))
        self._fresh()
        if not self.fs.exists(root):
            return
        # listings with detail: their names are full paths on every filesystem (FTP's
        # plain listing gives bare names)
        for shard in self.fs.ls(root, detail=True):
            for obj in self.fs.ls(shard["name"], detail=True):
                name = obj["name"].rstrip("/").rsplit("/", 1)[-1]
                yield name, self._as_uri(obj["name"])

    def iter_staging(self) -> Iterator[StagingEntry]:
        root = self._fs_path(self.join(ZEN_DIR, "staging"))
        self._fresh()
        if not self.fs.exists(root):
            return
        for info in self.fs.ls(root, detail=True):
            mtime = _as_timestamp(info.get("mtime") or info.get("LastModified"))
            yield StagingEntry.parse(self._as_uri(info["name"]), mtime)

    def iter_incomplete_uploads(self) -> Iterator[IncompleteUpload]:
        """Uploads started under ``.zen/`` and never completed (a writer killed mid-write, in
        staging or straight to a content address); prune aborts those whose writer is gone
        (under staging) or that are older than its grace period (elsewhere). None where the
        backend has no such thing or cannot list them (the default)."""
        return iter(())

    def abort_upload(self, upload: IncompleteUpload) -> None:
        """Abort one upload :meth:`iter_incomplete_uploads` listed, freeing its storage."""
        raise NotImplementedError(f"{type(self).__name__} lists no incomplete uploads")

    def to_local(self, uri: str, target: str) -> None:
        """Copy a file or folder from the store to a local path."""
        path = self._fs_path(uri)
        if self.isdir(uri):
            self.fs.get(path.rstrip("/") + "/", target, recursive=True)
        else:
            self.fs.get(path, target)


_MAKEDIRS_ATTEMPTS = 5


def _relative(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` (``""`` for the root itself), or ``None`` if outside."""
    root = root.rstrip("/")
    if path == root or (not root and path == "/"):
        return ""
    if path.startswith(root + "/"):
        return path[len(root) + 1 :]
    return None


def _as_timestamp(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return value.timestamp()
    except AttributeError:
        return None


def check_inside(store: ArtifactStore, uri: str) -> None:
    if not store.contains(uri):
        raise StoreError(
            f"{uri!r} is outside the active artifact store (root: {store.path!r}). "
            f"Fix: copy the file or folder under the store root first, e.g. "
            f"{store.join('my_folder')!r}.",
            uri=uri, root=store.path,
        )
