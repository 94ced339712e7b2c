"""`kzqa serve`: the HTTP API and the web page, an ASGI app (FastAPI) over qa/front/service.py, served
by uvicorn. Each route calls the same function the MCP server calls, and returns the JSON the
CLI prints; the web page renders that JSON (qa/front/pages.py, qa/web/).

    GET  /                    the web page; /?q=QUESTION is the permalink of an answer
    GET  /show/{ref}          a citation's subsection (or a section, heading, page) as a page
    GET  /api/ask?q=&k=&mode=&report=      `kzqa ask --json`
    POST /api/batch           a JSON list or `kzqa batch` text/JSONL → `kzqa batch` rows
    GET  /api/show/{ref}      `kzqa show REF --format json`
    GET  /api/toc             `kzqa toc --format json`
    GET  /api/reports         the served reports and their status
    GET  /healthz             200 when every report is ready, 503 while one loads
    GET  /docs                the OpenAPI docs (assets served from here, not a CDN)

Errors are {"error": "<the CLI's one-line message>"} with 400 (bad input), 404 (unknown
reference or report), 413 (too large) or 503 (an index is loading or being built).
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import sys
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from . import pages, service
from ..settings import DEFAULT_MODE, MODES, SERVE_MAX_K, SERVE_MAX_QUESTION_CHARS
from ..errors import KzqaError
from .service import Library, NotReady, RequestTimeout, TooLarge

ASK_THREADS = max(2, 2 * (os.cpu_count() or 1))  # questions answered at once; the rest queue
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
DOCS_ASSETS = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8", "swagger-ui.css": "text/css; charset=utf-8", "favicon.png": "image/png"}


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def error_body(message: str, status: int) -> dict:
    return {"error": message, "status": status}


def error_response(exc: KzqaError, library: Library) -> JSONResponse:
    """The JSON error of a KzqaError: its one-line message (without this machine's paths), its
    status; Retry-After only where trying again helps (an index loading); Connection: close for
    a request whose body never came in time."""
    status = service.status_of(exc)
    headers = {"Retry-After": "5"} if status == 503 else None
    if isinstance(exc, RequestTimeout):
        headers = {"Connection": "close"}
    return JSONResponse(error_body(library.public(str(exc)), status), status_code=status, headers=headers)


READ_TIMEOUT_S = 10.0  # a request's line and headers, and its body, each arrive within this or are refused


def _host_of(header: str) -> str:
    """The host of a Host header: '[::1]:8000' -> '::1', 'LocalHost:80' -> 'localhost'."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def loopback_host(header: str) -> bool:
    """Whether a Host header names this machine: localhost, or any loopback address written as
    one (127.0.0.2, [::1]). A page elsewhere cannot make a browser send these for its own
    origin, so DNS rebinding stays out, whatever loopback address kzqa listens on."""
    host = _host_of(header)
    return host in ("localhost", "localhost.") or (host != "" and is_loopback(host))


class LoopbackHosts:
    """Requests to a loopback-only server must name a loopback host (see loopback_host); others
    get kzqa's JSON 400."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        if loopback_host(host):
            return await self.app(scope, receive, send)
        message = (f"this server answers only requests to this machine (localhost or a loopback address), "
                   f"not to {host[:100]!r}" if host else "the request names no host (Host header)")
        await JSONResponse(error_body(message, 400), status_code=400)(scope, receive, send)


def protocol_class():
    """uvicorn's HTTP/1.1 protocol (h11) with what kzqa needs of it: a read deadline on every
    request's line and headers (a client that sends them slowly, or never finishes, is answered
    408 and closed, instead of holding a connection for ever: slowloris), and its own malformed-
    request answer in kzqa's JSON instead of plain text."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class KzqaH11Protocol(H11Protocol):
        read_timeout = READ_TIMEOUT_S

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._deadline = None
            self._arm()

        def _arm(self) -> None:
            """Start the clock for the next request (its line and headers; a body no one reads)."""
            self._disarm()
            self._armed_cycle, self._partial = self.cycle, False
            self._deadline = self.loop.call_later(self.read_timeout, self._too_slow)

        def _disarm(self) -> None:
            if getattr(self, "_deadline", None) is not None:
                self._deadline.cancel()
                self._deadline = None

        def _started_next(self) -> bool:
            return self.cycle is not self._armed_cycle  # a new request's headers are in

        def data_received(self, data: bytes) -> None:
            self._partial = True
            super().data_received(data)
            if self._deadline is not None and self._started_next():
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()
                if self._started_next():  # a pipelined request was already in
                    self._disarm()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _too_slow(self) -> None:
            self._deadline = None
            if self.transport.is_closing() or self._started_next():
                return
            idle = self.cycle is None or self.cycle.response_complete
            if self._partial and idle and self.conn.our_state in (h11.IDLE, h11.DONE):
                body = json.dumps(error_body(f"the request did not arrive within {self.read_timeout:g} s", 408)).encode()
                self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                                     b"connection: close\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            self.transport.close()

        def send_400_response(self, msg: str) -> None:
            body = json.dumps(error_body("the request is not valid HTTP/1.1", 400)).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                       (b"connection", b"close")]
            try:
                self.transport.write(self.conn.send(h11.Response(status_code=400, headers=headers, reason=b"Bad Request")))
                self.transport.write(self.conn.send(h11.Data(data=body)))
                self.transport.write(self.conn.send(h11.EndOfMessage()))
            except h11.LocalProtocolError:  # a response was already under way
                pass
            self.transport.close()

    return KzqaH11Protocol


