"""What each page shows, as JSON-ready dicts: the HTML pages and ``/api`` serve the same data.

Everything that grows with stored data is bounded here: listings are
paginated, lineage graphs and consumer lists stop at a node limit and say so.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import deque
from typing import Any
from urllib.parse import quote

from zen_core.errors import AmbiguousIdError, ArtifactNotFoundError, RunNotFoundError, ZenError
from zen_core.models import ArtifactVersion, PipelineRun, StepRun
from zen_dashboard import charts, graphs
from zen_dashboard.formatting import number

PER_PAGE = 50
MAX_PER_PAGE = 200
MAX_PAGE = 1_000_000  # far past any store's last page; bigger offsets overflow the database
LINEAGE_LIMIT = 80  # nodes per direction
CONSUMER_LIMIT = 50
COMPARE_LIMIT = 8  # runs side by side
CHART_VERSIONS = 2000  # the latest versions a chart reads, unless asked for all
STATUSES = ("running", "completed", "cached", "failed")


class NotFound(ZenError):
    status_code = 404


class BadRequest(ZenError):
    status_code = 400


# -- request parameters ---------------------------------------------------------------


def page_args(query: Any) -> tuple[int, int]:
    """``page`` (from 1) and ``per_page`` (up to MAX_PER_PAGE) from a query string."""
    page = _positive_int(query, "page", 1)
    if page > MAX_PAGE:
        raise BadRequest(f"page={page} is too large (at most {MAX_PAGE:,}). Fix: follow the "
                         f"page links, or ask for a page the listing has.", page=page)
    per_page = _positive_int(query, "per_page", PER_PAGE)
    if per_page > MAX_PER_PAGE:
        raise BadRequest(f"per_page={per_page} is too large (at most {MAX_PER_PAGE}). "
                         f"Fix: ask for {MAX_PER_PAGE} or fewer and follow the next-page links.",
                         per_page=per_page)
    return page, per_page


def _positive_int(query: Any, key: str, default: int) -> int:
    raw = query.get(key)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise BadRequest(f"{key}={raw!r} is not a positive whole number. Fix: use {key}=1, 2, ...",
                         **{key: raw})
    return value


def status_arg(query: Any) -> str | None:
    status = query.get("status") or None
    if status is not None and status not in STATUSES:
        raise BadRequest(f"status={status!r} is not a run status (one of: {', '.join(STATUSES)}). "
                         f"Fix: pick one of these, or leave status empty for all runs.",
                         status=status)
    return status


def _pages(total: int, page: int, per_page: int) -> dict[str, Any]:
    pages = max((total + per_page - 1) // per_page, 1)
    return {"total": total, "page": page, "per_page": per_page, "pages": pages,
            "has_prev": page > 1, "has_next": page < pages}


# -- records as dicts -------------------------------------------------------------------


def _utc(when: dt.datetime | None) -> dt.datetime | None:
    """A record's time (naive UTC) made explicit."""
    return None if when is None else when.replace(tzinfo=dt.UTC)


def _iso(when: dt.datetime | None) -> str | None:
    return None if when is None else _utc(when).isoformat()


def _epoch(when: dt.datetime | None) -> float | None:
    """Seconds since the epoch: what ``/api`` has always given for times."""
    return None if when is None else _utc(when).timestamp()


def run_url(run_id: str) -> str:
    return f"/runs/{run_id}"


def step_url(step_id: str) -> str:
    return f"/steps/{step_id}"


def version_url(av_id: str) -> str:
    return f"/artifact-versions/{av_id}"


def artifact_url(name: str) -> str:
    return f"/artifacts/{quote(name, safe='')}"


def run_dict(run: PipelineRun) -> dict[str, Any]:
    return {"id": run.id, "name": run.name, "pipeline_name": run.pipeline_name,
            "status": str(run.status), "created": _epoch(run.created),
            "created_iso": _iso(run.created), "finished": _epoch(run.finished),
            "duration": run.duration, "params": run.params, "error": run.error,
            "tags": run.tags, "run_metadata": run.run_metadata, "url": run_url(run.id)}


def step_dict(step: StepRun) -> dict[str, Any]:
    return {"id": step.id, "name": step.name, "step_name": step.step_name,
            "pipeline_name": step.pipeline_name, "run_id": step.run_id,
            "status": str(step.status), "params": step.params, "cache_key": step.cache_key,
            "cache_miss": step.cache_miss, "started": _epoch(step.started),
            "finished": _epoch(step.finished),
            "started_iso": _iso(step.started), "duration": step.duration, "error": step.error,
            "original_step_run_id": step.original_step_run_id,
            "original_url": step_url(step.original_step_run_id)
            if step.original_step_run_id else None,
            "url": step_url(step.id), "run_url": run_url(step.run_id)}


