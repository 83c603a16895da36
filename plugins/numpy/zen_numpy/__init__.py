"""zen-numpy: NumPy arrays as ``.npy`` files, written and read without copies or pickle.

numpy is imported only inside methods: loading this plugin (``zen plugins
list``, every pipeline run) stays cheap for users who never touch an array.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from zen_core.errors import UnsafeArtifactError
from zen_core.materializers import ArtifactType, Materializer, VisualizationType
from zen_core.plugins import hookimpl

if TYPE_CHECKING:
    import numpy as np

__all__ = ["NumpyArrayMaterializer"]

ARRAY_FILE = "array.npy"
MASK_FILE = "mask.npy"  # masked arrays only
PICKLE_FILE = "array.pkl"  # object arrays, only with allow_pickle = true
HISTOGRAM_FILE = "histogram.png"
SUMMARY_FILE = "summary.md"

CHUNK_BYTES = 64 * 1024 * 1024  # bound on copies of non-contiguous arrays and on read calls
STATS_SAMPLE = 1_000_000  # metadata statistics never look at more elements than this
HIST_SAMPLE = 200_000
_RENDER_LOCK = threading.Lock()
MAX_HEADER = 1 << 24  # our own files: allow big structured-dtype headers


class NumpyArrayMaterializer(Materializer):
    """``numpy.ndarray`` (any non-object dtype, any layout) as a ``.npy`` file, no pickle.

    The header is written with ``numpy.lib.format`` and the data buffer goes
    to the store as a memoryview, hashed in the same pass; loading reads the
    header and ``readinto``-s a preallocated array, so neither direction
    holds a second copy of the data. Fortran-ordered arrays stay Fortran-ordered.
    """

    ASSOCIATED_TYPES = ("numpy.ndarray",)
    ASSOCIATED_ARTIFACT_TYPE = ArtifactType.DATA
    VERSION = "1"

    # -- save ----------------------------------------------------------------------------

    def save(self, data: np.ndarray) -> None:
        import numpy as np

        if data.dtype.hasobject:
            _refuse_objects(self, data)
            self._save_pickle(data)
        elif isinstance(data, np.ma.MaskedArray):
            self._write_npy(ARRAY_FILE, np.ma.getdata(data))
            self._write_npy(MASK_FILE, np.ma.getmaskarray(data))
        else:
            self._start_histogram(data)  # renders while the data is written
            self._write_npy(ARRAY_FILE, data)

    def _start_histogram(self, data: np.ndarray) -> None:
        """Render the histogram PNG on a helper thread: matplotlib's ~0.1-0.3 s then
        overlaps the write, whose file I/O and hashing release the GIL."""
        if _is_numeric(data) and data.ndim in (1, 2) and data.size:
            self._histogram = self.in_background(_histogram_png, data)

    def _write_npy(self, rel: str, array: np.ndarray) -> None:
        import numpy as np

        array = np.asarray(array)  # subclasses (memmap, matrix) are stored as their data
        header = np.lib.format.header_data_from_array_1_0(array)
        with self.open(rel, "wb") as f:
            _write_header(f, header)
            if array.size == 0 or array.dtype.itemsize == 0:
                return
            if array.flags.c_contiguous:
                f.write(_bytes_view(array))
            elif header["fortran_order"]:
                f.write(_bytes_view(array.T))  # .T of an F-contiguous array is C-contiguous
            else:
                _write_strided(f, array)

    def _save_pickle(self, data: np.ndarray) -> None:
        from zen_core.materializers import PickleMaterializer

        PickleMaterializer.warn_or_refuse(type(data), True, context="numpy array of dtype object")
        self.save_pickled(PICKLE_FILE, data)

    # -- load ----------------------------------------------------------------------------

    def load(self, data_type: type) -> np.ndarray:
        import numpy as np

        if self.exists(PICKLE_FILE):
            array = self.load_pickled(PICKLE_FILE, what="is a numpy object array stored "
                                                        "with pickle")
        else:
            array = self._read_npy(ARRAY_FILE)
            if self.exists(MASK_FILE):
                return np.ma.MaskedArray(array, mask=self._read_npy(MASK_FILE))
        if (isinstance(data_type, type) and issubclass(data_type, np.ndarray)
                and data_type not in (np.ndarray, np.memmap)
                and not issubclass(data_type, np.ma.MaskedArray)):
            return array.view(data_type)  # e.g. np.matrix
        return array

    def _read_npy(self, rel: str) -> np.ndarray:
        import numpy as np

        with self.open(rel, "rb") as f:
            shape, fortran, dtype = _read_header(f)
            if dtype.hasobject:
                raise ValueError(f"{rel} declares dtype {dtype} with Python objects; "
                                 f"zen_numpy never writes such .npy files")
            array = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
            if array.size and dtype.itemsize:
                _read_exactly(f, _bytes_view(array.T if fortran else array), rel)
        # leaving `with` closed the file, which verified its hash before the array is used
        return array

    # -- metadata and visualizations -----------------------------------------------------

    def extract_metadata(self, data: np.ndarray) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "shape": list(data.shape),
            "dtype": str(data.dtype),
            "bytes": int(data.nbytes),
        }
        stats = _sample_stats(data)
        if stats:
            meta.update(stats)
        return meta

    def save_visualizations(self, data: np.ndarray) -> dict[str, str]:
        if _is_numeric(data) and data.ndim in (1, 2) and data.size:
            pending = self.__dict__.pop("_histogram", None)
            png = _histogram_png(data) if pending is None else pending.result()
            if png is not None:
                with self.open(HISTOGRAM_FILE, "wb") as f:
                    f.write(png)
                return {self.path(HISTOGRAM_FILE): VisualizationType.IMAGE}
        with self.open(SUMMARY_FILE, "wb") as f:
            f.write(_markdown_summary(data, self.extract_metadata(data)).encode())
        return {self.path(SUMMARY_FILE): VisualizationType.MARKDOWN}


# -- helpers ---------------------------------------------------------------------------------


def _refuse_objects(mat: Materializer, data: np.ndarray) -> None:
    if mat.allow_pickle:
        return
    raise UnsafeArtifactError(
        f"numpy array of dtype {data.dtype} (shape {data.shape}) holds Python objects, which "
        f".npy can store only with pickle, and pickle is disabled (allow_pickle = false). "
        f"Fix: convert it to a fixed dtype first (e.g. arr.astype(float), arr.astype(str) or a "
        f"structured dtype), return a list or a pandas DataFrame instead, or set "
        f"allow_pickle = true to pickle it (unsafe to load from untrusted stores).",
        dtype=str(data.dtype),
    )


def _write_header(f: Any, header: dict[str, Any]) -> None:
    import io

    import numpy as np

    fmt = np.lib.format
    for write in (fmt.write_array_header_1_0,  # the common case, byte-identical to np.save
                  fmt.write_array_header_2_0):  # header over 64 KiB (a large structured dtype)
        buf = io.BytesIO()  # the header only: a few hundred bytes
        try:
            write(buf, header)
        except (ValueError, UnicodeEncodeError):
            continue
        f.write(buf.getvalue())
        return
    f.write(_header_3_0(header))  # non-latin-1 field names


def _header_3_0(header: dict[str, Any]) -> bytes:
    """Format 3.0 (UTF-8 header), built from the spec: numpy has no public writer for it."""
    import struct

    import numpy as np

    fmt = np.lib.format
    text = "{" + "".join(f"'{key}': {value!r}, " for key, value in sorted(header.items())) + "}"
    body = text.encode("utf-8")
    pad = -(fmt.MAGIC_LEN + 4 + len(body) + 1) % fmt.ARRAY_ALIGN
    body += b" " * pad + b"\n"
    return fmt.magic(3, 0) + struct.pack("<I", len(body)) + body


def _read_header(f: Any) -> tuple[tuple[int, ...], bool, np.dtype]:
    import ast
    import struct

    import numpy as np

    fmt = np.lib.format
    version = fmt.read_magic(f)
    if version == (1, 0):
        return fmt.read_array_header_1_0(f, max_header_size=MAX_HEADER)
    if version == (2, 0):
        return fmt.read_array_header_2_0(f, max_header_size=MAX_HEADER)
    if version != (3, 0):
        raise ValueError(f"unsupported .npy format version {version}")
    (length,) = struct.unpack("<I", _read_n(f, 4))
    if length > MAX_HEADER:
        raise ValueError(f".npy header of {length} bytes is larger than {MAX_HEADER}")
    header = ast.literal_eval(_read_n(f, length).decode("utf-8"))  # literals only: no code
    if not isinstance(header, dict) or set(header) != set(fmt.EXPECTED_KEYS):
        raise ValueError(f"malformed .npy header: {header!r}")
    return tuple(header["shape"]), bool(header["fortran_order"]), \
        fmt.descr_to_dtype(header["descr"])


def _read_n(f: Any, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise ValueError(f"the .npy header is truncated (wanted {n} bytes, got {len(data)})")
    return data


def _bytes_view(array: np.ndarray) -> memoryview:
    """A writable-or-not flat byte view of a C-contiguous array, without copying.

    ``memoryview(array)`` refuses datetime64 and some structured dtypes, so
    view the buffer as bytes first.
    """
    import numpy as np

    return memoryview(array.reshape(-1).view(np.uint8))


def _write_strided(f: Any, array: np.ndarray) -> None:
    """Write a non-contiguous array in C order, copying at most ``CHUNK_BYTES`` at a time."""
    import numpy as np

    if array.nbytes <= CHUNK_BYTES or array.ndim == 0:
        f.write(_bytes_view(np.ascontiguousarray(array)))
        return
    row_bytes = array.nbytes // array.shape[0]
    if row_bytes > CHUNK_BYTES:
        for row in array:
            _write_strided(f, row)
        return
    rows = max(1, CHUNK_BYTES // row_bytes)
    for start in range(0, array.shape[0], rows):
        f.write(_bytes_view(np.ascontiguousarray(array[start:start + rows])))


def _read_exactly(f: Any, view: memoryview, rel: str) -> None:
    total = len(view)
    done = 0
    while done < total:
        n = f.readinto(view[done:min(total, done + CHUNK_BYTES)])
        if not n:
            raise ValueError(f"{rel} is truncated: expected {total} data bytes, got {done}")
        done += n


def _is_numeric(data: np.ndarray) -> bool:
    import numpy as np

    return data.dtype.fields is None and (np.issubdtype(data.dtype, np.integer)
                                          or np.issubdtype(data.dtype, np.floating))


def _sample(data: np.ndarray, limit: int) -> tuple[np.ndarray, bool]:
    """Up to ``limit`` evenly spaced elements as a flat array; ``True`` when that is all of them."""
    import numpy as np

    data = np.asarray(data)
    size = data.size
    if size <= limit:
        return data.reshape(-1, order="A"), True  # a view when contiguous, else a small copy
    if data.flags.c_contiguous or data.flags.f_contiguous:
        flat = data.reshape(-1, order="A")  # a view
        return flat[:: -(-size // limit)], False
    idx = np.linspace(0, size - 1, limit).astype(np.int64)
    return data[np.unravel_index(idx, data.shape)], False


def _number(value: Any) -> Any:
    import math

    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no inf/nan
    return value


def _sample_stats(data: np.ndarray) -> dict[str, Any]:
    import numpy as np

    if not _is_numeric(data) or isinstance(data, np.ma.MaskedArray) or data.size == 0:
        return {}
    sample, exact = _sample(data, STATS_SAMPLE)
    stats: dict[str, Any] = {"stats_sample_size": int(sample.size), "stats_exact": exact}
    if np.issubdtype(sample.dtype, np.floating):
        nans = int(np.count_nonzero(np.isnan(sample)))
        stats["nan_count"] = nans if exact else round(nans * data.size / sample.size)
        if nans == sample.size:
            stats.update(min=None, max=None, mean=None)
            return stats
        with np.errstate(all="ignore"):
            stats.update(min=_number(np.nanmin(sample)), max=_number(np.nanmax(sample)),
                         mean=_number(np.nanmean(sample, dtype=np.float64)))
    else:
        stats.update(nan_count=0, min=_number(sample.min()), max=_number(sample.max()),
                     mean=_number(sample.mean(dtype=np.float64)))
    return stats


def _histogram_png(data: np.ndarray) -> bytes | None:
    try:
        import matplotlib.backends.backend_agg  # noqa: F401
        import matplotlib.figure  # noqa: F401
    except ImportError:  # the `viz` extra is not installed: the markdown summary stands in
        return None
    import numpy as np

    if isinstance(data, np.ma.MaskedArray):
        data = data.compressed()
    sample, exact = _sample(data, HIST_SAMPLE)
    values = sample.astype(np.float64, copy=False)
    values = values[np.isfinite(values)]
    with _RENDER_LOCK:  # matplotlib's font and text caches are not thread-safe
        return _render_histogram(data, sample, exact, values)


def _render_histogram(data: np.ndarray, sample: np.ndarray, exact: bool,
                      values: np.ndarray) -> bytes:
    import io

    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.5), dpi=80)  # no pyplot: no global state, no GUI backend
    fig.subplots_adjust(left=0.12, right=0.97, top=0.9, bottom=0.15)  # tight_layout is slow
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if values.size:
        counts, edges = np.histogram(values, bins=50)
        ax.stairs(counts, edges, fill=True)
    shape = " x ".join(f"{n:,}" for n in data.shape)
    ax.set_title(f"{data.dtype} array, shape {shape}"
                 + ("" if exact else f" ({sample.size:,} values sampled)"))
    ax.set_xlabel("value")
    ax.set_ylabel("count")
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _markdown_summary(data: np.ndarray, meta: dict[str, Any]) -> str:
    import numpy as np

    lines = ["| property | value |", "| --- | --- |"]
    for key, value in meta.items():
        lines.append(f"| {key} | `{json.dumps(value)}` |")
    preview = np.array2string(np.asarray(data), threshold=20, edgeitems=3, max_line_width=100)
    return "# numpy array\n\n" + "\n".join(lines) + f"\n\n```\n{preview}\n```\n"


@hookimpl
def zen_materializers() -> list[type[Materializer]]:
    return [NumpyArrayMaterializer]
