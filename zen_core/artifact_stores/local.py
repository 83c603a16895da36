"""The local artifact store: a folder on this machine, through fsspec's ``file`` filesystem."""

from __future__ import annotations

import errno
import os
from typing import Any

import attrs

from zen_core.artifact_stores.base import ArtifactStore
from zen_core.plugins import hookimpl


@attrs.frozen
class LocalArtifactStoreConfig:
    path: str


class LocalArtifactStore(ArtifactStore):
    """Artifacts in a local folder; publishing is one atomic ``rename``."""

    FLAVOR = "local"
    Config = LocalArtifactStoreConfig

    def __init__(self, config: LocalArtifactStoreConfig) -> None:
        super().__init__(config)
        self._made_dirs: set[str] = set()

    @staticmethod
    def _normalize_root(path: str) -> str:
        if path.startswith("file://"):
            path = path[len("file://") :]
        return os.path.abspath(os.path.expanduser(path))

    def _make_fs(self) -> Any:
        from fsspec.implementations.local import LocalFileSystem

        return LocalFileSystem(auto_mkdir=True)

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "_made_dirs": set()}

    def _strip(self, uri: str) -> str:
        if uri.startswith("file://"):
            uri = uri[len("file://") :]
        return os.path.abspath(os.path.expanduser(uri)) if uri else uri

    def exists(self, uri: str) -> bool:
        return os.path.exists(uri)

    def isdir(self, uri: str) -> bool:
        return os.path.isdir(self._strip(uri))

    def publish(self, staging_uri: str, content_hash: str) -> str:
        final = self.object_uri(content_hash)
        parent = os.path.dirname(final)
        if parent not in self._made_dirs:
            os.makedirs(parent, exist_ok=True)
            self._made_dirs.add(parent)
        try:
            os.rename(staging_uri, final)  # atomic: the folder appears complete or not at all
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            self.delete(staging_uri)  # identical content is already stored
        return final

    def makedirs(self, uri: str) -> None:
        os.makedirs(uri, exist_ok=True)


@hookimpl
def zen_artifact_stores() -> list[type[ArtifactStore]]:
    return [LocalArtifactStore]
