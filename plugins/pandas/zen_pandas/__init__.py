"""zen-pandas: DataFrames and Series as parquet, through pyarrow, without pickle.

pandas and pyarrow are imported only inside methods, so loading this plugin
(``zen plugins list``, every pipeline run) does not pay for them.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from zen_core.errors import UnsafeArtifactError
from zen_core.materializers import ArtifactType, Materializer, VisualizationType
from zen_core.plugins import hookimpl

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["PandasMaterializer"]

DATA_FILE = "data.parquet"
PICKLE_FILE = "data.pkl"  # only frames parquet cannot hold, only with allow_pickle = true
DESCRIBE_FILE = "describe.html"
SAMPLE_FILE = "sample.csv"
META_KEY = b"zen_pandas"  # our own entry in the parquet schema metadata

DESCRIBE_ROWS = 20_000  # describe() looks at an evenly spaced sample of at most this many rows
HEAD_ROWS = 10
CSV_ROWS = 1_000
WRITE_BUFFER = 1 << 20  # bytes pyarrow gathers before each write to the store


class PandasMaterializer(Materializer):
    """``pandas.DataFrame`` and ``pandas.Series`` as one parquet file (snappy).

    Index (named, multi), extension dtypes (categorical, tz-aware datetimes,
    nullable Int64/boolean/string) round-trip through pyarrow's pandas
    metadata; column labels that are not unique strings (ints, tuples,
    mixed) are stored in the file's own metadata and restored exactly. The
    file is written straight into the store (hashed in the same pass) and
    read back in one sequential pass into an Arrow buffer.
    """

    ASSOCIATED_TYPES = ("pandas.DataFrame", "pandas.Series")
    WRITES_ONLY_THROUGH_OPEN = True  # every file through self.open: no listing at save
    ASSOCIATED_ARTIFACT_TYPE = ArtifactType.DATA
    VERSION = "1"

    _null_counts: list[int] | None = None  # from the Arrow table built by save()

    # -- save ----------------------------------------------------------------------------

    def save(self, data: pd.DataFrame | pd.Series) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        frame, zen_meta = _to_storable_frame(data)
        # Rendered while pyarrow converts and encodes, which release the GIL; a frame that
        # ends up pickled uses the rendering too (save_visualizations collects it).
        self._start_visualizations(data)
        try:
            table = _to_table(frame, zen_meta)
        except _Unstorable as exc:
            self._refuse_or_pickle(data, exc)
            return
        self._null_counts = [col.null_count for col in table.columns[:frame.shape[1]]]
        with self.open(DATA_FILE, "wb") as f:
            # pyarrow writes page by page (~1,000 writes for 57 MB); buffered on its side, the
            # file (hashing on its way) gets a few large writes, and the encoding thread
            # seldom needs the GIL that the rendering thread holds.
            sink = pa.BufferedOutputStream(pa.PythonFile(f, mode="w"), buffer_size=WRITE_BUFFER)
            pq.write_table(table, sink)  # default compression: snappy
            sink.flush()

    def _start_visualizations(self, data: pd.DataFrame | pd.Series) -> None:
        self._pending_visualizations = self.in_background(_render_visualizations, data)

    def _refuse_or_pickle(self, data: Any, exc: _Unstorable) -> None:
        kind = type(data).__name__
        if not self.allow_pickle:
            raise UnsafeArtifactError(
                f"artifact {self._label}: column {exc.column!r} (dtype {exc.dtype}) of the {kind} "
                f"cannot be stored as parquet: {exc.reason}. Fix: convert that column to a "
                f"parquet-compatible dtype (e.g. df[{exc.column!r}].astype(str), pd.to_numeric, "
                f"or split complex numbers into real and imaginary columns), or set "
                f"allow_pickle = true to pickle the {kind} (unsafe to load from untrusted stores).",
                column=exc.column, dtype=exc.dtype,
            )
        from zen_core.materializers import PickleMaterializer

        PickleMaterializer.warn_or_refuse(
            type(data), True, context=f"column {exc.column!r} cannot be stored as parquet")
        self.save_pickled(PICKLE_FILE, data)

    # -- load ----------------------------------------------------------------------------

    def load(self, data_type: type) -> pd.DataFrame | pd.Series:
        if self.exists(PICKLE_FILE):
            return self.load_pickled(PICKLE_FILE, what="is a pandas object stored with pickle "
                                                       "(a column parquet could not hold)")
        import pyarrow as pa
        import pyarrow.parquet as pq

        buf = self._read_whole(DATA_FILE)
        table = pq.read_table(pa.BufferReader(buf))
        return _from_table(table)

    def _read_whole(self, rel: str) -> pa.Buffer:
        """The whole file in one sequential pass (verified on close), into an Arrow buffer.

        Parquet readers seek to the footer first; reading sequentially lets
        the hash be checked in the same pass instead of re-reading gaps.
        """
        import pyarrow as pa

        size = int(self.fs.size(self.path(rel)))
        buf = pa.allocate_buffer(size)
        view = memoryview(buf).cast("B")
        done = 0
        with self.open(rel, "rb") as f:
            while done < size:
                n = f.readinto(view[done:])
                if not n:
                    break
                done += n
        # leaving `with` verified the hash, so the bytes are what was stored
        return buf if done == size else buf.slice(0, done)

    # -- metadata and visualizations -----------------------------------------------------

    def extract_metadata(self, data: pd.DataFrame | pd.Series) -> dict[str, Any]:
        import pandas as pd

        frame = data.to_frame() if isinstance(data, pd.Series) else data
        labels = [_label_text(c) for c in frame.columns]
        nulls = self._null_counts
        if nulls is None or len(nulls) != len(labels):  # saved by pickle, or save() not called
            nulls = [int(n) for n in frame.isna().sum().tolist()]
        meta: dict[str, Any] = {
            "kind": "series" if isinstance(data, pd.Series) else "dataframe",
            "rows": int(frame.shape[0]),
            "columns": int(frame.shape[1]),
            "column_names": labels,
            "dtypes": dict(zip(labels, (str(t) for t in frame.dtypes))),
            "missing_values": dict(zip(labels, (int(n) for n in nulls))),
            "index": [None if n is None else _label_text(n) for n in frame.index.names],
        }
        return meta

    def save_visualizations(self, data: pd.DataFrame | pd.Series) -> dict[str, str]:
        pending = self.__dict__.pop("_pending_visualizations", None)
        files = _render_visualizations(data) if pending is None else pending.result()
        out = {}
        for rel, (content, kind) in files.items():
            with self.open(rel, "wb") as f:
                f.write(content)
            out[self.path(rel)] = kind
        return out


def _render_visualizations(data: pd.DataFrame | pd.Series) -> dict[str, tuple[bytes, str]]:
    """``{file: (content, kind)}``: describe() and the first rows as HTML, a CSV sample."""
    import numpy as np
    import pandas as pd

    frame = data.to_frame() if isinstance(data, pd.Series) else data
    sample = _even_rows(frame, DESCRIBE_ROWS)
    parts = [f"<h3>{type(data).__name__}: {frame.shape[0]:,} rows &times; "
             f"{frame.shape[1]:,} columns</h3>"]
    if frame.shape[1]:
        try:
            with np.errstate(all="ignore"):  # inf values make quantiles warn
                described = sample.describe()
        except (ValueError, TypeError):  # nothing describable
            described = None
        if described is not None:
            note = "" if len(sample) == len(frame) else f" (on {len(sample):,} evenly spaced rows)"
            parts += [f"<h4>describe(){note}</h4>", described.to_html(border=0)]
    parts += [f"<h4>first {min(HEAD_ROWS, len(frame))} rows</h4>",
              frame.head(HEAD_ROWS).to_html(border=0)]
    html = ("<!doctype html><html><head><meta charset='utf-8'></head><body>"
            + "\n".join(parts) + "</body></html>")
    csv = _even_rows(frame, CSV_ROWS).to_csv()
    return {DESCRIBE_FILE: (html.encode(), VisualizationType.HTML),
            SAMPLE_FILE: (csv.encode(), VisualizationType.CSV)}


# -- frames <-> Arrow tables -----------------------------------------------------------------


class _Unstorable(Exception):
    def __init__(self, column: Any, dtype: str, reason: str) -> None:
        super().__init__(reason)
        self.column, self.dtype, self.reason = column, dtype, reason


def _to_storable_frame(data: pd.DataFrame | pd.Series) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A frame pyarrow can write, plus what is needed to restore the original exactly."""
    import pandas as pd

    zen_meta: dict[str, Any] = {}
    if isinstance(data, pd.Series):
        zen_meta["series"] = {"name": _encode(data.name)}
        frame = data.to_frame(name=data.name if isinstance(data.name, str) else "values")
    elif isinstance(data, pd.DataFrame):
        frame = data
    else:
        raise TypeError(f"expected a pandas DataFrame or Series, got {type(data).__name__}")
    columns = frame.columns
    if not _plain_string_columns(columns):
        zen_meta["columns"] = _encode_columns(columns)
        frame = frame.copy(deep=False)  # relabel without copying data or touching the caller's
        frame.columns = _physical_names(columns)
    categoricals = _categoricals_parquet_loses(frame)
    if categoricals:
        zen_meta["categoricals"] = categoricals
    return frame, zen_meta


