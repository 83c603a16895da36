"""The contract of artifact stores on object storage (zen-s3, zen-gcs and the like).

A plugin's tests start the service once per session and give one fixture,
``store_options``: ``options(**overrides)`` returns the artifact store's config
table (with its ``flavor``) on a fresh prefix of a bucket on that service.
:class:`ObjectStoreFixtures` builds stores and stacks from it, for any test class
(``class TestMultipart(ObjectStoreFixtures)``); :class:`ObjectStoreContract`
adds the tests every such store passes: the artifact store contract, canonical
URIs, streaming and ranged reads, and the errors users meet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from zen_core.artifact_stores.object_store import ObjectStoreArtifactStore
from zen_core.testing.artifact_stores import ArtifactStoreContract

__all__ = ["ObjectStoreContract", "ObjectStoreFixtures", "write_store_stack"]

MiB = 2**20


def write_store_stack(zen_home: Path, artifact_store: dict[str, Any]) -> str:
    """Make a stack ``cloud`` with this artifact store table (and SQLite metadata in
    ``zen_home``) the active one; return the store's root URI."""
    from zen_core.stack import close_all
    from zen_core.testing.isolation import write_stack

    close_all()
    write_stack(zen_home, "cloud", artifact_store=artifact_store,
                metadata_store={"flavor": "sqlite", "path": str(zen_home / "zen.db")})
    return artifact_store["path"]


class ObjectStoreFixtures:
    """Stores and stacks from the plugin's ``store_options`` fixture."""

    @pytest.fixture
    def zen_home_for_stacks(self, monkeypatch: Any, tmp_path: Path) -> Iterator[Path]:
        from zen_core.stack import close_all
        from zen_core.testing.isolation import isolate_zen_home

        yield isolate_zen_home(monkeypatch, tmp_path)
        close_all()

    @pytest.fixture
    def artifact_store(self, store_options: Callable[..., dict[str, Any]]
                       ) -> ObjectStoreArtifactStore:
        return _build(store_options())

    @pytest.fixture
    def make_stack(self, zen_home_for_stacks: Path, store_options: Callable[..., dict[str, Any]]
                   ) -> Callable[..., str]:
        """``make(**overrides)``: an active stack storing artifacts on the service; returns
        the store's root URI."""
        return lambda **overrides: write_store_stack(zen_home_for_stacks,
                                                     store_options(**overrides))

    @pytest.fixture
    def stack_root(self, make_stack: Callable[..., str]) -> str:
        """The root URI of an active stack on the service (what GuideExampleContract asks)."""
        return make_stack()


def _build(options: dict[str, Any]) -> ObjectStoreArtifactStore:
    from zen_core.stack import flavors

    table = dict(options)
    cls = flavors("artifact_store")[table.pop("flavor")][1]
    return cls(cls.Config(**table))


