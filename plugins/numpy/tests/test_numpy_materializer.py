"""zen-numpy: the materializer contract over every dtype and layout, plus its own promises."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from zen_numpy import NumpyArrayMaterializer

from zen_core.artifacts import load_data, save_data
from zen_core.errors import IntegrityError, MaterializerError, UnsafeArtifactError
from zen_core.materializers import MaterializerRegistry
from zen_core.plugins import list_plugins, new_plugin_manager
from zen_core.testing import MaterializerContract, local_store, modules_imported_at_startup

_rng = np.random.default_rng(0)

VALUES = {
    "float64": np.linspace(-1, 1, 101),
    "float32-2d": _rng.standard_normal((7, 5)).astype(np.float32),
    "float16": np.array([1.5, -2.25, np.inf], dtype=np.float16),
    "with-nan": np.array([1.0, np.nan, 3.0, np.nan]),
    "int8": np.arange(-5, 5, dtype=np.int8),
    "uint64": np.array([0, 2**64 - 1], dtype=np.uint64),
    "big-endian": np.arange(6, dtype=">i4").reshape(2, 3),
    "bool": np.array([[True, False], [False, True]]),
    "complex": np.array([1 + 2j, -3.5j]),
    "unicode": np.array(["zen", "ß", "日本"]),
    "bytes": np.array([b"a", b"bc"]),
    "void": np.array([b"\x00\x01", b"\xff\xfe"], dtype="V2"),
    "datetime64": np.array(["2024-01-01T12:00", "NaT", "1969-12-31T23:59"], dtype="M8[m]"),
    "timedelta64": np.array([1, -2, 3], dtype="m8[ns]"),
    "structured": np.array([(1, 2.5, b"x"), (3, -1.0, b"yz")],
                           dtype=[("id", "<i4"), ("score", "<f8"), ("tag", "S2")]),
    "nested-structured": np.zeros(3, dtype=[("pos", "<f4", (2,)), ("meta", [("n", "u1")])]),
    "0-d": np.array(3.25),
    "0-d-int": np.array(7, dtype=np.int16),
    "empty": np.zeros((0,), dtype=np.float64),
    "empty-2d": np.zeros((3, 0), dtype=np.int32),
    "fortran": np.asfortranarray(np.arange(24, dtype=np.float64).reshape(4, 6)),
    "non-contiguous": np.arange(100, dtype=np.int64).reshape(10, 10)[::2, 1::3],
    "transposed-3d": np.arange(60, dtype=np.float32).reshape(3, 4, 5).transpose(2, 0, 1),
    "3-d": np.arange(24, dtype=np.uint16).reshape(2, 3, 4),
    "negative-strides": np.arange(10.0)[::-1],
    "unicode-field-names": np.zeros(2, dtype=[("größe", "<f8"), ("名前", "<i2")]),
}


def _without_matplotlib(monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)  # import -> ImportError


class TestNumpyArrayMaterializer(MaterializerContract):
    materializer = NumpyArrayMaterializer

    @pytest.fixture(params=list(VALUES), ids=list(VALUES))
    def value(self, request):
        return VALUES[request.param]

    def assert_same(self, loaded, value):
        assert type(loaded) is np.ndarray
        assert loaded.dtype == value.dtype
        assert loaded.shape == value.shape
        np.testing.assert_array_equal(loaded, value)
        if value.flags.f_contiguous and not value.flags.c_contiguous:
            assert loaded.flags.f_contiguous  # Fortran order is preserved, not copied away


class TestMaskedArrays(MaterializerContract):
    materializer = NumpyArrayMaterializer

    @pytest.fixture
    def value(self):
        return np.ma.MaskedArray([1.0, 2.0, 3.0], mask=[False, True, False])

    def assert_same(self, loaded, value):
        assert isinstance(loaded, np.ma.MaskedArray)
        np.testing.assert_array_equal(loaded.mask, value.mask)
        np.testing.assert_array_equal(loaded.compressed(), value.compressed())


@pytest.fixture
def store(tmp_path):
    return local_store(tmp_path / "store")


def _save(store, value, allow_pickle=False):
    return save_data(store, NumpyArrayMaterializer, value, allow_pickle=allow_pickle,
                     label="'arr'")


def _load(store, stored, allow_pickle=False, data_type=None):
    registry = MaterializerRegistry([("numpy", NumpyArrayMaterializer)])
    return load_data(store, registry, uri=stored.uri, materializer=stored.materializer,
                     type_path=stored.type, files=stored.files, allow_pickle=allow_pickle,
                     label="'arr'", data_type=data_type)


def test_files_are_standard_npy_that_load_without_pickle(store):
    for name in ("float32-2d", "fortran", "non-contiguous", "structured", "datetime64",
                 "unicode-field-names", "0-d"):
        value = VALUES[name]
        stored = _save(store, value)
        assert "array.pkl" not in stored.files
        loaded = np.load(f"{stored.uri}/array.npy", allow_pickle=False)
        np.testing.assert_array_equal(loaded, value)
        assert loaded.dtype == value.dtype


def test_same_bytes_as_np_save(store, tmp_path):
    value = VALUES["fortran"]
    stored = _save(store, value)
    np.save(tmp_path / "ref.npy", value)
    with open(f"{stored.uri}/array.npy", "rb") as ours:
        assert ours.read() == (tmp_path / "ref.npy").read_bytes()


def test_large_non_contiguous_array_is_written_in_chunks(store, monkeypatch):
    import zen_numpy

    monkeypatch.setattr(zen_numpy, "CHUNK_BYTES", 1024)  # force the chunked path on small data
    base = np.arange(200 * 300, dtype=np.float64).reshape(200, 300)
    for value in (base[::3, ::2], base.T[::2], base[:, ::7][:, :1].reshape(-1)[::3],
                  np.broadcast_to(np.arange(5.0), (400, 5))):
        writes = []
        original = zen_numpy._bytes_view

        def spy(array, original=original, writes=writes):
            view = original(array)
            writes.append(view.nbytes)
            return view

        monkeypatch.setattr(zen_numpy, "_bytes_view", spy)
        stored = _save(store, value)
        monkeypatch.setattr(zen_numpy, "_bytes_view", original)
        np.testing.assert_array_equal(_load(store, stored), value)
        if value.nbytes > 1024:
            assert max(writes) <= max(1024, value.nbytes // value.shape[0])


def test_object_arrays_are_refused_with_advice(store):
    value = np.array([{"a": 1}, None], dtype=object)
    with pytest.raises(UnsafeArtifactError) as info:
        _save(store, value, allow_pickle=False)
    message = str(info.value)
    assert "dtype object" in message
    assert "allow_pickle = false" in message
    assert "astype" in message and "allow_pickle = true" in message
    assert store.list_files(store.path) == {}  # nothing half-written remains


def test_structured_arrays_with_objects_are_refused_too(store):
    value = np.zeros(2, dtype=[("a", "<i4"), ("payload", "O")])
    with pytest.raises(UnsafeArtifactError, match=r"holds Python objects"):
        _save(store, value, allow_pickle=False)


def test_object_arrays_pickle_with_the_core_warning_when_allowed(store):
    from structlog.testing import capture_logs

    value = np.array([{"a": 1}, None, "x"], dtype=object)
    with capture_logs() as logs:
        stored = _save(store, value, allow_pickle=True)
    assert "array.pkl" in stored.files and "array.npy" not in stored.files
    [warning] = [e for e in logs if e["event"] == "materializer.pickle_fallback"]
    assert warning["log_level"] == "warning" and "numpy" in warning["type"]
    loaded = _load(store, stored, allow_pickle=True)
    assert loaded.dtype == object and list(loaded) == list(value)
    with pytest.raises(UnsafeArtifactError, match=r"'arr'.*allow_pickle = false"):
        _load(store, stored, allow_pickle=False)


def test_corrupt_header_is_a_clear_error(store):
    stored = _save(store, np.arange(10.0))
    path = f"{stored.uri}/array.npy"
    with open(path, "r+b") as f:
        f.write(b"NOTNUMPY")
    with pytest.raises((IntegrityError, MaterializerError)) as info:
        _load(store, stored)
    assert "'arr'" in str(info.value) and "array.npy" in str(info.value)


def test_truncated_file_is_detected(store):
    stored = _save(store, np.arange(1000.0))
    path = f"{stored.uri}/array.npy"
    with open(path, "rb") as f:
        content = f.read()
    with open(path, "wb") as f:
        f.write(content[:-100])
    with pytest.raises((IntegrityError, MaterializerError), match=r"'arr'") as info:
        _load(store, stored)
    assert "array.npy" in str(info.value)


def test_metadata_describes_the_array(store):
    value = np.array([[1.0, np.nan], [3.0, 5.0]])
    meta = _save(store, value).metadata
    assert meta["shape"] == [2, 2]
    assert meta["dtype"] == "float64"
    assert meta["bytes"] == 32
    assert meta["min"] == 1.0 and meta["max"] == 5.0 and meta["mean"] == 3.0
    assert meta["nan_count"] == 1 and meta["stats_exact"] is True
    json.dumps(meta, allow_nan=False)


def test_metadata_statistics_use_a_bounded_sample(store, monkeypatch):
    import zen_numpy

    monkeypatch.setattr(zen_numpy, "STATS_SAMPLE", 100)
    value = np.arange(10_000, dtype=np.int64)
    meta = NumpyArrayMaterializer("mem://x", store).extract_metadata(value)
    assert meta["stats_exact"] is False
    assert meta["stats_sample_size"] <= 100
    assert meta["min"] == 0 and 9_800 <= meta["max"] < 10_000
    assert abs(meta["mean"] - 4_999.5) < 100
    infinite = NumpyArrayMaterializer("mem://x", store).extract_metadata(np.array([np.inf, 1.0]))
    assert infinite["max"] == "inf"  # strict JSON
    json.dumps(infinite, allow_nan=False)
    assert "min" not in NumpyArrayMaterializer("mem://x", store).extract_metadata(VALUES["unicode"])


def test_numeric_1d_and_2d_get_a_histogram_svg(store):
    import xml.etree.ElementTree as ET

    for value in (VALUES["float64"], VALUES["float32-2d"], VALUES["int8"], VALUES["with-nan"]):
        stored = _save(store, value)
        [(uri, kind)] = stored.visualizations.items()
        assert kind == "image" and uri.endswith("histogram.svg")
        with open(uri, "rb") as f:
            root = ET.fromstring(f.read())  # well-formed XML
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
        assert f"{value.dtype} array, shape " in texts[0]
        assert root.find("{http://www.w3.org/2000/svg}path") is not None  # the bars


def test_histogram_of_a_large_array_says_it_is_sampled_and_handles_no_finite_values():
    import zen_numpy

    big = np.arange(zen_numpy.HIST_SAMPLE * 3, dtype=np.float64)
    assert " values sampled)" in zen_numpy._histogram_svg(big)
    empty = zen_numpy._histogram_svg(np.array([np.nan, np.inf, -np.inf]))
    assert "no finite values" in empty and "<path" not in empty


def test_arrays_spanning_every_float_still_get_a_histogram(store):
    top = np.finfo(np.float64).max
    for value in (np.array([-top, 0.0, top]), np.array([2**63 - 1, -(2**63)], dtype=np.int64)):
        stored = _save(store, value)
        [(uri, _)] = stored.visualizations.items()
        with open(uri) as f:
            svg = f.read()
        assert "<path" in svg and "nan" not in svg and "inf" not in svg


def test_histogram_needs_no_matplotlib(store, monkeypatch):
    _without_matplotlib(monkeypatch)
    stored = _save(store, np.arange(50.0) + 0.5)
    assert [uri.rsplit("/", 1)[-1] for uri in stored.visualizations] == ["histogram.svg"]


def test_metadata_is_computed_once_when_the_summary_uses_it(store, monkeypatch):
    import zen_numpy

    calls = []
    original = zen_numpy._sample_stats
    monkeypatch.setattr(zen_numpy, "_sample_stats",
                        lambda data: calls.append(1) or original(data))
    stored = _save(store, VALUES["3-d"])  # a markdown summary, which shows the metadata
    assert list(stored.visualizations.values()) == ["markdown"]
    assert stored.metadata["min"] == 0 and len(calls) == 1


def test_samples_of_large_arrays_are_evenly_spaced_runs():
    import zen_numpy

    for order in ("C", "F"):
        # each element holds its position in memory
        value = np.arange(1_000_000, dtype=np.int64).reshape(1000, 1000, order=order)
        sample, exact = zen_numpy._sample(value, 10_000)
        assert not exact and 9_000 < sample.size <= 10_000
        assert sample[0] == 0 and sample[-1] >= 999_000  # both ends are covered
        runs = sample.reshape(zen_numpy.SAMPLE_RUNS, -1)
        assert (np.diff(runs, axis=1) == 1).all()  # runs of neighbours in memory
        gaps = np.diff(runs[:, 0])
        assert gaps.min() == gaps.max()  # evenly spaced


def test_other_arrays_get_a_markdown_summary(store):
    for value in (VALUES["3-d"], VALUES["structured"], VALUES["0-d"], VALUES["empty"]):
        stored = _save(store, value)
        [(uri, kind)] = stored.visualizations.items()
        assert kind == "markdown" and uri.endswith("summary.md")
        with open(uri) as f:
            text = f.read()
        assert "| shape |" in text and str(value.dtype) in text


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_matrix_loads_as_its_subclass(store):
    value = np.matrix([[1, 2], [3, 4]])
    stored = _save(store, value)
    loaded = _load(store, stored, data_type=np.matrix)
    assert type(loaded) is np.matrix
    np.testing.assert_array_equal(loaded, value)


def test_entry_point_is_listed():
    infos = {info.name: info for info in list_plugins(new_plugin_manager())}
    assert "numpy" in infos, sorted(infos)
    assert infos["numpy"].distribution == "zen-numpy"
    assert "NumpyArrayMaterializer" in infos["numpy"].provides["materializers"]


def test_loading_the_plugin_does_not_import_numpy():
    assert modules_imported_at_startup(["numpy", "matplotlib"], also_import=("zen_numpy",)) == []
