"""Lineage graphs: which step runs and artifact versions led to (or came from) an artifact."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import attrs

from zen_core.records import ArtifactVersion, StepRun

if TYPE_CHECKING:
    from zen_core.client import Client

DIRECTIONS = ("upstream", "downstream")
MAX_INDENT = 32  # levels of indentation in a rendered tree; deeper nodes stay at this level


def _with_last(items: list[str]) -> list[tuple[str, bool]]:
    return [(item, i == len(items) - 1) for i, item in enumerate(items)]


@attrs.define
class LineageGraph:
    """``nodes`` maps id -> ArtifactVersion or StepRun; ``edges`` run in data-flow order."""

    root: str
    direction: str
    nodes: dict[str, ArtifactVersion | StepRun] = attrs.field(factory=dict)
    edges: list[tuple[str, str]] = attrs.field(factory=list)

    def children(self, node_id: str) -> list[str]:
        """Next nodes away from the root (producers upstream, consumers downstream)."""
        return self._adjacency().get(node_id, [])

    def _adjacency(self) -> dict[str, list[str]]:
        away = {}
        for a, b in self.edges:
            near, far = (b, a) if self.direction == "upstream" else (a, b)
            away.setdefault(near, []).append(far)
        return away

    def label(self, node_id: str) -> str:
        node = self.nodes[node_id]
        if isinstance(node, ArtifactVersion):
            return f"artifact {node.name}:{node.version} ({node.type or '?'})"
        return f"step {node.name} [{node.status}] in run …{node.run_id[-8:]}"

    def render(self) -> str:
        """The graph as an indented tree from the root (shared nodes shown once).

        Walked with an explicit stack, so a chain thousands of steps long renders; past
        ``MAX_INDENT`` levels the indentation stops growing.
        """
        away = self._adjacency()
        lines = [self.label(self.root)]
        seen = {self.root}
        pending = [(kid, "", last) for kid, last in reversed(_with_last(away.get(self.root, [])))]
        while pending:
            node_id, prefix, last = pending.pop()
            mark = " (see above)" if node_id in seen else ""
            lines.append(f"{prefix}{'└── ' if last else '├── '}{self.label(node_id)}{mark}")
            if mark:
                continue
            seen.add(node_id)
            inner = prefix if len(prefix) >= 4 * MAX_INDENT else prefix + ("    " if last else "│   ")
            pending.extend((kid, inner, kid_last)
                           for kid, kid_last in reversed(_with_last(away.get(node_id, []))))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()

    def _repr_html_(self) -> str:
        from zen_core.visualize import lineage_card

        return lineage_card(self)

    def to_dict(self) -> dict:
        return {"root": self.root, "direction": self.direction,
                "nodes": {k: {"kind": "artifact" if isinstance(v, ArtifactVersion) else "step",
                              "label": self.label(k)} for k, v in self.nodes.items()},
                "edges": [list(e) for e in self.edges]}


def build_lineage(client: Client, av: ArtifactVersion, direction: str) -> LineageGraph:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'upstream' or 'downstream', got {direction!r}")
    graph = LineageGraph(av.id, direction, {av.id: av})
    queue: deque[ArtifactVersion] = deque([av])
    edges: set[tuple[str, str]] = set()
    while queue:
        artifact = queue.popleft()
        if direction == "upstream":
            steps = [artifact.producer] if artifact.producer else []
            for step in steps:
                edges.add((step.id, artifact.id))
                graph.nodes.setdefault(step.id, step)
                for upstream in step.inputs.values():
                    edges.add((upstream.id, step.id))
                    if upstream.id not in graph.nodes:
                        graph.nodes[upstream.id] = upstream
                        queue.append(upstream)
        else:
            for step in artifact.consumers:
                edges.add((artifact.id, step.id))
                graph.nodes.setdefault(step.id, step)
                for downstream in step.outputs.values():
                    edges.add((step.id, downstream.id))
                    if downstream.id not in graph.nodes:
                        graph.nodes[downstream.id] = downstream
                        queue.append(downstream)
    graph.edges = sorted(edges, key=lambda e: (graph.nodes[e[0]].seq, graph.nodes[e[1]].seq))
    return graph
