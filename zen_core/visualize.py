"""Artifacts, runs and lineage in a notebook: rich displays built from records and stored files.

``ArtifactVersion.visualize()`` displays each visualization and returns ``None``
in a notebook (so the cell echoes nothing); elsewhere it returns ``{uri: kind}``.
A dict, list, tuple or set stored by the built-in container materializer is
already one JSON document, ``data.json``: it is declared a ``json``
visualization of itself, shown as a collapsible tree, so nothing extra is
written and content hashes and the cost of saving are unchanged.

The records' ``_repr_html_`` cards (artifact version, pipeline run, step run,
lineage graph) come from here too; IPython is imported only to display.
"""

from __future__ import annotations

import base64
import html
import json
import math
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from zen_core.records import local_time

if TYPE_CHECKING:
    from zen_core.lineage import LineageGraph
    from zen_core.records import ArtifactVersion, PipelineRun, StepRun

CONTAINER_MATERIALIZER = "zen_core.materializers.builtin.ContainerMaterializer"
JSON_FILE = "data.json"
INLINE_BYTES = 8 * 1024 * 1024  # a visualization larger than this is named, not shown
CSV_ROWS = 50
TREE_NODES = 2000  # a JSON tree stops here and says how much it left out
CARD_ROWS = 50  # steps or lineage lines on one card

