"""`kzqa mcp`: a Model Context Protocol server on stdin/stdout (the `mcp` SDK), so that an AI
assistant can answer from the report with page citations. Four read-only tools over the same
calls as the HTTP API (qa/front/service.py), each returning the JSON of the matching kzqa command:

    ask(question, k=3, report=None)   `kzqa ask --json`: the short answer, its sentence and page,
                                      the cited passages (section, headings, pages)
    show(ref, report=None)            `kzqa show REF --format json`: a citation's subsection
    toc(report=None, depth=4)         `kzqa toc --format json`: the outline with pages
    list_reports()                    the served reports: {"reports": [...]}

A tool that cannot answer (an empty question, an unknown reference) returns an error result with
the CLI's one-line message. Nothing but the protocol goes to stdout; notes go to stderr.
"""

from __future__ import annotations

import functools
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations

from .. import __version__
from . import service
from ..errors import KzqaError
from .service import Library

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
            return CallToolResult(content=[TextContent(type="text", text=str(exc))], is_error=True)

    return call


def build_server(library: Library) -> MCPServer:
    server = MCPServer("kzqa", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")

    def ask(question: str, k: int = 3, report: str | list[str] | None = None) -> dict[str, Any]:
        """Answer a question from the report, with cited passages (the JSON of `kzqa ask --json`).

        question: the question in plain words. k: how many passages to return (1-100).
        report: which report to ask (see list_reports), or a list of them to search as one (each
            citation then names its report), or "all" for every one served; default: the first served."""
        return service.answer(library, question, k, "hybrid", ([report] if isinstance(report, str) else report) or None)

    def show(ref: str, report: str | None = None) -> dict[str, Any]:
        """The report text a reference points to, with its heading path and pages (the JSON of
        `kzqa show REF --format json`). ref: a passage id from ask (its subsection, the passage
        marked; a several-report answer's ids name their report, "eritrea-2011:1.b/1"), a section
        such as "1.c", a heading such as "Internet Freedom", or a page "p5"."""
        return service.show(library, ref, report)

    def toc(report: str | None = None, depth: int = 4) -> dict[str, Any]:
        """The report's outline: every section and heading with the page it starts on (the JSON
        of `kzqa toc --format json`). depth: 1 sections, 2 lettered subsections, 3 sub-headings,
        4 run-in headings. Every entry's id works as a ref for show."""
        return service.toc(library, report, depth)

    def list_reports() -> dict[str, Any]:
        """The reports this server answers from: {"reports": [{name, title, pages, passages,
        status, ...}]}; the first is the default."""
        return {"reports": service.reports(library)}

    for fn in (ask, show, toc, list_reports):
        server.add_tool(_tool(library, fn), name=fn.__name__, annotations=READ_ONLY)
    return server


def run(library: Library) -> None:
    """Serve MCP on stdin/stdout until the client closes it; the reports load in the background."""
    library.start()
    build_server(library).run("stdio")
