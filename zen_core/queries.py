"""The Client's list queries as ZenML spells them: pages, ``sort_by`` and metadata filters.

A :class:`Page` is a ``list`` of the records found that also says where it lies in the
whole result (``total``, ``index``, ``total_pages``), like ZenML's ``Page``. Without
``size`` a list call returns every match on one page (ZenML returns 20).
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from zen_core.errors import QueryError

__all__ = ["Page", "PageRequest", "parse_sort", "run_metadata_filter"]

T = TypeVar("T")


class Page(list[T], Generic[T]):
    """One page of records: iterate, index and ``len()`` it like a list; ``items`` is the
    records as a plain list, ``total`` counts every match, ``index`` is the page number
    (from 1), ``max_size`` the page size asked for."""

    def __init__(self, items: Iterable[T], *, total: int, index: int = 1,
                 max_size: int | None = None) -> None:
        super().__init__(items)
        self.total = total
        self.index = index
        self.max_size = max_size if max_size is not None else max(total, len(self))

    @property
    def items(self) -> list[T]:
        return list(self)

    @property
    def size(self) -> int:
        """How many records this page holds."""
        return len(self)

    @property
    def total_pages(self) -> int:
        return max(math.ceil(self.total / self.max_size), 1) if self.max_size else 1

    def __repr__(self) -> str:
        return (f"Page(index={self.index}, total={self.total}, total_pages={self.total_pages}, "
                f"items={list.__repr__(self)})")


class PageRequest:
    """``size``/``page`` as the caller gave them, checked, as ``limit``/``offset``."""

    def __init__(self, size: int | None, page: int) -> None:
        for name, value in (("size", size), ("page", page)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise QueryError(f"{name}={value!r} is not a positive whole number. Fix: pass "
                                 f"{name}=1, 2, ...", **{name: value})
        if size is None and page != 1:
            raise QueryError(
                f"page={page} without size: without size every match is on page 1. Fix: "
                f"pass size= too (say size=20, as ZenML's default).", page=page)
        self.size = size
        self.page = page

    @property
    def limit(self) -> int | None:
        return self.size

    @property
    def offset(self) -> int:
        return 0 if self.size is None else (self.page - 1) * self.size

    def wrap(self, items: Iterable[T], total: int) -> Page[T]:
        return Page(items, total=total, index=self.page, max_size=self.size)


def parse_sort(sort_by: str, keys: Sequence[str], what: str) -> tuple[str, bool]:
    """``"created"``, ``"asc:name"`` or ``"desc:created"`` -> ``(key, descending)``."""
    direction, _, key = sort_by.rpartition(":") if isinstance(sort_by, str) else ("", "", "")
    if direction not in ("", "asc", "desc") or key not in keys:
        raise QueryError(
            f"sort_by={sort_by!r} cannot sort {what}. Fix: use one of "
            f"{', '.join(repr(k) for k in keys)}, optionally after 'asc:' or 'desc:' "
            f"(e.g. 'desc:created').", sort_by=sort_by, accepted=list(keys))
    return key, direction == "desc"


# ZenML's run_metadata filter operators ("key:op:value"); plain "key:value" means equals
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "equals": operator.eq, "notequals": operator.ne,
    "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le,
    "contains": lambda a, b: str(b) in str(a), "notcontains": lambda a, b: str(b) not in str(a),
    "startswith": lambda a, b: str(a).startswith(str(b)),
    "endswith": lambda a, b: str(a).endswith(str(b)),
}


def run_metadata_filter(entries: str | Sequence[str]) -> Callable[[Mapping[str, Any]], bool]:
    """A predicate over a metadata mapping for ZenML's ``run_metadata=`` filter: each entry
    is ``"key:value"`` or ``"key:op:value"``, and all must hold."""
    conditions = []
    for entry in [entries] if isinstance(entries, str) else list(entries):
        key, sep, rest = str(entry).partition(":")
        if not sep or not key:
            raise QueryError(
                f"run_metadata entry {entry!r} is not 'key:value' or 'key:op:value'. Fix: "
                f"write e.g. 'accuracy:gte:0.9' (ops: {', '.join(_COMPARE)}).", entry=entry)
        op, sep, value = rest.partition(":")
        if not sep or op not in _COMPARE:
            op, value = "equals", rest
        conditions.append((key, _COMPARE[op], _parse_value(value)))

    def matches(metadata: Mapping[str, Any]) -> bool:
        for key, compare, wanted in conditions:
            if key not in metadata:
                return False
            try:
                if not compare(*_comparable(metadata[key], wanted)):
                    return False
            except TypeError:  # e.g. a string against a number with gt: not a match
                return False
        return True

    return matches


def _parse_value(text: str) -> Any:
    """A filter value as JSON when it is JSON (``0.9``, ``true``), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _comparable(actual: Any, wanted: Any) -> tuple[Any, Any]:
    """Values a filter compares: numbers as numbers, anything else by its text."""
    numbers = (int, float)
    if isinstance(actual, numbers) and isinstance(wanted, numbers):
        return actual, wanted
    if isinstance(actual, str) or isinstance(wanted, str):
        return (actual if isinstance(actual, str) else json.dumps(actual, default=str),
                wanted if isinstance(wanted, str) else json.dumps(wanted))
    return actual, wanted
