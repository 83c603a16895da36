"""How the dashboard writes times, durations, sizes and numbers (templates use them as filters)."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any


def when(value: dt.datetime | float | None) -> str:
    """A record's time (naive UTC ``datetime``) or seconds since the epoch, in local time."""
    if value is None:
        return "-"
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=dt.UTC).timestamp()
    return dt.datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{seconds / 60:.1f} min"


def size(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)


def number(value: Any) -> str:
    """Numbers for people: ``2.0398199999999997`` -> ``2.03982``, ``1234567`` -> ``1,234,567``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value != 0 and (abs(value) >= 1e15 or abs(value) < 1e-4):
        return f"{value:.4g}"
    text = f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return text


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, default=str, sort_keys=True)
