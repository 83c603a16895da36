"""zen-fsspec: a worked example artifact store for any fsspec URL.

``path = "ftp://127.0.0.1:2121/zen"``, ``"memory://zen"``, ``"sftp://host/zen"``
...: the filesystem comes from the URL (and ``options``), and the base class
does everything else through it: staging, publishing, listing, deleting.
"""

from __future__ import annotations

from typing import Any

import attrs

from zen_core.artifact_stores import ArtifactStore
from zen_core.plugins import hookimpl


@attrs.frozen
class FsspecArtifactStoreConfig:
    path: str  # the root URL; artifacts go under <path>/.zen/
    options: dict[str, Any] = attrs.field(factory=dict)  # for the filesystem: user, password ...


class FsspecArtifactStore(ArtifactStore):
    """Artifacts under any URL fsspec understands."""

    FLAVOR = "fsspec"
    Config = FsspecArtifactStoreConfig

    def __init__(self, config: FsspecArtifactStoreConfig) -> None:
        super().__init__(config)
        # memory:// lives in this process only: orchestrators that run steps in
        # other processes refuse such a store instead of losing its data
        self.PROCESS_LOCAL = self.path.startswith("memory://")

    def _make_fs(self) -> Any:
        import fsspec  # imported when the store is first used, not when the plugin loads

        fs, _ = fsspec.core.url_to_fs(self.path, **self.config.options)
        return fs


@hookimpl
def zen_artifact_stores() -> list[type[ArtifactStore]]:
    return [FsspecArtifactStore]
