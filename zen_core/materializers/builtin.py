"""Built-in materializers: primitives, containers, bytes, structured strings, dataclasses
and pydantic models in safe formats.

Containers are stored as JSON with small type tags for what JSON lacks
(tuples, sets, bytes, non-string keys), so they round-trip exactly and load
without unpickling; dataclasses and pydantic models likewise, when their
fields round-trip through JSON. Only values JSON cannot express at all reach
the pickle fallback, which warns (or refuses when ``allow_pickle = false``).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import typing
from typing import Any

from zen_core.errors import MaterializerError, UnsafeArtifactError
from zen_core.materializers.base import (
    ArtifactType,
    Materializer,
    VisualizationType,
    qualified_name,
)
from zen_core.plugins import hookimpl
from zen_core.types import CSVString, HTMLString, JSONString, MarkdownString

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

    WRITES_ONLY_THROUGH_OPEN = True
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

    WRITES_ONLY_THROUGH_OPEN = True
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

    WRITES_ONLY_THROUGH_OPEN = True
    ASSOCIATED_TYPES = (dict, list, tuple, set, frozenset)

    def save(self, data: Any) -> None:
        base = _base_container(type(data))
        try:
            tree = to_json_tree(base(data) if type(data) is not base else data)
        except _NotJSON as exc:
            _pickle_instead(self, data, type(exc.value), f"inside a {type(data).__name__}")
            return
        _write_json(self, tree)

    def load(self, data_type: type) -> Any:
        if self.exists(PickleMaterializer.FILE):
            return self.load_pickled(PickleMaterializer.FILE)
        value = from_json_tree(_read_json(self))
        if isinstance(data_type, type) and type(value) is not data_type and issubclass(
                data_type, type(value)):
            make = getattr(data_type, "_make", None)  # namedtuple
            return make(value) if make else data_type(value)
        return value

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        return {"length": len(data)}


def _write_json(mat: Materializer, tree: Any) -> None:
    with mat.open(_JSON_FILE, "wb") as f:
        f.write(json.dumps(tree).encode())


def _read_json(mat: Materializer) -> Any:
    with mat.open(_JSON_FILE, "rb") as f:
        return json.loads(f.read())


def _pickle_instead(mat: Materializer, data: Any, offending: type, context: str) -> None:
    """The fallback for a value JSON cannot hold: pickled with a warning, or refused."""
    PickleMaterializer.warn_or_refuse(offending, mat.allow_pickle, context=context)
    mat.save_pickled(PickleMaterializer.FILE, data)


def _base_container(t: type) -> type:
    for base in (dict, list, tuple, frozenset, set):
        if issubclass(t, base):
            return base
    return t


class StructuredStringMaterializer(Materializer):
    """``HTMLString``, ``MarkdownString``, ``CSVString``, ``JSONString``: the text in one file
    that is also the artifact's visualization of that kind (stored once)."""

    WRITES_ONLY_THROUGH_OPEN = True
    ASSOCIATED_TYPES = (HTMLString, MarkdownString, CSVString, JSONString)
    _FILES: typing.ClassVar[dict[type, tuple[str, str]]] = {
        HTMLString: ("data.html", VisualizationType.HTML),
        MarkdownString: ("data.md", VisualizationType.MARKDOWN),
        CSVString: ("data.csv", VisualizationType.CSV),
        JSONString: ("data.json", VisualizationType.JSON),
    }

    @classmethod
    def _kind(cls, data_type: type) -> tuple[type, str, str]:
        for klass in getattr(data_type, "__mro__", ()):
            if klass in cls._FILES:
                return klass, *cls._FILES[klass]
        raise MaterializerError(f"{qualified_name(data_type)} is not a structured string type")

    def save(self, data: str) -> None:
        with self.open(self._kind(type(data))[1], "wb") as f:
            f.write(str.__str__(data).encode())

    def load(self, data_type: type) -> str:
        base, name, _ = next(((k, n, v) for k, (n, v) in self._FILES.items() if self.exists(n)),
                             (None, None, None))
        if name is None:
            raise MaterializerError(f"artifact {self._label} holds none of "
                                    f"{', '.join(n for n, _ in self._FILES.values())}")
        with self.open(name, "rb") as f:
            text = f.read().decode()
        wanted = data_type if isinstance(data_type, type) and issubclass(data_type, base) else base
        return wanted(text)

    def save_visualizations(self, data: str) -> dict[str, str]:
        _, name, kind = self._kind(type(data))
        return {self.path(name): kind}

    def extract_metadata(self, data: str) -> dict[str, Any]:
        return {"length": len(data)}


