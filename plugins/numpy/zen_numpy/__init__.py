"""zen-numpy: NumPy arrays as ``.npy`` files, written and read without copies or pickle.

numpy is imported only inside methods: loading this plugin (``zen plugins
list``, every pipeline run) stays cheap for users who never touch an array.
"""

from __future__ import annotations

import json
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
HISTOGRAM_FILE = "histogram.svg"
SUMMARY_FILE = "summary.md"

CHUNK_BYTES = 64 * 1024 * 1024  # bound on copies of non-contiguous arrays and on read calls
STATS_SAMPLE = 1_000_000  # metadata statistics never look at more elements than this
HIST_SAMPLE = 200_000
SAMPLE_RUNS = 256  # samples of large arrays are this many runs of consecutive elements
MAX_HEADER = 1 << 24  # our own files: allow big structured-dtype headers


class NumpyArrayMaterializer(Materializer):
    """``numpy.ndarray`` (any non-object dtype, any layout) as a ``.npy`` file, no pickle.

    The header is written with ``numpy.lib.format`` and the data buffer goes
    to the store as a memoryview, hashed in the same pass; loading reads the
    header and ``readinto``-s a preallocated array, so neither direction
    holds a second copy of the data. Fortran-ordered arrays stay Fortran-ordered.
    """

    ASSOCIATED_TYPES = ("numpy.ndarray",)
    WRITES_ONLY_THROUGH_OPEN = True  # every file through self.open: no listing at save
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
            self._write_npy(ARRAY_FILE, data)

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
        cached = self.__dict__.get("_metadata")
        if cached is not None and cached[0] is data:  # the markdown summary asked first
            return dict(cached[1])
        meta: dict[str, Any] = {
            "shape": list(data.shape),
            "dtype": str(data.dtype),
            "bytes": int(data.nbytes),
        }
        stats = _sample_stats(data)
        if stats:
            meta.update(stats)
        self._metadata = (data, meta)
        return dict(meta)

    def save_visualizations(self, data: np.ndarray) -> dict[str, str]:
        if _is_numeric(data) and data.ndim in (1, 2) and data.size:
            with self.open(HISTOGRAM_FILE, "wb") as f:
                f.write(_histogram_svg(data).encode())
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
    """Up to ``limit`` elements as a flat array; ``True`` when that is all of them.

    A contiguous array gives ``SAMPLE_RUNS`` evenly spaced runs of consecutive elements:
    reading runs costs a few sequential megabytes, where single elements spread over a
    large array cost a cache miss each (0.04 s instead of 0.002 s on 500 MB)."""
    import numpy as np

    data = np.asarray(data)
    size = data.size
    if size <= limit:
        return data.reshape(-1, order="A"), True  # a view when contiguous, else a small copy
    if data.flags.c_contiguous or data.flags.f_contiguous:
        flat = data.reshape(-1, order="A")  # a view, in memory order
        runs = min(SAMPLE_RUNS, limit)
        run = limit // runs
        step = (size - run) // (runs - 1) if runs > 1 else 0  # the last run ends near the end
        window = np.lib.stride_tricks.as_strided(
            flat, shape=(runs, run), strides=(step * flat.strides[0], flat.strides[0]),
            writeable=False)  # a view: row i is flat[i * step : i * step + run]
        return np.ascontiguousarray(window).reshape(-1), False
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
        if nans:  # the nan-aware reductions copy the sample: only when they must
            sample = sample[~np.isnan(sample)]
        with np.errstate(all="ignore"):
            stats.update(min=_number(sample.min()), max=_number(sample.max()),
                         mean=_number(sample.mean(dtype=np.float64)))
    else:
        stats.update(nan_count=0, min=_number(sample.min()), max=_number(sample.max()),
                     mean=_number(sample.mean(dtype=np.float64)))
    return stats


HIST_BINS = 50
_W, _H = 480, 280  # the picture, in CSS pixels
_LEFT, _RIGHT, _TOP, _BOTTOM = 58, 12, 30, 44  # margins around the plot area


def _histogram_svg(data: np.ndarray) -> str:
    """A 50-bin histogram of up to ``HIST_SAMPLE`` values as a small SVG document.

    Drawn directly (a path, a few lines and labels) in a few milliseconds, where
    rendering a PNG with matplotlib cost 0.05-0.1 s of CPU on every save of an array.
    """
    import numpy as np

    if isinstance(data, np.ma.MaskedArray):
        data = data.compressed()
    sample, exact = _sample(data, HIST_SAMPLE)
    values = sample.astype(np.float64, copy=False)
    values = values[np.isfinite(values)]
    shape = " x ".join(f"{n:,}" for n in data.shape)
    title = (f"{data.dtype} array, shape {shape}"
             + ("" if exact else f" ({sample.size:,} values sampled)"))
    pw, ph = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    x0, y0 = _LEFT, _TOP + ph  # the plot area's bottom-left corner
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
             f'viewBox="0 0 {_W} {_H}" font-family="DejaVu Sans, Arial, sans-serif" '
             f'font-size="11">',
             f'<rect width="{_W}" height="{_H}" fill="white"/>',
             _text(_W / 2, 18, title, size=12, anchor="middle")]
    if values.size:
        with np.errstate(all="ignore"):
            try:
                counts, edges = np.histogram(values, bins=HIST_BINS)
            except ValueError:  # wider than the largest float: bin a quarter of each value
                counts, edges = np.histogram(values / 4, bins=HIST_BINS)
                edges = edges * 4
        top = max(int(counts.max()), 1)
        xs = x0 + np.arange(HIST_BINS + 1) / HIST_BINS * pw  # equal bins, placed by index
        ys = y0 - counts / top * ph
        steps = "".join(f"V{y:.1f}H{x:.1f}" for x, y in zip(xs[1:], ys, strict=True))
        parts.append(f'<path d="M{xs[0]:.1f},{y0}{steps}V{y0}Z" fill="#1f77b4"/>')
        for i in range(5):  # value ticks at the ends and three points between
            x = x0 + pw * i / 4
            value = edges[0] * (1 - i / 4) + edges[-1] * (i / 4)  # never overflows
            parts += [_line(x, y0, x, y0 + 4), _text(x, y0 + 16, f"{value:.4g}", anchor="middle")]
        for i in range(3):  # count ticks: 0, half, the tallest bin
            y = y0 - ph * i / 2
            parts += [_line(x0 - 4, y, x0, y),
                      _text(x0 - 6, y + 4, f"{round(top * i / 2):,}", anchor="end")]
    else:
        parts.append(_text(x0 + pw / 2, _TOP + ph / 2, "no finite values", anchor="middle"))
    parts += [_line(x0, _TOP, x0, y0), _line(x0, y0, x0 + pw, y0),
              _text(x0 + pw / 2, _H - 8, "value", anchor="middle"),
              f'<text transform="translate(14 {_TOP + ph / 2:.1f}) rotate(-90)" '
              f'text-anchor="middle">count</text>', "</svg>"]
    return "\n".join(parts) + "\n"


def _text(x: float, y: float, text: str, *, size: int | None = None,
          anchor: str = "start") -> str:
    from html import escape

    font = f' font-size="{size}"' if size else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{font}>{escape(text)}</text>'


def _line(x1: float, y1: float, x2: float, y2: float) -> str:
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="#333" stroke-width="1"/>')


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
