"""The contract every artifact store passes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zen_core.artifact_stores.base import ArtifactStore
from zen_core.artifacts.data import load_data, save_data
from zen_core.errors import IntegrityError
from zen_core.materializers.builtin import BytesMaterializer
from zen_core.materializers.registry import MaterializerRegistry


class ArtifactStoreContract:
    """What the core needs from an artifact store. Provide an ``artifact_store`` fixture
    (a fresh, empty root per test)."""

    def test_write_read_and_list(self, artifact_store: ArtifactStore) -> None:
        uri = artifact_store.join("user", "a", "b.bin")
        with artifact_store.open(uri, "wb") as f:
            f.write(b"hello")
        assert artifact_store.exists(uri)
        with artifact_store.open(uri, "rb") as f:
            assert f.read() == b"hello"
        assert artifact_store.list_files(artifact_store.join("user")) == {"a/b.bin": 5}

    def test_publish_moves_staging_to_content_address(self, artifact_store: ArtifactStore) -> None:
        stored = save_data(artifact_store, BytesMaterializer, b"x" * 1000, allow_pickle=False, label="'t'")
        assert stored.uri == artifact_store.object_uri(stored.content_hash)
        assert artifact_store.exists(stored.uri)
        assert dict(artifact_store.iter_objects()) == {stored.content_hash: stored.uri}
        _assert_no_staged_data(artifact_store)

    def test_identical_content_is_stored_once(self, artifact_store: ArtifactStore) -> None:
        a = save_data(artifact_store, BytesMaterializer, b"same", allow_pickle=False, label="'a'")
        b = save_data(artifact_store, BytesMaterializer, b"same", allow_pickle=False, label="'b'")
        assert a.uri == b.uri
        assert len(dict(artifact_store.iter_objects())) == 1
        _assert_no_staged_data(artifact_store)

    def test_load_verifies(self, artifact_store: ArtifactStore) -> None:
        stored = save_data(artifact_store, BytesMaterializer, b"payload", allow_pickle=False, label="'p'")
        registry = MaterializerRegistry([("t", BytesMaterializer)])
        kwargs = dict(uri=stored.uri, materializer=stored.materializer, type_path=stored.type,
                      allow_pickle=False, label="'p'")
        assert load_data(artifact_store, registry, files=stored.files, **kwargs) == b"payload"
        with artifact_store.open(f"{stored.uri}/data.bin", "wb") as f:
            f.write(b"PAYLOAD")
        with pytest.raises(IntegrityError, match="data.bin"):
            load_data(artifact_store, registry, files=stored.files, **kwargs)

    def test_contains(self, artifact_store: ArtifactStore) -> None:
        assert artifact_store.contains(artifact_store.join("x", "y"))
        assert not artifact_store.contains(artifact_store.path + "-other/x")
        assert artifact_store.owned_by_zen(artifact_store.object_uri("ab" * 16))
        assert not artifact_store.owned_by_zen(artifact_store.join("mine"))

    def test_staging_entries_name_their_writer(self, artifact_store: ArtifactStore) -> None:
        uri = artifact_store.new_staging_uri()
        with artifact_store.open(uri + "/f", "wb") as f:
            f.write(b"1")
        entries = list(artifact_store.iter_staging())
        assert [e.pid for e in entries] == [os.getpid()]

    def test_a_pickled_store_works_in_another_process(self, artifact_store: ArtifactStore) -> None:
        """Orchestrators send the store to other processes (dask workers) by pickle."""
        import pickle

        with artifact_store.open(artifact_store.join("f.bin"), "wb") as f:
            f.write(b"payload")
        clone = pickle.loads(pickle.dumps(artifact_store))
        assert clone.path == artifact_store.path
        with clone.open(clone.join("f.bin"), "rb") as f:
            assert f.read() == b"payload"

    def test_delete_and_to_local(self, artifact_store: ArtifactStore, tmp_path: Path) -> None:
        folder = artifact_store.join("dir")
        for rel in ("a.txt", "sub/b.txt"):
            with artifact_store.open(f"{folder}/{rel}", "wb") as f:
                f.write(rel.encode())
        target = tmp_path / "copy"
        artifact_store.to_local(folder, str(target))
        assert (target / "sub" / "b.txt").read_text() == "sub/b.txt"
        artifact_store.delete(folder)
        assert not artifact_store.exists(f"{folder}/a.txt")


def _assert_no_staged_data(store: ArtifactStore) -> None:
    """Staging may keep empty folders for reuse, but never data."""
    leftovers = {e.uri: store.list_files(e.uri) for e in store.iter_staging()}
    assert all(files == {} for files in leftovers.values()), leftovers
