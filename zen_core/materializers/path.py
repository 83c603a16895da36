"""``pathlib.Path`` artifacts: a local file or folder copied into the store.

Loading gives a ``Path`` to a local temporary copy, so code that expects real
files (training frameworks, CLI tools) works whatever the store. The same
copy-out serves artifacts registered with ``register_artifact``.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from zen_core.hashing import CHUNK, VerifyingReader
from zen_core.materializers.base import ArtifactType, Materializer
from zen_core.plugins import hookimpl

_PAYLOAD = "payload"
_INFO = "path.json"
_temp_root: str | None = None


def local_temp_dir(prefix: str) -> Path:
    """A fresh folder under this process's temp root, removed when the process exits."""
    global _temp_root
    if _temp_root is None:
        _temp_root = tempfile.mkdtemp(prefix="zen-")
        atexit.register(shutil.rmtree, _temp_root, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=_temp_root))


class PathMaterializer(Materializer):
    """A local file or folder; loads as a ``Path`` to a temporary local copy."""

    ASSOCIATED_TYPES = (Path,)
    ASSOCIATED_ARTIFACT_TYPE = ArtifactType.DATA

    def save(self, data: Path) -> None:
        source = Path(data)
        if not source.exists():
            raise FileNotFoundError(f"path {str(source)!r} does not exist")
        kind = "dir" if source.is_dir() else "file"
        with self.open(_INFO, "wb") as f:
            f.write(json.dumps({"kind": kind, "name": source.name}).encode())
        files = sorted(p for p in source.rglob("*") if p.is_file()) if kind == "dir" else [source]
        for file in files:
            rel = _PAYLOAD if kind == "file" else f"{_PAYLOAD}/{file.relative_to(source).as_posix()}"
            with open(file, "rb") as src, self.open(rel, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)

    def load(self, data_type: type) -> Path:
        with self.open(_INFO, "rb") as f:
            info = json.loads(f.read())
        target = local_temp_dir("path-") / (info["name"] or "data")
        if info["kind"] == "file":
            self._copy_out(_PAYLOAD, target)
        else:
            target.mkdir(parents=True)
            for rel in self._payload_files():
                self._copy_out(rel, target / rel[len(_PAYLOAD) + 1 :])
        return target

    def _payload_files(self) -> list[str]:
        if self._expected is not None:
            return sorted(r for r in self._expected if r.startswith(_PAYLOAD + "/"))
        return sorted(_PAYLOAD + "/" + r for r in self.artifact_store.list_files(self.path(_PAYLOAD)))

    def _copy_out(self, rel: str, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        with self.open(rel, "rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)

    def extract_metadata(self, data: Path) -> dict[str, Any]:
        source = Path(data)
        if source.is_dir():
            files = [p for p in source.rglob("*") if p.is_file()]
            return {"kind": "dir", "files": len(files), "bytes": sum(p.stat().st_size for p in files)}
        return {"kind": "file", "bytes": source.stat().st_size}


class RegisteredPathMaterializer(Materializer):
    """A file or folder registered in place with ``register_artifact``.

    ``self.uri`` is the user's own file or folder: it is only read, never
    moved or deleted. Its manifest holds one entry ``""`` for a file, or the
    relative paths of a folder's files.
    """

    ASSOCIATED_TYPES = ()
    ASSOCIATED_ARTIFACT_TYPE = ArtifactType.DATA

    def load(self, data_type: type) -> Path:
        name = os.path.basename(self.uri.rstrip("/")) or "data"
        target = local_temp_dir("registered-") / name
        files = self._expected or {}
        if list(files) == [""]:
            self._copy(self.uri, target, files[""])
            return target
        target.mkdir(parents=True)
        for rel, expected in sorted(files.items()):
            self._copy(f"{self.uri}/{rel}", target / rel, expected)
        return target

    def _copy(self, uri: str, target: Path, expected: Any) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        raw = self.artifact_store.open(uri, "rb")
        with VerifyingReader(raw, expected, self._integrity_failure(uri)) as src, \
                open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)


@hookimpl
def zen_materializers() -> list[type[Materializer]]:
    return [PathMaterializer, RegisteredPathMaterializer]
