"""Artifacts outside pipelines: ``save_artifact``, ``load_artifact``, ``register_artifact``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from zen_core.artifact_stores.base import check_inside
from zen_core.artifacts.data import StoredData, abandon, save_data, settle
from zen_core.errors import ArtifactVersionExistsError, StoreError
from zen_core.hashing import combine, hash_stream
from zen_core.materializers.base import ArtifactType, qualified_name
from zen_core.metadata_stores.base import NewArtifactVersion
from zen_core.naming import validate_name, validate_version
from zen_core.records import ArtifactOrigin, ArtifactVersion

if TYPE_CHECKING:
    from zen_core.client import Client


def save_artifact(data: Any, name: str, version: str | int | None = None,
                  tags: Sequence[str] | None = None, materializer: type | None = None, *,
                  artifact_type: str | None = None,
                  user_metadata: Mapping[str, Any] | None = None) -> ArtifactVersion:
    """Store ``data`` as a new version of ``name`` (kept by prune: it was saved by name).

    ``user_metadata`` is recorded as the version's run metadata; ``artifact_type``
    (``"model"``, ``"data"`` ...) replaces the materializer's.
    """
    from zen_core.artifacts.artifact_config import check_artifact_type
    from zen_core.client import Client
    from zen_core.metadata.metadata_types import check_metadata, check_tags

    validate_name(name)
    tags = check_tags(tags or [])  # checked before anything is stored
    run_metadata = check_metadata(user_metadata or {}, "save_artifact(user_metadata=): ")
    if artifact_type is not None:
        artifact_type = check_artifact_type(artifact_type, "save_artifact")
    client = Client()
    stack = client.active_stack
    version = None if version is None else validate_version(version, name)
    if version is not None and stack.metadata_store.version_taken(name, version):
        raise ArtifactVersionExistsError.taken(name, version)
    mat = materializer or client.materializers.for_type(type(data),
                                                       allow_pickle=client.config.allow_pickle)
    stored = save_data(stack.artifact_store, mat, data, allow_pickle=client.config.allow_pickle,
                       label=repr(name))
    try:
        av = stack.metadata_store.create_artifact_version(NewArtifactVersion(
            name=name, data=stored, version=version, tags=tags, origin=ArtifactOrigin.SAVED,
            run_metadata=run_metadata, artifact_type=artifact_type))
    except BaseException:
        abandon(stack.artifact_store, stored)
        raise
    settle(stack.artifact_store, stored)
    return _announce(client, client._bind(av))


def load_artifact(name_or_id: str | uuid.UUID, version: str | int | None = None) -> Any:
    """The data of a version by name (latest unless ``version`` is given) or by id (any
    spelling, or a unique prefix), as ``Client.get_artifact_version`` finds it."""
    from zen_core.client import Client

    return Client().get_artifact_version(name_or_id, version).load()


def register_artifact(folder_or_file_uri: str, name: str, version: str | int | None = None,
                      tags: Sequence[str] | None = None) -> ArtifactVersion:
    """Record an existing file or folder inside the artifact store as a version of ``name``.

    The data stays where it is (zen_core never moves or deletes it); its
    content hash is recorded, and loading returns a ``Path`` to a local copy.
    """
    from zen_core.client import Client
    from zen_core.materializers.path import RegisteredPathMaterializer

    validate_name(name)
    version = None if version is None else validate_version(version, name)
    client = Client()
    stack = client.active_stack
    store = stack.artifact_store
    uri = store._strip(folder_or_file_uri).rstrip("/")
    if uri == store._strip(store.path).rstrip("/"):
        raise StoreError(
            f"cannot register {folder_or_file_uri!r}: it is the artifact store's root itself, "
            f"which also holds zen_core's own data. Fix: register a file or folder under it, "
            f"e.g. {store.join('my_folder')!r}.", uri=uri)
    check_inside(store, folder_or_file_uri)
    escapes = store.links_leaving_root(uri)
    if escapes:
        raise StoreError(
            f"cannot register {folder_or_file_uri!r}: {escapes[0]!r} is a link to a place "
            f"outside the artifact store (root {store.path!r}), and zen_core reads only inside "
            f"its store. Fix: copy the data under the root instead of linking to it.",
            uri=uri, link=escapes[0])
    if store.owned_by_zen(uri):
        raise StoreError(f"{folder_or_file_uri!r} lies inside zen_core's own folder "
                         f"{store.zen_root!r}. Fix: register files outside it.", uri=uri)
    if not store.exists(uri):
        raise StoreError(f"cannot register {folder_or_file_uri!r}: it does not exist in the "
                         f"artifact store {store.path!r}. Fix: write the file or folder first.",
                         uri=uri)
    if version is not None and stack.metadata_store.version_taken(name, version):
        raise ArtifactVersionExistsError.taken(name, version)
    if store.isdir(uri):
        files = {}
        for rel in store.list_files(uri):
            with store.open(f"{uri}/{rel}", "rb") as f:
                files[rel] = list(hash_stream(f))
        metadata: dict[str, Any] = {"kind": "dir", "files": len(files)}
    else:
        with store.open(uri, "rb") as f:
            files = {"": list(hash_stream(f))}
        metadata = {"kind": "file"}
    stored = StoredData(
        uri=uri, content_hash=combine(files), size=sum(s for s, _ in files.values()), files=files,
        materializer=qualified_name(RegisteredPathMaterializer),
        materializer_version=str(RegisteredPathMaterializer.VERSION), type="pathlib.Path",
        artifact_type=str(ArtifactType.DATA), metadata=metadata, visualizations={})
    av = stack.metadata_store.create_artifact_version(NewArtifactVersion(
        name=name, data=stored, version=version, tags=list(tags or ()),
        origin=ArtifactOrigin.REGISTERED))
    return _announce(client, client._bind(av))


def _announce(client: Client, av: ArtifactVersion) -> ArtifactVersion:
    from zen_core.plugins import notify

    notify(client.context.plugin_manager, "zen_after_artifact_saved", artifact_version=av)
    return av

