"""Contract tests every component runs: the built-ins here, and each plugin in its own tests.

Subclass a contract in a test module and provide its fixtures::

    from zen_core.testing import MaterializerContract

    class TestDataFrame(MaterializerContract):
        materializer = DataFrameMaterializer

        @pytest.fixture
        def value(self):
            return pd.DataFrame({"a": [1, 2]})

        def assert_same(self, loaded, value):
            pd.testing.assert_frame_equal(loaded, value)

Like fsspec's ``tests/abstract``, the contracts pin down behaviour users rely
on (round trips, integrity checks, confinement to ``self.uri``, gap-free
versions) so a new plugin proves it in a few lines.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import attrs
import pytest

from zen_core.artifact_stores.base import ArtifactStore
from zen_core.errors import (
    ArtifactDataMissingError,
    ArtifactVersionExistsError,
    IntegrityError,
    MaterializerError,
    RunNameTakenError,
)
from zen_core.materializers.base import Materializer, qualified_name
from zen_core.materializers.builtin import BytesMaterializer
from zen_core.materializers.registry import MaterializerRegistry
from zen_core.metadata_stores.base import MetadataStore, NewArtifactVersion
from zen_core.models import ExecutionStatus, PipelineRun, StepRun
from zen_core.storage import StoredData, load_data, save_data


def local_store(path: Path) -> ArtifactStore:
    from zen_core.artifact_stores.local import LocalArtifactStore, LocalArtifactStoreConfig

    return LocalArtifactStore(LocalArtifactStoreConfig(str(path)))


# -- materializers --------------------------------------------------------------------------


class MaterializerContract:
    """Round trip, integrity, confinement and error wrapping for one materializer.

    Provide ``materializer`` (the class) and a ``value`` fixture; override
    ``assert_same`` where ``==`` is not the right comparison, and
    ``artifact_store`` to run against another store.
    """

    materializer: type[Materializer]
    allow_pickle: bool = False

    @pytest.fixture
    def artifact_store(self, tmp_path: Path) -> ArtifactStore:
        return local_store(tmp_path / "store")

    def assert_same(self, loaded: Any, value: Any) -> None:
        assert type(loaded) is type(value)
        assert loaded == value

    def _registry(self) -> MaterializerRegistry:
        return MaterializerRegistry([("contract", self.materializer)])

    def _save(self, store: ArtifactStore, value: Any) -> StoredData:
        return save_data(store, self.materializer, value, allow_pickle=self.allow_pickle,
                         label="'contract'")

    def _load(self, store: ArtifactStore, stored: StoredData, data_type: Any = None) -> Any:
        return load_data(store, self._registry(), uri=stored.uri,
                         materializer=stored.materializer, type_path=stored.type,
                         files=stored.files, allow_pickle=self.allow_pickle,
                         label="'contract'", data_type=data_type)

    def test_claims_its_types(self) -> None:
        assert self.materializer.ASSOCIATED_TYPES, "ASSOCIATED_TYPES must name the types handled"

    def test_round_trip(self, artifact_store: ArtifactStore, value: Any) -> None:
        stored = self._save(artifact_store, value)
        self.assert_same(self._load(artifact_store, stored, type(value)), value)

    def test_same_content_same_hash(self, artifact_store: ArtifactStore, value: Any) -> None:
        first = self._save(artifact_store, value)
        second = self._save(artifact_store, value)
        assert first.content_hash == second.content_hash
        assert first.uri == second.uri  # stored once

    def test_writes_stay_under_uri(self, artifact_store: ArtifactStore, value: Any) -> None:
        stored = self._save(artifact_store, value)
        files = artifact_store.list_files(artifact_store.path)
        outside = [f for f in files if not artifact_store.join(f).startswith(stored.uri + "/")]
        assert outside == [], f"{self.materializer.__name__} wrote outside its uri: {outside}"
        assert set(stored.files) == set(artifact_store.list_files(stored.uri))

    def test_metadata_is_json(self, artifact_store: ArtifactStore, value: Any) -> None:
        stored = self._save(artifact_store, value)
        json.dumps(stored.metadata)

    def test_visualizations_are_stored_with_the_data(self, artifact_store: ArtifactStore,
                                                     value: Any) -> None:
        stored = self._save(artifact_store, value)
        for uri, kind in stored.visualizations.items():
            assert uri.startswith(stored.uri + "/")
            assert kind in ("html", "markdown", "csv", "image", "json")
            assert artifact_store.exists(uri)

    def test_corruption_is_detected(self, artifact_store: ArtifactStore, value: Any) -> None:
        stored = self._save(artifact_store, value)
        shown = {uri[len(stored.uri) + 1 :] for uri in stored.visualizations}
        # visualizations are only displayed, never loaded: corrupt a file load() reads
        data_files = {r: s for r, (s, _) in stored.files.items() if s > 0 and r not in shown}
        if not data_files:
            pytest.skip("the artifact has no bytes to corrupt")
        rel = max(data_files, key=lambda r: data_files[r])
        uri = f"{stored.uri}/{rel}"
        with artifact_store.open(uri, "rb") as f:
            content = bytearray(f.read())
        content[len(content) // 2] ^= 0xFF
        with artifact_store.open(uri, "wb") as f:
            f.write(bytes(content))
        with pytest.raises((IntegrityError, MaterializerError)) as info:
            self._load(artifact_store, stored, type(value))
        if isinstance(info.value, IntegrityError):
            assert rel in str(info.value)

    def test_missing_data_names_the_artifact(self, artifact_store: ArtifactStore,
                                             value: Any) -> None:
        stored = self._save(artifact_store, value)
        artifact_store.delete(stored.uri)
        with pytest.raises((ArtifactDataMissingError, MaterializerError)) as info:
            self._load(artifact_store, stored, type(value))
        assert "'contract'" in str(info.value)

    def test_failing_save_leaves_nothing(self, artifact_store: ArtifactStore, value: Any) -> None:
        class Exploding(self.materializer):  # type: ignore[name-defined, misc]
            def extract_metadata(self, data: Any) -> dict[str, Any]:
                raise RuntimeError("boom")

        with pytest.raises(MaterializerError, match="'contract'.*boom"):
            save_data(artifact_store, Exploding, value, allow_pickle=self.allow_pickle,
                      label="'contract'")
        assert artifact_store.list_files(artifact_store.path) == {}


# -- artifact stores ----------------------------------------------------------------------------


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


# -- metadata stores ---------------------------------------------------------------------------


def stored_data(content: str = "x") -> StoredData:
    """A small StoredData for metadata-store tests (no real data behind it)."""
    return StoredData(uri=f"mem://{content}", content_hash=content.ljust(32, "0"), size=1,
                      files={"f": [1, "0"]}, materializer=qualified_name(BytesMaterializer),
                      materializer_version="1", type="builtins.bytes", artifact_type="data",
                      metadata={"k": 1}, visualizations={})


def _run(name: str = "p") -> PipelineRun:
    return PipelineRun(id=uuid.uuid4().hex, name=f"{name}-{uuid.uuid4().hex[:6]}",
                       pipeline_name=name, status=ExecutionStatus.RUNNING, created=time.time(),
                       finished=None, params={"a": 1}, error=None)


def _step(run: PipelineRun, name: str = "s", key: str | None = "k") -> StepRun:
    return StepRun(id=uuid.uuid4().hex, run_id=run.id, name=name, step_name=name,
                   pipeline_name=run.pipeline_name, status=ExecutionStatus.RUNNING, params={},
                   cache_key=key, cache_miss="no earlier run", started=time.time(), finished=None,
                   error=None, original_step_run_id=None)


class MetadataStoreContract:
    """Semantics every metadata store shares. Provide a ``metadata_store`` fixture
    (empty, freshly migrated)."""

    def test_runs(self, metadata_store: MetadataStore) -> None:
        run = _run()
        metadata_store.create_run(run)
        assert metadata_store.get_run(run.id).name == run.name
        assert metadata_store.get_run(run.name).id == run.id
        metadata_store.finish_run(run.id, ExecutionStatus.COMPLETED, time.time())
        assert metadata_store.get_run(run.id).status == "completed"
        assert [r.id for r in metadata_store.list_runs(pipeline_name="p")] == [run.id]
        assert metadata_store.count_runs(status="completed") == 1
        metadata_store.delete_run(run.id)
        assert metadata_store.get_run(run.id) is None

    def test_a_taken_run_name_is_refused_and_records_nothing(
            self, metadata_store: MetadataStore) -> None:
        first = _run()
        metadata_store.create_run(first)
        twin = attrs.evolve(first, id=uuid.uuid4().hex)
        with pytest.raises(RunNameTakenError, match=repr(first.name)):
            metadata_store.create_run(twin)
        assert metadata_store.get_run(twin.id) is None
        assert metadata_store.count_runs() == 1
        metadata_store.create_run(attrs.evolve(twin, name=first.name + "-2"))  # still usable
        assert metadata_store.get_run(first.name + "-2").id == twin.id

    def test_versions_count_up_per_name(self, metadata_store: MetadataStore) -> None:
        versions = [metadata_store.create_artifact_version(NewArtifactVersion("a", stored_data(str(i))))
                    for i in range(3)]
        assert [v.version for v in versions] == ["1", "2", "3"]
        other = metadata_store.create_artifact_version(NewArtifactVersion("b", stored_data()))
        assert other.version == "1"
        assert metadata_store.get_artifact_version("a").id == versions[-1].id
        assert metadata_store.get_artifact_version("a", "2").id == versions[1].id

    def test_pinned_versions(self, metadata_store: MetadataStore) -> None:
        metadata_store.create_artifact_version(NewArtifactVersion("m", stored_data(), version="1.0"))
        assert metadata_store.create_artifact_version(NewArtifactVersion("m", stored_data())).version == "1"
        metadata_store.create_artifact_version(NewArtifactVersion("m", stored_data(), version="7"))
        assert metadata_store.create_artifact_version(NewArtifactVersion("m", stored_data())).version == "8"
        with pytest.raises(ArtifactVersionExistsError, match=r"'m'.*'1.0'"):
            metadata_store.create_artifact_version(NewArtifactVersion("m", stored_data(), version="1.0"))
        assert metadata_store.version_taken("m", "1.0")
        # the refused insert used no number
        assert metadata_store.create_artifact_version(NewArtifactVersion("m", stored_data())).version == "9"

    def test_latest_is_most_recent_not_highest(self, metadata_store: MetadataStore) -> None:
        metadata_store.create_artifact_version(NewArtifactVersion("l", stored_data(), version="9"))
        metadata_store.create_artifact_version(NewArtifactVersion("l", stored_data(), version="2.0"))
        assert metadata_store.get_artifact_version("l").version == "2.0"

    def test_step_lifecycle_and_lineage(self, metadata_store: MetadataStore) -> None:
        run = _run()
        metadata_store.create_run(run)
        producer = _step(run, "make")
        metadata_store.create_step_run(producer, {}, {"code": "c"})
        [av] = metadata_store.complete_step_run(
            producer.id, outputs=[("output", NewArtifactVersion(
                "data", stored_data(), producer_step_run_id=producer.id, run_id=run.id))],
            extra_inputs={}, finished=time.time())
        consumer = _step(run, "use", key="k2")
        metadata_store.create_step_run(consumer, {"df": av.id})
        metadata_store.fail_step_run(consumer.id, "Traceback ...", time.time())
        assert metadata_store.get_step_run(consumer.id).status == "failed"
        assert [s.id for s in metadata_store.consumers(av.id)] == [consumer.id]
        inputs, outputs = metadata_store.step_io(consumer.id)
        assert inputs["df"].id == av.id and outputs == {}
        assert metadata_store.step_io(producer.id)[1]["output"].id == av.id
        assert [s.name for s in metadata_store.list_step_runs(run.id)] == ["make", "use"]
        [hit] = metadata_store.find_cache_candidates("k")
        assert hit.id == producer.id
        previous = metadata_store.previous_step_run("p", "make")
        assert previous is not None and previous[1] == {"code": "c"}

    def test_cached_step_runs_keep_versions_referenced(self, metadata_store: MetadataStore) -> None:
        first, second = _run(), _run()
        for r in (first, second):
            metadata_store.create_run(r)
        producer = _step(first)
        metadata_store.create_step_run(producer, {})
        [av] = metadata_store.complete_step_run(
            producer.id, outputs=[("output", NewArtifactVersion(
                "d", stored_data(), producer_step_run_id=producer.id, run_id=first.id))],
            extra_inputs={}, finished=time.time())
        cached = _step(second)
        cached.status = ExecutionStatus.CACHED
        metadata_store.create_step_run(cached, {}, outputs={"output": av.id})
        metadata_store.delete_run(first.id)
        assert metadata_store.unreferenced_artifact_versions() == []
        metadata_store.delete_run(second.id)
        assert [v.id for v in metadata_store.unreferenced_artifact_versions()] == [av.id]

    def test_saved_versions_are_never_unreferenced(self, metadata_store: MetadataStore) -> None:
        metadata_store.create_artifact_version(NewArtifactVersion("s", stored_data(), origin="saved"))
        assert metadata_store.unreferenced_artifact_versions() == []

    def test_delete_versions_and_hash_counts(self, metadata_store: MetadataStore) -> None:
        a = metadata_store.create_artifact_version(NewArtifactVersion("h", stored_data("same")))
        metadata_store.create_artifact_version(NewArtifactVersion("h2", stored_data("same")))
        h = stored_data("same").content_hash
        assert metadata_store.content_hash_counts([h, "f" * 32]) == {h: 2}
        metadata_store.delete_artifact_versions([a.id])
        assert metadata_store.content_hash_counts([h]) == {h: 1}
        assert metadata_store.get_artifact_version_by_id(a.id) is None

    def test_list_artifacts(self, metadata_store: MetadataStore) -> None:
        for name in ("b", "a", "b"):
            metadata_store.create_artifact_version(NewArtifactVersion(name, stored_data()))
        summary = {s.name: (s.versions, s.latest_version) for s in metadata_store.list_artifacts()}
        assert summary == {"a": (1, "1"), "b": (2, "2")}
        assert len(metadata_store.list_artifact_versions()) == 3
        assert [v.version for v in metadata_store.list_artifact_versions("b")] == ["1", "2"]


# -- multi-process helpers --------------------------------------------------------------------------

CONCURRENT_SCRIPT = '''
import sys
from typing import Annotated
from zen_core import step, pipeline

@step(enable_cache=False)
def produce(i: int) -> Annotated[int, "shared_counter"]:
    return i

@step(enable_cache=False)
def consume(x: int) -> int:
    return x + 1

@pipeline(enable_cache=False)
def contended(i: int):
    consume(produce(i=i))

for i in range(int(sys.argv[1])):
    contended(i)
'''


def run_concurrent_pipelines(env: dict[str, str], processes: int = 8, runs: int = 5,
                             cwd: str | None = None, timeout: float = 300) -> list[str]:
    """Start ``processes`` Python processes each running ``runs`` pipelines on one stack.

    Returns the stderr of every process that failed (empty when all succeeded).
    """
    import subprocess
    import sys

    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT_SCRIPT, str(runs)], env=env,
                              cwd=cwd, stderr=subprocess.PIPE, text=True)
             for _ in range(processes)]
    failures = []
    for proc in procs:
        _, err = proc.communicate(timeout=timeout)
        if proc.returncode != 0:
            failures.append(err)
    return failures


def check_concurrent_pipelines(env: dict[str, str], processes: int = 8, runs: int = 5,
                               cwd: str | None = None) -> None:
    """The concurrency guarantee, asserted: ``processes`` processes each run ``runs``
    pipelines at once; every run completes and each artifact name's versions are exactly
    ``1..processes * runs``. ``env`` must select the stack this process's ``Client`` sees,
    holding no runs of the ``contended`` pipeline yet."""
    from zen_core.client import Client

    failures = run_concurrent_pipelines(env, processes, runs, cwd)
    assert failures == [], "\n\n".join(failure[-2000:] for failure in failures)
    client = Client()
    total = processes * runs
    recorded = client.list_pipeline_runs(pipeline_name="contended")
    assert len(recorded) == total and {r.status for r in recorded} == {"completed"}
    for name in ("shared_counter", "contended::consume::output"):
        versions = sorted(int(v.version) for v in client.list_artifact_versions(name=name))
        assert versions == list(range(1, total + 1)), name


# -- lazy imports ---------------------------------------------------------------------------------

_STARTUP_SCRIPT = """
import json, sys
import click
import zen_core
from zen_core.materializers.registry import get_registry
from zen_core.plugins import get_plugin_manager, list_plugins
from zen_core.stack import flavors

