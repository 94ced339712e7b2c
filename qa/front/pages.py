"""The web page of `kzqa serve`: the JSON the API returns (an answer, an excerpt, the outline),
turned into what the templates in qa/web/templates show. Every piece of report or user text
reaches the HTML through Jinja's autoescaping; nothing here builds HTML by hand.

The answer is laid out as `kzqa ask` prints it: the short answer with its page, the answering
sentence, other answers, then the passages, each under its citation line (section › heading —
page) with its best sentence marked. An excerpt is laid out as `kzqa show` prints it: the heading
path, the pages, the text with `p. N` where a printed page begins and the cited passage marked.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlencode

from .render import citation, how_sure, not_found_line, pages_label, section_label, where_label

WEB = Path(__file__).resolve().parent / "web"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}
SURE_TITLE = "how sure kzqa is: the calibrated probability that the sentence answers the question"
CITE_WIDTH = 10_000  # no heading is cut short on the page
EXAMPLES = ("how many prisoners were released", "who won the presidential election", "was the internet censored")


def environment():
    """The templates' Jinja environment: autoescaped, undefined names an error."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(WEB / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(show_href=show_href, pages_label=pages_label, sure_title=SURE_TITLE)
    return env


def static_assets() -> dict[str, tuple[bytes, str]]:
    """qa/web/static read once, by file name: requests choose from this table, never a path."""
    out = {}
    for path in sorted((WEB / "static").iterdir()):
        if path.is_file() and path.suffix in STATIC_TYPES:
            out[path.name] = (path.read_bytes(), STATIC_TYPES[path.suffix])
    return out


def show_href(ref: str, report: str | None = None, partial: bool = False) -> str:
    """The page that shows REF (`kzqa show REF`), in a report other than the default if given."""
    params = {k: v for k, v in (("report", report), ("partial", "1" if partial else None)) if v}
    return "/show/" + quote(ref, safe="/") + ("?" + urlencode(params) if params else "")


def ask_href(question: str, k: int = 3, mode: str = "hybrid", report: str | None = None, api: bool = False) -> str:
    """The permalink of a question (`/?q=...`), or its JSON twin (`/api/ask?q=...`); settings at
    their defaults are left out."""
    params = {"q": question}
    if k != 3:
        params["k"] = str(k)
    if mode != "hybrid":
        params["mode"] = mode
    if report:
        params["report"] = report
    return ("/api/ask?" if api else "/?") + urlencode(params)


def marked_paragraphs(text: str, sentence: str | None) -> list[list[tuple[str, bool]]]:
    """A passage as paragraphs of (text, marked) runs, its best sentence marked once."""
    out = []
    marked_done = False
    for para in text.split("\n"):
        i = para.find(sentence) if sentence and not marked_done else -1
        if i < 0:
            out.append([(para, False)])
            continue
        marked_done = True
        runs = [(para[:i], False), (sentence, True), (para[i + len(sentence):], False)]
        out.append([r for r in runs if r[0]])
    return out


def nowrap(text: str) -> str:
    """'48 %' kept on one line (a no-break space before the sign)."""
    return text.replace(" %", "\u00a0%")


def page_note(page: int | None) -> str:
    return f"p. {page}" if page is not None else ""


