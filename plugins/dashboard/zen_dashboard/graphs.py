"""What a run's DAG and an artifact's lineage draw, collapsed to stay readable and fast.

A run is drawn node by node (steps and artifacts) up to ``FULL_LIMIT`` nodes;
larger runs fold artifacts into the edges between steps (up to ``STEP_LIMIT``
steps); larger still, the invocations of one step function fold into one
cluster node that links to their rows in the step table. The focal node (the
first failed step, or the artifact a lineage graph is about) is highlighted
and, when the whole graph is too large to read, centred.

A finished run never changes, so its drawing is kept (``_drawn``, bounded).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from zen_core.models import ArtifactVersion, PipelineRun, StepRun
from zen_dashboard.formatting import duration
from zen_dashboard.layout import Node, layout

FULL_LIMIT = 300  # steps + artifacts drawn one by one
STEP_LIMIT = 400  # steps drawn one by one, artifacts folded into edges
CLUSTER_LIMIT = 400  # step functions drawn as clusters
KEEP = 32  # finished runs whose drawing is kept
_SEVERITY = {"failed": 0, "running": 1, "completed": 2, "cached": 3}
_drawn: OrderedDict[tuple[str, float], dict[str, Any]] = OrderedDict()


def run_graph(run: PipelineRun, steps: list[StepRun]) -> dict[str, Any]:
    """``{"graph", "level", "note"}`` for ``run``: level ``full``, ``steps``, ``clusters``
    or ``none`` (too large even clustered: ``note`` says so)."""
    key = (run.id, run.finished.timestamp() if run.finished else 0.0)
    finished = run.status != "running" and run.finished is not None
    if finished and key in _drawn:
        _drawn.move_to_end(key)
        return _drawn[key]
    drawn = _draw_run(run, steps)
    if finished:
        _drawn[key] = drawn
        while len(_drawn) > KEEP:
            _drawn.popitem(last=False)
    return drawn


def _draw_run(run: PipelineRun, steps: list[StepRun]) -> dict[str, Any]:
    if not steps:
        return {"graph": None, "level": "none", "note": ""}
    failed = next((s.id for s in steps if s.status == "failed"), None)
    artifacts = {av.id for s in steps for avs in (s.inputs, s.outputs) for av in avs.values()}
    if len(steps) + len(artifacts) <= FULL_LIMIT:
        nodes, edges = _full(steps, failed)
        return {"graph": layout(nodes, edges), "level": "full", "note": ""}
    if len(steps) <= STEP_LIMIT:
        nodes, edges = _steps_only(steps, failed)
        return {"graph": layout(nodes, edges), "level": "steps",
                "note": f"{len(steps)} steps and {len(artifacts)} artifacts: artifacts are "
                        f"folded into the arrows between steps (hover an arrow to name them)."}
    nodes, edges = _clusters(run, steps, failed)
    functions = sum(n.kind == "cluster" for n in nodes)
    if functions > CLUSTER_LIMIT:
        return {"graph": None, "level": "none",
                "note": f"This run has {len(steps)} steps of {functions} different step "
                        f"functions, too many to draw; its steps are listed below."}
    return {"graph": layout(nodes, edges), "level": "clusters",
            "note": f"{len(steps)} steps: each box is one step function with all its "
                    f"invocations; open one to list them."}


def _step_node(s: StepRun, failed: str | None) -> Node:
    took = f" · {duration(s.duration)}" if s.duration is not None else ""
    return Node(s.id, "step", s.name, f"{s.status}{took}", str(s.status), f"/steps/{s.id}",
                focal=s.id == failed)


def _artifact_node(av: ArtifactVersion, focal: bool = False) -> Node:
    return Node(av.id, "artifact", av.name, f"v{av.version}", "", f"/artifact-versions/{av.id}",
                focal=focal)


def _full(steps: list[StepRun], failed: str | None) -> tuple[list[Node], list[tuple[str, str]]]:
    nodes: dict[str, Node] = {}
    edges = []
    for s in steps:
        nodes[s.id] = _step_node(s, failed)
        for av in s.inputs.values():
            nodes.setdefault(av.id, _artifact_node(av))
            edges.append((av.id, s.id))
        for av in s.outputs.values():
            nodes.setdefault(av.id, _artifact_node(av))
            edges.append((s.id, av.id))
    return list(nodes.values()), edges


def _steps_only(steps: list[StepRun],
                failed: str | None) -> tuple[list[Node], list[tuple[str, str]]]:
    """Steps, plus the artifacts that came from outside the run; produced ones become edges."""
    outside, edges = _folded(steps, lambda s: s.id)
    return [*(_step_node(s, failed) for s in steps), *outside], edges


def _clusters(run: PipelineRun, steps: list[StepRun],
              failed: str | None) -> tuple[list[Node], list[tuple[str, str]]]:
    """One node per step function (its invocations, with their statuses counted)."""
    members: dict[str, list[StepRun]] = {}
    for s in steps:
        members.setdefault(s.step_name, []).append(s)
    failed_group = next((s.step_name for s in steps if s.id == failed), None)
    nodes = []
    for name, runs in members.items():
        counts: dict[str, int] = {}
        for s in runs:
            counts[str(s.status)] = counts.get(str(s.status), 0) + 1
        worst = min(counts, key=lambda status: _SEVERITY.get(status, 9))
        parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        nodes.append(Node(f"cluster:{name}", "cluster", f"{name} ×{len(runs)}", parts, worst,
                          f"/runs/{run.id}?step={quote(name)}#steps", focal=name == failed_group))
    outside, edges = _folded(steps, lambda s: f"cluster:{s.step_name}")
    return [*nodes, *outside], edges


def _folded(steps: list[StepRun], node_of: Callable[[StepRun], str]
            ) -> tuple[list[Node], list[tuple[str, str]]]:
    """Edges between the nodes the steps fold into (``node_of``) through the artifacts the run
    made; artifacts from outside the run stay nodes of their own (returned first)."""
    producer = {av.id: node_of(s) for s in steps for av in s.outputs.values()}
    outside: dict[str, Node] = {}
    edges = []
    for s in steps:
        target = node_of(s)
        for av in s.inputs.values():
            source = producer.get(av.id)
            if source is None:
                outside.setdefault(av.id, _artifact_node(av))
                source = av.id
            if source != target:
                edges.append((source, target))
    return list(outside.values()), edges


def lineage_graph(av: ArtifactVersion, nodes: dict[str, ArtifactVersion | StepRun],
                  edges: list[tuple[str, str]]) -> dict[str, Any] | None:
    """Both directions of ``av``'s lineage in one drawing, ``av`` focal."""
    if len(nodes) <= 1:
        return None
    drawn = []
    for node_id, node in nodes.items():
        if isinstance(node, ArtifactVersion):
            drawn.append(_artifact_node(node, focal=node_id == av.id))
        else:
            drawn.append(Node(node_id, "step", node.name,
                              f"{node.status} · run …{node.run_id[-8:]}", str(node.status),
                              f"/steps/{node_id}"))
    return layout(drawn, edges)
