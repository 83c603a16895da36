"""Numbers across versions, drawn as server-rendered SVG from the metadata store alone.

An artifact version contributes a point when its metadata holds a scalar
``value`` (the built-in materializer records one for every int and float it
saves), and one per numeric key of its ``run_metadata`` when it has that
mapping (logged metadata): each key is its own series, in version order.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any

from zen_core.models import ArtifactVersion
from zen_dashboard.formatting import number

WIDTH, HEIGHT = 1200, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 72, 16, 14, 30
POINT_LIMIT = 1000  # beyond it the line is drawn without a marker per version


def numeric(value: Any) -> float | None:
    """``value`` as a float when it is a finite int or float (not a bool), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def scalar(av: ArtifactVersion) -> float | None:
    """The number an artifact version holds, as recorded in its metadata at save time."""
    return numeric((av.metadata or {}).get("value"))


def values(av: ArtifactVersion) -> dict[str, float]:
    """Every number recorded for ``av``: ``value`` and numeric ``run_metadata`` keys."""
    found = {}
    value = scalar(av)
    if value is not None:
        found["value"] = value
    logged = getattr(av, "run_metadata", None)
    if isinstance(logged, Mapping):
        for key, raw in logged.items():
            x = numeric(raw)
            # what was logged: not what the materializer extracted, nor the stored size
            if x is not None and key != "value" and key != "storage_size" and (
                    key not in (av.metadata or {})):
                found[str(key)] = x
    return found


def series(versions: Iterable[ArtifactVersion]) -> dict[str, list[dict[str, Any]]]:
    """``{key: [point, ...]}`` in the order given (oldest first)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for av in versions:
        for key, x in values(av).items():
            out.setdefault(key, []).append({"y": x, "version": av.version, "id": av.id,
                                            "created": av.created.replace(
                                                tzinfo=dt.UTC).timestamp()})
    return out


def chart(key: str, points: list[dict[str, Any]]) -> dict[str, Any]:
    """What the SVG template draws for one series: the line, markers and axis labels."""
    n = len(points)
    low = min(p["y"] for p in points)
    high = max(p["y"] for p in points)
    if high == low:
        low, high = low - 1, high + 1
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM

    def x_of(i: int) -> float:
        return PAD_LEFT + (inner_w * i / (n - 1) if n > 1 else inner_w / 2)

    def y_of(y: float) -> float:
        return PAD_TOP + inner_h * (high - y) / (high - low)

    coords = [(x_of(i), y_of(p["y"])) for i, p in enumerate(points)]
    line = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in _thinned(coords))
    markers = [] if n > POINT_LIMIT else [
        {"cx": round(x, 1), "cy": round(y, 1), "version": p["version"], "y": number(p["y"]),
         "href": f"/artifact-versions/{p['id']}"}
        for (x, y), p in zip(coords, points)]
    ticks = [{"y": round(y_of(v), 1), "label": number(v)}
             for v in (high, (high + low) / 2, low)]
    return {"key": key, "count": n, "width": WIDTH, "height": HEIGHT, "line": line,
            "markers": markers, "ticks": ticks, "left": PAD_LEFT, "right": WIDTH - PAD_RIGHT,
            "bottom": HEIGHT - PAD_BOTTOM, "first": points[0]["version"],
            "last": points[-1]["version"], "latest": number(points[-1]["y"]),
            "low": number(min(p["y"] for p in points)),
            "high": number(max(p["y"] for p in points))}


def _thinned(coords: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """At most the lowest and highest point per pixel column: the same picture, a smaller SVG."""
    if len(coords) <= 2 * (WIDTH - PAD_LEFT - PAD_RIGHT):
        return coords
    kept: list[tuple[float, float]] = []
    column: list[tuple[float, float]] = []
    for point in coords:
        if column and int(point[0]) != int(column[0][0]):
            kept += sorted({min(column, key=lambda p: p[1]), max(column, key=lambda p: p[1])})
            column = []
        column.append(point)
    kept += sorted({min(column, key=lambda p: p[1]), max(column, key=lambda p: p[1])})
    return kept


def charts(versions: Iterable[ArtifactVersion]) -> list[dict[str, Any]]:
    """A chart for every series with at least one point."""
    return [chart(key, points) for key, points in series(versions).items()]
