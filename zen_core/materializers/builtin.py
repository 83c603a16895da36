"""Built-in materializers: primitives, containers and bytes in safe formats.

Containers are stored as JSON with small type tags for what JSON lacks
(tuples, sets, bytes, non-string keys), so they round-trip exactly and load
without unpickling. Only values JSON cannot express at all reach the pickle
fallback, which warns (or refuses when ``allow_pickle = false``).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from zen_core.errors import MaterializerError, UnsafeArtifactError
from zen_core.materializers.base import ArtifactType, Materializer, qualified_name
from zen_core.plugins import hookimpl

_TAG = "__zen__"
_JSON_FILE = "data.json"


class _NotJSON(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


def to_json_tree(value: Any) -> Any:
    """Encode a value as plain JSON data, tagging what JSON cannot say."""
    t = type(value)
    if value is None or t is bool or t is str or t is int or t is float:
        return value
    if t is list:
        return [to_json_tree(v) for v in value]
    if t is dict:
        if _TAG not in value and all(type(k) is str for k in value):
            return {k: to_json_tree(v) for k, v in value.items()}
        return {_TAG: "dict", "items": [[to_json_tree(k), to_json_tree(v)] for k, v in value.items()]}
    if t is tuple:
        return {_TAG: "tuple", "items": [to_json_tree(v) for v in value]}
    if t is set or t is frozenset:
        return {_TAG: t.__name__, "items": [to_json_tree(v) for v in value]}
    if t is bytes:
        return {_TAG: "bytes", "b64": base64.b64encode(value).decode()}
    raise _NotJSON(value)


def from_json_tree(tree: Any) -> Any:
    t = type(tree)
    if t is list:
        return [from_json_tree(v) for v in tree]
    if t is dict:
        tag = tree.get(_TAG)
        if tag is None:
            return {k: from_json_tree(v) for k, v in tree.items()}
        if tag == "bytes":
            return base64.b64decode(tree["b64"])
        items = [from_json_tree(v) for v in tree["items"]]
        if tag == "dict":
            return {_hashable(k): v for k, v in items}
        if tag == "tuple":
            return tuple(items)
        if tag == "set":
            return {_hashable(v) for v in items}
        if tag == "frozenset":
            return frozenset(_hashable(v) for v in items)
        raise MaterializerError(f"unknown JSON tag {tag!r} in a stored container")
    return tree


def _hashable(value: Any) -> Any:
    return tuple(value) if type(value) is list else value


def is_json_able(value: Any) -> bool:
    try:
        to_json_tree(value)
    except (_NotJSON, RecursionError):
        return False
    return True


class BuiltInMaterializer(Materializer):
    """``int``, ``float``, ``str``, ``bool`` and ``None`` as one JSON document."""

    ASSOCIATED_TYPES = (bool, int, float, str, type(None))
    ASSOCIATED_ARTIFACT_TYPE = ArtifactType.DATA

    def save(self, data: Any) -> None:
        with self.open(_JSON_FILE, "wb") as f:
            f.write(json.dumps(data).encode())

    def load(self, data_type: type) -> Any:
        with self.open(_JSON_FILE, "rb") as f:
            value = json.loads(f.read())
        if data_type not in (bool, int, float, str, type(None)) and isinstance(data_type, type):
            return data_type(value)  # e.g. an IntEnum or str subclass
        return value

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        if isinstance(data, str):
            return {"length": len(data)}
        return {"value": data} if data is None or isinstance(data, int | float) else {}


class BytesMaterializer(Materializer):
    """``bytes`` as a raw file."""

    ASSOCIATED_TYPES = (bytes,)

    def save(self, data: bytes) -> None:
        with self.open("data.bin", "wb") as f:
            f.write(data)

    def load(self, data_type: type) -> bytes:
        with self.open("data.bin", "rb") as f:
            return f.read()

    def extract_metadata(self, data: bytes) -> dict[str, Any]:
        return {"size": len(data)}


class ContainerMaterializer(Materializer):
    """``dict``, ``list``, ``tuple``, ``set``: tagged JSON, never pickle when JSON can say it.

    A container holding other objects (say, a list of DataFrames) goes to
    the pickle fallback with a warning, or is refused when pickle is off.
    """

    ASSOCIATED_TYPES = (dict, list, tuple, set, frozenset)

    def save(self, data: Any) -> None:
        base = _base_container(type(data))
        try:
            tree = to_json_tree(base(data) if type(data) is not base else data)
        except _NotJSON as exc:
            PickleMaterializer.warn_or_refuse(type(exc.value), self.allow_pickle,
                                              context=f"inside a {type(data).__name__}")
            self.save_pickled(PickleMaterializer.FILE, data)
            return
        with self.open(_JSON_FILE, "wb") as f:
            f.write(json.dumps(tree).encode())

    def load(self, data_type: type) -> Any:
        if self.exists(PickleMaterializer.FILE):
            return self.load_pickled(PickleMaterializer.FILE)
        with self.open(_JSON_FILE, "rb") as f:
            value = from_json_tree(json.loads(f.read()))
        if isinstance(data_type, type) and type(value) is not data_type and issubclass(
                data_type, type(value)):
            make = getattr(data_type, "_make", None)  # namedtuple
            return make(value) if make else data_type(value)
        return value

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        return {"length": len(data)}


def _base_container(t: type) -> type:
    for base in (dict, list, tuple, frozenset, set):
        if issubclass(t, base):
            return base
    return t


class PickleMaterializer(Materializer):
    """The fallback for types no materializer claims: pickle, with a warning.

    Unpickling runs arbitrary code, so ``allow_pickle = false`` refuses both
    saving and loading it.
    """

    FILE = "data.pkl"
    ASSOCIATED_TYPES = ()
    NEEDS_RECORDED_TYPE = False  # the payload says what it is

    @staticmethod
    def warn_or_refuse(data_type: type, allow_pickle: bool, context: str = "") -> None:
        where = f" ({context})" if context else ""
        if not allow_pickle:
            raise UnsafeArtifactError(
                f"no safe materializer handles {qualified_name(data_type)}{where} and pickle is "
                f"disabled (allow_pickle = false). Fix: install the plugin for this type, write a "
                f"materializer (docs/plugins.md), or set allow_pickle = true.",
                data_type=data_type,
            )
        from zen_core.logger import get_logger

        get_logger().warning(
            "materializer.pickle_fallback",
            type=qualified_name(data_type),
            hint="stored with pickle, which is not portable and unsafe to load from untrusted "
                 "stores; install the type's plugin or write a materializer (docs/plugins.md)",
        )

    def save(self, data: Any) -> None:
        self.save_pickled(PickleMaterializer.FILE, data)

    def load(self, data_type: type) -> Any:
        return self.load_pickled(PickleMaterializer.FILE)


@hookimpl
def zen_materializers() -> list[type[Materializer]]:
    return [BuiltInMaterializer, BytesMaterializer, ContainerMaterializer, PickleMaterializer]