def version_brief(av: ArtifactVersion) -> dict[str, Any]:
    return {"id": av.id, "name": av.name, "version": av.version, "type": av.type,
            "artifact_type": av.artifact_type, "created": _epoch(av.created),
            "url": version_url(av.id),
            "artifact_url": artifact_url(av.name)}


def version_dict(av: ArtifactVersion) -> dict[str, Any]:
    return {**version_brief(av), "uri": av.uri, "materializer": av.materializer,
            "materializer_version": av.materializer_version, "content_hash": av.content_hash,
            "size": av.size, "created_iso": _iso(av.created), "tags": av.tags,
            "metadata": av.metadata, "run_metadata": av.run_metadata, "origin": av.origin,
            "producer_step_run_id": av.producer_step_run_id, "run_id": av.run_id,
            "visualizations": [{"index": i, "kind": kind, "uri": uri,
                                "url": f"{version_url(av.id)}/visualizations/{i}"}
                               for i, (uri, kind) in enumerate(visualizations(av))]}


def visualizations(av: ArtifactVersion) -> list[tuple[str, str]]:
    """The version's visualizations in a stable order: the index is how requests name one."""
    return sorted(av.visualizations.items())


# -- pages ---------------------------------------------------------------------------------


def runs_page(client: Any, *, pipeline: str | None, status: str | None, page: int,
              per_page: int, tag: str | None = None) -> dict[str, Any]:
    client.reap_crashed_runs()  # a run whose process died shows as failed, not running
    runs = client.list_pipeline_runs(pipeline_name=pipeline, status=status, size=per_page,
                                     page=page, tags=[tag] if tag else None)
    short = client.shortest_prefixes("run", [r.id for r in runs])
    items = []
    for run in runs:
        steps = list(run.steps.values())
        items.append({**run_dict(run), "short_id": short[run.id], "steps": len(steps),
                      "cached_steps": sum(s.status == "cached" for s in steps),
                      "failed_steps": sum(s.status == "failed" for s in steps)})
    return {"items": items, "filters": {"pipeline": pipeline or "", "status": status or "",
                                        "tag": tag or ""},
            **_pages(runs.total, page, per_page)}


def get_run(client: Any, run_id: str) -> PipelineRun:
    try:
        return client.get_pipeline_run(run_id)
    except RunNotFoundError as exc:
        raise NotFound(str(exc), id=run_id) from exc
    except AmbiguousIdError as exc:
        raise BadRequest(str(exc), id=run_id) from exc


def run_detail(client: Any, run_id: str, *, step: str | None = None, page: int = 1,
               per_page: int = PER_PAGE) -> dict[str, Any]:
    """A run, its DAG, and one page of its step table (``step``: one step function's)."""
    run = get_run(client, run_id)
    steps = list(run.steps.values())
    listed = [s for s in steps if s.step_name == step] if step else steps
    start = (page - 1) * per_page
    rows = []
    for s in listed[start:start + per_page]:
        row = step_dict(s)
        row["inputs"] = {k: version_brief(v) for k, v in s.inputs.items()}
        row["outputs"] = {k: version_brief(v) for k, v in s.outputs.items()}
        rows.append(row)
    drawn = graphs.run_graph(run, steps)
    return {"run": {**run_dict(run), "steps": len(steps),
                    "cached_steps": sum(s.status == "cached" for s in steps),
                    "failed_steps": sum(s.status == "failed" for s in steps)},
            "steps": rows, "dag": drawn["graph"], "dag_level": drawn["level"],
            "dag_note": drawn["note"], "step_filter": step or "",
            **_pages(len(listed), page, per_page)}


def step_detail(client: Any, step_id: str) -> dict[str, Any]:
    try:
        step = client.get_step_run(step_id)
    except AmbiguousIdError as exc:
        raise BadRequest(str(exc), id=step_id) from exc
    except RunNotFoundError as exc:
        raise NotFound(f"no step run with id {step_id!r}. Fix: open a run and follow the link "
                       f"to one of its steps (step run ids are 32 hex characters).",
                       id=step_id) from exc
    run = step.run
    return {"step": step_dict(step), "run": run_dict(run) if run else None,
            "inputs": {k: version_brief(v) for k, v in step.inputs.items()},
            "outputs": {k: version_brief(v) for k, v in step.outputs.items()}}


