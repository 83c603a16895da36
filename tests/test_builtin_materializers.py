"""Built-in materializers pass the same contract every plugin runs."""

import dataclasses
from collections import namedtuple
from pathlib import Path

import pytest

from zen_core.materializers.builtin import (
    BuiltInMaterializer,
    BytesMaterializer,
    ContainerMaterializer,
    DataclassMaterializer,
    StructuredStringMaterializer,
    from_json_tree,
    to_json_tree,
)
from zen_core.testing import MaterializerContract
from zen_core.types import CSVString, HTMLString, JSONString, MarkdownString

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



def test_only_a_materializer_that_says_so_skips_listing_what_it_wrote(tmp_path):
    """WRITES_ONLY_THROUGH_OPEN lets saving trust the manifest written through self.open;
    a subclass does not inherit it, so files its own save writes otherwise are stored."""
    from zen_core.artifacts.data import save_data
    from zen_core.materializers.builtin import BytesMaterializer
    from zen_core.testing import local_store

    store = local_store(tmp_path / "store")

    class AlsoViaFs(BytesMaterializer):
        def save(self, data):
            super().save(data)
            self.fs.pipe_file(self.path("extra.bin"), b"more")

    assert BytesMaterializer.WRITES_ONLY_THROUGH_OPEN and not AlsoViaFs.WRITES_ONLY_THROUGH_OPEN
    stored = save_data(store, AlsoViaFs, b"data", allow_pickle=False, label="'sub'")
    assert sorted(stored.files) == ["data.bin", "extra.bin"]
    assert store.list_files(stored.uri) == {"data.bin": 4, "extra.bin": 4}

# -- structured strings, dataclasses and pydantic models ------------------------------------


class TestStructuredStrings(MaterializerContract):
    materializer = StructuredStringMaterializer
    golden_dir = GOLDEN

    @pytest.fixture(params=[HTMLString("<h1>Report</h1>"), MarkdownString("# Title\n\n*text*"),
                            CSVString("a,b\n1,2\n"), JSONString('{"a": [1, 2]}')],
                    ids=lambda v: type(v).__name__)
    def value(self, request):
        return request.param

    def test_the_text_file_is_its_own_visualization(self, artifact_store, value):
        stored = self._save(artifact_store, value)
        [(uri, kind)] = stored.visualizations.items()
        assert uri == f"{stored.uri}/{next(iter(stored.files))}" and len(stored.files) == 1
        assert kind == {"HTMLString": "html", "MarkdownString": "markdown", "CSVString": "csv",
                        "JSONString": "json"}[type(value).__name__]


@dataclasses.dataclass(frozen=True)
class Inner:
    weights: tuple[float, ...]
    name: str = "inner"


@dataclasses.dataclass
class Config:
    inner: Inner
    layers: list[int]
    options: dict = dataclasses.field(default_factory=dict)
    raw: bytes = b""
    derived: int = dataclasses.field(init=False, default=0)

    def __post_init__(self):
        self.derived = len(self.layers)


@dataclasses.dataclass
class Holder:
    thing: object  # anything: JSON cannot say what it was


class TestDataclasses(MaterializerContract):
    materializer = DataclassMaterializer
    golden_dir = GOLDEN

    @pytest.fixture(params=[Config(Inner((0.5, 1.0)), [3, 4], {"lr": 0.1, (1, 2): {3}}, b"\x00"),
                            Inner(())], ids=lambda v: type(v).__name__)
    def value(self, request):
        return request.param


def test_a_dataclass_that_does_not_round_trip_through_json_is_pickled_with_a_warning(tmp_path):
    from zen_core.artifacts.data import save_data
    from zen_core.errors import UnsafeArtifactError
    from zen_core.testing import local_store

    store = local_store(tmp_path)
    with pytest.raises(UnsafeArtifactError, match=r"Holder \(a field does not round-trip through "
                                                  r"JSON\) and pickle is disabled"):
        save_data(store, DataclassMaterializer, Holder(Path("/x")), allow_pickle=False,
                  label="'h'")
    stored = save_data(store, DataclassMaterializer, Holder(Path("/x")), allow_pickle=True,
                       label="'h'")
    assert list(stored.files) == ["data.pkl"]


def test_structured_strings_show_as_their_kind(zen_home):
    from zen_core import pipeline, step
    from zen_core.visualize import bundle

    @step
    def report() -> HTMLString:
        return HTMLString("<h1>Accuracy 0.93</h1>")

    @pipeline
    def reporting():
        report()

    av = reporting().steps["report"].outputs["output"]
    assert av.load() == "<h1>Accuracy 0.93</h1>" and type(av.load()) is HTMLString
    [(uri, kind)] = av.visualize().items()
    assert kind == "html"
    assert "<h1>Accuracy 0.93</h1>" in bundle(av, uri, kind)["text/html"]


def test_a_class_this_process_stored_loads_back_even_if_it_cannot_be_imported(zen_home):
    from zen_core import load_artifact, save_artifact

    @dataclasses.dataclass
    class Local:  # defined in a function: its module has no attribute of that name
        n: int

    save_artifact(Local(3), "local_value")
    assert load_artifact("local_value") == Local(3)
