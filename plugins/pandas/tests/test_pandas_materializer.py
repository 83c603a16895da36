"""zen-pandas: the materializer contract over indexes, dtypes and column labels, plus its promises."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from zen_pandas import PandasMaterializer

from zen_core.artifacts import load_data, save_data
from zen_core.errors import UnsafeArtifactError
from zen_core.materializers import MaterializerRegistry
from zen_core.plugins import list_plugins, new_plugin_manager
from zen_core.testing import MaterializerContract, local_store, modules_imported_at_startup


def _frames() -> dict[str, pd.DataFrame | pd.Series]:
    base = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, np.nan, 2.5], "c": ["x", "y", None]})
    return {
        "simple": base,
        "guide": pd.DataFrame({"feature_1": [1, 2, 3], "feature_2": [4, 5, 6],
                               "target": [10, 20, 30]}),
        "empty": pd.DataFrame(),
        "no-rows": pd.DataFrame({"a": pd.Series([], dtype="float64"),
                                 "b": pd.Series([], dtype="Int64")}),
        "named-index": base.set_index(pd.Index([10, 20, 30], name="id")),
        "string-index": base.set_index(pd.Index(["r1", "r2", "r3"])),
        "multi-index": base.set_index(pd.MultiIndex.from_tuples(
            [(2024, "a"), (2024, "b"), (2025, "a")], names=["year", "key"])),
        "tz-index": base.set_index(pd.DatetimeIndex(
            ["2024-01-01", "2024-01-02", "2024-01-03"], tz="UTC", name="ts")),
        "range-index-step": base.set_index(pd.RangeIndex(10, 16, 2)),
        "nullable": pd.DataFrame({
            "Int64": pd.array([1, None, 3], dtype="Int64"),
            "UInt8": pd.array([1, 2, None], dtype="UInt8"),
            "boolean": pd.array([True, None, False], dtype="boolean"),
            "string": pd.array(["a", None, "c"], dtype="string"),
            "Float32": pd.array([0.5, None, 1.5], dtype="Float32"),
        }),
        "categorical": pd.DataFrame({
            "cat": pd.Categorical(["lo", "hi", "lo"], categories=["lo", "hi", "mid"]),
            "ordered": pd.Categorical(["s", "m", "l"], categories=["s", "m", "l"], ordered=True),
            "int-cat": pd.Categorical([3, 1, 3]),
        }),
        "datetimes": pd.DataFrame({
            "naive": pd.to_datetime(["2024-01-01 10:00", None, "1999-12-31 23:59"]),
            "berlin": pd.date_range("2024-03-30", periods=3, freq="D", tz="Europe/Berlin"),
            "ns": pd.Series(pd.to_datetime([1, 2, 3], unit="ns")).astype("datetime64[ns]"),
            "delta": pd.to_timedelta([1, None, 3], unit="s"),
            "period": pd.period_range("2024-01", periods=3, freq="M"),
        }),
        "numeric-dtypes": pd.DataFrame({
            "i8": np.array([-1, 0, 1], dtype=np.int8),
            "u64": np.array([0, 1, 2**64 - 1], dtype=np.uint64),
            "f32": np.array([0.1, np.inf, -np.inf], dtype=np.float32),
            "bool": [True, False, True],
            "bytes": [b"a", b"\x00", b"xyz"],
        }),
        "int-columns": pd.DataFrame(np.arange(6).reshape(2, 3)),
        "int-labels": pd.DataFrame({10: [1.0], 20: [2.0]}),
        "tuple-columns": pd.DataFrame({("a", 1): [1], ("a", 2): [2], ("b", 1): [3]}),
        "named-multi-columns": pd.DataFrame(
            [[1, 2]], columns=pd.MultiIndex.from_tuples([("x", "p"), ("y", "q")],
                                                        names=["outer", "inner"])),
        "mixed-labels": pd.DataFrame({1: [1], "b": [2], 2.5: [3], None: [4]}),
        "duplicate-labels": pd.DataFrame([[1, 2, 3]], columns=["a", "a", "b"]),
        "labels-like-physical": pd.DataFrame([[1, 2]], columns=[1, "1"]),
        "named-columns-axis": base.rename_axis(columns="features"),
        "timestamp-labels": pd.DataFrame([[1, 2]], columns=pd.to_datetime(["2024-01-01",
                                                                           "2024-01-02"])),
        "series": pd.Series([1.5, None, 3.0], name="score"),
        "series-unnamed": pd.Series(["a", "b"]),
        "series-int-name": pd.Series([1, 2], name=7, index=pd.Index(["p", "q"], name="k")),
        "series-tuple-name": pd.Series(pd.array([True, None], dtype="boolean"), name=("m", 1)),
        "series-categorical": pd.Series(pd.Categorical(["a", "b", "a"]), name="values"),
    }


FRAMES = _frames()


def _assert_same(loaded, value):
    assert type(loaded) is type(value)
    if isinstance(value, pd.Series):
        pd.testing.assert_series_equal(loaded, value, check_exact=True)
        assert loaded.name == value.name and type(loaded.name) is type(value.name)
    else:
        pd.testing.assert_frame_equal(loaded, value, check_exact=True, check_column_type=True,
                                      check_index_type=True)
        assert list(loaded.columns) == list(value.columns)
        assert [type(c) for c in loaded.columns] == [type(c) for c in value.columns]
        assert list(loaded.columns.names) == list(value.columns.names)


class TestPandasMaterializer(MaterializerContract):
    materializer = PandasMaterializer

    @pytest.fixture(params=list(FRAMES), ids=list(FRAMES))
    def value(self, request):
        return FRAMES[request.param]

    def assert_same(self, loaded, value):
        _assert_same(loaded, value)


@pytest.fixture
def store(tmp_path):
    return local_store(tmp_path / "store")


def _save(store, value, allow_pickle=False):
    return save_data(store, PandasMaterializer, value, allow_pickle=allow_pickle, label="'df'")


def _load(store, stored, allow_pickle=False):
    registry = MaterializerRegistry([("pandas", PandasMaterializer)])
    return load_data(store, registry, uri=stored.uri, materializer=stored.materializer,
                     type_path=stored.type, files=stored.files, allow_pickle=allow_pickle,
                     label="'df'", data_type=None)


def test_the_file_is_plain_snappy_parquet(store):
    import pyarrow.parquet as pq

    stored = _save(store, FRAMES["named-index"])
    path = f"{stored.uri}/data.parquet"
    meta = pq.ParquetFile(path).metadata
    assert meta.row_group(0).column(0).compression == "SNAPPY"
    pd.testing.assert_frame_equal(pd.read_parquet(path), FRAMES["named-index"])


def test_the_callers_frame_is_not_changed(store):
    frame = pd.DataFrame({1: [1], 2: [2]})
    _save(store, frame)
    assert list(frame.columns) == [1, 2]


def test_metadata(store):
    frame = pd.DataFrame({"a": [1, None, 3], "b": ["x", None, None], 3: [True, False, True]},
                         index=pd.Index([1, 2, 3], name="id"))
    meta = _save(store, frame).metadata
    assert meta["rows"] == 3 and meta["columns"] == 3
    assert meta["column_names"] == ["a", "b", "3"]
    assert meta["dtypes"]["a"] == "float64" and meta["dtypes"]["3"] == "bool"
    assert meta["missing_values"] == {"a": 1, "b": 2, "3": 0}
    assert meta["index"] == ["id"]
    json.dumps(meta, allow_nan=False)
    series_meta = _save(store, pd.Series([1.0, np.nan], name="s")).metadata
    assert series_meta["kind"] == "series" and series_meta["missing_values"] == {"s": 1}


def test_missing_values_match_isna(store):
    frame = FRAMES["datetimes"].join(FRAMES["nullable"]).join(FRAMES["simple"])
    meta = _save(store, frame).metadata
    assert meta["missing_values"] == {str(k): int(v) for k, v in frame.isna().sum().items()}


def test_visualizations_describe_head_and_csv_sample(store):
    frame = pd.DataFrame({"num": np.arange(50, dtype=float), "txt": [f"t{i}" for i in range(50)]})
    stored = _save(store, frame)
    kinds = {uri.rsplit("/", 1)[-1]: kind for uri, kind in stored.visualizations.items()}
    assert kinds == {"describe.html": "html", "sample.csv": "csv"}
    with open(f"{stored.uri}/describe.html") as f:
        html = f.read()
    assert "describe()" in html and "mean" in html and "first 10 rows" in html and "t9" in html
    sample = pd.read_csv(f"{stored.uri}/sample.csv", index_col=0)
    assert list(sample.columns) == ["num", "txt"] and len(sample) == 50


def test_describe_and_csv_use_a_bounded_sample(store, monkeypatch):
    import zen_pandas

    monkeypatch.setattr(zen_pandas, "DESCRIBE_ROWS", 100)
    monkeypatch.setattr(zen_pandas, "CSV_ROWS", 10)
    frame = pd.DataFrame({"v": np.arange(10_000.0)})
    stored = _save(store, frame)
    with open(f"{stored.uri}/describe.html") as f:
        html = f.read()
    assert "on 100 evenly spaced rows" in html
    assert len(pd.read_csv(f"{stored.uri}/sample.csv")) == 10


def test_frames_without_columns_still_visualize(store):
    stored = _save(store, pd.DataFrame(index=[1, 2]))
    assert len(stored.visualizations) == 2


def test_unstorable_column_is_refused_naming_it(store):
    frame = pd.DataFrame({"ok": [1, 2], "mixed": [1, "two"]})
    with pytest.raises(UnsafeArtifactError) as info:
        _save(store, frame, allow_pickle=False)
    message = str(info.value)
    assert "'df'" in message and "column 'mixed'" in message and "dtype object" in message
    assert "astype(str)" in message and "allow_pickle = true" in message
    assert store.list_files(store.path) == {}


def test_pickled_frame_is_not_loaded_when_pickle_is_disabled(store):
    frame = pd.DataFrame({"mixed": [1, "two"]})
    stored = _save(store, frame, allow_pickle=True)
    assert "data.pkl" in stored.files
    pd.testing.assert_frame_equal(_load(store, stored, allow_pickle=True), frame)
    with pytest.raises(UnsafeArtifactError) as info:
        _load(store, stored, allow_pickle=False)
    message = str(info.value)
    assert "'df' is a pandas object stored with pickle" in message
    assert "allow_pickle = false forbids that" in message and "allow_pickle = true" in message


def test_complex_column_is_refused(store):
    with pytest.raises(UnsafeArtifactError, match=r"column 'z' \(dtype complex128\)"):
        _save(store, pd.DataFrame({"z": [1 + 1j]}), allow_pickle=False)


def test_unstorable_frames_pickle_with_a_warning_when_allowed(store):
    from structlog.testing import capture_logs

    frame = pd.DataFrame({"mixed": [1, "two"]})
    with capture_logs() as logs:
        stored = _save(store, frame, allow_pickle=True)
    assert "data.pkl" in stored.files
    assert any(e["event"] == "materializer.pickle_fallback" for e in logs)
    pd.testing.assert_frame_equal(_load(store, stored, allow_pickle=True), frame)
    with pytest.raises(UnsafeArtifactError, match=r"'df'.*allow_pickle = false"):
        _load(store, stored, allow_pickle=False)


def test_entry_point_is_listed():
    infos = {info.name: info for info in list_plugins(new_plugin_manager())}
    assert "pandas" in infos, sorted(infos)
    assert infos["pandas"].distribution == "zen-pandas"
    assert "PandasMaterializer" in infos["pandas"].provides["materializers"]


def test_loading_the_plugin_does_not_import_pandas():
    assert modules_imported_at_startup(["pandas", "pyarrow", "numpy"],
                                       also_import=("zen_pandas",)) == []
