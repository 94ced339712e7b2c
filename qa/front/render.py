"""Stage 6 (presentation): answers, batches, excerpts (`kzqa show`), the outline (`kzqa toc`) and
the indexes (`kzqa list`) as text for people, markdown for notes, or JSON. Colour codes only when
asked (see use_color)."""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from ..search.answer import Answer, Passage
from ..search.confidence import NOT_FOUND_MESSAGE, UNSURE_MESSAGE
from ..search.spans import Candidate
from ..index.chunking import short_heading
from ..document import UNSTRUCTURED_NUMBER

if TYPE_CHECKING:  # pragma: no cover
    from ..search.outline import Excerpt
    from ..document import Report

BOLD_YELLOW = "\x1b[1;33m"
BOLD = "\x1b[1m"
DIM = "\x1b[2m"
UNDERLINE = "\x1b[4m"
CYAN = "\x1b[36m"
YELLOW = "\x1b[33m"
RESET = "\x1b[0m"

# How a passage's best sentence is marked: an answer's in bold (colour on a terminal, **…** when
# piped); when kzqa is unsure or finds no answer, the nearest sentences are only the closest text,
# and are marked otherwise (underlined on a terminal, _…_ when piped), so the two never look alike.
ANSWER_MARKS = ("**", "**")
NEAREST_MARKS = ("_", "_")


# What may reach a terminal: our own colour codes, newlines and tabs. Everything else that is a
# control character (an escape sequence from a document, C1 controls) is removed: document text is
# cleaned when it is parsed, and again here for what an older index or a question may carry.
_OWN_CODES = (BOLD_YELLOW, BOLD, DIM, UNDERLINE, CYAN, YELLOW, RESET)
_UNSAFE_RE = re.compile("(" + "|".join(re.escape(c) for c in _OWN_CODES) + r")|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """`text` with no control characters but newlines, tabs and kzqa's own colour codes."""
    return _UNSAFE_RE.sub(lambda m: m.group(1) or "", text)


def use_color(stream_is_tty: bool) -> bool:
    """Colour only on a terminal, never when NO_COLOR is set (https://no-color.org)."""
    return stream_is_tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3].rstrip(" ,") + "..."


def pages_label(start: int | None, end: int | None) -> str:
    """'p. 5', 'pp. 5–6'; '' for a source without printed pages."""
    if start is None:
        return ""
    return f"p. {start}" if start == end or end is None else f"pp. {start}–{end}"


def _with_pages(text: str, start: int | None, end: int | None) -> str:
    pages = pages_label(start, end)
    return f"{text} — {pages}" if pages else text


def citation(section: str, headings: list[str], page_start: int | None, page_end: int | None, width: int = 32, report: str | None = None) -> str:
    """'§1.c Torture and Other Cruel... › Prison and Detention Center Conditions — p. 5'; no page
    for a source without printed pages; `report` ("Kazakhstan 2023") first when several are asked."""
    names = [short_heading(h) for h in headings]
    if len(names) > 1 and section != "summary":
        names = names[1:]  # the lettered subsection or sub-heading already names the section
    shown = [_truncate(n, width) for n in names[:-1]] + [names[-1]] if names else []
    lead = f"{report} " if report else ""
    if section == UNSTRUCTURED_NUMBER:  # a document without sections: its title, no §
        return _with_pages(lead + " › ".join(shown), page_start, page_end)
    label = "§" + section if section != "summary" else "Executive Summary"
    body = " › ".join(shown) if section != "summary" else ""
    return _with_pages(f"{lead}{label} {body}".rstrip(), page_start, page_end)


def passage_citation(p: Passage, several: bool, width: int = 32) -> str:
    return citation(p.section, p.headings, p.page_start, p.page_end, width, report=p.report_label if several else None)


def answer_where(a: Answer) -> str:
    """Where the answer is, as the answer line says it: 'p. 5'; '§1.c' for a source without
    pages; with the report's name first when several reports were asked."""
    passage = a.answer_passage
    if passage is None:
        return where_label(a.page, None, [], None)
    return where_label(a.page, passage.section, passage.headings, passage.report_label if a.several_reports else None)


