"""Report text -> a tree of headed sections whose paragraphs and sentences know their page.

The text is a *Country Reports on Human Rights Practices* chapter in any of the series' layouts
(qa/ingest/layouts.py says which, and gives its lines as heading and paragraph blocks): the text of a
PDF with its page furniture, the hard-wrapped text of a later PDF with the page numbers stripped,
or the web page as text or Markdown. Nothing here is specific to one country or year: the
country and year are whatever the title lines, running headers and footers say, and every
chapter has the same scheme (Executive Summary, "Section N." with lettered subsections,
stand-alone and run-in headings), whose titles changed over the years (qa/ingest/series.py).

Pages: a form feed (how sources.py joins a PDF's pages) starts a page; running headers give the
printed number; in the State Department's own text extraction (recognised by its footers) a line
opening with one space starts a page too. A text that shows no page at all has none: its
sentences, paragraphs and sections have page None and the report page_count None (a citation
then names the section and heading only). Text that puts one space after a full stop is split
into sentences at single spaces. A document without the section scheme is kept paragraph by
paragraph under one heading numbered "text" (Report.structured is False).

Terminal control sequences and other control characters in the text are removed before anything
else (a document must not be able to drive the terminal it is shown on), and a "sentence" of more
than MAX_SENTENCE_WORDS words (text without full stops: a table, a list, a one-line document) is
cut into pieces of at most that many words, at a clause break where there is one.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..document import (
    UNSTRUCTURED_NUMBER, Paragraph, Report, Section, Sentence, default_report_path, drop_format_chars, normalize_space, readable, slugify,
)
from .names import country_name, fill_from_name

if TYPE_CHECKING:  # pragma: no cover
    from .layouts import Line
    from .sources import Source

# The layout and outline modules (qa/ingest/layouts.py, series.py) are only needed to parse: they are
# imported where a report is parsed, so that importing this module costs little.


SENTENCE_SPLIT_RE = re.compile(r"(?<=[.?!])([\"”’)\]]*)\s{2,}")
# For text that puts one space after a full stop (most PDFs other than the State Department's).
SENTENCE_SPLIT_SINGLE_RE = re.compile(r"(?<=[.?!])([\"”’)\]]*)\s+(?=[A-Z0-9“\"‘(])")
DOUBLE_SPACED_RE = re.compile(r"[a-z0-9)][.?!][\"”’)\]]*  +[A-Z“\"]")
SINGLE_SPACED_RE = re.compile(r"[a-z0-9)][.?!][\"”’)\]]* [A-Z“\"]")
# Longer sentences are cut (the longest in the Kazakhstan 2011 report has 92 words; a chunk holds 120).
MAX_SENTENCE_WORDS = 100
# ESC sequences (CSI, OSC, DCS/SOS/PM/APC strings, two-byte escapes), C1 CSI/OSC, then any other
# control character except the layout ones the parser reads (tab, newline, carriage return, form feed).
CONTROL_RE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"
    r"|\x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x9b[0-?]*[ -/]*[@-~]?"
    r"|[\x90\x9d\x98\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
    r"|[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]"
)
ABBREVIATIONS = frozenset(
    "mr mrs ms dr st no nos ltd inc co corp jr sr vs etc gen lt col sgt prof art arts approx e.g i.e u.s u.n".split()
)


def strip_controls(text: str) -> str:
    """Text without terminal escape sequences or control characters (tab, newline, carriage
    return and form feed stay), nor invisible format characters (document.drop_format_chars)."""
    return drop_format_chars(CONTROL_RE.sub("", text))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_report(path: str | Path | None = None) -> Report:
    """The report of a text file (default: the shipped one), read as `kzqa index` reads it."""
    from .sources import load_source

    return parse_report(load_source(path if path is not None else default_report_path()).text)


def _ends_sentence(prev: str, nxt: str) -> bool:
    from .layouts import PARAGRAPH_START_RE, SENTENCE_END_RE

    if not SENTENCE_END_RE.search(prev) or not PARAGRAPH_START_RE.match(nxt):
        return False
    last = prev.rstrip("\"”’)]").rsplit(" ", 1)[-1]
    token = last.rstrip(".?!").lower()
    if re.fullmatch(r"[a-z]", token):  # an initial: "D. Abetov"
        return False
    return token not in ABBREVIATIONS


def _single_spaced(text: str) -> bool:
    """True when the text puts one space after a full stop (not the two the State Department's
    text has): sentences are then split at single spaces, with the same abbreviation checks."""
    single = len(SINGLE_SPACED_RE.findall(text))
    return single >= 3 and len(DOUBLE_SPACED_RE.findall(text)) < 0.2 * single


def _paragraph(block: list[Line], single_spaced: bool = False) -> Paragraph:
    """Join wrapped lines (keeping line-end hyphens) and split into sentences with pages."""
    text = ""
    page_at: list[tuple[int, int]] = []  # (offset where a line starts, its page)
    for i, line in enumerate(block):
        piece = line.text
        if i:
            prev = block[i - 1].text
            if prev.endswith("-") and re.match(r"[A-Za-z]", piece) and re.search(r"[A-Za-z]-$", prev):
                sep = ""
            elif _ends_sentence(prev, piece):
                sep = "  "
            else:
                sep = " "
            text += sep
        page_at.append((len(text), line.page))
        text += piece
    sentences: list[Sentence] = []
    start = 0
    for m in (SENTENCE_SPLIT_SINGLE_RE if single_spaced else SENTENCE_SPLIT_RE).finditer(text):
        end = m.end(1)
        candidate = text[start:end]
        last = candidate.rstrip("\"”’)].?!").rsplit(" ", 1)[-1].lower()
        if re.fullmatch(r"[a-z]", last) or last in ABBREVIATIONS:
            continue
        sentences.append(Sentence(normalize_space(candidate), _page_of(page_at, start)))
        start = m.end()
    if text[start:].strip():
        sentences.append(Sentence(normalize_space(text[start:]), _page_of(page_at, start)))
    sentences = [piece for s in sentences for piece in _cut_long(s, page_at, text)]
    return Paragraph(
        text=" ".join(s.text for s in sentences),
        sentences=sentences,
        page_start=block[0].page,
        page_end=block[-1].page,
    )


CLAUSE_END_RE = re.compile(r"[;:,)\]]$")


def _cut_long(sentence: Sentence, page_at: list[tuple[int, int]], text: str) -> list[Sentence]:
    """A sentence of more than MAX_SENTENCE_WORDS words as pieces of at most that many, each cut
    after the last clause break (; : ,) in the second half of its window, else at the limit.
    Linear in the sentence's length. Each piece gets the page its first word is on."""
    words = sentence.text.split(" ")
    if len(words) <= MAX_SENTENCE_WORDS:
        return [sentence]
    pieces: list[list[str]] = []
    start = 0
    while len(words) - start > MAX_SENTENCE_WORDS:
        end = start + MAX_SENTENCE_WORDS
        cut = next((i + 1 for i in range(end - 1, start + MAX_SENTENCE_WORDS // 2, -1) if CLAUSE_END_RE.search(words[i])), end)
        pieces.append(words[start:cut])
        start = cut
    pieces.append(words[start:])
    if len({line_page for _, line_page in page_at}) == 1:
        page = page_at[0][1] if page_at else sentence.page
        return [Sentence(" ".join(p), page) for p in pieces]
    # the page of each piece: find where its first words stand in the paragraph text
    out = []
    offset = text.find(words[0])
    for piece in pieces:
        found = text.find(piece[0], max(offset, 0))
        offset = found if found >= 0 else offset
        out.append(Sentence(" ".join(piece), _page_of(page_at, max(offset, 0)) if offset >= 0 else sentence.page))
        offset += len(piece[0])
    return out


def _page_of(page_at: list[tuple[int, int]], offset: int) -> int:
    page = page_at[0][1]
    for line_offset, line_page in page_at:
        if line_offset > offset:
            break
        page = line_page
    return page


# Run-in headings of the pdf-text layout: a title-case label, a colon and (in double-spaced text)
# two spaces: "Pretrial Detention:  The law allows ..."
RUNIN_RE = re.compile(r"^([A-Z][^:.!?]{1,70}?):\s{2,}\S")
RUNIN_SINGLE_RE = re.compile(r"^([A-Z][^:.!?]{1,70}?):\s+\S")


def _runin_heading(paragraph_text: str, single_spaced: bool = False) -> str | None:
    """The run-in heading a pdf-text paragraph's first line opens with (a known one in any case:
    "Birth registration:")."""
    from . import series
    from .layouts import is_title_case

    m = (RUNIN_SINGLE_RE if single_spaced else RUNIN_RE).match(paragraph_text)
    if not m:
        return None
    label = m.group(1).strip()
    if series.is_known(label, "heading"):
        return label
    if len(label.split()) > 8 or not is_title_case(label):
        return None
    return label


def parse_report(text: str, fallback_title: str = "REPORT", paged: bool | None = None) -> Report:
    """Parse report text into a flat, document-ordered list of Sections (each with its heading path).

    The layout is detected (qa/ingest/layouts.py). `paged` says whether the source has printed pages
    (a PDF does, whatever its text shows); by default, whether the text shows any. A document
    without the report's section scheme ("Section N." headings or an executive summary) still
    parses: its paragraphs go under one heading, numbered UNSTRUCTURED_NUMBER, with any
    stand-alone sub-headings below it, and `structured` is False."""
    from . import layouts, series
    from .layouts import LETTERED_RE, SECTION_RE, looks_like_heading, runin_label

    text = strip_controls(text)
    lines = layouts.read_lines(text)
    layout = layouts.detect_layout(lines)
    title = lines.title
    single_spaced = _single_spaced(text)
    sections: list[Section] = []
    # open heading stack: level -> Section (1 section, 2 lettered, 3 sub-heading, 4 run-in)
    stack: dict[int, Section] = {}
    used_ids: set[str] = set()
    structured = False

    def open_section(level: int, number: str, title_text: str, heading_text: str, slug: str, page: int) -> Section:
        for lvl in [lv for lv in stack if lv >= level]:
            del stack[lvl]
        parent = stack[max(stack)] if stack else None
        sid = f"{parent.id}/{slug}" if parent and level >= 3 else slug
        base, n = sid, 2
        while sid in used_ids:
            sid, n = f"{base}-{n}", n + 1
        used_ids.add(sid)
        headings = (parent.headings if parent else []) + [heading_text]
        sec = Section(sid, number, title_text, level, headings, page=page)
        stack[level] = sec
        sections.append(sec)
        return sec

    def current() -> Section:
        if not stack:
            open_section(1, "summary", "Introduction", "Introduction", "summary", 1)
        return stack[max(stack)]

    def last_section_number() -> int:
        return max((int(s.number) for s in sections if s.level == 1 and s.number.isdigit()), default=0)

    for block in layouts.blocks(lines, layout):
        texts = [b.text for b in block.lines]
        joined = block.text or normalize_space(" ".join(texts))
        page = block.lines[0].page
        if joined.upper() == "EXECUTIVE SUMMARY" and not sections:
            open_section(1, "summary", "Executive Summary", "Executive Summary", "summary", page)
            structured = True
            continue
        if block.heading if block.heading is not None else looks_like_heading(texts):
            sec_m = SECTION_RE.match(joined)
            let_m = LETTERED_RE.match(joined)
            bare = series.section_numbers(joined)
            if sec_m:
                num = sec_m.group(1)
                open_section(1, num, sec_m.group(2).strip(), joined, num, page)
                structured = True
                continue
            if bare:
                after = [n for n in bare if n > last_section_number()]
                num = str(after[0] if after else bare[0])
                open_section(1, num, joined, f"Section {num}. {joined}", num, page)
                structured = True
                continue
            if let_m and 1 in stack and stack[1].number.isdigit():
                num = f"{stack[1].number}.{let_m.group(1)}"
                open_section(2, num, let_m.group(2).strip(), joined, num, page)
                continue
            if stack:
                parent_number = current().number
                open_section(3, parent_number, joined, joined, slugify(joined), page)
                continue
        para = _paragraph(block.lines, single_spaced)
        if layout == "pdf-text":
            label = _runin_heading(texts[0], single_spaced)
            wrapped = runin_label(" ".join(texts)) if label is None and len(texts) > 1 else None
            if wrapped and series.is_known(wrapped, "heading"):  # a known run-in heading wrapped over two lines
                label = wrapped
        else:
            label = runin_label(" ".join(texts))
        if label and stack:
            base = stack[max(lv for lv in stack if lv < 4)]
            for lvl in [lv for lv in stack if lv >= 4]:
                del stack[lvl]
            open_section(4, base.number, label, label, slugify(label), page)
        current().paragraphs.append(para)

    has_pages = lines.paged if paged is None else paged
    page_count = max((line.page for line in lines.lines if line is not None), default=1) if has_pages else None
    if not structured:
        _relabel_unstructured(sections, title or fallback_title)
    if not has_pages:
        _drop_pages(sections)
    return Report(
        title=title or fallback_title,
        sections=sections,
        page_count=page_count,
        sha256=sha256_text(text),
        structured=structured,
        country=country_name(title) if title else None,
        year=lines.year,
        layout=layout,
    )


def _drop_pages(sections: list[Section]) -> None:
    """A source without printed pages: no page anywhere (never an invented "p. 1")."""
    for sec in sections:
        sec.page = None
        for p in sec.paragraphs:
            p.page_start = p.page_end = None
            p.sentences[:] = [Sentence(s.text, None) for s in p.sentences]


def _relabel_unstructured(sections: list[Section], title: str) -> None:
    """Text with no section scheme is not an executive summary: number it UNSTRUCTURED_NUMBER and
    head it with the document's title."""
    head = title.title() if title.isupper() else title
    for sec in sections:
        if sec.number == "summary":
            sec.number = UNSTRUCTURED_NUMBER
        if sec.id == "summary" or sec.id.startswith("summary/"):
            sec.id = UNSTRUCTURED_NUMBER + sec.id[len("summary"):]
        if sec.headings and sec.headings[0] == "Introduction":
            sec.headings[0] = head
        if sec.level == 1 and sec.title == "Introduction":
            sec.title = head


def parse_source(src: Source, stem: str | None) -> Report:
    """The report a source holds (a PDF has printed pages whatever its text shows); for a file
    (`stem`: its name without suffix), country and year from its name where the text gives none."""
    stem = readable(stem) if stem else stem  # a name that is not UTF-8 must not reach the text
    fallback = stem or "REPORT"
    report = parse_report(src.text, fallback_title=fallback, paged=True if src.kind == "pdf" else None)
    if stem:
        fill_from_name(report, stem, fallback)
    return report