def answer_view(d: dict, report: str | None = None) -> dict:
    """An answer dict (`kzqa ask --json`) as the template reads it."""
    a = d["answer"]
    several = len(d.get("reports") or []) > 1
    cited = next((p for p in d["passages"] if p["id"] == a["passage_id"]), None)
    where = (where_label(a["page"], cited["section"], cited["headings"], cited.get("report_label") if several else None)
             if cited else page_note(a["page"]))
    passages = []
    for p in d["passages"]:
        passages.append({
            "rank": p["rank"],
            "id": p["id"],
            "report": p.get("report") or report,
            # whole headings: the card wraps them (the CLI's 32-character cut is for a terminal line)
            "cite": citation(p["section"], p["headings"], p["page_start"], p["page_end"], width=CITE_WIDTH,
                             report=p.get("report_label") if several else None),  # several reports: each names its own
            "paragraphs": marked_paragraphs(p["text"], p.get("sentence")),
        })
    return {
        "question": d["question"],
        "level": a["level"],
        "text": a["text"],
        "sentence": a["sentence"],
        "page": where,  # 'p. 5'; the section where the source has no printed pages (as the CLI says)
        "passage_id": a["passage_id"],
        "message": a["message"] if a["level"] != "none" else nowrap(not_found_line(a["confidence"]).removesuffix(":")),
        "confidence": a["confidence"],
        "sure": nowrap(how_sure(a["level"], a["confidence"])),  # 'fairly sure (48 %)', as the CLI says it
        "alternatives": [dict(alt, page=page_note(alt["page"])) for alt in a["alternatives"]],
        "corrected": (d.get("query") or {}).get("corrected"),
        "passages": passages,
        "report": report,
    }


def excerpt_view(d: dict, report: str | None = None) -> dict:
    """An excerpt dict (`kzqa show --format json`) as blocks the template prints in order:
    headings, page markers and paragraphs of (text, marked) runs, the first marked one anchored."""
    page_kind = d["kind"] == "page"
    if page_kind:
        head = [f"Page {d['page']}"]
        meta = ""
    else:
        head = list(d["headings"])
        # a report without printed pages has none to name: no "None", no empty "()" (as `kzqa show`)
        parts = [section_label(d['section'], d['title'] or ''), pages_label(d['page_start'], d['page_end'])]
        if d["passage"]:
            p = d["passage"]
            pages = pages_label(p['page_start'], p['page_end'])
            parts.append(f"passage {p['id']}" + (f" ({pages})" if pages else "") + " marked")
        meta = " · ".join(part for part in parts if part)
    blocks: list[dict] = []
    root_level = d["sections"][0]["level"] if d["sections"] else 0
    page = None
    anchored = False
    for part in d["sections"]:
        depth = part["level"] - root_level
        if page_kind:
            blocks.append({"type": "heading", "text": " › ".join(part["headings"]), "depth": 1})
        elif depth > 0 and part["level"] < 4:
            if part["page"] != page and part["page"] is not None:
                blocks.append({"type": "page", "page": part["page"]})
                page = part["page"]
            blocks.append({"type": "heading", "text": part["headings"][-1], "depth": min(depth, 3)})
        for para in part["paragraphs"]:
            runs: list[list] = []  # [page, marked, [sentences]]
            for s in para["sentences"]:
                if runs and runs[-1][0] == s["page"] and runs[-1][1] == s["marked"]:
                    runs[-1][2].append(s["text"])
                else:
                    runs.append([s["page"], s["marked"], [s["text"]]])
            pieces: list[tuple[str, bool]] = []
            for run_page, marked, texts in runs:
                if run_page != page and run_page is not None:
                    if pieces:
                        blocks.append(_para(pieces))
                        pieces = []
                    blocks.append({"type": "page", "page": run_page})
                    page = run_page
                pieces.append((" ".join(texts), marked))
            if pieces:
                blocks.append(_para(pieces))
    for block in blocks:
        if block["type"] == "para" and block["marked"] and not anchored:
            block["anchor"] = anchored = True
    return {"head": head, "meta": meta, "blocks": blocks, "ref": d["ref"], "report": report, "empty": not any(
        b["type"] == "para" for b in blocks)}


def _para(runs: list[tuple[str, bool]]) -> dict:
    return {"type": "para", "runs": runs, "marked": any(marked for _, marked in runs), "anchor": False}


def report_heading(title: str | None) -> str:
    """'KAZAKHSTAN' -> 'Kazakhstan' (the title as the report prints it, in capitals)."""
    title = title or "the report"
    return title.title() if title.isupper() else title