def where_label(page: int | None, section: str | None, headings: list[str], report_label: str | None = None) -> str:
    """'p. 5', or for a source without printed pages the section ('§1.c Torture ...'); the
    report's label first when given (several reports asked). The CLI's and the web page's."""
    if page is not None:
        where = f"p. {page}"
    elif section is not None:
        where = section_label(section, short_heading(headings[-1]) if headings else "")
    else:
        where = ""
    if report_label and section is not None:
        where = f"{report_label}, {where}" if page is not None else f"{report_label} {where}".strip()
    return where


SURE = 0.75  # a calibrated probability at or above which an answer is "sure"
FAIRLY_SURE = 0.45  # ... "fairly sure"; below, still over the answer threshold: "not very sure"


def percent(probability: float) -> str:
    """0.4812 -> '48 %'; never '0 %' or '100 %' for what is only nearly so."""
    value = round(100 * probability)
    if value == 0 and probability > 0:
        return "<1 %"
    if value == 100 and probability < 1:
        return ">99 %"
    return f"{value} %"


def how_sure(level: str, confidence: float) -> str:
    """How sure kzqa is, as a reader reads it: the outcome in words and the calibrated
    probability that the sentence answers the question ('fairly sure (48 %)'; for "not in the
    report", how likely the closest sentence is to answer after all). Text, markdown and the web
    page all say it this way."""
    if level == "answer":
        words = "sure" if confidence >= SURE else "fairly sure" if confidence >= FAIRLY_SURE else "not very sure"
    elif level == "unsure":
        words = "unsure"
    else:
        return f"the closest: {percent(confidence)} likely to answer it"
    return f"{words} ({percent(confidence)})"


def _at(where: str) -> str:
    return f"  ({where})" if where else ""


def _alt_where(alt: Candidate) -> str:
    """'p. 5, 1.c/…/4', or only the passage id for a source without pages."""
    return f"p. {alt.page}, {alt.passage_id}" if alt.page is not None else alt.passage_id


def _wrap(text: str, indent: str = "    ", width: int = 100) -> str:
    out = []
    for para in text.split("\n"):
        out.append(textwrap.fill(para, width=width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False))
    return "\n".join(out)


def passage_text(p: Passage, color: bool, width: int = 100, several: bool = False, answered: bool = True) -> str:
    """A passage under its citation line, its best sentence marked: as an answer's (`answered`),
    or as the nearest text when kzqa is unsure or finds no answer (see ANSWER_MARKS)."""
    head = f"[{p.rank}] {passage_citation(p, several)}"
    ident = f"  ({p.id})"
    if color:
        head = f"{BOLD}{CYAN}{head}{RESET}{DIM}{ident}{RESET}"
    else:
        head += ident
    # mark the sentence with sentinels, wrap, then turn the sentinels into colour or text markers
    text = p.text
    if p.sentence and p.sentence in text:
        text = text.replace(p.sentence, "\x01" + p.sentence + "\x02", 1)
    body = _wrap(text, width=width)
    if color:
        style = BOLD_YELLOW if answered else UNDERLINE
        start, end = body.find("\x01"), body.find("\x02")
        if start >= 0 and end > start:
            inner = body[start + 1 : end].replace("\n", RESET + "\n" + style)
            body = body[:start] + style + inner + RESET + body[end + 1 :]
    else:
        opening, closing = ANSWER_MARKS if answered else NEAREST_MARKS
        body = body.replace("\x01", opening).replace("\x02", closing)
    return f"{head}\n{body}"