def _categoricals_parquet_loses(frame: pd.DataFrame) -> dict[str, Any]:
    """Categorical columns whose categories are not strings come back dense from parquet:
    remember their categories (and order) to restore them."""
    import pandas as pd

    out = {}
    for position, dtype in enumerate(frame.dtypes):
        if isinstance(dtype, pd.CategoricalDtype) and not pd.api.types.is_string_dtype(
                dtype.categories.dtype):
            out[str(position)] = {"categories": [_encode(c) for c in dtype.categories],
                                  "dtype": str(dtype.categories.dtype),
                                  "ordered": bool(dtype.ordered)}
    return out


def _plain_string_columns(columns: pd.Index) -> bool:
    import pandas as pd

    return (not isinstance(columns, pd.MultiIndex | pd.RangeIndex) and columns.is_unique
            and all(type(c) is str for c in columns))


def _physical_names(columns: pd.Index) -> list[str]:
    """Unique string names for parquet; the real labels live in our metadata."""
    names, seen = [], set()
    for i, label in enumerate(columns):
        text = "_".join(map(str, label)) if isinstance(label, tuple) else str(label)
        name = text if text not in seen else f"{text}__{i}"
        while name in seen:
            name += "_"
        seen.add(name)
        names.append(name)
    return names


def _to_table(frame: pd.DataFrame, zen_meta: dict[str, Any]) -> pa.Table:
    import pyarrow as pa

    try:
        table = pa.Table.from_pandas(frame)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise _find_unstorable(frame, exc) from exc
    if zen_meta:
        schema_meta = dict(table.schema.metadata or {})
        schema_meta[META_KEY] = json.dumps(zen_meta).encode()
        table = table.replace_schema_metadata(schema_meta)
    return table