class ObjectStoreContract(ObjectStoreFixtures, ArtifactStoreContract):
    """What every store on object storage passes. Set:

    * ``aliases``: other protocols the store accepts for its canonical one (``("s3a",)``);
    * ``small_block_size``: the smallest ``block_size`` the service allows, so a few
      MiB already take several blocks (parts, chunks, ranges);
    * ``secrets``: config overrides holding secrets that ``describe`` must mask;
    * ``config_errors``: ``[(overrides, message fragment), ...]`` of bad config values;
    * ``lists_incomplete_uploads``: whether a writer killed mid-upload leaves an upload the
      store lists (``iter_incomplete_uploads``) for prune to abort.
    """

    aliases: ClassVar[tuple[str, ...]] = ()
    small_block_size: ClassVar[int] = 5 * MiB
    secrets: ClassVar[dict[str, Any]] = {}
    config_errors: ClassVar[list[tuple[dict[str, Any], str]]] = []
    lists_incomplete_uploads: ClassVar[bool] = False  # GCS resumable sessions cannot be listed

    # -- the store ------------------------------------------------------------------------

    def test_store_pickles_without_its_connection(self, artifact_store: Any) -> None:
        """The artifact store contract checks that a pickled store works; its connection
        must not travel with it."""
        import pickle

        assert artifact_store.fs is not None  # connected
        assert pickle.loads(pickle.dumps(artifact_store))._fs is None

    def test_uris_carry_the_canonical_protocol(self, artifact_store: Any) -> None:
        protocol = artifact_store.PROTOCOL + "://"
        bare = artifact_store.path[len(protocol):]
        assert artifact_store.path.startswith(protocol)
        for alias in self.aliases:
            assert artifact_store._strip(f"{alias}://{bare}/x/") == artifact_store.path + "/x"
            assert artifact_store.contains(f"{alias}://{bare}/x")
        assert artifact_store.contains(bare + "/x")
        with artifact_store.open(bare + "/x/y.bin", "wb") as f:  # fsspec-style, no protocol
            f.write(b"1")
        assert artifact_store.exists(artifact_store.path + "/x/y.bin")
        assert artifact_store.list_files(artifact_store.path + "/x") == {"y.bin": 1}

    def test_large_writes_and_ranged_reads(self, store_options: Callable[..., dict]) -> None:
        store = _build(store_options(block_size=self.small_block_size, max_concurrency=2))
        payload = os.urandom(3 * self.small_block_size + 123)
        uri = store.join("user", "big.bin")
        with store.open(uri, "wb") as f:
            assert f.write(memoryview(payload)) == len(payload)  # one write of everything
        assert store.list_files(store.join("user")) == {"big.bin": len(payload)}
        with store.open(uri, "rb") as f:
            head = f.read(10)  # small read: from the read-ahead block
            rest = bytearray(len(payload) - 10)
            assert f.readinto(rest) == len(rest)  # large read: parallel ranges into our buffer
            assert f.read(1) == b""
            f.seek(-5, 2)
            tail = f.read()
        assert head + bytes(rest) == payload and tail == payload[-5:]

    def test_artifacts_of_several_blocks_round_trip(self, make_stack: Callable[..., str]
                                                    ) -> None:
        from zen_core import load_artifact, save_artifact

        root = make_stack(block_size=self.small_block_size, max_concurrency=2)
        payload = os.urandom(2 * self.small_block_size + 7)
        assert save_artifact(payload, name="big").uri.startswith(root + "/.zen/objects/")
        assert load_artifact("big") == payload
        save_artifact({"a": [1, 2.5, "x"], "b": {"nested": True}}, name="dict")
        assert load_artifact("dict") == {"a": [1, 2.5, "x"], "b": {"nested": True}}

    def test_numpy_arrays_round_trip(self, make_stack: Callable[..., str]) -> None:
        np = pytest.importorskip("numpy")
        pytest.importorskip("zen_numpy")
        from zen_core import save_artifact
        from zen_core.client import Client

        make_stack(block_size=self.small_block_size, max_concurrency=2)
        array = np.arange(self.small_block_size // 2, dtype=np.float32).reshape(1024, -1)
        save_artifact(array, name="array")
        av = Client().get_artifact_version("array")
        assert av.materializer.startswith("zen_numpy.")  # not the pickle fallback
        np.testing.assert_array_equal(av.load(), array)

    def test_killed_writer_leaves_nothing_in_the_store(self, make_stack: Callable[..., str]
                                                       ) -> None:
        """Files a save writes are spooled locally (an unlinked temporary file) until they
        are uploaded to their content address: a writer killed while writing leaves nothing
        in the store at all."""
        from zen_core import load_artifact, save_artifact
        from zen_core.client import Client

        make_stack(block_size=self.small_block_size, max_concurrency=2)
        script = _KILLED_WRITER.replace("SIZE", str(2 * self.small_block_size + 1))
        proc = subprocess.run([sys.executable, "-c", script], env=dict(os.environ),
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 9, proc.stderr
        client = Client()
        store = client.active_stack.artifact_store
        assert client.list_artifact_versions() == []
        assert store.list_files(store.zen_root) == {}
        assert list(store.iter_incomplete_uploads()) == []
        save_artifact(b"after the crash", name="next")  # the next run proceeds normally
        assert load_artifact("next") == b"after the crash"
        assert client.get_artifact_version("next").version == "1"

    def test_killed_writer_without_spool_leaves_nothing_that_loads(
            self, make_stack: Callable[..., str]) -> None:
        """With ``spool_limit = 0`` files stream to staging: a writer killed mid-upload leaves
        its staging folder (and, where the service keeps them, its incomplete upload), which
        prune removes."""
        from zen_core import load_artifact, save_artifact
        from zen_core.client import Client

        make_stack(block_size=self.small_block_size, max_concurrency=2, spool_limit=0)
        script = _KILLED_WRITER.replace("SIZE", str(2 * self.small_block_size + 1))
        proc = subprocess.run([sys.executable, "-c", script], env=dict(os.environ),
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 9, proc.stderr
        client = Client()
        store = client.active_stack.artifact_store
        assert client.list_artifact_versions() == []
        assert dict(store.iter_objects()) == {}
        [leftover] = list(store.iter_staging())  # the header made it; the payload never did
        assert leftover.pid == int(leftover.uri.rsplit("-", 2)[1])
        assert list(store.list_files(leftover.uri)) == ["header.json"]
        uploads = [u.uri for u in store.iter_incomplete_uploads()]
        assert uploads == ([f"{leftover.uri}/payload.bin"] if self.lists_incomplete_uploads
                           else [])
        report = client.prune_artifacts()
        assert report.staging == [leftover.uri] and report.uploads == uploads
        assert list(store.iter_staging()) == []
        assert list(store.iter_incomplete_uploads()) == []  # nothing left to pay for
        save_artifact(b"after the crash", name="next")  # the next run proceeds normally
        assert load_artifact("next") == b"after the crash"
        assert client.get_artifact_version("next").version == "1"

    def test_writer_killed_while_uploading_to_the_content_address(
            self, make_stack: Callable[..., str]) -> None:
        """Killed while uploading its files to their content address: the object there is
        incomplete and no version points at it; a save of the same content completes it, and
        prune removes it (and aborts the upload) once older than its grace period."""
        from zen_core import load_artifact, save_artifact
        from zen_core.client import Client
        from zen_core.prune import prune

        make_stack(block_size=self.small_block_size, max_concurrency=2)
        size = 2 * self.small_block_size + 1
        proc = subprocess.run([sys.executable, "-c", _KILLED_PUBLISHER.replace("SIZE", str(size))],
                              env=dict(os.environ), capture_output=True, text=True, timeout=120)
        assert proc.returncode == 9, proc.stderr
        client = Client()
        store = client.active_stack.artifact_store
        assert client.list_artifact_versions() == []
        assert list(store.iter_staging()) == []
        [(content_hash, partial)] = list(store.iter_objects())  # the header, not the payload
        assert list(store.list_files(partial)) == ["header.json"]
        uploads = [u.uri for u in store.iter_incomplete_uploads()]
        assert uploads == ([f"{partial}/payload.bin"] if self.lists_incomplete_uploads else [])
        # judged by age (no writer is named): a recent one may still be writing. (moto
        # reports every upload as started in 2010, so there it is aborted at once.)
        recent = [u.uri for u in store.iter_incomplete_uploads()
                  if u.started is not None and time.time() - u.started < 600]
        report = client.prune_artifacts()
        assert report.objects == [] and report.uploads == [u for u in uploads if u not in recent]
        assert list(store.iter_objects()) == [(content_hash, partial)]
        report = prune(client.active_stack, orphan_grace_s=0)
        assert report.uploads == recent and report.objects == [partial]
        assert list(store.iter_objects()) == [] and list(store.iter_incomplete_uploads()) == []
        save_artifact(b"after the crash", name="next")
        assert load_artifact("next") == b"after the crash"

    def test_spooled_files_read_back_during_save(self, artifact_store: Any) -> None:
        """What a save wrote is readable, and listed, before it is uploaded; nothing reaches
        the service until it is placed at its content address."""
        from zen_core.artifacts.data import save_data
        from zen_core.testing.artifact_stores import FilesMaterializer

        class ReadsBack(FilesMaterializer):
            def extract_metadata(self, data: Any) -> dict[str, Any]:
                with self.open("top.bin", "rb") as f:
                    head = f.read(3)
                listed = self.artifact_store.list_files(self.uri)
                stored = self.artifact_store._list_stored(self.uri)
                return {"head": head.decode(), "listed": sorted(listed), "stored": len(stored)}

        big = os.urandom(2 * artifact_store.block_size + 5)  # spooled in a file, not memory
        stored = save_data(artifact_store, ReadsBack, {"top.bin": b"abc" + big},
                           allow_pickle=False, label="'s'")
        assert stored.metadata == {"head": "abc", "listed": ["index.json", "top.bin"],
                                   "stored": 0}
        assert artifact_store.list_files(stored.uri) == {"top.bin": len(big) + 3,
                                                         "index.json": 11}
        with artifact_store.open(f"{stored.uri}/top.bin", "rb") as f:
            assert f.read() == b"abc" + big

    def test_files_past_the_spool_limit_stream_to_staging(
            self, store_options: Callable[..., dict]) -> None:
        """A file larger than ``spool_limit`` moves what was spooled to a streaming upload to
        staging, and is copied server-side at publish: the same object results."""
        from zen_core.artifacts.data import save_data
        from zen_core.materializers.builtin import BytesMaterializer

        store = _build(store_options(block_size=self.small_block_size,
                                     spool_limit=2 * self.small_block_size))
        payload = os.urandom(2 * self.small_block_size + 1)

        class InPieces(BytesMaterializer):
            def save(self, data: bytes) -> None:
                with self.open("data.bin", "wb") as f:
                    for i in range(0, len(data), 700_000):  # memory, file, then stream
                        f.write(data[i:i + 700_000])

        stored = save_data(store, InPieces, payload, allow_pickle=False, label="'big'")
        assert store.list_files(stored.uri) == {"data.bin": len(payload)}
        with store.open(f"{stored.uri}/data.bin", "rb") as f:
            assert f.read() == payload
        assert [e for e in store.iter_staging() if store.list_files(e.uri)] == []

    # -- errors ---------------------------------------------------------------------------

    def test_missing_bucket_names_store_uri_and_fix(self, make_stack: Callable[..., str],
                                                    artifact_store: Any) -> None:
        from zen_core import save_artifact
        from zen_core.client import Client
        from zen_core.errors import StoreError

        root = f"{artifact_store.PROTOCOL}://no-such-bucket/zen"
        make_stack(path=root)
        with pytest.raises(StoreError) as info:
            save_artifact(b"data", name="blob")
        message = str(info.value)
        assert f"{artifact_store.SERVICE} artifact store {root!r}" in message
        assert f"{root}/.zen/" in message  # the URI
        assert "bucket 'no-such-bucket' does not exist" in message and "Fix:" in message
        assert info.value.reason == "bucket"
        assert Client().list_artifact_versions() == []

    def test_missing_bucket_fails_the_run_and_records_no_artifact(
            self, make_stack: Callable[..., str], artifact_store: Any) -> None:
        from zen_core.client import Client
        from zen_core.errors import StoreError

        make_stack(path=f"{artifact_store.PROTOCOL}://no-such-bucket/zen")
        with pytest.raises(StoreError, match=r"no-such-bucket.*does not exist"):
            _one_step()
        [run] = Client().list_pipeline_runs()
        assert run.status == "failed"
        assert Client().list_artifact_versions() == []

    def test_unreachable_endpoint_fails_fast_with_a_clear_error(
            self, make_stack: Callable[..., str], artifact_store: Any) -> None:
        from zen_core import save_artifact
        from zen_core.errors import StoreError
        from zen_core.testing.services import free_port

        root = make_stack(endpoint_url=f"http://127.0.0.1:{free_port()}", retries=1,
                          connect_timeout=1.0)
        with pytest.raises(StoreError) as info:
            save_artifact(b"data", name="blob")
        message = str(info.value)
        assert info.value.reason == "unreachable"
        assert f"{artifact_store.SERVICE} artifact store {root!r}" in message
        assert "could not " in message  # list or write, whichever it tried first
        assert "http://127.0.0.1:" in message and "retries = 1" in message
        assert not [v for v in self.secrets.values() if str(v) in message]

    def test_describe_masks_secrets(self, make_stack: Callable[..., str]) -> None:
        from zen_core.client import Client

        root = make_stack(**self.secrets)
        described = Client().active_stack.describe()["artifact_store"]
        assert described["path"] == root
        for key, value in self.secrets.items():
            assert described[key] == "***", key
            assert str(value) not in json.dumps(described)

    def test_config_errors_name_file_key_and_value(self, make_stack: Callable[..., str],
                                                   zen_home_for_stacks: Path) -> None:
        from zen_core.client import Client
        from zen_core.errors import ConfigError

        for overrides, fragment in self.config_errors:
            make_stack(**overrides)
            with pytest.raises(ConfigError) as info:
                Client().active_stack  # noqa: B018
            message = str(info.value)
            assert fragment in message, (overrides, message)
            assert str(zen_home_for_stacks / "config.toml") in message
            assert "stacks.cloud.artifact_store" in message
            assert not [v for v in self.secrets.values() if str(v) in message]


def _one_step() -> Any:
    from zen_core import pipeline, step

    @step(enable_cache=False)
    def make_number() -> int:
        return 42

    @pipeline(enable_cache=False)
    def one_step() -> None:
        make_number()

    return one_step()


_KILLED_WRITER = textwrap.dedent('''
    import os
    from zen_core import pipeline, step
    from zen_core.materializers import Materializer

    class DiesMidWrite(Materializer):
        ASSOCIATED_TYPES = (bytes,)
        def save(self, data):
            with self.open("header.json", "wb") as f:
                f.write(b"{}")
            f = self.open("payload.bin", "wb")
            f.write(data)  # blocks of the upload in flight
            os._exit(9)  # killed before the upload completes

    @step(enable_cache=False, output_materializers=DiesMidWrite)
    def produce() -> bytes:
        return os.urandom(SIZE)

    @pipeline(enable_cache=False)
    def doomed():
        produce()

    doomed()
''')


_KILLED_PUBLISHER = textwrap.dedent('''
    import os
    from zen_core import pipeline, step
    from zen_core.artifact_stores.object_store import ObjectStoreArtifactStore
    from zen_core.materializers import Materializer

    real_upload = ObjectStoreArtifactStore._upload

    def dies_uploading(self, spool, uri):
        if "/.zen/objects/" in uri and uri.endswith("payload.bin"):
            writer = self._open_write(uri, "wb")
            blocks = spool.blocks(self.block_size)
            writer.write(next(blocks))
            writer.write(next(blocks))  # a part in flight at least
            os._exit(9)  # killed before the upload completes
        real_upload(self, spool, uri)

    ObjectStoreArtifactStore._upload = dies_uploading

    class TwoFiles(Materializer):
        ASSOCIATED_TYPES = (bytes,)
        def save(self, data):
            with self.open("header.json", "wb") as f:
                f.write(b"{}")
            with self.open("payload.bin", "wb") as f:
                f.write(data)

    @step(enable_cache=False, output_materializers=TwoFiles)
    def produce() -> bytes:
        return os.urandom(SIZE)

    @pipeline(enable_cache=False)
    def doomed():
        produce()

    doomed()
''')