def answer_text(a: Answer, color: bool = False, width: int = 100) -> str:
    lines = []
    sure = f" — {how_sure(a.level, a.confidence)}"
    if a.level == "unsure":
        lines.append(f"{UNSURE_MESSAGE}{_at(answer_where(a))}{sure}")
        if a.sentence:
            lines.append(_wrap(f"“{a.sentence}”", indent="  ", width=width))
        if a.text:
            lines.append(f"  possible answer: {a.text}")
    elif a.found:
        label = f"{BOLD}Answer:{RESET} " if color else "Answer: "
        if a.text:
            shown = f"{BOLD_YELLOW}{a.text}{RESET}" if color else a.text
            lines.append(f"{label}{shown}{_at(answer_where(a))}{sure}")
        else:
            where = answer_where(a)
            lines.append(f"{label}(see the sentence below{', ' + where if where else ''}){sure}")
        if a.sentence:
            lines.append(_wrap(f"“{a.sentence}”", indent="  ", width=width))
        for alt in a.alternatives:
            lines.append(f"  also: {alt.text} — {_alt_where(alt)}")
            lines.append(_wrap(f"“{alt.sentence}”", indent="        ", width=width))
    else:
        lines.append(not_found_line(a.confidence))
    lines.append("")
    for p in a.passages:
        lines.append(passage_text(p, color, width, several=a.several_reports, answered=a.level == "answer"))
        lines.append("")
    return terminal_safe("\n".join(lines).rstrip() + "\n")


def not_found_line(confidence: float) -> str:
    """'The report does not appear to answer this. The nearest passages (the closest: 4 % likely
    to answer it):' (the message as JSON gives it, then how sure)."""
    return f"{NOT_FOUND_MESSAGE} The nearest passages ({how_sure('none', confidence)}):"


def _answer_markdown_body(a: Answer) -> list[str]:
    lines = []
    sure = f" — *{how_sure(a.level, a.confidence)}*"
    if a.level == "unsure":
        lines.append(f"**A:** *{UNSURE_MESSAGE}*{_md_at(answer_where(a))}{sure}")
        if a.sentence:
            lines.append(f"> {a.sentence}")
        if a.text:
            lines.append(f"- possible answer: {a.text}")
    elif a.found:
        lines.append(f"**A:** {a.text or a.sentence}{_md_at(answer_where(a))}{sure}")
        if a.text and a.sentence:
            lines.append(f"> {a.sentence}")
        for alt in a.alternatives:
            lines.append(f"- also: {alt.text}{_md_at(f'p. {alt.page}' if alt.page is not None else '')} — {alt.sentence}")
    else:
        lines.append(f"**A:** {NOT_FOUND_MESSAGE} *(The closest source: {percent(a.confidence)} likely to answer it.)*")
    lines += ["", "**Sources**", ""]
    for p in a.passages:
        lines.append(f"{p.rank}. {passage_citation(p, a.several_reports, width=60)} (`{p.id}`)")
        if p.sentence:  # when kzqa is unsure or finds none: the nearest sentence, marked as such
            opening, closing = ("", "") if a.level == "answer" else NEAREST_MARKS
            lines.append(f"   > {opening}{p.sentence}{closing}")
    return lines


def _md_at(where: str) -> str:
    return f" ({where})" if where else ""


def answer_markdown(a: Answer) -> str:
    """The question, the answer with its page, and the citations as a numbered list (for notes)."""
    return terminal_safe("\n".join([f"**Q:** {a.question}", "", *_answer_markdown_body(a)]) + "\n")


def answer_json(a: Answer, extra: dict | None = None, indent: int | None = None) -> str:
    d = a.to_dict()
    if extra:
        d = extra | d
    return json.dumps(d, ensure_ascii=False, indent=indent)


def render_answer(a: Answer, fmt: str, color: bool = False, indent: int | None = None) -> str:
    """One answer in one of FORMATS, ending in a newline."""
    if fmt == "json":
        return answer_json(a, indent=indent) + "\n"
    if fmt == "markdown":
        return answer_markdown(a)
    return answer_text(a, color=color)


# --- batch ---------------------------------------------------------------------------------------


def batch_text_row(ident, answer: Answer | None, error: str | None, color: bool = False) -> str:
    """One question of a batch as text: `── 1: question` then the `ask` text (or the error)."""
    if answer is None:
        head = f"── {ident}: error"
        return terminal_safe((f"{BOLD}{head}{RESET}" if color else head) + f"\n{error}\n")
    head = f"── {ident}: {answer.question}"
    return terminal_safe((f"{BOLD}{head}{RESET}" if color else head) + "\n") + answer_text(answer, color=color)


