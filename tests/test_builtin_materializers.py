"""Built-in materializers pass the same contract every plugin runs."""

from collections import namedtuple
from pathlib import Path

import pytest

from zen_core.materializers.builtin import (
    BuiltInMaterializer,
    BytesMaterializer,
    ContainerMaterializer,
    from_json_tree,
    to_json_tree,
)
from zen_core.testing import MaterializerContract

Point = namedtuple("Point", "x y")
GOLDEN = Path(__file__).parent / "golden"  # stored formats, per VERSION (ZEN_UPDATE_GOLDEN=1)


class TestPrimitives(MaterializerContract):
    materializer = BuiltInMaterializer
    golden_dir = GOLDEN

    @pytest.fixture(params=[0, -7, 2**70, 1.5, float("inf"), "héllo", "", True, False, None],
                    ids=repr)
    def value(self, request):
        return request.param


class TestBytes(MaterializerContract):
    materializer = BytesMaterializer
    golden_dir = GOLDEN

    @pytest.fixture(params=[b"", b"\x00\xff" * 1000])
    def value(self, request):
        return request.param


class TestContainers(MaterializerContract):
    materializer = ContainerMaterializer
    golden_dir = GOLDEN

    @pytest.fixture(params=[
        {"a": 1, "b": [1, 2.5, "x", None]},
        [1, (2, 3), {4, 5}, frozenset({6}), b"raw"],
        (1, "two", [3]),
        {1: "int key", (2, 3): "tuple key", "__zen__": "reserved key"},
        set(),
        Point(1, 2),
        [],
        {"nested": {"deep": [{"x": (1,)}]}},
    ], ids=lambda v: type(v).__name__ + str(len(v)))
    def value(self, request):
        return request.param


def test_json_tree_round_trips_exactly():
    value = {"t": (1, [2, (3,)]), 5: {6, 7}, "b": b"\x00"}
    assert from_json_tree(to_json_tree(value)) == value


def test_container_of_unknown_objects_needs_pickle(tmp_path):
    from zen_core.artifacts.data import save_data
    from zen_core.errors import UnsafeArtifactError
    from zen_core.testing import local_store

    with pytest.raises(UnsafeArtifactError, match=r"pathlib.*PosixPath.*allow_pickle = false"):
        save_data(local_store(tmp_path), ContainerMaterializer, [Path("/x")], allow_pickle=False,
                  label="'c'")


def test_pickled_container_is_not_loaded_when_pickle_is_disabled(tmp_path):
    from zen_core.artifacts.data import load_data, save_data
    from zen_core.errors import UnsafeArtifactError
    from zen_core.materializers.registry import get_registry
    from zen_core.testing import local_store

    store = local_store(tmp_path)
    stored = save_data(store, ContainerMaterializer, [Path("/x")], allow_pickle=True, label="'c'")
    assert "data.pkl" in stored.files

    def load(allow_pickle):
        return load_data(store, get_registry({}), uri=stored.uri,
                         materializer=stored.materializer, type_path=stored.type,
                         files=stored.files, allow_pickle=allow_pickle, label="'c'")

    assert load(True) == [Path("/x")]
    with pytest.raises(UnsafeArtifactError) as info:
        load(False)
    message = str(info.value)
    assert "artifact 'c' was stored with pickle" in message
    assert "allow_pickle = false forbids that" in message and "allow_pickle = true" in message


def test_writes_through_self_fs_stay_under_the_artifact_folder(tmp_path):
    """self.fs may write the artifact's own folder (hashed by a read), nothing else."""
    from zen_core.artifacts.data import save_data
    from zen_core.errors import MaterializerError
    from zen_core.materializers import Materializer
    from zen_core.testing import local_store

    store = local_store(tmp_path / "store")

    class ViaFs(Materializer):
        ASSOCIATED_TYPES = (bytes,)
        target = ""

        def save(self, data):
            self.fs.pipe_file(self.target or self.path("data.bin"), data)

    stored = save_data(store, ViaFs, b"inside", allow_pickle=False, label="'ok'")
    assert list(stored.files) == ["data.bin"]

    victim = store.join("user", "notes.txt")
    for method, call in [
        ("pipe_file", lambda fs: fs.pipe_file(victim, b"x")),
        ("open", lambda fs: fs.open(victim, "wb")),
        ("rm", lambda fs: fs.rm(store.join("user"), recursive=True)),
        ("mv", lambda fs, me=None: fs.mv(victim, victim + ".bak")),
        ("makedirs", lambda fs: fs.makedirs(store.path + "/../escape", exist_ok=True)),
    ]:
        class Escaping(Materializer):
            ASSOCIATED_TYPES = (bytes,)

            def save(self, data, call=call):
                call(self.fs)

        with pytest.raises(MaterializerError, match=rf"called self.fs.{method} on .* outside its "
                                                    rf"artifact folder"):
            save_data(store, Escaping, b"x", allow_pickle=False, label="'bad'")
    assert not (tmp_path / "store" / "user").exists() and not (tmp_path / "escape").exists()