class SecurityHeaders:
    """Headers on every response: no sniffing, no framing, no referrer; the page's scripts and
    styles only from kzqa itself (the Swagger page, which has an inline script, goes without)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        docs = scope["path"] == "/docs"

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                            (b"x-frame-options", b"DENY")]
                if not docs:
                    headers.append((b"content-security-policy", CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _docs_assets() -> dict[str, bytes]:
    import fastapi_offline

    folder = Path(fastapi_offline.__file__).resolve().parent / "static"
    return {name: (folder / name).read_bytes() for name in DOCS_ASSETS}


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise KzqaError(f"{name} must be a whole number (got {value!r})") from None


async def _read_body(request: Request, limit: int, timeout: float = READ_TIMEOUT_S) -> bytes:
    """The request body, refused (413) past `limit` bytes, before or while it is read, and
    (408) when it has not all come within `timeout` seconds."""
    from starlette.requests import ClientDisconnect

    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the request body is too large ({declared} bytes; the limit is {limit})")
    chunks, size = [], 0
    try:
        with anyio.fail_after(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"the request body is too large (over {limit} bytes)")
                chunks.append(chunk)
    except TimeoutError:
        raise RequestTimeout(f"the request body did not arrive within {timeout:g} s") from None
    except ClientDisconnect:
        raise RequestTimeout("the client went away before sending the whole request body") from None
    return b"".join(chunks)


def create_app(library: Library, loopback_only: bool = True) -> FastAPI:
    """The ASGI app over `library` (loaded in the background when the app starts). With
    `loopback_only` requests must name a loopback host (a guard against DNS rebinding)."""

    @asynccontextmanager
    async def lifespan(app):
        library.start()
        yield

    app = FastAPI(
        title="kzqa", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
        description="Cited answers from the Country Reports on Human Rights Practices. Every answer "
                    "is the JSON of `kzqa ask --json`; errors are {\"error\": message, \"status\": code}.",
    )
    env = pages.environment()
    assets = pages.static_assets()
    docs_assets = _docs_assets()
    limiter = anyio.CapacityLimiter(ASK_THREADS)

    async def in_thread(fn, *args):
        return await anyio.to_thread.run_sync(fn, *args, limiter=limiter)

    def html(template: str, status: int = 200, **context) -> HTMLResponse:
        return HTMLResponse(env.get_template(template).render(**context), status_code=status)

    # ------------------------------------------------------------------ errors

    @app.exception_handler(KzqaError)
    async def kzqa_error(request: Request, exc: KzqaError):
        return error_response(exc, library)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        err = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in err.get("loc", ()) if part not in ("query", "path", "body"))
        got = err.get("input")
        message = f"{where or 'request'}: {err.get('msg', 'invalid').rstrip('.')}"
        if isinstance(got, (str, int, float)) and where:
            message += f" (got {str(got)[:40]!r})"
        return JSONResponse(error_body(message, 400), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = {404: f"no such page: {request.url.path[:100]}", 405: f"{request.method} is not allowed here"}.get(
            exc.status_code, str(exc.detail))
        return JSONResponse(error_body(message, exc.status_code), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception):
        print(f"kzqa: internal error: {exc.__class__.__name__}: {exc}", file=sys.stderr, flush=True)
        return JSONResponse(error_body(f"internal error: {exc.__class__.__name__}", 500), status_code=500)

    # ------------------------------------------------------------------ the API

    @app.get("/api/ask", summary="Answer a question (the JSON of `kzqa ask --json`)")
    async def api_ask(
        q: str = Query(..., description=f"The question, in your own words (at most {SERVE_MAX_QUESTION_CHARS} characters)"),
        k: int = Query(3, description=f"Passages to return (1–{SERVE_MAX_K})"),
        mode: str = Query(DEFAULT_MODE, description="bm25, dense, hybrid or rerank"),
        report: list[str] = Query([], description="The report (index name) to answer from; default: the first served"),
    ):
        return JSONResponse(await in_thread(service.answer, library, q, k, mode, report))

    @app.post(
        "/api/batch", summary="Answer many questions (the rows of `kzqa batch`)",
        openapi_extra={"requestBody": {"content": {
            "application/json": {"schema": {"type": "array", "items": {"anyOf": [
                {"type": "string"}, {"type": "object", "properties": {"question": {"type": "string"}, "id": {}}}]}}},
            "text/plain": {"schema": {"type": "string", "description": "one question a line, or JSONL"}},
        }, "required": True}},
    )
    async def api_batch(
        request: Request,
        k: int = Query(3, description=f"Passages per question (1–{SERVE_MAX_K})"),
        mode: str = Query(DEFAULT_MODE, description="bm25, dense, hybrid or rerank"),
        report: list[str] = Query([], description="The report to answer from; default: the first served"),
        format: str = Query("json", description="json: a JSON list of rows; jsonl: one row a line, as `kzqa batch` writes"),
    ):
        """The body is a JSON list (questions, or {"question", "id"} objects) or, with any other
        content type, what `kzqa batch` reads: one question a line, or JSONL. At most
        100 questions and 256 KiB. Each row is the `ask` JSON plus "id", or {"id", "line", "error"}."""
        if format not in ("json", "jsonl"):
            raise KzqaError(f"unknown format {format!r}; choose json or jsonl")
        data = await _read_body(request, service.MAX_BODY_BYTES)
        items = await in_thread(service.batch_items, data, request.headers.get("content-type", ""))
        rows = await in_thread(service.batch, library, items, k, mode, report)
        errors = {"X-Kzqa-Errors": str(sum("error" in r for r in rows))}
        if format == "jsonl":
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
            return Response(text, media_type="application/x-ndjson", headers=errors)
        return JSONResponse(rows, headers=errors)

    @app.get("/api/show/{ref:path}", summary="The text a reference points to (`kzqa show REF --format json`)")
    async def api_show(ref: str, report: str | None = Query(None, description="default: the first served report")):
        return JSONResponse(await in_thread(service.show, library, ref, report))

    @app.get("/api/toc", summary="The report's outline (`kzqa toc --format json`)")
    async def api_toc(report: str | None = None, depth: int = Query(4, description="1 sections … 4 run-in headings")):
        return JSONResponse(await in_thread(service.toc, library, report, depth))

    @app.get("/api/reports", summary="The served reports: name, title, pages, passages, status")
    async def api_reports():
        return JSONResponse(service.reports(library))

    @app.get("/healthz", summary="200 when every served report is ready; 503 while one loads or if one failed")
    async def healthz():
        states = library.states()
        ready = all(state == "ready" for state in states.values())
        status = "ok" if ready else ("failed" if "failed" in states.values() else "loading")
        return JSONResponse({"status": status, "reports": states}, status_code=200 if ready else 503)

    # ------------------------------------------------------------------ the web page

    def page_context(report: str | None) -> dict:
        """What every page shows: the report's title, the served reports and its outline (none
        for all reports at once: each has its own)."""
        names = library.pick([report] if report else None)
        if len(names) > 1:  # report=all
            titles = [pages.report_heading(t) for t in (
                library.slots[n].index.report.title if library.slots[n].index is not None else n for n in names)]
            return {"report_title": ", ".join(titles), "report": service.ALL, "report_param": service.ALL, "toc": None,
                    "reports": service.reports(library), "refresh": None}
        name = names[0]
        slot = library.slots[name]
        title = pages.report_heading(slot.index.report.title if slot.index is not None else name)
        toc = service.toc(library, name, 3) if slot.state == "ready" else None
        return {"report_title": title, "report": None if name == library.default else name,
                "report_param": None if name == library.default else name, "toc": toc,
                "reports": service.reports(library), "refresh": None}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def home(q: str | None = None, k: str = "3", mode: str = DEFAULT_MODE, report: str | None = None):
        context = {"q": q or "", "k": k, "mode": mode, "modes": MODES, "max_q": SERVE_MAX_QUESTION_CHARS,
                   "max_k": SERVE_MAX_K, "answer": None, "error": None, "examples": pages.EXAMPLES,
                   "ask_href": pages.ask_href, "options_open": k != "3" or mode != "hybrid" or bool(report),
                   "report_title": "the report", "report": None, "report_param": None, "toc": None, "reports": [],
                   "refresh": None, "permalink": None, "json_href": None}
        status = 200
        try:
            context.update(page_context(report))
            if q:
                kk = _int(k, "k")
                d = await in_thread(service.answer, library, q, kk, mode, [report] if report else None)
                context["answer"] = pages.answer_view(d, context["report"])
                context["permalink"] = pages.ask_href(q, kk, mode, context["report"])
                context["json_href"] = pages.ask_href(q, kk, mode, context["report"], api=True)
        except KzqaError as exc:
            status = service.status_of(exc)
            context["error"] = library.public(str(exc))
            if isinstance(exc, NotReady):
                context["refresh"] = 5
        return html("index.html", status, **context)

    @app.get("/show/{ref:path}", response_class=HTMLResponse, include_in_schema=False)
    async def show_page(ref: str, report: str | None = None, partial: str | None = None):
        context = {"ref": ref, "error": None, "excerpt": None, "partial": bool(partial), "report_title": "the report", "report": None,
                   "report_param": None, "toc": None, "reports": [], "refresh": None}
        status = 200
        try:
            context.update(page_context(report))
            d = await in_thread(service.show, library, ref, report)
            context["excerpt"] = pages.excerpt_view(d, context["report"])
        except KzqaError as exc:
            status = service.status_of(exc)
            context["error"] = library.public(str(exc))
        if partial:
            return html("_error.html" if context["error"] else "_excerpt.html", status, **context)
        return html("show.html", status, **context)

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str):
        if name not in assets:
            return JSONResponse(error_body(f"no such file: {name[:100]}", 404), status_code=404)
        body, media_type = assets[name]
        return Response(body, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"})

    @app.get("/docs", include_in_schema=False)
    async def docs():
        return get_swagger_ui_html(
            openapi_url=app.openapi_url, title="kzqa API", swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css", swagger_favicon_url="/docs-assets/favicon.png",
        )

    @app.get("/docs-assets/{name}", include_in_schema=False)
    async def docs_asset(name: str):
        if name not in docs_assets:
            return JSONResponse(error_body(f"no such file: {name[:100]}", 404), status_code=404)
        return Response(docs_assets[name], media_type=DOCS_ASSETS[name], headers={"Cache-Control": "public, max-age=86400"})

    if loopback_only:
        app.add_middleware(LoopbackHosts)
    app.add_middleware(SecurityHeaders)  # outermost: on every response, the host guard's too
    return app


# ---------------------------------------------------------------------- running it


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on host:port (port 0: a free one); a one-line error if it cannot."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise KzqaError(f"cannot listen on {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise KzqaError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"


def serve(library: Library, host: str = "127.0.0.1", port: int = 8000, say=None) -> None:
    """Bind, say where, and serve until interrupted (Ctrl-C or SIGTERM end it cleanly). The
    caller checks the library first (Library.check) so that a bad --report fails before binding."""
    import uvicorn

    say = say or (lambda msg: print(msg, file=sys.stderr, flush=True))
    sock = bind(host, port)
    loopback = is_loopback(host)
    app = create_app(library, loopback_only=loopback)
    url = url_of(sock)
    if not loopback:
        say(f"kzqa: warning: listening on {host}:{sock.getsockname()[1]}, reachable from other machines; "
            "kzqa has no login: anyone who can reach this address can use it")
    say(f"kzqa: serving {', '.join(library.names)} at {url} (API docs: {url}docs); Ctrl-C stops")
    config = uvicorn.Config(app, log_level="info", timeout_graceful_shutdown=5, server_header=False,
                            limit_concurrency=1000, proxy_headers=False, http=protocol_class(), ws="none")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn has shut down cleanly, then passes Ctrl-C on
        pass
    say("kzqa: stopped")