def batch_markdown_head() -> str:
    return "# Answers\n\n"


def batch_markdown_row(ident, answer: Answer | None, error: str | None) -> str:
    """One question of a batch as a markdown section."""
    if answer is None:
        lines = [f"## {ident}", "", f"**Error:** {error}"]
    else:
        lines = [f"## {ident}. {answer.question}", "", *_answer_markdown_body(answer)]
    return terminal_safe("\n".join(lines).rstrip() + "\n")


# --- show: the text a reference points to --------------------------------------------------------


def section_label(number: str, title: str = "") -> str:
    """'§1.c', 'Executive Summary'; a document without numbered sections goes by its title."""
    if number == "summary":
        return "Executive Summary"
    return f"§{number}" if number[:1].isdigit() or not title else title


def _runs(para) -> list[tuple[int, bool, str]]:
    """A paragraph as runs of sentences sharing a page and emphasis: (page, marked, text)."""
    runs: list[tuple[int, bool, list[str]]] = []
    for sentence, marked in zip(para.sentences, para.marked):
        if runs and runs[-1][0] == sentence.page and runs[-1][1] == marked:
            runs[-1][2].append(sentence.text)
        else:
            runs.append((sentence.page, marked, [sentence.text]))
    return [(page, marked, " ".join(texts)) for page, marked, texts in runs]


def _page_marker(page: int, color: bool) -> str:
    text = f"── p. {page} ──"
    return f"{DIM}{text}{RESET}" if color else text


def page_note(ex: Excerpt) -> str | None:
    """For a page: whether it opens in the middle of a paragraph from the page before, or ends in
    one that runs on (the whole paragraph is shown, with a `── p. N ──` line where the page turns)."""
    paragraphs = [p for part in ex.parts for p in part.paragraphs]
    if not paragraphs:
        return None
    page = ex.target.page
    said = []
    if paragraphs[0].page_start < page:
        said.append(f"The first paragraph begins on p. {paragraphs[0].page_start}, before this page.")
    if paragraphs[-1].page_end > page:
        said.append(f"The last paragraph runs on to p. {paragraphs[-1].page_end}.")
    return " ".join(said) or None


def excerpt_text(ex: Excerpt, color: bool = False, width: int = 100) -> str:
    """Heading path and pages, then the text with page breaks marked (`── p. 5 ──`) and, for a
    passage, its sentences marked with a bar in the margin."""
    bold = (lambda t: f"{BOLD}{t}{RESET}") if color else (lambda t: t)
    dim = (lambda t: f"{DIM}{t}{RESET}") if color else (lambda t: t)
    lines: list[str] = []
    pages = pages_label(ex.page_start, ex.page_end)
    if ex.kind == "page":
        lines.append(bold(f"Page {ex.target.page} of {ex.page_count}"))
        note = page_note(ex)
        if note:
            lines.append(dim(note))
    else:
        for depth, heading in enumerate(ex.root.headings):
            lines.append(bold("  " * depth + heading))
        meta = section_label(ex.root.number, ex.root.title) + (f" · {pages}" if pages else "")
        if ex.passage is not None:
            passage_pages = pages_label(ex.passage.page_start, ex.passage.page_end)
            meta += f" · passage {ex.passage.id}" + (f" ({passage_pages})" if passage_pages else "") + " marked ┃"
        lines.append(dim(meta))
    page = None
    for part in ex.parts:
        s = part.section
        if ex.kind == "page":
            lines += ["", bold(" › ".join(s.headings))]
        elif part.depth > 0 and s.level < 4:
            if s.page != page:
                lines += ["", _page_marker(s.page, color)]
                page = s.page
            lines += ["", bold("  " * (part.depth - 1) + s.headings[-1])]
        for para in part.paragraphs:
            runs = _runs(para)
            # a bar on the blank line too when the marked passage goes on into this paragraph
            continues = bool(runs) and runs[0][1] and lines and lines[-1].startswith("  ") and "┃" in lines[-1][:12]
            lines.append((f"  {YELLOW}┃{RESET}" if color else "  ┃") if continues and runs[0][0] == page else "")
            for run_page, marked, text in runs:
                if run_page != page:
                    lines.append(_page_marker(run_page, color))
                    page = run_page
                if marked:
                    body = textwrap.fill(text, width=width - 4, break_on_hyphens=False).split("\n")
                    bar = f"{YELLOW}┃{RESET}" if color else "┃"
                    lines += [f"  {bar} " + (f"{BOLD}{line}{RESET}" if color else line) for line in body]
                else:
                    lines.append(_wrap(text, width=width))
        if not part.paragraphs and ex.kind != "page" and part.depth == 0 and len(ex.parts) == 1:
            lines += ["", "    (no text under this heading)"]
    return terminal_safe("\n".join(lines).rstrip() + "\n")


