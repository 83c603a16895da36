"""The contract every artifact store passes, publishing included."""

from __future__ import annotations

import json
import os
import traceback
from pathlib import Path
from typing import Any

import attrs
import pytest

from zen_core.artifact_stores.base import CORRUPT, TRASH, ArtifactStore
from zen_core.artifacts.data import StoredData, load_data, save_data, settle
from zen_core.errors import ArtifactDataMissingError, IntegrityError, MaterializerError
from zen_core.materializers.base import Materializer
from zen_core.materializers.builtin import BytesMaterializer
from zen_core.materializers.registry import MaterializerRegistry

PUBLISHERS = 3  # processes publishing the same content at once


@attrs.frozen
class MemoryArtifactStoreConfig:
    path: str  # e.g. "memory://zen"


class MemoryArtifactStore(ArtifactStore):
    """Artifacts in this process's memory, for tests: all a store over an fsspec filesystem
    needs is ``FLAVOR``, ``Config`` and the filesystem."""

    FLAVOR = "memory"
    Config = MemoryArtifactStoreConfig
    URL_SCHEMES = ("memory",)
    PROCESS_LOCAL = True  # other processes cannot see this memory

    def _make_fs(self) -> Any:
        from fsspec.implementations.memory import MemoryFileSystem

        return MemoryFileSystem()