def artifacts_page(client: Any, *, q: str | None, page: int, per_page: int) -> dict[str, Any]:
    summaries = client.list_artifacts()
    if q:
        needle = q.lower()
        summaries = [s for s in summaries if needle in s.name.lower()]
    start = (page - 1) * per_page
    items = [{"name": s.name, "versions": s.versions, "latest_version": s.latest_version,
              "latest_created": _epoch(s.latest_created),
              "latest_created_iso": _iso(s.latest_created),
              "url": artifact_url(s.name)} for s in summaries[start:start + per_page]]
    return {"items": items, "filters": {"q": q or ""}, **_pages(len(summaries), page, per_page)}


def artifact_page(client: Any, name: str, *, page: int, per_page: int,
                  chart_all: bool = False, tag: str | None = None) -> dict[str, Any]:
    """One artifact name: charts of its numbers across versions (the latest CHART_VERSIONS,
    or all with ``chart_all``), and its versions, newest first (those tagged ``tag``)."""
    store = client.active_stack.metadata_store
    latest = store.get_artifact_version(name)
    if latest is None:
        raise NotFound(f"no artifact named {name!r}. Fix: search the artifacts page "
                       f"(/artifacts?q=...) or list them with `zen artifact list`.", name=name)
    rows = client.list_artifact_versions(name, sort_by="desc:created", size=per_page, page=page,
                                         tags=[tag] if tag else None)
    total = rows.total
    charted, drawn = 0, []
    if charts.values(latest):  # the name holds a number: chart it
        charted = total if chart_all else min(total, CHART_VERSIONS)
        drawn = charts.charts(list(reversed(client.list_artifact_versions(
            name, sort_by="desc:created", size=charted))))
    return {"name": name, "url": artifact_url(name), "charts": drawn, "charted": charted,
            "items": [{**version_brief(av), "tags": av.tags, "size": av.size,
                       "created_iso": _iso(av.created), "origin": av.origin,
                       "values": charts.values(av)}
                      for av in rows], "tag": tag or "",
            **_pages(total, page, per_page)}


def compare(client: Any, run_ids: list[str]) -> dict[str, Any]:
    """Runs side by side: parameters, numbers, artifacts and cache decisions, differences marked."""
    run_ids = list(dict.fromkeys(i for i in run_ids if i))
    if not 2 <= len(run_ids) <= COMPARE_LIMIT:
        raise BadRequest(
            f"comparing needs 2 to {COMPARE_LIMIT} different runs, got {len(run_ids)} "
            f"({', '.join(map(repr, run_ids)) or 'none'}). Fix: tick two or more runs on "
            f"/runs and press Compare, or open /compare?run=ID&run=ID.", runs=run_ids)
    runs = [get_run(client, i) for i in run_ids]
    steps = [r.steps for r in runs]
    invocations = list(dict.fromkeys(name for per_run in steps for name in per_run))

    def row(label: str, cells: list[Any]) -> dict[str, Any]:
        present = [c for c in cells if c is not _ABSENT]
        differs = len(present) != len(cells) or any(c != present[0] for c in present)
        return {"label": label, "differs": differs,
                "cells": ["—" if c is _ABSENT else _cell(c) for c in cells]}

    params = [row(key, [r.params.get(key, _ABSENT) for r in runs])
              for key in dict.fromkeys(k for r in runs for k in r.params)]
    for inv in invocations:
        keys = dict.fromkeys(k for per_run in steps if inv in per_run
                             for k in per_run[inv].params)
        params += [row(f"{inv}.{key}", [per_run[inv].params.get(key, _ABSENT)
                                        if inv in per_run else _ABSENT for per_run in steps])
                   for key in keys]
    metrics, artifacts, cache = [], [], []
    for key in dict.fromkeys(k for r in runs for k in _run_numbers(r)):
        cells = [_run_numbers(r).get(key, _ABSENT) for r in runs]
        metrics.append(row(f"run: {key}", cells))
    for inv in invocations:
        outputs = dict.fromkeys(k for per_run in steps if inv in per_run
                                for k in per_run[inv].outputs)
        for out in outputs:
            avs = [per_run[inv].outputs.get(out) if inv in per_run else None for per_run in steps]
            label = f"{inv}.{out}"
            nums = [charts.values(av) if av else {} for av in avs]
            for key in dict.fromkeys(k for n in nums for k in n):
                cells = [n.get(key, _ABSENT) for n in nums]
                metrics.append(row(label if key == "value" else f"{label} ({key})", cells))
            hashes = [av.content_hash if av else _ABSENT for av in avs]
            artifacts.append({**row(label, hashes), "links": [
                {"text": f"{av.name} v{av.version}", "url": version_url(av.id),
                 "hash": av.content_hash[:10]} if av else None for av in avs]})
        decisions = []
        for per_run in steps:
            s = per_run.get(inv)
            decisions.append(_ABSENT if s is None else (
                "hit" if s.status == "cached" else str(s.status) + (
                    f" (miss: {s.cache_miss})" if s.cache_miss else "")))
        cache.append(row(inv, decisions))
    return {"runs": [{**run_dict(r), "steps": len(per_run)} for r, per_run in zip(runs, steps)],
            "params": params, "metrics": metrics, "artifacts": artifacts, "cache": cache,
            "ids": run_ids}