def _source_line(ex: Excerpt, title: str) -> str:
    pages = pages_label(ex.page_start, ex.page_end)
    where = f"p. {ex.target.page}" if ex.kind == "page" else section_label(ex.root.number, ex.root.title) + (f", {pages}" if pages else "")
    name = title.title() if title.isupper() else title
    src = f"Source: *Country Reports on Human Rights Practices — {name}*, {where}"
    if ex.passage is not None:
        src += f"; passage `{ex.passage.id}` in bold"
    return src + "."


def excerpt_markdown(ex: Excerpt, report_title: str = "") -> str:
    """Markdown for a note: a heading with the citation, the text with `*[p. 5]*` where a page
    begins, the passage (if any) in bold, and a source line."""
    lines: list[str] = []
    if ex.kind == "page":
        lines += [f"## Page {ex.target.page} of {ex.page_count}", ""]
        note = page_note(ex)
        if note:
            lines += [f"*{note}*", ""]
    else:
        lines += [f"## {citation(ex.root.number, ex.root.headings, ex.page_start, ex.page_end, width=200)}", ""]
        lines += ["*" + " › ".join(ex.root.headings) + "*", ""]
    page = None
    for part in ex.parts:
        s = part.section
        if ex.kind == "page":
            ps = min(p.page_start for p in part.paragraphs)
            pe = max(p.page_end for p in part.paragraphs)
            lines += [f"### {citation(s.number, s.headings, ps, pe, width=200)}", ""]
        elif part.depth > 0 and s.level < 4:
            lines += [f"{'#' * min(6, 2 + part.depth)} {s.headings[-1]}", ""]
        for para in part.paragraphs:
            pieces = []
            for run_page, marked, text in _runs(para):
                if run_page != page:
                    pieces.append(f"*[p. {run_page}]*")
                    page = run_page
                pieces.append(f"**{text}**" if marked else text)
            lines += [" ".join(pieces), ""]
    lines += ["---", "", _source_line(ex, report_title or "the report")]
    return terminal_safe("\n".join(lines) + "\n")


def excerpt_dict(ex: Excerpt) -> dict:
    root = ex.root
    return {
        "ref": ex.target.ref,
        "kind": ex.kind,
        "section": None if root is None else root.number,
        "section_id": None if root is None else root.id,
        "title": None if root is None else root.title,
        "headings": [] if root is None else list(root.headings),
        "page": ex.target.page,
        "page_start": ex.page_start,
        "page_end": ex.page_end,
        "passage": None if ex.passage is None else {
            "id": ex.passage.id, "page_start": ex.passage.page_start, "page_end": ex.passage.page_end, "text": ex.passage.text,
        },
        "sections": [
            {
                "id": part.section.id,
                "section": part.section.number,
                "title": part.section.title,
                "level": part.section.level,
                "headings": list(part.section.headings),
                "page": part.section.page,
                "paragraphs": [
                    {
                        "text": para.text,
                        "page_start": para.page_start,
                        "page_end": para.page_end,
                        "marked": para.any_marked,
                        "sentences": [
                            {"text": s.text, "page": s.page, "marked": m} for s, m in zip(para.sentences, para.marked)
                        ],
                    }
                    for para in part.paragraphs
                ],
            }
            for part in ex.parts
        ],
    }


