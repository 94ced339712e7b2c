"""`kzqa mcp`: a Model Context Protocol server on stdin/stdout (the `mcp` SDK), so that an AI
assistant can answer from the report with page citations. Four read-only tools over the same
calls as the HTTP API (qa/front/service.py), each returning the JSON of the matching kzqa command:

    ask(question, k=3, report=None)   `kzqa ask --json`: the short answer, its sentence and page,
                                      the cited passages (section, headings, pages)
    show(ref, report=None)            `kzqa show REF --format json`: a citation's subsection
    toc(report=None, depth=4)         `kzqa toc --format json`: the outline with pages
    list_reports()                    the served reports: {"reports": [...]}

A tool that cannot answer (an empty question, an unknown reference, an argument of the wrong
type) returns an error result with the CLI's one-line message: the arguments are checked by
kzqa's own checks (service.py), not coerced by the SDK (`k: true` is not 1). Every line a client
sends gets an answer: what is not a JSON-RPC 2.0 message the SDK can take (malformed or too
deep JSON, a batch, a null or object id, "jsonrpc": "1.0", a string that is not text) is
answered here with a -32700 (parse error), -32600 (invalid request) or -32602 (invalid params)
error, as JSON-RPC 2.0 asks. Nothing but the protocol goes to stdout; notes go to stderr.
"""

from __future__ import annotations

import functools
import json
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import WithJsonSchema

from .. import __version__
from . import service
from ..errors import KzqaError
from ..settings import JsonInputError, lone_surrogate, parse_json
from .service import Library

PARSE_ERROR, INVALID_REQUEST, INVALID_PARAMS = -32700, -32600, -32602

LOAD_TIMEOUT_S = 600.0  # a first use builds the index: a tool call waits for it
READ_ONLY = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False)

INSTRUCTIONS = """\
kzqa answers questions from the US State Department's Country Reports on Human Rights Practices
(by default the 2011 report on Kazakhstan) with the passages that answer them. Use `ask` with the
user's question: answer.level is "answer" (answer.text is the short answer, answer.sentence the
sentence that says it, answer.page its printed page), "unsure" (the closest the report comes) or
"none" (the report does not appear to answer; say so rather than guessing). Cite each claim with
its passage's section, heading and page. `show` with a passage id returns the whole subsection
around it; `toc` returns the outline; `list_reports` the reports that can be asked."""


def _tool(library: Library, fn):
    """A tool body that waits for the reports to load and turns a KzqaError into an error result
    whose text is the CLI's one-line message."""

    @functools.wraps(fn)
    def call(*args, **kwargs):
        library.wait(LOAD_TIMEOUT_S)
        try:
            return fn(*args, **kwargs)
        except KzqaError as exc:
            return CallToolResult(content=[TextContent(type="text", text=library.public(str(exc)))], is_error=True)

    return call


# The tools' arguments as the schema tells clients, taken as they come (kzqa checks them, with the
# CLI's messages; pydantic would coerce `true` to 1 and answer a wrong type with its own text)
Text = Annotated[Any, WithJsonSchema({"type": "string"})]
Whole = Annotated[Any, WithJsonSchema({"type": "integer"})]
Reports = Annotated[Any, WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}, {"type": "null"}]})]
OneReport = Annotated[Any, WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "null"}]})]


def _reports(report: object) -> list[str] | None:
    if report is None or report == []:
        return None
    if isinstance(report, str):
        return [report]
    if isinstance(report, list) and all(isinstance(r, str) for r in report):
        return report
    raise KzqaError('report must be a report\'s name, a list of names, or "all"')


def _report(report: object) -> str | None:
    if report is None or isinstance(report, str):
        return report
    raise KzqaError("report must be a report's name")


class KzqaMCPServer(MCPServer):
    """The SDK's server, with argument errors said in one line without pydantic's text."""

    async def call_tool(self, name, arguments, context=None):
        from mcp.server.mcpserver.exceptions import ToolError
        from pydantic import ValidationError

        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if not isinstance(exc.__cause__, ValidationError):
                raise
            said = []
            for err in exc.__cause__.errors():
                where = ".".join(str(part) for part in err.get("loc", ())) or "the arguments"
                said.append(f"{where} is missing" if err.get("type") == "missing" else f"{where}: {err.get('msg', 'invalid')}")
            raise ToolError("; ".join(said)) from None


