"""Values of run metadata: JSON values plus ZenML's typed ones, kept typed through storage.

``Uri``, ``Path``, ``DType`` (strings) and ``StorageSize`` (an int of bytes) say
what a value means, as in ZenML. Stored metadata is JSON in which a typed value
(or a tuple or set, which JSON lacks) is a small tagged object, so what is read
back is what was logged, nested values included.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, Union

from zen_core.errors import MetadataError

__all__ = ["NO_METADATA", "DType", "MetadataType", "Path", "StorageSize", "Uri",
           "check_metadata", "check_tags", "from_json", "merge_entries", "to_json"]


class Uri(str):
    """A string that is a URI (``s3://bucket/data.csv``, ``https://...``)."""

    __slots__ = ()


class Path(str):
    """A string that is a filesystem path."""

    __slots__ = ()


class DType(str):
    """A string that names a data type (``"int64"``, ``"float"``)."""

    __slots__ = ()


class StorageSize(int):
    """A size in bytes."""

    __slots__ = ()


MetadataType = Union[str, int, float, bool, dict, list, set, tuple, Uri, Path, DType,  # noqa: UP007
                     StorageSize, None]

class _NoMetadata(Mapping[str, Any]):
    """The metadata of what has none (most outputs): one shared, read-only instance that
    travels by pickle as itself, so nothing allocates a dict per output."""

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"

    def __reduce__(self) -> str:
        return "NO_METADATA"


NO_METADATA: Mapping[str, Any] = _NoMetadata()

_TYPED: dict[type, type] = {Uri: str, Path: str, DType: str, StorageSize: int}
_BY_NAME = {t.__name__: t for t in _TYPED}
_TAG = "__zen_metadata__"


def check_metadata(metadata: Any, where: str = "") -> dict[str, Any]:
    """``metadata`` as a plain ``{str: value}`` dict of metadata values, or a
    :class:`~zen_core.errors.MetadataError` naming the key and the value that cannot be
    stored (checked before anything is recorded).

    Numbers of other libraries (``numpy.float64``, ``numpy.int64``) become ``float``/``int``.
    """
    if not isinstance(metadata, Mapping):
        raise MetadataError(
            f"{where}metadata must be a dict of key -> value, got "
            f"{type(metadata).__name__} ({metadata!r:.80}). Fix: pass e.g. "
            f"metadata={{'accuracy': 0.93}}.", value=metadata)
    checked = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not key:
            raise MetadataError(
                f"{where}metadata key {key!r} is not a non-empty string. Fix: use string keys, "
                f"e.g. {{'accuracy': 0.93}}.", key=key)
        checked[key] = _normal(value, key, where, 0)
    return checked


def check_tags(tags: str | Sequence[str]) -> list[str]:
    """``tags`` as a list of tag strings; a ``MetadataError`` names a tag that cannot be one."""
    listed = [tags] if isinstance(tags, str) else list(tags)
    for tag in listed:
        if (not isinstance(tag, str) or not tag.strip() or len(tag) > 255
                or any(ord(c) < 32 or ord(c) == 127 for c in tag)):
            raise MetadataError(
                f"tag {tag!r} cannot be used: a tag is a non-empty string of at most 255 "
                f"characters without control characters. Fix: e.g. 'prod' or 'v1.2'.", tag=tag)
    return list(dict.fromkeys(listed))


def _normal(value: Any, key: str, where: str, depth: int) -> Any:
    t = type(value)
    if value is None or t in (str, int, float, bool) or t in _TYPED:
        return value
    if depth > 50:
        raise MetadataError(f"{where}metadata {key!r} is nested more than 50 levels deep. Fix: "
                            f"log a flatter value.", key=key)
    if isinstance(value, Mapping):
        return {str(k) if not isinstance(k, str) else k: _normal(v, key, where, depth + 1)
                for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_normal(v, key, where, depth + 1) for v in value]
        if isinstance(value, list | tuple):
            return items if isinstance(value, list) else tuple(items)
        # a frozenset inside a set stays hashable as a tuple
        return {tuple(i) if isinstance(i, set) else i for i in items}
    if isinstance(value, str):  # HTMLString, a str Enum: the text itself
        return str.__str__(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, numbers.Integral):  # numpy.int64, IntEnum
        return int(value)
    if isinstance(value, numbers.Real):  # numpy.float32/64, Decimal-free reals
        return float(value)
    if type(value).__module__ == "numpy" and hasattr(value, "item"):  # numpy.bool_, str_
        return _normal(value.item(), key, where, depth + 1)
    raise MetadataError(
        f"{where}metadata {key!r} = {value!r:.80} is a {type(value).__module__}."
        f"{type(value).__qualname__}, which cannot be stored as metadata. Fix: log a number, "
        f"string, bool, list, dict, tuple or set (or Uri, Path, DType, StorageSize from "
        f"zen_core.metadata), e.g. str(value) or float(value); store objects as artifacts.",
        key=key, value_type=type(value))


def to_json(value: Any) -> Any:
    """A metadata value as plain JSON data: typed values, tuples and sets tagged."""
    t = type(value)
    base = _TYPED.get(t)
    if base is not None:
        return {_TAG: t.__name__, "value": base(value)}
    if t is float and not math.isfinite(value):
        return {_TAG: "float", "value": repr(value)}  # JSON has no NaN or infinity
    if t is dict:
        plain = {k: to_json(v) for k, v in value.items()}
        return {_TAG: "dict", "value": plain} if _TAG in value else plain
    if t is list:
        return [to_json(v) for v in value]
    if t is tuple or t is set:
        return {_TAG: t.__name__, "value": [to_json(v) for v in value]}
    return value


def from_json(tree: Any) -> Any:
    """The inverse of :func:`to_json`."""
    if type(tree) is list:
        return [from_json(v) for v in tree]
    if type(tree) is not dict:
        return tree
    tag = tree.get(_TAG)
    if tag is None:
        return {k: from_json(v) for k, v in tree.items()}
    value = tree.get("value")
    typed = _BY_NAME.get(tag)
    if typed is not None:
        return typed(value)
    if tag == "float":
        return float(value)
    if tag == "dict":
        return {k: from_json(v) for k, v in value.items()}
    if tag == "tuple":
        return tuple(from_json(v) for v in value)
    if tag == "set":
        return {_hashable(from_json(v)) for v in value}
    return {k: from_json(v) for k, v in tree.items()}  # someone else's key: leave it be


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def merge_entries(entries: list[tuple[str, Any]]) -> dict[str, Any]:
    """``{key: value}`` from entries in the order they were logged: the last value of a key
    wins, except that when every value of a key is a dict they merge (later keys win), as
    ZenML resolves its metadata."""
    by_key: dict[str, list[Any]] = {}
    for key, value in entries:
        by_key.setdefault(key, []).append(value)
    merged: dict[str, Any] = {}
    for key, values in by_key.items():
        if len(values) > 1 and all(isinstance(v, dict) for v in values):
            merged[key] = {k: v for d in values for k, v in d.items()}
        else:
            merged[key] = values[-1]
    return merged