def excerpt_json(ex: Excerpt, indent: int | None = None) -> str:
    return json.dumps(excerpt_dict(ex), ensure_ascii=False, indent=indent)


def render_excerpt(ex: Excerpt, fmt: str, color: bool = False, report_title: str = "", indent: int | None = None) -> str:
    if fmt == "json":
        return excerpt_json(ex, indent=indent) + "\n"
    if fmt == "markdown":
        return excerpt_markdown(ex, report_title)
    return excerpt_text(ex, color=color)


# --- toc -----------------------------------------------------------------------------------------


def toc_text(report: Report, color: bool = False, width: int = 80, depth: int = 4) -> str:
    from ..search.outline import toc_lines

    lines = toc_lines(report, width=width, depth=depth)
    if color:
        lines = [f"{BOLD}{line}{RESET}" if line and not line.startswith(" ") else line for line in lines]
    return terminal_safe("\n".join(lines) + "\n")


def toc_markdown(report: Report, depth: int = 4) -> str:
    from ..search.outline import toc_entries

    lines = [f"## {report.title} — contents", ""]
    for e in toc_entries(report, depth):
        lines.append(f"{'  ' * e.depth}- {e.label}" + (f" — p. {e.page}" if e.page is not None else "") + f" (`{e.id}`)")
    return terminal_safe("\n".join(lines) + "\n")


def toc_json(report: Report, depth: int = 4) -> str:
    from dataclasses import asdict

    from ..search.outline import toc_entries

    return json.dumps(
        {"title": report.title, "page_count": report.page_count, "entries": [asdict(e) for e in toc_entries(report, depth)]},
        ensure_ascii=False,
    )


def render_toc(report: Report, fmt: str, color: bool = False, depth: int = 4) -> str:
    if fmt == "json":
        return toc_json(report, depth) + "\n"
    if fmt == "markdown":
        return toc_markdown(report, depth)
    return toc_text(report, color=color, depth=depth)


# --- the indexes (`kzqa list`) -------------------------------------------------------------------

INDEX_COLUMNS = ("NAME", "REPORT", "LAYOUT", "PAGES", "PASSAGES", "MODEL", "BUILT", "STATUS")


def _index_cells(r: dict) -> tuple[str, ...]:
    """One `kzqa list --json` row as the table's cells."""
    source = r["source"] or "-"
    report = r["label"] or r["title"] or "-"
    if source not in ("shipped report", "-"):
        report = f"{report} ({Path(source).name})"
    return (
        r["name"] + ("*" if r["default"] else ""), report, r["layout"] or "-",
        str(r["pages"] if r["pages"] is not None else "-"), str(r["chunks"] if r["chunks"] is not None else "-"),
        (r["model"] or "-").rsplit("/", 1)[-1], (r["built"] or "-").replace("T", " ")[:16],
        r["status"] if not r["problem"] else f"{r['status']}: {r['problem']}",
    )


def index_table(rows: list[dict], root) -> str:
    """What `kzqa list` prints: a line per index (its `kzqa list --json` row), the columns aligned
    but the last (the status, which can be long), then where the indexes are."""
    table = [INDEX_COLUMNS] + [_index_cells(r) for r in rows]
    widths = [max(len(row[c]) for row in table) for c in range(len(INDEX_COLUMNS) - 1)]
    lines = []
    for n, row in enumerate(table):
        cells = [cell.rjust(w) if c in (3, 4) and n else cell.ljust(w) for c, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells + [row[-1]]).rstrip())
    legend = "; * = the default" if any(r.get("default") for r in rows) else ""  # only where a row has the star
    return terminal_safe("\n".join(lines)) + f"\n\n{len(rows)} index(es) in {root}{legend}\n"
