"""Which step outputs the next steps may receive from memory instead of the store.

A step's output is always stored (a real folder with its manifest at ``.uri``) and
recorded; a consumer in the same run normally loads it back. For small values of the
exact built-in immutable types, stored by the built-in materializers, loading would
return an equal object of the same type, and sharing one immutable object between
consumers cannot leak a mutation, so the driver hands the producer's value over and
skips the read and its verification (the store's copy was hashed as it was written).
Mutable values, ``Path``\\ s, subclasses and anything a custom materializer stores
always go through the store. See docs/artifacts.md, "In-memory hand-off".
"""

from __future__ import annotations

import functools
from typing import Any

MAX_BYTES = 64 << 10  # longer str/bytes are loaded like any other artifact
MAX_ITEMS = 1024  # likewise for tuples and frozensets

_SCALARS = frozenset({int, float, bool, type(None), str, bytes})


def _immutable(value: Any, depth: int = 0) -> bool:
    kind = type(value)
    if kind in _SCALARS:
        return kind not in (str, bytes) or len(value) <= MAX_BYTES
    if kind is tuple or kind is frozenset:
        return (depth < 8 and len(value) <= MAX_ITEMS
                and all(_immutable(item, depth + 1) for item in value))
    return False


@functools.cache
def _builtins() -> tuple[type, ...]:
    """The materializers whose stored form loads back equal and of the same type."""
    from zen_core.materializers.builtin import (
        BuiltInMaterializer,
        BytesMaterializer,
        ContainerMaterializer,
    )

    return (BuiltInMaterializer, BytesMaterializer, ContainerMaterializer)


def can_hand_off(value: Any, materializer: type) -> bool:
    """Whether ``value``, stored by ``materializer``, may be given to consumers as is."""
    return materializer in _builtins() and _immutable(value)