class ArtifactStoreContract:
    """What the core needs from an artifact store. Provide an ``artifact_store`` fixture
    (a fresh, empty root per test).

    The store is sent to other processes by pickle, so its class must be importable
    there (an installed plugin's is); the concurrent-publish test is skipped for a
    store that declares ``PROCESS_LOCAL``.
    """

    def test_write_read_and_list(self, artifact_store: ArtifactStore) -> None:
        uri = artifact_store.join("user", "a", "b.bin")
        with artifact_store.open(uri, "wb") as f:
            f.write(b"hello")
        assert artifact_store.exists(uri)
        with artifact_store.open(uri, "rb") as f:
            assert f.read() == b"hello"
        assert artifact_store.list_files(artifact_store.join("user")) == {"a/b.bin": 5}

    def test_file_sizes_are_those_of_the_listing(self, artifact_store: ArtifactStore) -> None:
        """file_sizes gives the listed size of each named file, and leaves out names that
        are missing or are folders."""
        for rel, data in (("top.bin", b"abc"), ("a/b.bin", b"hello"), ("empty", b"")):
            with artifact_store.open(artifact_store.join("user", rel), "wb") as f:
                f.write(data)
        folder = artifact_store.join("user")
        names = ["top.bin", "a/b.bin", "empty", "a", "missing.bin", "a/missing"]
        assert artifact_store.file_sizes(folder, names) == {"top.bin": 3, "a/b.bin": 5,
                                                            "empty": 0}
        assert artifact_store.file_sizes(artifact_store.join("nowhere"), names) == {}

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
        assert a.staging is None and b.staging is not None  # kept until b is recorded
        settle(artifact_store, b)
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

    def test_a_corrupt_object_is_moved_aside_on_load_so_a_new_save_repairs_it(
            self, artifact_store: ArtifactStore) -> None:
        """Defect 1: a load that fails verification frees the content address, so saving the
        same content again (the advised repair) publishes a fresh copy."""
        stored = save_data(artifact_store, FilesMaterializer, NESTED, allow_pickle=False,
                           label="'c'")
        _damage(artifact_store, f"{stored.uri}/a/mid.bin", b"M" * 2000)  # same size: only a
        with pytest.raises(IntegrityError, match=r"moved aside to \S+/\.zen/corrupt/"):
            _load(artifact_store, stored)  # hash tells
        assert artifact_store.list_files(stored.uri) == {}
        [(aside_hash, aside)] = list(artifact_store.iter_aside(CORRUPT))
        assert aside_hash == stored.content_hash
        assert artifact_store.list_files(aside)["a/mid.bin"] == 2000
        again = save_data(artifact_store, FilesMaterializer, NESTED, allow_pickle=False,
                          label="'c'")
        assert again.uri == stored.uri and again.staging is None  # published afresh
        assert _load(artifact_store, again) == NESTED

    @pytest.mark.parametrize("damage", ["truncated", "deleted"])
    def test_a_save_replaces_a_damaged_object_instead_of_reusing_it(
            self, artifact_store: ArtifactStore, damage: str) -> None:
        """A dedup hit compares the stored object's file names and sizes with the new manifest
        (one listing): a file missing or of another size is replaced, not trusted."""
        stored = save_data(artifact_store, FilesMaterializer, NESTED, allow_pickle=False,
                           label="'d'")
        if damage == "truncated":
            _damage(artifact_store, f"{stored.uri}/top.bin", b"t" * 10)
        else:
            artifact_store.delete(f"{stored.uri}/a/b/c/leaf.bin")
        again = save_data(artifact_store, FilesMaterializer, NESTED, allow_pickle=False,
                          label="'d'")
        assert again.staging is None  # not a dedup hit
        assert artifact_store.list_files(again.uri) == _sizes(NESTED)
        assert _load(artifact_store, again) == NESTED
        _assert_no_staged_data(artifact_store)

    def test_a_dedup_hit_keeps_its_staging_copy_until_settled(
            self, artifact_store: ArtifactStore) -> None:
        """The race of a save deduplicating onto an object that a prune deletes: the save
        keeps its staging copy until its version is recorded; settling republishes from it
        when the object is gone, and discards it otherwise."""
        first = save_data(artifact_store, FilesMaterializer, NESTED, allow_pickle=False,
                          label="'r'")
        again = save_data(artifact_store, FilesMaterializer, NESTED, allow_pickle=False,
                          label="'r'")
        assert again.uri == first.uri and again.staging is not None
        assert artifact_store.list_files(again.staging) == _sizes(NESTED)
        artifact_store.delete(first.uri)  # a prune that counted the users before this save
        settle(artifact_store, again)
        assert _load(artifact_store, again) == NESTED
        _assert_no_staged_data(artifact_store)
        third = save_data(artifact_store, FilesMaterializer, NESTED, allow_pickle=False,
                          label="'r'")
        settle(artifact_store, third)  # the object is there: the copy just goes
        assert artifact_store.list_files(third.uri) == _sizes(NESTED)
        _assert_no_staged_data(artifact_store)

    def test_move_aside_frees_the_content_address(self, artifact_store: ArtifactStore) -> None:
        stored = save_data(artifact_store, FilesMaterializer, NESTED, allow_pickle=False,
                           label="'m'")
        moved = artifact_store.move_aside(stored.uri, TRASH)
        assert artifact_store.owned_by_zen(moved) and not artifact_store.exists(stored.uri)
        assert artifact_store.list_files(moved) == _sizes(NESTED)
        assert [h for h, _ in artifact_store.iter_aside(TRASH)] == [stored.content_hash]
        assert artifact_store.move_aside(stored.uri, TRASH) is None  # nothing there any more
        assert artifact_store.publish(moved, stored.content_hash) == stored.uri  # put back
        assert _load(artifact_store, stored) == NESTED
        assert list(artifact_store.iter_aside(TRASH)) == []

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

    def test_no_parent_folders_are_assumed(self, artifact_store: ArtifactStore) -> None:
        """FTP, SFTP and WebDAV create no folders on write: the store makes the parents."""
        deep = artifact_store.join("user", "a", "b", "c", "d.bin")
        with artifact_store.open(deep, "wb") as f:
            f.write(b"deep")
        assert artifact_store.list_files(artifact_store.join("user")) == {"a/b/c/d.bin": 4}
        stored = save_data(artifact_store, FilesMaterializer, NESTED, allow_pickle=False,
                           label="'nested'")
        assert artifact_store.list_files(stored.uri) == _sizes(NESTED)
        assert _load(artifact_store, stored) == NESTED

    def test_listings_give_uris_under_the_root(self, artifact_store: ArtifactStore) -> None:
        """What listings return maps back to URIs in the root's own spelling (host, port,
        ``memory://name`` included), so they compare equal to what publish returned."""
        stored = save_data(artifact_store, BytesMaterializer, b"listed", allow_pickle=False,
                           label="'l'")
        assert [uri for _, uri in artifact_store.iter_objects()] == [stored.uri]
        staging = artifact_store.new_staging_uri()
        with artifact_store.open(f"{staging}/f", "wb") as f:
            f.write(b"1")
        assert staging in [e.uri for e in artifact_store.iter_staging()]
        assert all(artifact_store.contains(e.uri) for e in artifact_store.iter_staging())

    def test_concurrent_publishers_of_the_same_content(self, artifact_store: ArtifactStore
                                                       ) -> None:
        """Processes publishing identical content at once all succeed, and the object is
        stored once, complete, and loads verified."""
        if artifact_store.PROCESS_LOCAL:
            pytest.skip("a process-local store cannot be shared between processes")
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")  # no inherited sockets, locks or threads
        barrier, results = ctx.Barrier(PUBLISHERS), ctx.Queue()
        procs = [ctx.Process(target=_publish_in_child,
                             args=(artifact_store, NESTED, barrier, results))
                 for _ in range(PUBLISHERS)]
        for proc in procs:
            proc.start()
        try:
            outcomes = [results.get(timeout=120) for _ in procs]
        finally:
            for proc in procs:
                proc.join(timeout=30)
        errors = [o[1] for o in outcomes if o[0] == "error"]
        assert not errors, "a concurrent publisher failed:\n" + "\n".join(errors)
        stored = {o[1].uri for o in outcomes}
        assert len(stored) == 1, stored
        first = outcomes[0][1]
        assert artifact_store.list_files(first.uri) == _sizes(NESTED)  # complete, nothing more
        assert [uri for _, uri in artifact_store.iter_objects()] == [first.uri]
        assert _load(artifact_store, first) == NESTED
        _assert_no_staged_data(artifact_store)

    def test_a_failing_save_leaves_nothing(self, artifact_store: ArtifactStore) -> None:
        class Exploding(BytesMaterializer):
            def extract_metadata(self, data: Any) -> dict[str, Any]:
                raise RuntimeError("boom")

        with pytest.raises(MaterializerError, match="'doomed'.*boom"):
            save_data(artifact_store, Exploding, b"x" * 100, allow_pickle=False, label="'doomed'")
        assert artifact_store.list_files(artifact_store.path) == {}

    def test_missing_data_names_the_artifact(self, artifact_store: ArtifactStore) -> None:
        stored = save_data(artifact_store, BytesMaterializer, b"gone", allow_pickle=False,
                           label="'gone'")
        artifact_store.delete(stored.uri)
        registry = MaterializerRegistry([("t", BytesMaterializer)])
        with pytest.raises(ArtifactDataMissingError, match=r"'gone'.*missing"):
            load_data(artifact_store, registry, uri=stored.uri, materializer=stored.materializer,
                      type_path=stored.type, files=stored.files, allow_pickle=False,
                      label="'gone'")

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