class _JSONRoundTripMaterializer(Materializer):
    """Values stored as a JSON tree when they come back equal from it; else the pickle
    fallback with its warning (or refusal). Subclasses say how to make and read the tree."""

    KIND = ""  # what the values are, for messages

    def _to_tree(self, data: Any) -> Any:
        raise NotImplementedError

    def _from_tree(self, data_type: type, tree: Any) -> Any:
        raise NotImplementedError

    def _rebuilds(self, data_type: type) -> bool:
        """Whether ``data_type`` (the recorded type, as resolved) can be rebuilt."""
        raise NotImplementedError

    def save(self, data: Any) -> None:
        try:
            tree = self._to_tree(data)
            same = _equal(self._from_tree(type(data), tree), data)
        except Exception:  # a field JSON cannot hold, or a class that cannot be rebuilt
            same = False
        if not same:
            _pickle_instead(self, data, type(data), "a field does not round-trip through JSON")
            return
        _write_json(self, tree)

    def load(self, data_type: type) -> Any:
        if self.exists(PickleMaterializer.FILE):
            return self.load_pickled(PickleMaterializer.FILE)
        if not self._rebuilds(data_type):
            raise MaterializerError(
                f"artifact {self._label} holds {self.KIND}, but its class could not be "
                f"imported (loading got {qualified_name(data_type)}). Fix: import the module "
                f"that defines it before loading.", artifact=self._label)
        return self._from_tree(data_type, _read_json(self))


class DataclassMaterializer(_JSONRoundTripMaterializer):
    """Dataclasses as JSON, loaded back to the same class, when every field round-trips
    through JSON (as the container materializer stores it; a field holding a dataclass of
    its annotated type too); else the pickle fallback with its warning."""

    WRITES_ONLY_THROUGH_OPEN = True
    ASSOCIATED_TYPES = ()
    KIND = "a dataclass"

    @classmethod
    def claims_type(cls, data_type: type) -> bool:
        return isinstance(data_type, type) and dataclasses.is_dataclass(data_type)

    def _to_tree(self, data: Any) -> Any:
        return _dataclass_tree(data)

    def _from_tree(self, data_type: type, tree: Any) -> Any:
        return _from_dataclass_tree(data_type, tree)

    def _rebuilds(self, data_type: type) -> bool:
        return self.claims_type(data_type)

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        return {"fields": len(dataclasses.fields(data))}


class PydanticMaterializer(_JSONRoundTripMaterializer):
    """Pydantic models as JSON (``model_dump(mode="json")``), validated back into the same
    class, when that round trip gives an equal model; else the pickle fallback with its
    warning. Claimed by name: zen_core never imports pydantic."""

    WRITES_ONLY_THROUGH_OPEN = True
    ASSOCIATED_TYPES = ("pydantic.BaseModel",)
    KIND = "a pydantic model"

    def _to_tree(self, data: Any) -> Any:
        return data.model_dump(mode="json")

    def _from_tree(self, data_type: type, tree: Any) -> Any:
        return data_type.model_validate(tree)  # type: ignore[attr-defined]

    def _rebuilds(self, data_type: type) -> bool:
        return hasattr(data_type, "model_validate")

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        return {"fields": len(type(data).model_fields)}


def _equal(loaded: Any, value: Any) -> bool:
    """Whether a round trip gave the value back (a dataclass that compares by identity is
    compared by its fields)."""
    if dataclasses.is_dataclass(value) and type(value).__eq__ is object.__eq__:
        return _dataclass_tree(loaded) == _dataclass_tree(value)
    return bool(loaded == value)


def _dataclass_tree(data: Any) -> dict[str, Any]:
    hints = _field_types(type(data))
    tree = {}
    for field in dataclasses.fields(data):
        value = getattr(data, field.name)
        if dataclasses.is_dataclass(value) and type(value) is hints.get(field.name):
            tree[field.name] = {_TAG: "dataclass", "fields": _dataclass_tree(value)}
        else:
            tree[field.name] = to_json_tree(value)
    return tree


def _from_dataclass_tree(cls: type, tree: dict[str, Any]) -> Any:
    hints = _field_types(cls)
    values = {}
    for name, item in tree.items():
        if type(item) is dict and item.get(_TAG) == "dataclass":
            values[name] = _from_dataclass_tree(hints[name], item["fields"])
        else:
            values[name] = from_json_tree(item)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    made = cls(**{k: v for k, v in values.items() if fields[k].init})
    for name, value in values.items():
        if not fields[name].init:  # set after __init__, as __post_init__ would
            object.__setattr__(made, name, value)
    return made


def _field_types(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # unresolvable forward references: nested dataclasses stay unknown
        return {}


class PickleMaterializer(Materializer):
    """The fallback for types no materializer claims: pickle, with a warning.

    Unpickling runs arbitrary code, so ``allow_pickle = false`` refuses both
    saving and loading it.
    """

    FILE = "data.pkl"
    WRITES_ONLY_THROUGH_OPEN = True
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
    return [BuiltInMaterializer, BytesMaterializer, ContainerMaterializer,
            StructuredStringMaterializer, DataclassMaterializer, PydanticMaterializer,
            PickleMaterializer]
