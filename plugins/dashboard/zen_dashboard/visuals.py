"""Reading an artifact version's visualizations through its artifact store, and showing them safely.

A request names a visualization by its position in the version's own list,
never by a URI or path, so nothing outside that list can be read. Content is
checked against the hash stored in the version's manifest. HTML is only ever
shown in a sandboxed iframe (no scripts, opaque origin) and served with a
``sandbox`` CSP; markdown is rendered with raw HTML escaped; CSV becomes an
escaped table.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from zen_core.errors import ZenError
from zen_core.hashing import new_hasher
from zen_core.models import ArtifactVersion
from zen_dashboard.data import NotFound, visualizations

MAX_BYTES = 32 * 1024 * 1024  # served raw
INLINE_BYTES = 2 * 1024 * 1024  # rendered into the page (markdown, CSV, JSON)
CSV_ROWS = 200
CSV_COLS = 50

CONTENT_TYPES = {"html": "text/html; charset=utf-8", "markdown": "text/markdown; charset=utf-8",
                 "csv": "text/csv; charset=utf-8", "json": "application/json"}
_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
                (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"))


class VisualizationError(ZenError):
    status_code = 502


def pick(av: ArtifactVersion, index: str) -> tuple[str, str]:
    """``(uri, kind)`` of the ``index``-th visualization; anything else is refused."""
    entries = visualizations(av)
    if not index.isdigit() or int(index) >= len(entries):
        raise NotFound(
            f"artifact {av.name}:{av.version} has no visualization {index!r} (it has "
            f"{len(entries)}, numbered 0..{max(len(entries) - 1, 0)}). The dashboard serves only "
            f"an artifact version's own visualizations, named by number, never a path or URI.",
            index=index)
    return entries[int(index)]


def read(store: Any, av: ArtifactVersion, uri: str, limit: int = MAX_BYTES) -> bytes:
    """The visualization's bytes, read through the store and checked against the manifest."""
    prefix = av.uri.rstrip("/") + "/"
    rel = uri[len(prefix):] if uri.startswith(prefix) else None
    expected = av.files.get(rel) if rel else None
    if expected is None:
        raise VisualizationError(
            f"visualization {uri!r} of artifact {av.name}:{av.version} is not one of the files "
            f"stored with it under {av.uri!r}, so it is not shown. Fix: have the materializer "
            f"write visualizations under self.uri.", uri=uri)
    size = int(expected[0])
    if size > limit:
        raise VisualizationError(
            f"visualization {uri!r} of artifact {av.name}:{av.version} is {size} bytes, more than "
            f"the {limit} the dashboard shows. Fix: load it with "
            f"ArtifactVersion.visualize() instead.", uri=uri, size=size)
    try:
        with store.open(uri, "rb") as f:
            content = f.read(limit + 1)
    except FileNotFoundError as exc:
        raise VisualizationError(
            f"visualization {uri!r} of artifact {av.name}:{av.version} is missing from the "
            f"artifact store. Fix: rerun the step that produced it (enable_cache=False).",
            uri=uri) from exc
    except OSError as exc:
        raise VisualizationError(
            f"cannot read visualization {uri!r} of artifact {av.name}:{av.version} from the "
            f"artifact store: {type(exc).__name__}: {exc}. Fix: check that the store is "
            f"reachable with the stack's credentials.", uri=uri) from exc
    h = new_hasher()
    h.update(content)
    if len(content) != size or h.hexdigest() != expected[1]:
        raise VisualizationError(
            f"visualization {uri!r} of artifact {av.name}:{av.version} is corrupt: it has "
            f"{len(content)} bytes with hash {h.hexdigest()}, but {size} bytes with hash "
            f"{expected[1]} were stored. Fix: rerun the step that produced it "
            f"(enable_cache=False).", uri=uri)
    return content


def content_type(kind: str, content: bytes) -> str:
    if kind == "image":
        for magic, ctype in _IMAGE_MAGIC:
            if content.startswith(magic):
                return ctype
        if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
            return "image/webp"
        if b"<svg" in content[:1024]:
            return "image/svg+xml"
        return "application/octet-stream"
    return CONTENT_TYPES.get(kind, "application/octet-stream")


def render_markdown(text: str) -> str:
    """Markdown to HTML with raw HTML escaped and unsafe link schemes dropped."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
    return md.render(text)


def csv_table(text: str) -> dict[str, Any]:
    rows = []
    reader = csv.reader(io.StringIO(text))
    truncated = False
    for i, row in enumerate(reader):
        if i > CSV_ROWS:  # the header plus CSV_ROWS rows
            truncated = True
            break
        if len(row) > CSV_COLS:
            truncated = True
        rows.append(row[:CSV_COLS])
    return {"header": rows[0] if rows else [], "rows": rows[1:], "truncated": truncated}


def inline(store: Any, av: ArtifactVersion) -> list[dict[str, Any]]:
    """Each visualization prepared for the page: text kinds rendered, others linked."""
    out = []
    for i, (uri, kind) in enumerate(visualizations(av)):
        entry: dict[str, Any] = {"index": i, "kind": kind, "uri": uri,
                                 "url": f"/artifact-versions/{av.id}/visualizations/{i}"}
        if kind in ("markdown", "csv", "json"):
            try:
                text = read(store, av, uri, INLINE_BYTES).decode("utf-8", "replace")
            except ZenError as exc:
                entry["error"] = str(exc)
            else:
                if kind == "markdown":
                    entry["html"] = render_markdown(text)
                elif kind == "csv":
                    entry["table"] = csv_table(text)
                else:
                    try:
                        entry["text"] = json.dumps(json.loads(text), indent=2)
                    except ValueError:
                        entry["text"] = text
        out.append(entry)
    return out