pm = get_plugin_manager()
list_plugins(pm)
get_registry().for_type(int)
for kind in ("artifact_store", "metadata_store", "orchestrator"):
    flavors(kind, pm)
pm.hook.zen_register_commands(cli=click.Group())
for name in sys.argv[2:]:
    __import__(name)
print(json.dumps(sorted({p for p in json.loads(sys.argv[1]) for m in sys.modules
                         if m == p or m.startswith(p + ".")})))
"""


def modules_imported_at_startup(modules: list[str], also_import: tuple[str, ...] = ()
                                ) -> list[str]:
    """Which of ``modules`` (or of their submodules) a fresh process has imported after doing
    what every zen_core process does at start (load the plugins, list them, build the
    materializer registry, the flavors and the CLI commands) and importing
    ``also_import``: a plugin's heavy library must not be among them."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _STARTUP_SCRIPT, json.dumps(modules), *also_import],
        capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


# -- services ------------------------------------------------------------------------------------


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now: for a server a test starts, or for
    an address that must refuse connections."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_unavailable(message: str) -> None:
    """Skip the test for a missing service (a server, a browser); with ``CI=true`` fail it,
    so a CI that lost a service goes red instead of quietly testing less."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: a missing service fails the tests)")
    pytest.skip(message)


# -- isolation ------------------------------------------------------------------------------------


def isolate_zen_home(monkeypatch: Any, tmp_path: Path) -> Path:
    """Point ZEN_HOME at a fresh folder and leave no zen.toml in reach (use in a fixture)."""
    from zen_core.stack import close_all

    close_all()
    home = tmp_path / "zen_home"
    work = tmp_path / "work"
    work.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("ZEN_HOME", str(home))
    monkeypatch.delenv("ZEN_STACK", raising=False)
    monkeypatch.chdir(work)
    return home


def write_stack(zen_home: Path, name: str = "test", **components: dict[str, Any]) -> None:
    """Write ``$ZEN_HOME/config.toml`` making stack ``name`` active.

    ``components`` are ``artifact_store=``, ``metadata_store=``, ``orchestrator=``
    tables (each with its ``flavor``); the ones left out are the defaults.
    """
    import tomlkit

    doc = tomlkit.document()
    doc["active_stack"] = name
    stack = tomlkit.table()
    for kind, table in components.items():
        inline = tomlkit.inline_table()
        inline.update(table)
        stack[kind] = inline
    doc["stacks"] = {name: stack}
    zen_home.mkdir(parents=True, exist_ok=True)
    (zen_home / "config.toml").write_text(tomlkit.dumps(doc))
