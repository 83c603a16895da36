"""Ids as users type them: a ``UUID``, its dashed or 32-hex string, or a unique prefix.

zen_core's ids are 32 lower-case hex digits (``records.new_id``) that sort by creation
time, which is why a ``UUID`` (ZenML's id type) maps onto one one-to-one. Ids made close
in time share their first digits, so the unique part of an id is its *end*: the CLI and
the dashboard show the shortest prefix that still names one record.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

__all__ = ["MIN_SHOWN", "id_prefix", "normalize_id", "shortest_unique_prefix"]

MIN_SHOWN = 8  # shortest prefix shown, like git's 7: stays unique as a store grows a little

_FULL = re.compile(r"[0-9a-f]{32}")
_DASHED = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PREFIX = re.compile(r"[0-9a-f-]+")


def normalize_id(value: Any) -> str | None:
    """The 32-hex id that ``value`` spells in full (``UUID``, dashed, plain; any case),
    or ``None`` when it does not spell one."""
    if isinstance(value, uuid.UUID):
        return value.hex
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if _FULL.fullmatch(text):
        return text
    if _DASHED.fullmatch(text):
        return text.replace("-", "")
    return None


def id_prefix(value: Any) -> str | None:
    """The hex digits of a possible id prefix (dashes, as in a dashed UUID, dropped), or
    ``None`` when ``value`` cannot be the start of an id."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if not _PREFIX.fullmatch(text) or text.startswith("-"):
        return None
    digits = text.replace("-", "")
    return digits if 0 < len(digits) < 32 else None


def shortest_unique_prefix(record_id: str, neighbours: tuple[str | None, str | None]) -> str:
    """The shortest prefix of ``record_id`` (at least MIN_SHOWN digits) that neither of its
    neighbours in sorted order shares: then no other id shares it either."""
    shared = max((_common_length(record_id, other) for other in neighbours if other), default=0)
    return record_id[:max(MIN_SHOWN, shared + 1)]


def _common_length(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