def _find_unstorable(frame: pd.DataFrame, exc: Exception) -> _Unstorable:
    import pyarrow as pa

    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        try:
            pa.Array.from_pandas(column)
        except (pa.ArrowException, ValueError, TypeError) as col_exc:
            return _Unstorable(column.name, str(column.dtype), _first_line(col_exc))
    return _Unstorable("<index>", str(frame.index.dtype), _first_line(exc))


def _first_line(exc: Exception) -> str:
    text = str(exc.args[0]) if exc.args else str(exc)
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def _from_table(table: pa.Table) -> pd.DataFrame | pd.Series:
    zen_meta = json.loads((table.schema.metadata or {}).get(META_KEY, b"{}"))
    frame = table.to_pandas()
    for position, spec in zen_meta.get("categoricals", {}).items():
        frame.isetitem(int(position), frame.iloc[:, int(position)].astype(_categorical(spec)))
    if "columns" in zen_meta:
        frame.columns = _decode_columns(zen_meta["columns"])
    if "series" in zen_meta:
        series = frame.iloc[:, 0]
        series.name = _decode(zen_meta["series"]["name"])
        return series
    return frame


def _categorical(spec: dict[str, Any]) -> pd.CategoricalDtype:
    import pandas as pd

    categories = pd.Index([_decode(c) for c in spec["categories"]])
    if str(categories.dtype) != spec["dtype"]:
        categories = categories.astype(spec["dtype"])
    return pd.CategoricalDtype(categories, ordered=spec["ordered"])


