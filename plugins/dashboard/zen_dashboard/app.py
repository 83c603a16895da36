"""The dashboard's ASGI app (Starlette): HTML pages rendered with Jinja2, and ``/api`` with the same data."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import attrs
import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from zen_core.errors import ZenError
from zen_dashboard import LOOPBACK_NAMES, data, formatting, visuals

HERE = Path(__file__).parent
COOKIE = "zen_dashboard"
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
# Visualizations run in a sandbox with an opaque origin: no access to the dashboard, and no
# script at all...
VIS_CSP = ("sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
           "frame-ancestors 'self'")
# ...except, in HTML ones, the dashboard's own resize script, allowed by a nonce per response.
VIS_HTML_CSP = ("sandbox allow-scripts; default-src 'none'; style-src 'unsafe-inline'; "
                "img-src data:; script-src 'nonce-{nonce}'; frame-ancestors 'self'")


@attrs.define
class DashboardState:
    client: Any
    stack_name: str
    token: str | None


def create_app(*, token: str | None = None, client: Any = None,
               hosts: Iterable[str] | None = None) -> Starlette:
    """The dashboard for ``client`` (default: a Client of the active stack).

    Without a ``token``, only requests whose ``Host`` is one of ``hosts`` (default: the
    loopback names) are served; others get 400, so a page elsewhere cannot reach the
    dashboard through DNS rebinding.
    """
    if client is None:
        from zen_core.client import Client

        client = Client()
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(when=formatting.when, duration=formatting.duration, size=formatting.size,
                       number=formatting.number, tojson_pretty=formatting.pretty_json)
    env.globals.update(page_url=_page_url)

    def page(request: Request, template: str, context: dict[str, Any],
             status_code: int = 200) -> HTMLResponse:
        body = env.get_template(template).render(request=request, stack=state.stack_name,
                                                 **context)
        return HTMLResponse(body, status_code=status_code)

    def client_of(request: Request) -> Any:
        return request.app.state.zen.client

    # -- pages ---------------------------------------------------------------------------

    def home(request: Request) -> Response:
        return RedirectResponse("/runs", status_code=303)

    def runs(request: Request) -> Response:
        return page(request, "runs.html", _runs(request))

    def run(request: Request) -> Response:
        ctx = _run(request)
        ctx["metadata"] = visuals.metadata_rows(ctx["run"]["run_metadata"])
        return page(request, "run.html", ctx)

    def compare(request: Request) -> Response:
        return page(request, "compare.html", _compare(request))

    def step(request: Request) -> Response:
        return page(request, "step.html", data.step_detail(client_of(request),
                                                           request.path_params["step_id"]))

    def artifacts(request: Request) -> Response:
        return page(request, "artifacts.html", _artifacts(request))

    def artifact(request: Request) -> Response:
        return page(request, "artifact.html", _artifact(request))

    def version(request: Request) -> Response:
        client = client_of(request)
        av = data.get_version(client, request.path_params["av_id"])
        ctx = data.version_detail(client, av)
        ctx["shown"] = visuals.inline(client.active_stack.artifact_store, av)
        ctx.update(visuals.metadata_view(av))
        return page(request, "version.html", ctx)

    def visualization(request: Request) -> Response:
        client = client_of(request)
        av = data.get_version(client, request.path_params["av_id"])
        uri, kind = visuals.pick(av, request.path_params["index"])
        content = visuals.read(client.active_stack.artifact_store, av, uri)
        csp = VIS_CSP
        if kind == "html":
            nonce = secrets.token_urlsafe(18)
            content = visuals.framed(content, nonce)
            csp = VIS_HTML_CSP.format(nonce=nonce)
        return Response(content, media_type=visuals.content_type(kind, content),
                        headers={"Content-Security-Policy": csp,
                                 "Cache-Control": "private, max-age=3600"})

    # -- API --------------------------------------------------------------------------------

    def api_runs(request: Request) -> Response:
        return _json(_runs(request))

    def api_run(request: Request) -> Response:
        return _json(_run(request))

    def api_compare(request: Request) -> Response:
        return _json(_compare(request))

    def api_step(request: Request) -> Response:
        return _json(data.step_detail(client_of(request), request.path_params["step_id"]))

    def api_artifacts(request: Request) -> Response:
        return _json(_artifacts(request))

    def api_artifact(request: Request) -> Response:
        return _json(_artifact(request))

    def api_version(request: Request) -> Response:
        return _json(data.version_detail(client_of(request), request.path_params["av_id"]))

    def _runs(request: Request) -> dict[str, Any]:
        page_no, per_page = data.page_args(request.query_params)
        return data.runs_page(client_of(request),
                              pipeline=request.query_params.get("pipeline") or None,
                              status=data.status_arg(request.query_params),
                              page=page_no, per_page=per_page,
                              tag=request.query_params.get("tag") or None)

    def _run(request: Request) -> dict[str, Any]:
        page_no, per_page = data.page_args(request.query_params)
        return data.run_detail(client_of(request), request.path_params["run_id"],
                               step=request.query_params.get("step") or None, page=page_no,
                               per_page=per_page)

    def _compare(request: Request) -> dict[str, Any]:
        ids = [i for value in request.query_params.getlist("run") for i in value.split(",")]
        return data.compare(client_of(request), [i.strip() for i in ids])

    def _artifact(request: Request) -> dict[str, Any]:
        page_no, per_page = data.page_args(request.query_params)
        return data.artifact_page(client_of(request), request.path_params["name"], page=page_no,
                                  per_page=per_page,
                                  chart_all=request.query_params.get("chart") == "all",
                                  tag=request.query_params.get("tag") or None)

    def _artifacts(request: Request) -> dict[str, Any]:
        page_no, per_page = data.page_args(request.query_params)
        return data.artifacts_page(client_of(request), q=request.query_params.get("q") or None,
                                   page=page_no, per_page=per_page)

    # -- errors -------------------------------------------------------------------------------

    def on_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", None)
        if not isinstance(status, int):
            status = 503 if isinstance(exc, ZenError) else 500
        if isinstance(exc, ZenError):
            message = scrub(str(exc))
        elif status == 404:
            message = (f"no page at {request.url.path!r}. Fix: start from /runs or /artifacts.")
        elif status < 500:
            message = getattr(exc, "detail", None) or "bad request"
        else:
            message = (f"the dashboard failed on {request.url.path!r}: {type(exc).__name__}. "
                       f"See the server log; report it if it persists.")
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message, "status": status}, status_code=status)
        return page(request, "error.html", {"status": status, "message": message},
                    status_code=status)

    routes = [
        Route("/", home),
        Route("/runs", runs),
        Route("/runs/{run_id}", run),
        Route("/compare", compare),
        Route("/steps/{step_id}", step),
        Route("/artifacts", artifacts),
        Route("/artifacts/{name}", artifact),
        Route("/artifact-versions/{av_id}", version),
        Route("/artifact-versions/{av_id}/visualizations/{index}", visualization),
        Route("/api/runs", api_runs),
        Route("/api/runs/{run_id}", api_run),
        Route("/api/compare", api_compare),
        Route("/api/steps/{step_id}", api_step),
        Route("/api/artifacts", api_artifacts),
        Route("/api/artifacts/{name}", api_artifact),
        Route("/api/artifact-versions/{av_id}", api_version),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={
        ZenError: on_error, 404: on_error, 405: on_error, Exception: on_error})
    state = DashboardState(client=client, stack_name=client.config.stack().name, token=token)
    app.state.zen = state
    app.add_middleware(Guard, token=token, hosts=LOOPBACK_NAMES if hosts is None else hosts)
    return app


def _json(payload: Any) -> Response:
    return Response(json.dumps(payload, default=str), media_type="application/json")


# -- access and headers -------------------------------------------------------------------------


def cookie_value(token: str) -> str:
    """What the cookie holds: derived from the token, so the cookie never is the token."""
    return hmac.new(token.encode(), b"zen-dashboard-session", hashlib.sha256).hexdigest()


class Guard:
    """Checks the token (when one is set), else the ``Host`` header; adds security headers
    and ``Server-Timing``.

    A token is accepted from ``Authorization: Bearer``, ``X-Zen-Token``, a
    ``?token=`` query parameter (pages then redirect to the same URL without
    it, setting a cookie), or that cookie. Without a token, a request naming a
    host outside ``hosts`` is refused (400).
    """

    def __init__(self, app: Any, token: str | None, hosts: Iterable[str] = LOOPBACK_NAMES
                 ) -> None:
        self.app = app
        self.token = token
        self.cookie = cookie_value(token) if token else None
        self.hosts = frozenset(h.lower().strip("[]") for h in hosts)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        set_cookie = False
        if not self.token:
            host = _host_name(scope)
            if host not in self.hosts:
                return await self._refuse_host(scope, send, host)
        if self.token:
            verdict = self._check(scope)
            if verdict == "deny":
                return await self._deny(scope, send)
            if verdict == "query":
                query = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode(),
                                                      keep_blank_values=True) if k != "token"]
                if scope["method"] == "GET" and not scope["path"].startswith("/api/"):
                    # one leading slash: "//evil.example/x" would leave for another origin
                    target = "/" + scope["path"].lstrip("/\\") + (
                        "?" + urlencode(query) if query else "")
                    return await self._send(send, 303, b"", [
                        (b"location", target.encode()), (b"set-cookie", self._cookie_header())])
                set_cookie = True

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                headers += [(b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"no-referrer"),
                            (b"server-timing",
                             f"app;dur={(time.perf_counter() - start) * 1000:.2f}".encode())]
                if set_cookie:
                    headers.append((b"set-cookie", self._cookie_header()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _check(self, scope: dict) -> str:
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        given = headers.get("x-zen-token")
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if given is not None:
            return "ok" if _same(given, self.token) else "deny"
        query = dict(parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True))
        if "token" in query:
            return "query" if _same(query["token"], self.token) else "deny"
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE and _same(value, self.cookie):
                return "ok"
        return "deny"

    def _cookie_header(self) -> bytes:
        return f"{COOKIE}={self.cookie}; Path=/; HttpOnly; SameSite=Strict".encode()

    async def _refuse_host(self, scope: dict, send: Any, host: str | None) -> None:
        allowed = ", ".join(sorted(self.hosts))
        message = (f"this dashboard answers only requests for {allowed} (it needs no token), "
                   f"and this one was for {host!r}. Fix: open it at http://127.0.0.1:PORT/, "
                   f"or start it with --allow-host NAME for a name of your own (or with "
                   f"--token).")
        await self._send_error(scope, send, 400, "bad host", message, [])

    async def _deny(self, scope: dict, send: Any) -> None:
        message = ("this dashboard requires a token, and the request carried none or a wrong "
                   "one. Fix: open the dashboard URL with ?token=<your token> once (a cookie "
                   "keeps you signed in), or send the header 'Authorization: Bearer <token>'.")
        await self._send_error(scope, send, 401, "token required", message,
                               [(b"www-authenticate", b"Bearer")])

    async def _send_error(self, scope: dict, send: Any, status: int, title: str, message: str,
                          headers: list) -> None:
        if scope["path"].startswith("/api/"):
            body = json.dumps({"error": message, "status": status}).encode()
            ctype = b"application/json"
        else:
            body = (f"<!doctype html><title>zen dashboard: {title}</title>"
                    f"<h1>{status}: {title}</h1><p>{html.escape(message)}</p>").encode()
            ctype = b"text/html; charset=utf-8"
        await self._send(send, status, body, [(b"content-type", ctype), *headers])

    @staticmethod
    async def _send(send: Any, status: int, body: bytes, headers: list) -> None:
        headers = [*headers, (b"content-length", str(len(body)).encode()),
                   (b"content-security-policy", PAGE_CSP.encode()),
                   (b"x-content-type-options", b"nosniff")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _host_name(scope: dict) -> str | None:
    """The host the request names (``Host`` without its port), lowercased."""
    for key, value in scope.get("headers", []):
        if key.lower() == b"host":
            host = value.decode("latin-1").strip().lower()
            if host.startswith("["):  # [::1]:8237
                return host[1:].split("]", 1)[0]
            return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return None


def _same(given: str | None, expected: str | None) -> bool:
    return given is not None and expected is not None and hmac.compare_digest(
        given.encode(), expected.encode())


_CREDENTIALS = re.compile(r"(\w+://)[^:/@\s]+:[^@\s]+@")


def scrub(text: str) -> str:
    """Hide ``user:password@`` in URLs that an error message may quote."""
    return _CREDENTIALS.sub(r"\1***:***@", text)


# -- template helpers -------------------------------------------------------------------------------


def _page_url(request: Request, page: int) -> str:
    query = dict(request.query_params)
    query["page"] = str(page)
    return f"{request.url.path}?{urlencode(query)}"
