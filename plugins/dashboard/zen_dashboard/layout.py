"""A layered left-to-right layout for small DAGs, computed server-side and drawn as SVG.

Layers come from the longest path from a source; the order inside a layer
from a few barycenter sweeps (the classic Sugiyama heuristic), which keeps
most edges short and uncrossed for pipeline-sized graphs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import attrs

NODE_W = 190
NODE_H = 46
GAP_X = 70
GAP_Y = 22
MARGIN = 16
LABEL_CHARS = 26


@attrs.define
class Node:
    id: str
    kind: str  # "step" or "artifact"
    label: str
    sublabel: str = ""
    status: str = ""
    href: str = ""
    highlight: bool = False
    x: float = 0.0
    y: float = 0.0


def _layers(ids: list[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    preds: dict[str, list[str]] = defaultdict(list)
    succs: dict[str, list[str]] = defaultdict(list)
    indeg = dict.fromkeys(ids, 0)
    for a, b in edges:
        succs[a].append(b)
        preds[b].append(a)
        indeg[b] += 1
    layer = dict.fromkeys(ids, 0)
    ready = [i for i in ids if indeg[i] == 0]
    done = 0
    while ready:
        node = ready.pop(0)
        done += 1
        for nxt in succs[node]:
            layer[nxt] = max(layer[nxt], layer[node] + 1)
            indeg[nxt] -= 1
            if indeg[nxt] == 0:
                ready.append(nxt)
    if done < len(ids):  # a cycle should not happen; park what is left after the rest
        last = max(layer.values(), default=0) + 1
        for i in ids:
            if indeg[i] > 0:
                layer[i] = last
    return layer


def layout(nodes: Sequence[Node], edges: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Place ``nodes``; return what the SVG template draws: sizes, nodes and edge paths."""
    by_id = {n.id: n for n in nodes}
    edges = [(a, b) for a, b in dict.fromkeys(edges) if a in by_id and b in by_id and a != b]
    ids = list(by_id)
    layer_of = _layers(ids, edges)
    columns: dict[int, list[str]] = defaultdict(list)
    for i in ids:
        columns[layer_of[i]].append(i)
    preds: dict[str, list[str]] = defaultdict(list)
    succs: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        succs[a].append(b)
        preds[b].append(a)
    order = sorted(columns)
    pos = {i: k for col in columns.values() for k, i in enumerate(col)}
    for sweep in range(4):  # barycenter sweeps: forward on predecessors, back on successors
        forward = sweep % 2 == 0
        for c in order[1:] if forward else order[-2::-1]:
            near = preds if forward else succs
            col = columns[c]

            def key(i: str, near: dict = near) -> float:
                ps = [pos[p] for p in near[i]]
                return sum(ps) / len(ps) if ps else pos[i]

            col.sort(key=key)
            for k, i in enumerate(col):
                pos[i] = k
    tallest = max((len(c) for c in columns.values()), default=0)
    height = MARGIN * 2 + tallest * NODE_H + max(tallest - 1, 0) * GAP_Y
    for c, col in columns.items():
        span = len(col) * NODE_H + (len(col) - 1) * GAP_Y
        top = (height - span) / 2
        for k, i in enumerate(col):
            n = by_id[i]
            n.x = MARGIN + c * (NODE_W + GAP_X)
            n.y = top + k * (NODE_H + GAP_Y)
    width = MARGIN * 2 + len(order) * NODE_W + max(len(order) - 1, 0) * GAP_X
    paths = []
    for a, b in edges:
        s, t = by_id[a], by_id[b]
        x1, y1 = s.x + NODE_W, s.y + NODE_H / 2
        x2, y2 = t.x, t.y + NODE_H / 2
        bend = max((x2 - x1) / 2, 30)
        paths.append({"from": a, "to": b,
                      "d": f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} "
                           f"{x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"})
    return {
        "width": max(width, NODE_W + 2 * MARGIN), "height": max(height, NODE_H + 2 * MARGIN),
        "node_w": NODE_W, "node_h": NODE_H,
        "nodes": [{**attrs.asdict(n), "short": _short(n.label), "short_sub": _short(n.sublabel)}
                  for n in nodes],
        "edges": paths,
    }


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"