_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
                (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"))
_STYLE = (
    "<style>.zen-card{font:13px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;"
    "color:#1f2328;border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;margin:4px 0;"
    "max-width:980px}.zen-card h4{margin:0 0 6px;font-size:14px}.zen-card table{"
    "border-collapse:collapse;margin:4px 0 8px;font-variant-numeric:tabular-nums}"
    ".zen-card th,.zen-card td{text-align:left;padding:2px 10px 2px 0;vertical-align:top;"
    "border-bottom:1px solid #eaeef2}.zen-card th{color:#656d76;font-weight:400}"
    ".zen-card code{font:12px ui-monospace,monospace}.zen-s{display:inline-block;padding:0 7px;"
    "border-radius:9px;font-size:11px;font-weight:600;background:#f6f8fa}"
    ".zen-s.completed{color:#1a7f37;background:#dafbe1}.zen-s.cached{color:#0969da;"
    "background:#ddf4ff}.zen-s.failed{color:#cf222e;background:#ffebe9}.zen-s.running{"
    "color:#9a6700;background:#fff8c5}.zen-muted{color:#656d76}.zen-tree{"
    "font:12px ui-monospace,monospace}.zen-tree details{margin-left:14px}"
    ".zen-tree summary{cursor:pointer;margin-left:-14px}.zen-tree .k{color:#953800}"
    ".zen-tree .leaf{margin-left:0}.zen-lineage{list-style:none;padding-left:0;margin:4px 0}"
    ".zen-lineage li{white-space:pre;font:12px ui-monospace,monospace}</style>")


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (IPython is never imported to find out)."""
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def visualizations(av: ArtifactVersion) -> dict[str, str]:
    """``{uri: kind}``: the stored visualizations, and a built-in container's ``data.json``."""
    found = dict(av.visualizations)
    if av.materializer == CONTAINER_MATERIALIZER and JSON_FILE in (av.files or {}):
        found.setdefault(f"{av.uri}/{JSON_FILE}", "json")
    return found


def show(av: ArtifactVersion) -> dict[str, str] | None:
    """Display each visualization in a notebook and return ``None``; elsewhere ``{uri: kind}``."""
    found = visualizations(av)
    if not in_notebook():
        return found
    from IPython.display import display

    if not found:
        display({"text/html": f"{_STYLE}<div class='zen-card zen-muted'>artifact "
                              f"{_e(av.name)}:{_e(av.version)} has no visualizations</div>",
                 "text/plain": f"artifact {av.name}:{av.version} has no visualizations"},
                raw=True)
    for uri, kind in found.items():
        display(bundle(av, uri, kind), raw=True)
    return None


def bundle(av: ArtifactVersion, uri: str, kind: str) -> dict[str, Any]:
    """One visualization as a MIME bundle: the frontend shows the richest type it knows."""
    name = uri.rsplit("/", 1)[-1]
    content = _read(av, uri)
    if content is None:
        note = f"{name} ({kind}) is larger than {INLINE_BYTES // 2**20} MiB: open {uri}"
        return {"text/html": f"<div class='zen-muted'>{_e(note)}</div>", "text/plain": note}
    if kind == "image":
        mime = next((m for magic, m in _IMAGE_MAGIC if content.startswith(magic)), None)
        if mime is None and b"<svg" in content[:1024]:
            return {"image/svg+xml": content.decode("utf-8", "replace"), "text/plain": name}
        return {mime or "image/png": base64.b64encode(content).decode(), "text/plain": name}
    text = content.decode("utf-8", "replace")
    if kind == "markdown":
        return {"text/markdown": text, "text/plain": text}
    if kind == "csv":
        return {"text/html": _STYLE + _csv_html(text, _rows_in(av)), "text/plain": text[:2000]}
    if kind == "json":
        try:
            value = json.loads(text)
        except ValueError:
            return {"text/plain": text}
        if name == JSON_FILE and av.materializer == CONTAINER_MATERIALIZER:
            from zen_core.materializers.builtin import from_json_tree

            value = from_json_tree(value)  # tuples, sets, bytes as they were saved
        return {"text/html": _STYLE + json_tree(value), "text/plain": text[:2000]}
    return {"text/html": text, "text/plain": name}


def _read(av: ArtifactVersion, uri: str) -> bytes | None:
    """The file's bytes, checked against the version's manifest; ``None`` when too large."""
    from zen_core.errors import IntegrityError
    from zen_core.hashing import new_hasher

    rel = uri[len(av.uri) + 1:] if uri.startswith(av.uri + "/") else None
    expected = (av.files or {}).get(rel) if rel else None
    if expected is not None and int(expected[0]) > INLINE_BYTES:
        return None
    store = av._require_client().active_stack.artifact_store
    with store.open(uri, "rb") as f:
        content = f.read(INLINE_BYTES + 1)
    if len(content) > INLINE_BYTES:
        return None
    if expected is not None:
        h = new_hasher()
        h.update(content)
        if [len(content), h.hexdigest()] != [int(expected[0]), expected[1]]:
            raise IntegrityError(
                f"visualization {uri!r} of artifact {av.name}:{av.version} is corrupt: it has "
                f"{len(content)} bytes with hash {h.hexdigest()}, but {expected[0]} bytes with "
                f"hash {expected[1]} were stored. Fix: rerun the step that produced it "
                f"(enable_cache=False).", uri=uri)
    return content


def _rows_in(av: ArtifactVersion) -> int | None:
    rows = (av.metadata or {}).get("rows")
    return rows if isinstance(rows, int) and not isinstance(rows, bool) else None


def _csv_html(text: str, rows_in_data: int | None) -> str:
    import csv
    import io

    rows, cut = [], False
    for row in csv.reader(io.StringIO(text)):
        if len(rows) > CSV_ROWS:  # the header and CSV_ROWS rows
            cut = True
            break
        rows.append(row)
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    if rows_in_data and rows_in_data > len(body):
        note = f"a sample: {len(body):,} of {rows_in_data:,} rows"
    elif cut:
        note = f"the first {len(body):,} rows"
    else:
        note = f"all {len(body):,} rows"
    head = "".join(f"<th>{_e(c)}</th>" for c in header)
    cells = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in body)
    return (f"<div class='zen-card'><div class='zen-muted'>{note}</div>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table></div>")


