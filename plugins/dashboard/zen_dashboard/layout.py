"""Layered layout of run DAGs and lineage graphs (grandalf's Sugiyama layout), drawn as SVG.

grandalf ranks the nodes into layers, orders each layer to reduce crossings and
places them (Brandes-Köpf); this module only chooses the direction, sizes the
nodes and turns grandalf's points into what the SVG template draws. The
direction follows the graph's shape: a long chain reads left to right, a wide
fan-out top to bottom, whichever fits the page's graph box at the larger scale.

The first view is computed here too, so the graph fits at first paint even
before ``dashboard.js`` refits it to the real box: the whole graph when that
keeps labels readable (scale >= ``MIN_ZOOM``), else the focal node's
neighbourhood at ``MIN_ZOOM``, centred.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
from grandalf.graphs import Edge, Graph, Vertex
from grandalf.layouts import SugiyamaLayout

NODE_W = 180
SIZES = {"step": (NODE_W, 40), "cluster": (NODE_W, 40), "artifact": (NODE_W, 26)}
GAP_IN_LAYER = 18  # between nodes of one layer
GAP_LAYERS = {"TD": 30, "LR": 44}  # between layers: rows are cheaper than columns
DUMMY = 12  # size of the waypoints grandalf threads long edges through
BOX_W, BOX_H = 1232, 580  # the graph box at a 1280x800 window
MIN_HEIGHT = 120
MIN_ZOOM = 0.65  # below it labels are unreadable: show the neighbourhood instead
LABEL_CHARS = 26


@attrs.define
class Node:
    id: str
    kind: str  # "step", "artifact" or "cluster"
    label: str
    sublabel: str = ""
    status: str = ""
    href: str = ""
    focal: bool = False
    x: float = 0.0
    y: float = 0.0


class _View:
    """What grandalf reads (``w``, ``h``) and writes (``xy``: the centre) for one vertex."""

    __slots__ = ("w", "h", "xy")

    def __init__(self, w: float, h: float) -> None:
        self.w, self.h, self.xy = w, h, (0.0, 0.0)


class _EdgeView:
    __slots__ = ("points",)

    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []

    def setpath(self, points: list[tuple[float, float]]) -> None:
        self.points = points


def layout(nodes: Sequence[Node], edges: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Place ``nodes``; return sizes, nodes, edge paths and the first view for the template."""
    by_id = {n.id: n for n in nodes}
    edges = [(a, b) for a, b in dict.fromkeys(edges) if a in by_id and b in by_id and a != b]
    vertices = {}
    for node in nodes:
        v = vertices[node.id] = Vertex(node.id)
        v.view = _View(*SIZES[node.kind])
    graph_edges = []
    for a, b in edges:
        e = Edge(vertices[a], vertices[b])
        e.view = _EdgeView()
        graph_edges.append(e)
    graph = Graph(list(vertices.values()), graph_edges)

    layouts = []
    for component in graph.C:
        sug = SugiyamaLayout(component)
        sug.dw = sug.dh = DUMMY
        sug.init_all()
        layouts.append(sug)
    direction = _direction(layouts)
    for sug in layouts:
        if direction == "LR":  # grandalf stacks layers top-down: lay out transposed, swap back
            for v in sug.grx:
                v.view.w, v.view.h = v.view.h, v.view.w
        sug.xspace, sug.yspace = GAP_IN_LAYER, GAP_LAYERS[direction]
        sug.draw()

    # Components side by side across the layers, each from its own origin.
    margin = 12
    offset = 0.0
    centres: dict[str, tuple[float, float]] = {}
    waypoints: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for sug in layouts:
        real = list(sug.g.sV)
        low = min(v.view.xy[0] - v.view.w / 2 for v in sug.grx)
        high = max(v.view.xy[0] + v.view.w / 2 for v in sug.grx)
        top = min(v.view.xy[1] - v.view.h / 2 for v in real)

        def move(p: tuple[float, float], low: float = low, top: float = top,
                 offset: float = offset) -> tuple[float, float]:
            across, along = p[0] - low + offset + margin, p[1] - top + margin
            return (along, across) if direction == "LR" else (across, along)

        for v in real:
            centres[v.data] = move(v.view.xy)
        for e in sug.g.sE:
            waypoints[(e.v[0].data, e.v[1].data)] = [move(p) for p in e.view.points[1:-1]]
        offset += high - low + GAP_IN_LAYER * 2

    for node in nodes:
        w, h = SIZES[node.kind]
        cx, cy = centres[node.id]
        node.x, node.y = round(cx - w / 2, 1), round(cy - h / 2, 1)
    width = max((n.x + SIZES[n.kind][0] for n in nodes), default=NODE_W) + margin
    height = max((n.y + SIZES[n.kind][1] for n in nodes), default=40) + margin
    focal = next((n for n in nodes if n.focal), None)
    return {
        "width": round(width), "height": round(height), "direction": direction,
        "min_zoom": MIN_ZOOM, "focal": focal.id if focal else None,
        "nodes": [_drawn(n) for n in nodes],
        "edges": [{"from": a, "to": b,
                   "d": _path(by_id[a], by_id[b], waypoints.get((a, b), []), direction)}
                  for a, b in edges],
        "view": first_view(width, height, focal),
    }


