"""Artifact store interface: a root URI plus an fsspec filesystem.

zen_core owns only ``<root>/.zen/``: finished artifacts live under
``.zen/objects/<hash[:2]>/<hash>/`` (content-addressed, so identical data is
stored once) and in-flight writes under ``.zen/staging/<host>-<pid>-<uuid>/``.
Everything else under the root belongs to the user (e.g. registered files)
and is never moved or deleted by zen_core.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import attrs

from zen_core.components import Component
from zen_core.errors import StoreError

if TYPE_CHECKING:
    import fsspec

ZEN_DIR = ".zen"


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


class ArtifactStore(Component):
    """Base class for artifact stores; subclasses set ``FLAVOR`` and ``Config``.

    Every read and write goes through :attr:`fs`. Subclasses normally only
    build the filesystem (:meth:`_make_fs`); :meth:`publish` may be overridden
    where the backend has a cheaper atomic move (local rename, server-side copy).
    """

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.path = self._normalize_root(config.path)
        self._fs: fsspec.AbstractFileSystem | None = None

    # -- construction -------------------------------------------------------

    def _make_fs(self) -> fsspec.AbstractFileSystem:
        raise NotImplementedError

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
        return {"config": self.config, "path": self.path, "_fs": None}

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

    # -- operations ---------------------------------------------------------

    def open(self, uri: str, mode: str = "rb", **kwargs: Any) -> Any:
        return self.fs.open(uri, mode, **kwargs)

    def exists(self, uri: str) -> bool:
        return self.fs.exists(uri)

    def isdir(self, uri: str) -> bool:
        return self.fs.isdir(uri)

    def makedirs(self, uri: str) -> None:
        self.fs.makedirs(uri, exist_ok=True)

    def delete(self, uri: str) -> None:
        if self.fs.exists(uri):
            self.fs.rm(uri, recursive=True)

    def list_files(self, uri: str) -> dict[str, int]:
        """``{relative_path: size}`` of every file under a folder URI."""
        base = self.fs._strip_protocol(uri).rstrip("/")
        out = {}
        for path, info in self.fs.find(uri, detail=True).items():
            if info.get("type") == "directory":
                continue
            rel = path[len(base) + 1 :] if path.startswith(base + "/") else os.path.basename(path)
            out[rel] = int(info.get("size") or 0)
        return out

    def modified(self, uri: str) -> float | None:
        """When ``uri`` last changed (seconds since the epoch), or ``None`` if unknown."""
        try:
            return _as_timestamp(self.fs.info(uri).get("mtime"))
        except FileNotFoundError:
            return None

    def size_of(self, uri: str) -> int:
        return sum(self.list_files(uri).values())

    def publish(self, staging_uri: str, content_hash: str) -> str:
        """Move a finished staging folder to its content address; return the final URI.

        Identical content already stored is kept and the staging copy dropped.
        The generic version copies file by file, which object stores do
        server-side; a reader never sees the final folder before metadata
        points at it, so the copy need not be atomic.
        """
        final = self.object_uri(content_hash)
        if self.fs.exists(final):
            self.discard_staging(staging_uri)
            return final
        self.fs.mv(staging_uri, final, recursive=True)
        return final

    def iter_objects(self) -> Iterator[tuple[str, str]]:
        """``(content_hash, uri)`` of every stored object."""
        root = self.join(ZEN_DIR, "objects")
        if not self.fs.exists(root):
            return
        for shard in self.fs.ls(root, detail=False):
            for obj in self.fs.ls(shard, detail=False):
                name = obj.rstrip("/").rsplit("/", 1)[-1]
                yield name, self._as_uri(obj)

    def iter_staging(self) -> Iterator[StagingEntry]:
        root = self.join(ZEN_DIR, "staging")
        if not self.fs.exists(root):
            return
        for info in self.fs.ls(root, detail=True):
            mtime = _as_timestamp(info.get("mtime") or info.get("LastModified"))
            yield StagingEntry.parse(self._as_uri(info["name"]), mtime)

    def _as_uri(self, fs_path: str) -> str:
        """Turn a path returned by ``fs.ls`` back into a URI in this store's style."""
        protocol = self.path.split("://", 1)[0] + "://" if "://" in self.path else ""
        return protocol + fs_path if protocol and not fs_path.startswith(protocol) else fs_path

    def to_local(self, uri: str, target: str) -> None:
        """Copy a file or folder from the store to a local path."""
        if self.fs.isdir(uri):
            self.fs.get(uri.rstrip("/") + "/", target, recursive=True)
        else:
            self.fs.get(uri, target)


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