def json_tree(value: Any) -> str:
    """A collapsible tree (``<details>``) of a JSON-like value, built without recursion."""
    out: list[str] = []
    shown = 0
    # each entry: (key label, value, depth) or a closing marker
    stack: list[tuple[str | None, Any, int] | str] = [(None, value, 0)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        key, node, depth = item
        label = f"<span class='k'>{_e(key)}</span>: " if key is not None else ""
        shown += 1
        if shown > TREE_NODES:
            out.append(f"<div class='leaf zen-muted'>… more than {TREE_NODES:,} values; "
                       f"load the artifact to see all</div>")
            break
        children = _children(node)
        if children is None:
            out.append(f"<div class='leaf'>{label}{_e(_scalar_text(node))}</div>")
            continue
        kind = type(node).__name__
        opened = " open" if depth < 2 else ""
        out.append(f"<details{opened}><summary>{label}<span class='zen-muted'>{kind} "
                   f"({len(children)})</span></summary>")
        stack.append("</details>")
        stack.extend((k, v, depth + 1) for k, v in reversed(children))
    return f"<div class='zen-card zen-tree'>{''.join(out)}</div>"


def _children(node: Any) -> list[tuple[str, Any]] | None:
    if isinstance(node, Mapping):
        return [(str(k), v) for k, v in node.items()]
    if isinstance(node, list | tuple | set | frozenset):
        return [(str(i), v) for i, v in enumerate(node)]
    return None


def _scalar_text(value: Any) -> str:
    if isinstance(value, bytes):
        return f"<{len(value):,} bytes>"
    if isinstance(value, str):
        return json.dumps(value)
    return _number(value)


def _number(value: Any) -> str:
    """``2.0398199999999997`` -> ``2.03982``; ``1234567`` -> ``1,234,567``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "null" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value) if not math.isfinite(value) else f"{value:.6g}"


# -- cards -----------------------------------------------------------------------------------


def artifact_card(av: ArtifactVersion) -> str:
    """An artifact version: its facts, metadata and visualizations."""
    producer = f"step {av.producer_step_run_id}" if av.producer_step_run_id else av.origin
    facts = [("type", f"<code>{_e(av.type or '-')}</code> ({_e(av.artifact_type)})"),
             ("size", _e(_size(av.size))), ("created", _e(local_time(av.created))),
             ("content hash", f"<code>{_e(av.content_hash[:16])}…</code>"),
             ("from", _e(producer)), ("id", f"<code>{_e(av.id)}</code>")]
    if av.tags:
        facts.append(("tags", _e(", ".join(av.tags))))
    parts = [f"<h4>{_e(av.name)} <span class='zen-muted'>version {_e(av.version)}</span></h4>",
             _table(facts)]
    if av.metadata:
        parts += ["<div class='zen-muted'>metadata</div>",
                  _table((_e(k), _e(_meta_text(v))) for k, v in sorted(av.metadata.items()))]
    for uri, kind in visualizations(av).items():
        parts.append(_inline(bundle(av, uri, kind)))
    return f"{_STYLE}<div class='zen-card'>{''.join(parts)}</div>"


def run_card(run: PipelineRun) -> str:
    """A pipeline run: status, parameters and its steps with their outputs."""
    steps = list(run.steps.values())
    facts = [("pipeline", _e(run.pipeline_name)), ("created", _e(local_time(run.created))),
             ("duration", _e(_duration(run.duration))),
             ("steps", _e(_counts(s.status for s in steps))), ("id", f"<code>{_e(run.id)}</code>")]
    facts += [(f"param {_e(k)}", _e(_meta_text(v))) for k, v in run.params.items()]
    if run.error:
        facts.append(("error", f"<span style='color:#cf222e'>{_e(run.error)}</span>"))
    rows = [(_e(s.name), _status(s.status), _e(_duration(s.duration)),
             _e(", ".join(f"{av.name}:{av.version}" for av in s.outputs.values()) or "-"))
            for s in steps[:CARD_ROWS]]
    more = (f"<div class='zen-muted'>… and {len(steps) - CARD_ROWS} more steps</div>"
            if len(steps) > CARD_ROWS else "")
    return (f"{_STYLE}<div class='zen-card'><h4>{_e(run.name)} {_status(run.status)}</h4>"
            f"{_table(facts)}{_grid(('step', 'status', 'duration', 'outputs'), rows)}{more}"
            f"</div>")


def step_card(step: StepRun) -> str:
    """A step run: status, cache decision, parameters, inputs and outputs."""
    cache = ("hit: reused the outputs of step run " + (step.original_step_run_id or "?")
             if step.status == "cached" else f"miss: {step.cache_miss}" if step.cache_miss else "-")
    facts = [("step", _e(f"{step.step_name} in pipeline {step.pipeline_name}")),
             ("duration", _e(_duration(step.duration))), ("cache", _e(cache)),
             ("run", f"<code>{_e(step.run_id)}</code>"), ("id", f"<code>{_e(step.id)}</code>")]
    facts += [(f"param {_e(k)}", _e(_meta_text(v))) for k, v in step.params.items()]
    facts += [(f"input {_e(k)}", _e(f"{av.name}:{av.version}")) for k, av in step.inputs.items()]
    facts += [(f"output {_e(k)}", _e(f"{av.name}:{av.version}"))
              for k, av in step.outputs.items()]
    if step.error:
        facts.append(("error", f"<code>{_e(step.error.strip().splitlines()[-1])}</code>"))
    return (f"{_STYLE}<div class='zen-card'><h4>{_e(step.name)} {_status(step.status)}</h4>"
            f"{_table(facts)}</div>")


def lineage_card(graph: LineageGraph) -> str:
    """A lineage graph as the indented tree ``str(graph)`` prints, status colours added."""
    lines = graph.render().splitlines()
    shown = "".join(f"<li>{_e(line)}</li>" for line in lines[:CARD_ROWS])
    more = (f"<li class='zen-muted'>… and {len(lines) - CARD_ROWS} more lines "
            f"(print the graph for all)</li>" if len(lines) > CARD_ROWS else "")
    from zen_core.records import StepRun

    steps = sum(isinstance(n, StepRun) for n in graph.nodes.values())
    return (f"{_STYLE}<div class='zen-card'><h4>{_e(graph.direction)} lineage "
            f"<span class='zen-muted'>{len(graph.nodes) - steps} artifact versions, {steps} step "
            f"runs</span></h4><ul class='zen-lineage'>{shown}{more}</ul></div>")


def _inline(found: dict[str, Any]) -> str:
    """A visualization's bundle as HTML inside a card."""
    for mime in ("image/png", "image/jpeg", "image/gif"):
        if mime in found:
            return f"<img src='data:{mime};base64,{found[mime]}' style='max-width:100%'>"
    if "text/html" in found:
        return f"<div>{found['text/html']}</div>"
    if "image/svg+xml" in found:
        return f"<div>{found['image/svg+xml']}</div>"
    return f"<pre>{_e(found.get('text/markdown') or found.get('text/plain', ''))}</pre>"


def _table(rows: Iterable[tuple[str, str]]) -> str:
    return "<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"


def _grid(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _status(status: str) -> str:
    return f"<span class='zen-s {_e(str(status))}'>{_e(str(status))}</span>"


def _counts(statuses: Iterable[str]) -> str:
    counts: dict[str, int] = {}
    for s in statuses:
        counts[str(s)] = counts.get(str(s), 0) + 1
    total = sum(counts.values())
    return f"{total} ({', '.join(f'{n} {s}' for s, n in counts.items())})" if total else "0"


def _meta_text(value: Any) -> str:
    if isinstance(value, dict | list):
        text = json.dumps(value, default=str)
        return text if len(text) <= 200 else text[:199] + "…"
    return _number(value) if isinstance(value, int | float) else str(value)


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"