class _Absent:
    """A run without this parameter, step or output (shown as a dash, and a difference)."""


_ABSENT: Any = _Absent()


def _cell(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number(value)
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _run_numbers(run: PipelineRun) -> dict[str, float]:
    """Numeric ``run_metadata`` of a run, once runs carry it (logged metadata)."""
    logged = getattr(run, "run_metadata", None)
    if not isinstance(logged, dict):
        return {}
    return {str(k): x for k, v in logged.items() if (x := charts.numeric(v)) is not None}


def get_version(client: Any, av_id: str) -> ArtifactVersion:
    """A version by id or unique id prefix (never by name: this is its address)."""
    av = None
    digits = av_id.replace("-", "").lower()
    if re.fullmatch(r"[0-9a-f]{1,32}", digits):
        try:
            av = client.get_artifact_version(av_id)
        except AmbiguousIdError as exc:
            raise BadRequest(str(exc), id=av_id) from exc
        except ArtifactNotFoundError:
            av = None
    if av is None or not av.id.startswith(digits):
        raise NotFound(f"no artifact version with id {av_id!r}. Fix: find it from the artifacts "
                       f"page (/artifacts) or `zen artifact show NAME:VERSION`.", id=av_id)
    return av


def version_detail(client: Any, av_or_id: ArtifactVersion | str) -> dict[str, Any]:
    av = av_or_id if isinstance(av_or_id, ArtifactVersion) else get_version(client, av_or_id)
    producer = av.producer
    run = av.run
    consumers = av.consumers
    up = lineage(av, "upstream")
    down = lineage(av, "downstream", consumers=consumers)
    nodes = {**up.pop("nodes"), **down.pop("nodes")}
    edges = [tuple(e) for e in up["edges"] + down["edges"]]
    return {"version": version_dict(av),
            "producer": step_dict(producer) if producer else None,
            "run": run_dict(run) if run else None,
            "consumers": [step_dict(s) for s in consumers[:CONSUMER_LIMIT]],
            "consumers_total": len(consumers),
            "lineage": {"upstream": up, "downstream": down,
                        "graph": graphs.lineage_graph(av, nodes, edges)}}


def lineage(av: ArtifactVersion, direction: str, limit: int = LINEAGE_LIMIT,
            consumers: list[StepRun] | None = None) -> dict[str, Any]:
    """The lineage in one direction, stopping at ``limit`` nodes (``truncated`` says so).

    ``consumers`` of ``av``, when the caller has them already, save fetching them again.
    """
    nodes: dict[str, ArtifactVersion | StepRun] = {av.id: av}
    edges: list[tuple[str, str]] = []
    expanded: set[str] = set()
    queue: deque[ArtifactVersion] = deque([av])
    truncated = False
    upstream = direction == "upstream"
    while queue:
        artifact = queue.popleft()
        if upstream:
            steps = [artifact.producer] if artifact.producer_step_run_id else []
        elif artifact is av and consumers is not None:
            steps = consumers
        else:
            steps = artifact.consumers
        for step in steps:
            if step is None:
                continue
            if step.id not in nodes:
                if len(nodes) >= limit:
                    truncated = True
                    continue
                nodes[step.id] = step
            edges.append((step.id, artifact.id) if upstream else (artifact.id, step.id))
            if step.id in expanded:
                continue
            expanded.add(step.id)
            for other in (step.inputs if upstream else step.outputs).values():
                if other.id not in nodes:
                    if len(nodes) >= limit:
                        truncated = True
                        continue
                    nodes[other.id] = other
                    queue.append(other)
                edges.append((other.id, step.id) if upstream else (step.id, other.id))
    return {"direction": direction, "root": av.id, "truncated": truncated, "limit": limit,
            "edges": [list(e) for e in dict.fromkeys(edges)], "nodes": nodes}