# -- column labels as JSON -------------------------------------------------------------------


def _encode_columns(columns: pd.Index) -> dict[str, Any]:
    import pandas as pd

    if isinstance(columns, pd.MultiIndex):
        return {"multi": [_encode(tuple(c)) for c in columns],
                "names": [_encode(n) for n in columns.names], "nlevels": columns.nlevels}
    if isinstance(columns, pd.RangeIndex):
        return {"range": [columns.start, columns.stop, columns.step],
                "name": _encode(columns.name)}
    return {"labels": [_encode(c) for c in columns], "name": _encode(columns.name),
            "dtype": str(columns.dtype)}


def _decode_columns(spec: dict[str, Any]) -> pd.Index:
    import pandas as pd

    if "multi" in spec:
        names = [_decode(n) for n in spec["names"]]
        tuples = [_decode(t) for t in spec["multi"]]
        if not tuples:
            return pd.MultiIndex.from_arrays([[] for _ in range(spec["nlevels"])], names=names)
        return pd.MultiIndex.from_tuples(tuples, names=names)
    if "range" in spec:
        return pd.RangeIndex(*spec["range"], name=_decode(spec["name"]))
    index = pd.Index([_decode(c) for c in spec["labels"]], name=_decode(spec["name"]),
                     tupleize_cols=False)
    if str(index.dtype) != spec["dtype"]:
        try:
            index = index.astype(spec["dtype"])
        except (TypeError, ValueError):
            pass
    return index


def _encode(label: Any) -> Any:
    """A column label as JSON that decodes to an equal label of the same kind."""
    import datetime

    if label is None or isinstance(label, bool | str):
        return label
    if isinstance(label, int):
        return int(label)
    if isinstance(label, float):
        return label if math.isfinite(label) else {"float": str(label)}
    if isinstance(label, tuple):
        return {"tuple": [_encode(x) for x in label]}
    if hasattr(label, "item") and hasattr(label, "dtype"):  # numpy scalar
        return _encode(label.item())
    if isinstance(label, datetime.datetime):  # includes pd.Timestamp
        return {"timestamp": label.isoformat()}
    if isinstance(label, datetime.date):
        return {"date": label.isoformat()}
    return {"str": str(label)}  # anything else keeps its text


def _decode(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if "tuple" in value:
        return tuple(_decode(x) for x in value["tuple"])
    if "float" in value:
        return float(value["float"])
    if "timestamp" in value:
        import pandas as pd

        return pd.Timestamp(value["timestamp"])
    if "date" in value:
        import datetime

        return datetime.date.fromisoformat(value["date"])
    return value["str"]


def _label_text(label: Any) -> str:
    return label if isinstance(label, str) else str(label)


def _even_rows(frame: pd.DataFrame, limit: int) -> pd.DataFrame:
    rows = frame.shape[0]
    return frame if rows <= limit else frame.iloc[:: -(-rows // limit)]


@hookimpl
def zen_materializers() -> list[type[Materializer]]:
    return [PandasMaterializer]
