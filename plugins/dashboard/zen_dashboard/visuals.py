"""Reading an artifact version's visualizations through its artifact store, and showing them well.

A request names a visualization by its position in the version's own list,
never by a URI or path, so nothing outside that list can be read. Content is
checked against the hash stored in the version's manifest. HTML is only ever
shown in a sandboxed iframe (opaque origin) and served with a ``sandbox`` CSP
that lets no script run but the dashboard's own resize script (``framed``),
which tells the page how tall the content is; markdown is rendered with raw
HTML escaped; CSV becomes an escaped table, labelled as the sample it is, with
a histogram per numeric column; metadata becomes key/value rows.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from zen_core.errors import ZenError
from zen_core.hashing import new_hasher
from zen_core.models import ArtifactVersion
from zen_dashboard.data import NotFound, visualizations
from zen_dashboard.formatting import number, pretty_json

MAX_BYTES = 32 * 1024 * 1024  # served raw
INLINE_BYTES = 2 * 1024 * 1024  # rendered into the page (markdown, CSV, JSON)
CSV_ROWS = 200
CSV_COLS = 50
HIST_BINS = 12
LIST_ITEMS = 20  # a metadata list longer than this is summarised
TEXT_CHARS = 300
METADATA_ROWS = 200  # metadata keys shown on a version page; the API has all of them
RAW_JSON_CHARS = 50_000  # larger metadata JSON is linked, not inlined

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


def csv_table(text: str, rows_in_data: int | None = None) -> dict[str, Any]:
    """The CSV's first rows and columns, how many of the data's rows they are, and a
    histogram of each numeric column."""
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
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    of = rows_in_data if rows_in_data is not None and rows_in_data > len(body) else None
    return {"header": header, "rows": body, "truncated": truncated, "shown": len(body),
            "of": of, "sample": of is not None or truncated,
            "histograms": [_histogram([r[c] for r in body if c < len(r)]) if name else None
                           for c, name in enumerate(header)]}  # unnamed: an index


def _histogram(cells: list[str]) -> dict[str, Any] | None:
    """Bars of a numeric column (``None`` for text columns), scaled to a 96x28 box."""
    numbers = []
    for cell in cells:
        try:
            x = float(cell)
        except ValueError:
            if cell.strip():
                return None
            continue
        if x == x and abs(x) != float("inf"):
            numbers.append(x)
    if len(numbers) < 2:
        return None
    low, high = min(numbers), max(numbers)
    counts = [0] * HIST_BINS
    for x in numbers:
        counts[min(int((x - low) / (high - low) * HIST_BINS), HIST_BINS - 1) if high > low
               else 0] += 1
    top = max(counts)
    width = 96 / HIST_BINS
    return {"bars": [{"x": round(i * width, 1), "w": round(width - 1, 1),
                      "h": round(26 * n / top, 1), "y": round(28 - 26 * n / top, 1), "n": n}
                     for i, n in enumerate(counts)],
            "low": number(low), "high": number(high)}


def rows_in_data(av: ArtifactVersion) -> int | None:
    """How many rows the artifact holds, when its metadata says (``rows`` or ``shape``)."""
    meta = av.metadata or {}
    rows = meta.get("rows")
    if rows is None and isinstance(meta.get("shape"), list) and meta["shape"]:
        rows = meta["shape"][0]
    return rows if isinstance(rows, int) and not isinstance(rows, bool) else None


def metadata_rows(metadata: dict[str, Any] | None, limit: int | None = None
                  ) -> list[dict[str, Any]]:
    """Metadata as key/value rows: numbers formatted, short lists inline, mappings nested;
    the first ``limit`` keys in order when given."""
    keys = sorted((metadata or {}), key=str)[:limit]
    return [{"key": str(key), **_value(metadata[key])} for key in keys]  # type: ignore[index]


def metadata_view(av: ArtifactVersion) -> dict[str, Any]:
    """What the version page shows of its run metadata, bounded however much was recorded: at
    most METADATA_ROWS rows, and the raw JSON inline only while it is small; the API
    (``json_url``) always has all of it."""
    metadata = av.run_metadata  # what the materializer extracted, storage_size, what was logged
    raw = pretty_json(metadata) if len(metadata) <= METADATA_ROWS else ""
    return {"metadata": metadata_rows(metadata, METADATA_ROWS),
            "metadata_total": len(metadata),
            "metadata_json": raw if len(raw) <= RAW_JSON_CHARS else None,
            "metadata_url": f"/api/artifact-versions/{av.id}"}


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        if len(value) <= LIST_ITEMS and all(not isinstance(v, dict | list) for v in value.values()):
            return {"pairs": [(str(k), _text(v)) for k, v in value.items()]}
        return {"text": f"{len(value)} keys (see the raw JSON)"}
    if isinstance(value, list | tuple):
        shown = ", ".join(_text(v) for v in value[:LIST_ITEMS])
        more = f" … and {len(value) - LIST_ITEMS} more" if len(value) > LIST_ITEMS else ""
        return {"text": f"[{shown}{more}]"}
    return {"text": _text(value)}


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        value = json.dumps(value, default=str)
    text = number(value) if isinstance(value, int | float) else str(value)
    return text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1] + "…"


# What every served HTML visualization gets: the dashboard's typography (the content's own
# styles, later in the document, still win) and a script that reports the content's height.
FRAME_STYLE = (
    "<style>html{font:13px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1f2328}"
    "body{margin:8px}table{border-collapse:collapse;margin:4px 0 12px;"
    "font-variant-numeric:tabular-nums}th,td{padding:4px 10px;border-bottom:1px solid #d0d7de;"
    "text-align:right;white-space:nowrap}thead th{background:#f6f8fa;font-weight:600}"
    "tbody th{text-align:left;font-weight:600}h1,h2,h3,h4{font-size:14px;margin:12px 0 6px}"
    "</style>")
RESIZE_SCRIPT = (
    "<script nonce=\"{nonce}\">(function(){{var last=0;function post(){{"
    "var h=Math.ceil(document.documentElement.getBoundingClientRect().height);"
    "if(h!==last){{last=h;parent.postMessage({{zenFrameHeight:h}},'*');}}}}"
    "if(window.ResizeObserver){{new ResizeObserver(post).observe(document.documentElement);}}"
    "window.addEventListener('load',post);"
    "window.addEventListener('message',function(e){{if(e.source===parent&&e.data==="
    "'zenFrameHeight?'){{last=0;post();}}}});post();}})();</script>")
_HEAD = re.compile(rb"<head(\s[^>]*)?>", re.I)
_DOCTYPE = re.compile(rb"\s*<!doctype[^>]*>", re.I)


def framed(content: bytes, nonce: str) -> bytes:
    """An HTML visualization with the dashboard's style first and its resize script last."""
    style = FRAME_STYLE.encode()
    found = _HEAD.search(content[:4096]) or _DOCTYPE.match(content)
    at = found.end() if found else 0
    return (content[:at] + style + content[at:]
            + RESIZE_SCRIPT.format(nonce=nonce).encode())


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
                    entry["table"] = csv_table(text, rows_in_data(av))
                else:
                    try:
                        entry["text"] = json.dumps(json.loads(text), indent=2)
                    except ValueError:
                        entry["text"] = text
        out.append(entry)
    return out
