"""Streaming reader and writer for the safetensors format.

The format is an 8-byte little-endian header length, a JSON header
(``{name: {"dtype", "shape", "data_offsets"}, "__metadata__": {str: str}}``)
and the raw little-endian tensor bytes. Writing each tensor's memory straight
into the artifact file (and reading straight into freshly allocated tensors)
avoids the full in-memory copy that ``safetensors.torch.save``/``load`` make;
the files are byte-compatible with the ``safetensors`` library, which the
tests check. Imported only when a tensor is saved or loaded.
"""

from __future__ import annotations

import json
import struct
import sys
from collections.abc import Mapping
from typing import Any, BinaryIO

import torch

_DTYPES: dict[torch.dtype, str] = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
    torch.float8_e4m3fn: "F8_E4M3", torch.float8_e5m2: "F8_E5M2",
    torch.uint16: "U16", torch.uint32: "U32", torch.uint64: "U64",
}
_BY_NAME = {name: dtype for dtype, name in _DTYPES.items()}
_MAX_HEADER = 100_000_000  # the safetensors library's own limit
_CHUNK = 4 << 20  # slices small enough that hashing finds them still in the CPU cache


def expressible(t: Any) -> bool:
    """Whether safetensors can hold this tensor exactly (dense, a listed dtype, real data)."""
    return (isinstance(t, torch.Tensor) and type(t) in (torch.Tensor, torch.nn.Parameter)
            and t.layout == torch.strided and t.dtype in _DTYPES and not t.is_quantized
            and t.device.type != "meta" and not t.is_nested)


def write(f: BinaryIO, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str]) -> None:
    """Write ``tensors`` (all :func:`expressible`) as one safetensors file to ``f``."""
    if sys.byteorder != "little":  # pragma: no cover - no big-endian CI
        raise RuntimeError("zen-torch writes safetensors only on little-endian machines")
    prepared = {name: t.detach().to("cpu").contiguous() for name, t in tensors.items()}
    # Larger items first keeps every tensor aligned to its item size (the header is
    # padded to 8 bytes), as the safetensors library does; the sort is stable.
    order = sorted(prepared, key=lambda n: -prepared[n].element_size())
    header: dict[str, Any] = {"__metadata__": dict(metadata)} if metadata else {}
    offset = 0
    for name in order:
        t = prepared[name]
        size = t.numel() * t.element_size()
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    f.write(struct.pack("<Q", len(raw)))
    f.write(raw)
    for name in order:
        t = prepared[name]
        view = memoryview(_bytes_of(t)) if t.numel() else memoryview(b"")
        for start in range(0, len(view), _CHUNK):
            f.write(view[start : start + _CHUNK])


def read(f: BinaryIO) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read a safetensors file written by :func:`write` into CPU tensors."""
    (n,) = struct.unpack("<Q", _read_exactly(f, 8))
    if n > _MAX_HEADER:
        raise ValueError(f"safetensors header of {n} bytes is larger than {_MAX_HEADER}")
    header = json.loads(_read_exactly(f, n))
    metadata = header.pop("__metadata__", None) or {}
    entries = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])
    tensors: dict[str, torch.Tensor] = {}
    position = 0
    for name, info in entries:
        begin, end = info["data_offsets"]
        if begin != position:
            raise ValueError(f"tensor {name!r} starts at byte {begin}, expected {position}")
        dtype = _BY_NAME.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"tensor {name!r} has dtype {info['dtype']!r}, which zen-torch "
                             f"does not read (known: {', '.join(sorted(_BY_NAME))})")
        t = torch.empty(info["shape"], dtype=dtype)
        if t.numel() * t.element_size() != end - begin:
            raise ValueError(f"tensor {name!r}: shape {info['shape']} of {info['dtype']} does "
                             f"not fit its {end - begin} bytes")
        if t.numel():
            _fill(f, _bytes_of(t))
        tensors[name] = t
        position = end
    return {name: tensors[name] for name in header}, dict(metadata)


def _bytes_of(t: torch.Tensor) -> Any:
    """A writable uint8 numpy view of a contiguous CPU tensor's memory (no copy)."""
    return t.reshape(-1).view(torch.uint8).numpy()


def _fill(f: BinaryIO, buffer: Any) -> None:
    view = memoryview(buffer).cast("B")
    done, total = 0, len(view)
    while done < total:
        n = f.readinto(view[done : min(total, done + _CHUNK)])
        if not n:
            raise EOFError(f"file ends after {done} of {total} bytes of a tensor")
        done += n


def _read_exactly(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise EOFError(f"file ends after {len(data)} of {n} header bytes")
    return data
