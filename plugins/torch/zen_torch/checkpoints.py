"""Register checkpoint files written during training as versions of one artifact.

The guide's "Register Framework Checkpoints" registers a whole checkpoint
folder once training ends. :class:`CheckpointRegistrar` registers each
checkpoint file as its own version while training runs, from a plain loop::

    ckpts = CheckpointRegistrar("mnist_checkpoints")
    for epoch in range(3):
        train_one_epoch(model)
        ckpts.save(model.state_dict(), f"epoch-{epoch:02d}.pt")   # written and registered

or after a framework (e.g. Lightning's ``ModelCheckpoint``) wrote files into
``ckpts.folder``: ``ckpts.scan()`` registers the ones not registered yet.
The files stay where they are (zen_core never moves or deletes registered
files); ``.load()`` of a version gives a local ``Path`` to a copy.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Sequence
from typing import Any

from zen_core.errors import StoreError

__all__ = ["CheckpointRegistrar", "register_checkpoints"]


class CheckpointRegistrar:
    """Registers checkpoint files under ``folder`` as new versions of artifact ``name``.

    ``folder`` must lie inside the active artifact store (default: a fresh
    ``<store>/checkpoints/<uuid>`` folder). Works with any store, local or not.
    """

    def __init__(self, name: str, folder: str | None = None, *,
                 tags: Sequence[str] | None = None) -> None:
        from zen_core.artifact_stores import check_inside
        from zen_core.artifacts import validate_name
        from zen_core.client import Client

        validate_name(name)
        store = Client().active_stack.artifact_store
        self.name = name
        self.tags = list(tags or ())
        self.folder = (folder or os.path.join(store.path, "checkpoints", uuid.uuid4().hex)).rstrip("/")
        check_inside(store, self.folder)
        self._registered: set[str] | None = None

    @property
    def _store(self) -> Any:
        from zen_core.client import Client

        return Client().active_stack.artifact_store

    def path(self, filename: str) -> str:
        """The URI of ``filename`` inside the checkpoint folder (for frameworks that write it)."""
        if not filename or filename.startswith("/") or ".." in filename.replace("\\", "/").split("/"):
            raise StoreError(
                f"checkpoint file name {filename!r} must be a relative path inside "
                f"{self.folder!r} without '..'. Fix: pass a plain name like 'epoch-03.pt'.",
                path=filename)
        return f"{self.folder}/{filename}"

    def save(self, obj: Any, filename: str, *, version: str | None = None) -> Any:
        """``torch.save(obj)`` to ``folder/filename`` and register it; returns the version."""
        import torch

        buffer = io.BytesIO()
        torch.save(obj, buffer)
        uri = self.path(filename)
        store = self._store
        store.makedirs(self.folder)
        with store.open(uri, "wb") as f:
            f.write(buffer.getbuffer())
        return self.register(uri, version=version)

    def register(self, file_uri: str, *, version: str | None = None) -> Any:
        """Register one checkpoint file already written (a URI or a name inside ``folder``)."""
        from zen_core import register_artifact

        uri = file_uri if file_uri.startswith(self.folder) else self.path(file_uri)
        av = register_artifact(uri, self.name, version=version, tags=self.tags)
        self._known().add(av.uri)
        return av

    def scan(self) -> list[Any]:
        """Register every file in ``folder`` not registered yet (in name order)."""
        store = self._store
        if not store.exists(self.folder):
            return []
        known = self._known()
        new = []
        for rel in sorted(store.list_files(self.folder)):
            uri = f"{self.folder}/{rel}"
            if store._strip(uri) in known or uri in known:
                continue
            new.append(self.register(uri))
        return new

    def versions(self) -> list[Any]:
        """The artifact versions registered from this folder, oldest first."""
        from zen_core.client import Client

        prefix = self._store._strip(self.folder) + "/"
        return [av for av in Client().list_artifact_versions(name=self.name)
                if av.uri.startswith(prefix)]

    def _known(self) -> set[str]:
        if self._registered is None:
            self._registered = {av.uri for av in self.versions()}
        return self._registered


def register_checkpoints(folder_uri: str, name: str, *,
                         tags: Sequence[str] | None = None) -> list[Any]:
    """Register each checkpoint file in ``folder_uri`` not yet registered as a version of ``name``.

    Safe to call repeatedly (after every epoch, or once at the end): files
    already registered under ``name`` are skipped.
    """
    return CheckpointRegistrar(name, folder_uri, tags=tags).scan()