def _direction(layouts: list[Any]) -> str:
    """``"LR"`` when the graph fits the box at least as large with its layers as columns."""
    td_w = td_h = lr_w = lr_h = 0.0
    for sug in layouts:
        layers = [[v.view for v in layer] for layer in sug.layers]
        thick = sum(max(v.h for v in layer) for layer in layers)  # TD: rows of this height
        wide = sum(max(v.w for v in layer) for layer in layers)  # LR: columns of this width
        gaps = max(len(layers) - 1, 0)
        td_w += max(sum(v.w + GAP_IN_LAYER for v in layer) for layer in layers)
        td_h = max(td_h, thick + gaps * GAP_LAYERS["TD"])
        lr_w = max(lr_w, wide + gaps * GAP_LAYERS["LR"])
        lr_h += max(sum(v.h + GAP_IN_LAYER for v in layer) for layer in layers)
    return "LR" if _scale(lr_w, lr_h) >= _scale(td_w, td_h) else "TD"


def _scale(width: float, height: float) -> float:
    return min(BOX_W / max(width, 1), BOX_H / max(height, 1), 1.0)


def first_view(width: float, height: float, focal: Node | None) -> dict[str, Any]:
    """The transform at first paint and the box height: fit, or the neighbourhood of ``focal``."""
    fit = _scale(width, height)
    if fit >= MIN_ZOOM:
        box_h = max(MIN_HEIGHT, min(BOX_H, height * fit))
        return {"mode": "fit", "k": round(fit, 4), "tx": round((BOX_W - width * fit) / 2, 1),
                "ty": round((box_h - height * fit) / 2, 1), "box_h": round(box_h)}
    if focal is not None:
        w, h = SIZES[focal.kind]
        cx, cy = focal.x + w / 2, focal.y + h / 2
    else:  # where the data starts
        cx, cy = min(BOX_W / 2 / MIN_ZOOM, width / 2), min(BOX_H / 2 / MIN_ZOOM, height / 2)
    return {"mode": "focus", "k": MIN_ZOOM, "tx": round(BOX_W / 2 - cx * MIN_ZOOM, 1),
            "ty": round(BOX_H / 2 - cy * MIN_ZOOM, 1), "box_h": BOX_H}


def _path(source: Node, target: Node, waypoints: list[tuple[float, float]],
          direction: str) -> str:
    """A smooth path leaving ``source`` and entering ``target`` along the layer axis,
    through grandalf's waypoints for edges that cross several layers."""
    sw, sh = SIZES[source.kind]
    tw, th = SIZES[target.kind]
    if direction == "LR":
        start, end = (source.x + sw, source.y + sh / 2), (target.x, target.y + th / 2)
    else:
        start, end = (source.x + sw / 2, source.y + sh), (target.x + tw / 2, target.y)
    points = [start, *waypoints, end]
    parts = [f"M{start[0]:.1f},{start[1]:.1f}"]
    for (x1, y1), (x2, y2) in zip(points, points[1:]):
        if direction == "LR":
            c1, c2 = (x1 + (x2 - x1) / 2, y1), (x2 - (x2 - x1) / 2, y2)
        else:
            c1, c2 = (x1, y1 + (y2 - y1) / 2), (x2, y2 - (y2 - y1) / 2)
        parts.append(f"C{c1[0]:.1f},{c1[1]:.1f} {c2[0]:.1f},{c2[1]:.1f} {x2:.1f},{y2:.1f}")
    return " ".join(parts)


def _drawn(node: Node) -> dict[str, Any]:
    """A placed node for the template; an artifact's one line holds its label and sublabel."""
    room = LABEL_CHARS - len(node.sublabel) - 1 if node.kind == "artifact" else LABEL_CHARS
    return {**attrs.asdict(node), "w": SIZES[node.kind][0], "h": SIZES[node.kind][1],
            "short": _short(node.label, room), "short_sub": _short(node.sublabel, LABEL_CHARS)}


def _short(text: str, room: int) -> str:
    return text if len(text) <= room else text[: max(room - 1, 1)] + "…"
