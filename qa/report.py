"""Stage 1: report text -> a tree of headed sections whose paragraphs and sentences know their page.

The text is what a PDF extractor leaves of a *Country Reports on Human Rights Practices* chapter:
running footers, a few running headers ("KAZAKHSTAN 5"), hard-wrapped lines and pages whose first
line starts with a single space. Nothing here is specific to one country: the country is whatever
the first line or the first running header names (any capitals: "CÔTE D’IVOIRE"; from 2012 on the
first line reads "KAZAKHSTAN 2012 HUMAN RIGHTS REPORT"), and every chapter has the same scheme
(Executive Summary, "Section N." with lettered subsections, stand-alone and run-in headings).

Pages: a form feed (how sources.py joins a PDF's pages) starts a page; running headers give the
printed number; in the State Department's own text extraction (recognised by its footers) a line
opening with one space starts a page too. Other text is one page. Text that puts one space after
a full stop is split into sentences at single spaces. A document without the section scheme is
kept paragraph by paragraph under one heading numbered "text" (Report.structured is False).

Terminal control sequences and other control characters in the text are removed before anything
else (a document must not be able to drive the terminal it is shown on), and a "sentence" of more
than MAX_SENTENCE_WORDS words (text without full stops: a table, a list, a one-line document) is
cut into pieces of at most that many words, at a clause break where there is one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

DEFAULT_REPORT_NAME = "kazakhstan-2011-human-rights-report.txt"

FOOTER_PATTERNS = (
    re.compile(r"^Country Reports on Human Rights Practices for \d{4}$"),
    re.compile(r"^United States Department of State\W*Bureau of Democracy, Human Rights,? and Labor$"),
    # both footer lines run together, as some extractors leave them
    re.compile(r"^Country Reports on Human Rights Practices for \d{4}\W*United States Department of State\W*Bureau of Democracy, Human Rights,? and Labor$"),
)
# A running header: the country name in capitals (any script: "CÔTE D’IVOIRE"), then the page number.
HEADER_RE = re.compile(r"^(\S.*?)\s+(\d{1,4})$")
HEADER_NAME_PUNCTUATION = frozenset(" .,'’()&-")
# From 2012 on, the first line of a chapter reads "KAZAKHSTAN 2012 HUMAN RIGHTS REPORT".
TITLE_SUFFIX_RE = re.compile(r"\s+(?:\d{4}\s+)?HUMAN RIGHTS REPORT$")
SECTION_RE = re.compile(r"^Section\s+(\d+)\.\s+(.+)$")
LETTERED_RE = re.compile(r"^([a-z])\.\s+([A-Z].*)$")
RUNIN_RE = re.compile(r"^([A-Z][^:.!?]{1,70}?):\s{2,}\S")
RUNIN_SINGLE_RE = re.compile(r"^([A-Z][^:.!?]{1,70}?):\s+\S")
SENTENCE_END_RE = re.compile(r"[.?!][\"”’)\]]*$")
SENTENCE_SPLIT_RE = re.compile(r"(?<=[.?!])([\"”’)\]]*)\s{2,}")
# For text that puts one space after a full stop (most PDFs other than the State Department's).
SENTENCE_SPLIT_SINGLE_RE = re.compile(r"(?<=[.?!])([\"”’)\]]*)\s+(?=[A-Z0-9“\"‘(])")
DOUBLE_SPACED_RE = re.compile(r"[a-z0-9)][.?!][\"”’)\]]*  +[A-Z“\"]")
SINGLE_SPACED_RE = re.compile(r"[a-z0-9)][.?!][\"”’)\]]* [A-Z“\"]")
UNSTRUCTURED_NUMBER = "text"  # the citable label of text in a document with no section structure
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
MINOR_WORDS = frozenset(
    "a an the and or nor but of in on for to with at by from as into via per vs".split()
)


@dataclass(frozen=True)
class Sentence:
    text: str
    page: int


@dataclass
class Paragraph:
    text: str
    sentences: list[Sentence]
    page_start: int
    page_end: int


@dataclass
class Section:
    """One heading of the report with the paragraphs that stand directly under it.

    `headings` is the full heading path, outermost first; `number` is the citable label
    ("1.c", "6", "summary"); `id` is a stable slug path ("1.c/prison-and-detention-center-conditions").
    """

    id: str
    number: str
    title: str
    level: int
    headings: list[str]
    paragraphs: list[Paragraph] = field(default_factory=list)
    page: int = 1

    @property
    def page_end(self) -> int:
        return self.paragraphs[-1].page_end if self.paragraphs else self.page


@dataclass
class Report:
    title: str
    sections: list[Section]
    page_count: int
    sha256: str
    structured: bool = True

    def section(self, section_id: str) -> Section:
        for s in self.sections:
            if s.id == section_id:
                return s
        raise KeyError(section_id)

    def text(self) -> str:
        """All paragraph text, one paragraph per line: what evidence must be verbatim in."""
        return "\n".join(p.text for s in self.sections for p in s.paragraphs)


@dataclass
class _Line:
    text: str  # stripped
    page: int
    page_start: bool  # first content line of a page (single leading space or after a header)


def default_report_path() -> Path:
    return Path(str(resources.files("qa") / "data" / DEFAULT_REPORT_NAME))


def read_report_text(path: str | Path | None = None) -> str:
    p = Path(path) if path is not None else default_report_path()
    raw = p.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{p}: not UTF-8 text (byte {exc.start}); give a text file or a PDF") from None


def strip_controls(text: str) -> str:
    """Text without terminal escape sequences or control characters (tab, newline, carriage
    return and form feed stay)."""
    return CONTROL_RE.sub("", text)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_report(path: str | Path | None = None) -> Report:
    return parse_report(read_report_text(path))


def normalize_space(text: str) -> str:
    return " ".join(text.split())


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "untitled"


def _is_furniture(stripped: str) -> bool:
    return any(p.match(stripped) for p in FOOTER_PATTERNS)


def country_of(title: str) -> str:
    """'KAZAKHSTAN 2012 HUMAN RIGHTS REPORT' -> 'KAZAKHSTAN'; 'KAZAKHSTAN' stays."""
    return TITLE_SUFFIX_RE.sub("", normalize_space(title))


def _header(stripped: str, country: str) -> tuple[str, int] | None:
    """(country, page) if the line is a running header: of `country` once it is known."""
    m = HEADER_RE.match(stripped)
    if not m:
        return None
    name, number = normalize_space(m.group(1)), int(m.group(2))
    if not (
        len(name) >= 2 and name[0].isalpha() and name == name.upper()
        and all(c.isalpha() or c in HEADER_NAME_PUNCTUATION for c in name)
    ):
        return None
    if country:
        return (name, number) if name == country else None
    return (name, number) if 1 <= number < 1000 else None  # "RURITANIA 2012" is a year, not a page


def _looks_like_title(stripped: str) -> bool:
    return stripped.isupper() and len(stripped) < 60 and stripped.upper() != "EXECUTIVE SUMMARY"


def _raw_lines(text: str) -> Iterator[tuple[str, bool]]:
    """(line, opens a new page): pages split at form feeds (what a PDF's pages are joined with)."""
    pages = text.replace("\r\n", "\n").replace("\r", "\n").split("\f")
    for pi, page in enumerate(pages):
        lines = page.split("\n")
        if pi < len(pages) - 1 and len(lines) > 1 and lines[-1] == "":
            lines.pop()  # the newline that ends the page before its form feed is not a blank line
        for li, raw in enumerate(lines):
            yield raw, pi > 0 and li == 0


def _uses_leading_space_pages(text: str) -> bool:
    """Whether a line opening with a single space marks a new page: true of the State Department's
    own text extraction (recognised by its running footers or headers), never of a PDF read here
    (its pages come with form feeds) nor of other text (where an indent is only an indent)."""
    if "\f" in text:
        return False
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if any(_is_furniture(line.strip()) for line in lines):
        return True
    first = next((line.strip() for line in lines if line.strip()), "")
    country = country_of(first) if _looks_like_title(first) else ""
    return bool(country) and any(line.startswith(" ") and _header(line.strip(), country) for line in lines)


def _content_lines(text: str) -> tuple[str, list[_Line | None]]:
    """Drop page furniture and give every content line its printed page; None marks a blank line."""
    leading_space_pages = _uses_leading_space_pages(text)
    title = ""
    out: list[_Line | None] = []
    page = 1
    content_on_page = False
    after_footer = in_gap = False
    for raw, new_page_by_formfeed in _raw_lines(text):
        stripped = raw.strip()
        if new_page_by_formfeed:
            if content_on_page:
                page += 1
                content_on_page = False
            # blank lines at the foot or head of a page say nothing about paragraphs
            _drop_trailing_blanks(out)
            in_gap = True
        if not stripped:
            if not after_footer and not in_gap:
                out.append(None)
            continue
        if _is_furniture(stripped):
            after_footer = True
            _drop_trailing_blanks(out)
            continue
        header = _header(stripped, title)
        if header:
            page = header[1]
            content_on_page = False
            after_footer = False
            in_gap = True  # blank lines around furniture say nothing about paragraphs
            _drop_trailing_blanks(out)
            title = title or header[0]
            continue
        if not title and not any(line is not None for line in out) and _looks_like_title(stripped):
            title = country_of(stripped)
            continue
        starts_page = (leading_space_pages and bool(re.match(r"^ \S", raw))) or after_footer
        if starts_page and content_on_page:
            page += 1
        out.append(_Line(stripped, page, starts_page or not content_on_page))
        content_on_page = True
        after_footer = in_gap = False
    return title, out


def _drop_trailing_blanks(out: list[_Line | None]) -> None:
    while out and out[-1] is None:
        out.pop()


def _is_title_case(text: str) -> bool:
    words = re.findall(r"[A-Za-z][A-Za-z’'-]*", text)
    if not words:
        return False
    return all(w[0].isupper() for w in words if w.lower() not in MINOR_WORDS) and words[0][0].isupper()


def _looks_like_heading(lines: list[str]) -> bool:
    if not lines or len(lines) > 3:
        return False
    joined = normalize_space(" ".join(lines))
    if SECTION_RE.match(joined):
        return not joined.endswith(".")
    if LETTERED_RE.match(joined):
        return len(lines) <= 2 and not joined.endswith(".")
    if len(lines) > 2 or len(joined) > 120 or len(lines[-1]) > 75:
        return False
    if re.search(r"[.?!;,]$", joined):
        return False
    return _is_title_case(joined)


def _blocks(lines: list[_Line | None]) -> list[list[_Line]]:
    """Group lines into blocks (paragraphs or headings) at blank lines and at page breaks that
    evidently start a new paragraph (the extractor often drops the blank line there)."""
    blocks: list[list[_Line]] = []
    current: list[_Line] = []
    for line in lines:
        if line is None:
            if current:
                blocks.append(current)
                current = []
            continue
        if current and line.page_start:
            prev = current[-1].text
            heading_before = _looks_like_heading([x.text for x in current]) and not SENTENCE_END_RE.search(prev)
            sentence_break = bool(SENTENCE_END_RE.search(prev)) and bool(re.match(r"[A-Z0-9“\"]", line.text))
            heading_next = bool(SECTION_RE.match(line.text) or LETTERED_RE.match(line.text))
            if heading_before or sentence_break or heading_next:
                blocks.append(current)
                current = []
        current.append(line)
    if current:
        blocks.append(current)
    return blocks


def _ends_sentence(prev: str, nxt: str) -> bool:
    if not SENTENCE_END_RE.search(prev) or not re.match(r"[A-Z0-9“\"‘(]", nxt):
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


def _paragraph(block: list[_Line], single_spaced: bool = False) -> Paragraph:
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


def _runin_heading(paragraph_text: str, single_spaced: bool = False) -> str | None:
    m = (RUNIN_SINGLE_RE if single_spaced else RUNIN_RE).match(paragraph_text)
    if not m:
        return None
    label = m.group(1).strip()
    if len(label.split()) > 8 or not _is_title_case(label):
        return None
    return label


def parse_report(text: str, fallback_title: str = "REPORT") -> Report:
    """Parse report text into a flat, document-ordered list of Sections (each with its heading path).

    A document without the report's section scheme ("Section N." headings or an executive
    summary) still parses: its paragraphs go under one heading, numbered UNSTRUCTURED_NUMBER,
    with any stand-alone sub-headings below it, and `structured` is False."""
    text = strip_controls(text)
    title, lines = _content_lines(text)
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

    for block in _blocks(lines):
        texts = [b.text for b in block]
        joined = normalize_space(" ".join(texts))
        page = block[0].page
        if joined.upper() == "EXECUTIVE SUMMARY" and not sections:
            open_section(1, "summary", "Executive Summary", "Executive Summary", "summary", page)
            structured = True
            continue
        if _looks_like_heading(texts):
            sec_m = SECTION_RE.match(joined)
            let_m = LETTERED_RE.match(joined)
            if sec_m:
                num = sec_m.group(1)
                open_section(1, num, sec_m.group(2).strip(), joined, num, page)
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
        para = _paragraph(block, single_spaced)
        label = _runin_heading(texts[0], single_spaced)
        if label and stack:
            base = stack[max(lv for lv in stack if lv < 4)]
            for lvl in [lv for lv in stack if lv >= 4]:
                del stack[lvl]
            open_section(4, base.number, label, label, slugify(label), page)
        current().paragraphs.append(para)

    page_count = max((line.page for line in lines if line is not None), default=1)
    if not structured:
        _relabel_unstructured(sections, title or fallback_title)
    return Report(
        title=title or fallback_title,
        sections=sections,
        page_count=page_count,
        sha256=sha256_text(text),
        structured=structured,
    )


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