class FilesMaterializer(Materializer):
    """``{relative_path: bytes}`` as those files (nested folders included), to publish
    more than one file; an index lists them."""

    ASSOCIATED_TYPES = (dict,)

    def save(self, data: dict[str, bytes]) -> None:
        for rel, content in data.items():
            with self.open(rel, "wb") as f:
                f.write(content)
        with self.open("index.json", "w") as f:
            json.dump(sorted(data), f)

    def load(self, data_type: type) -> dict[str, bytes]:
        with self.open("index.json", "r") as f:
            names = json.load(f)
        out = {}
        for rel in names:
            with self.open(rel, "rb") as f:
                out[rel] = f.read()
        return out


NESTED = {"top.bin": b"t" * 3000, "a/mid.bin": b"m" * 2000, "a/b/c/leaf.bin": b"l" * 1000}


def _sizes(files: dict[str, bytes]) -> dict[str, int]:
    return {**{rel: len(v) for rel, v in files.items()},
            "index.json": len(json.dumps(sorted(files)))}


def _load(store: ArtifactStore, stored: StoredData) -> Any:
    registry = MaterializerRegistry([("t", FilesMaterializer)])
    return load_data(store, registry, uri=stored.uri, materializer=stored.materializer,
                     type_path=stored.type, files=stored.files, allow_pickle=False, label="'t'")


def _publish_in_child(store: ArtifactStore, files: dict[str, bytes], barrier: Any,
                      results: Any) -> None:
    try:
        barrier.wait(timeout=60)  # all publish at the same moment
        stored = save_data(store, FilesMaterializer, files, allow_pickle=False, label="'race'")
        settle(store, stored)
        results.put(("ok", stored))
    except BaseException as exc:
        results.put(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))


def _damage(store: ArtifactStore, uri: str, content: bytes) -> None:
    """Overwrite a stored file behind zen_core's back (as a disk error or a tool could)."""
    with store.open(uri, "wb") as f:
        f.write(content)


def _assert_no_staged_data(store: ArtifactStore) -> None:
    """Staging may keep empty folders for reuse, but never data."""
    leftovers = {e.uri: store.list_files(e.uri) for e in store.iter_staging()}
    assert all(files == {} for files in leftovers.values()), leftovers