def build_server(library: Library) -> MCPServer:
    server = KzqaMCPServer("kzqa", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")

    def ask(question: Text, k: Whole = 3, report: Reports = None) -> dict[str, Any]:
        """Answer a question from the report, with cited passages (the JSON of `kzqa ask --json`).

        question: the question in plain words. k: how many passages to return (1-100).
        report: which report to ask (see list_reports), or a list of them to search as one (each
            citation then names its report), or "all" for every one served; default: the first served."""
        return service.answer(library, question, k, "hybrid", _reports(report))

    def show(ref: Text, report: OneReport = None) -> dict[str, Any]:
        """The report text a reference points to, with its heading path and pages (the JSON of
        `kzqa show REF --format json`). ref: a passage id from ask (its subsection, the passage
        marked; a several-report answer's ids name their report, "eritrea-2011:1.b/1"), a section
        such as "1.c", a heading such as "Internet Freedom", or a page "p5"."""
        return service.show(library, ref, _report(report))

    def toc(report: OneReport = None, depth: Whole = 4) -> dict[str, Any]:
        """The report's outline: every section and heading with the page it starts on (the JSON
        of `kzqa toc --format json`). depth: 1 sections, 2 lettered subsections, 3 sub-headings,
        4 run-in headings. Every entry's id works as a ref for show."""
        return service.toc(library, _report(report), depth)

    def list_reports() -> dict[str, Any]:
        """The reports this server answers from: {"reports": [{name, title, pages, passages,
        status, ...}]}; the first is the default."""
        return {"reports": service.reports(library)}

    for fn in (ask, show, toc, list_reports):
        server.add_tool(_tool(library, fn), name=fn.__name__, annotations=READ_ONLY)
    return server


# ------------------------------------------------------------------ every line gets an answer


def screen(line: str) -> tuple[str | None, dict | None]:
    """(the line for the SDK, or None; the JSON-RPC error to answer with, or None) for one line
    a client sent. What passes is a message the SDK's own model accepts, so that it answers it."""
    import mcp_types
    from pydantic import ValidationError

    def error(code: int, message: str, ident=None) -> tuple[None, dict]:
        return None, {"jsonrpc": "2.0", "id": ident, "error": {"code": code, "message": message}}

    line = line.rstrip("\r\n")
    if not line.strip():
        return error(PARSE_ERROR, "Parse error: an empty line is not a JSON-RPC message")
    try:
        message = parse_json(line, "the message")
    except JsonInputError as exc:
        return error(PARSE_ERROR, f"Parse error: {exc}")
    if isinstance(message, list):
        return error(INVALID_REQUEST, "Invalid Request: batches are not supported; send one message a line")
    if not isinstance(message, dict):
        return error(INVALID_REQUEST, "Invalid Request: a message is a JSON object")
    ident = message.get("id")
    if "id" in message and (not isinstance(ident, (str, int)) or isinstance(ident, bool)):
        return error(INVALID_REQUEST, "Invalid Request: id must be a string or a whole number")
    if isinstance(ident, str) and lone_surrogate(ident):
        return error(INVALID_REQUEST, "Invalid Request: id is not valid text (a lone surrogate)")
    if message.get("jsonrpc") != "2.0":
        return error(INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be "2.0"', ident)
    if "method" in message:
        if not isinstance(message["method"], str):
            return error(INVALID_REQUEST, "Invalid Request: method must be a string", ident)
        if "params" in message and not isinstance(message["params"], (dict, list)):
            return error(INVALID_REQUEST, "Invalid Request: params must be an object", ident)
        if lone_surrogate(message.get("params")):
            return error(INVALID_PARAMS, "Invalid params: a string is not valid text (a lone surrogate)", ident)
    elif "id" not in message or ("result" not in message and "error" not in message):
        return error(INVALID_REQUEST, "Invalid Request: neither a request, a notification nor a response", ident)
    if lone_surrogate(message):
        return error(INVALID_REQUEST, "Invalid Request: a string is not valid text (a lone surrogate)", ident)
    try:
        mcp_types.jsonrpc_message_adapter.validate_python(message, by_name=False)
    except ValidationError:
        return error(INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message", ident)
    return json.dumps(message, ensure_ascii=False), None


class ScreenedInput:
    """The client's lines for the SDK's stdio transport (which would drop, unanswered, any it
    cannot parse), each screened first; the errors go out through the transport's own writer,
    so that they never interleave with its messages."""

    def __init__(self, lines) -> None:
        import anyio

        self.lines = lines
        self.write_stream = None
        self.ready = anyio.Event()

    async def __aiter__(self):
        import mcp_types
        from mcp.shared.message import SessionMessage

        await self.ready.wait()
        async for line in self.lines:
            passed, reply = screen(line)
            if passed is not None:
                yield passed
            else:
                await self.write_stream.send(SessionMessage(mcp_types.jsonrpc_message_adapter.validate_python(reply)))


async def serve_stdio(server: MCPServer) -> None:
    import io
    import sys

    import anyio
    from mcp.server.stdio import stdio_server

    lines = ScreenedInput(anyio.wrap_file(io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")))
    async with stdio_server(stdin=lines) as (read_stream, write_stream):
        lines.write_stream = write_stream
        lines.ready.set()
        lowlevel = server._lowlevel_server  # the SDK's run_stdio_async, with the screened input
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())


def run(library: Library) -> None:
    """Serve MCP on stdin/stdout until the client closes it; the reports load in the background."""
    import anyio

    library.start()
    anyio.run(serve_stdio, build_server(library))
