"""Which layout a report's text is in, and its lines as blocks (headings and paragraphs)
that qa/ingest/parse.py builds the section tree from.

The *Country Reports on Human Rights Practices* reach users in three layouts, detected from the
text (never configured):

- `pdf-text`: the text of a PDF chapter as the State Department extracted it in the 2010s, or
  as pypdf reads a PDF here: hard-wrapped lines, a blank line between paragraphs and around
  headings, page furniture (the two footer lines, a running header "KAZAKHSTAN 5") giving the
  printed pages. Also any other text with blank lines between paragraphs.
- `pdf-wrapped`: the text of a later PDF as other extractors leave it: hard-wrapped lines and
  no blank lines at all, headings on lines of their own and wrapped over two or three lines
  ("a. Arbitrary Deprivation of Life and Other Unlawful or" / "Politically Motivated Killings"),
  page numbers and footers usually stripped. Paragraphs and headings are told apart line by line.
- `web`: the state.gov web page as text or Markdown: a line per paragraph, `####` before most
  headings, some headings without a marker, and the page's buttons left behind ("Share", glued
  to a heading's last word).

Page furniture is recognised the same way in every layout; a text has printed pages only when
it shows them (running headers, footers after the first page, form feeds of a PDF, or the
State Department extraction's page-opening space): otherwise no page is invented.

Why one file of ~560 lines: the three layouts share the line and block types and the detection
that chooses between them; each layout's rules are a section of this file.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from . import series
from .series import MINOR_WORDS

FOOTER_PATTERNS = (
    re.compile(r"^Country Reports on Human Rights Practices for \d{4}$"),
    re.compile(r"^United States Department of State\W*Bureau of Democracy, Human Rights,? and Labor$"),
    # both footer lines run together, as some extractors leave them
    re.compile(r"^Country Reports on Human Rights Practices for \d{4}\W*United States Department of State\W*Bureau of Democracy, Human Rights,? and Labor$"),
)
# The series' name with its year, as a cover or footer line (extractors sometimes split the digits: "202 3").
SERIES_YEAR_RE = re.compile(r"^Country Reports on Human Rights Practices for ((?:\d\s?){3}\d)\b", re.IGNORECASE)
# A running header: the country name in capitals (any script: "CÔTE D’IVOIRE"), then the page number.
HEADER_RE = re.compile(r"^(\S.*?)\s+(\d{1,4})$")
HEADER_NAME_PUNCTUATION = frozenset(" .,'’()&-")
# From 2012 on, the first line of a chapter reads "KAZAKHSTAN 2012 HUMAN RIGHTS REPORT".
TITLE_SUFFIX_RE = re.compile(r"\s+(?:\d{4}\s+)?HUMAN RIGHTS REPORT$")
# "Kazakhstan 2023 Human Rights Report", "KAZAKHSTAN 2012 HUMAN RIGHTS REPORT" (any case)
TITLE_YEAR_RE = re.compile(r"^(?P<country>\S.*?)\s+(?P<year>(?:19|20)\d\d)\s+Human Rights Report$", re.IGNORECASE)
# "2012 Country Reports on Human Rights Practices: Algeria"
SERIES_TITLE_RE = re.compile(
    r"^(?P<year>(?:19|20)\d\d)\s+Country Reports? on Human Rights Practices\s*[:\-–—]\s*(?P<country>\S.*)$", re.IGNORECASE)
MD_HEADING_RE = re.compile(r"^(#{1,6})\s*(.*?)\s*#*\s*$")
BOLD_LINE_RE = re.compile(r"^\*\*(.+?)\*\*$")
MD_LINK_RE = re.compile(r"\[([^\]\n]+)\]\((?:[^()\s]|\([^()\s]*\))+\)")
SECTION_RE = re.compile(r"^Section\s+(\d+)\s*[.:]?\s+(\S.*)$")
SECTION_STRICT_RE = re.compile(r"^Section\s+(\d+)\.\s+(.+)$")  # the 2011-era text's form
LETTERED_RE = re.compile(r"^([a-z])\.\s+([A-Z].*)$")
SENTENCE_END_RE = re.compile(r"[.?!][\"”’)\]]*$")
PARAGRAPH_START_RE = re.compile(r"[A-Z0-9“\"‘(]")
# Words a wrapped heading line may end on (the heading goes on on the next line).
OPEN_ENDINGS = MINOR_WORDS | {"towards", "regarding", "against", "including", "within", "between", "based"}
MAX_HEADING_LINES = 3
MAX_HEADING_CHARS = 220


@dataclass
class Line:
    text: str  # stripped
    page: int
    page_start: bool  # first content line of a page (single leading space or after a header)


@dataclass
class Lines:
    """A text's content lines (None: a blank line), furniture removed, each with its page; and
    what its cover and furniture say: the title (the country as printed), the year, and
    whether the text has printed pages at all."""

    lines: list[Line | None]
    title: str = ""
    year: int | None = None
    paged: bool = False


@dataclass
class Block:
    """A heading or a paragraph: its lines. `heading` is None when the tree builder is to decide
    (the pdf-text layout, where blank lines already delimit every block); `text` is a heading's
    text with its markers and residue removed."""

    lines: list[Line]
    heading: bool | None = None
    text: str | None = None


# ---------------------------------------------------------------- furniture, pages, cover

def is_furniture(stripped: str) -> bool:
    return any(p.match(stripped) for p in FOOTER_PATTERNS)


def country_of(title: str) -> str:
    """'KAZAKHSTAN 2012 HUMAN RIGHTS REPORT' -> 'KAZAKHSTAN'; 'KAZAKHSTAN' stays."""
    return TITLE_SUFFIX_RE.sub("", " ".join(title.split()))


def header_of(stripped: str, country: str) -> tuple[str, int] | None:
    """(country, page) if the line is a running header: of `country` once it is known."""
    m = HEADER_RE.match(stripped)
    if not m:
        return None
    name, number = " ".join(m.group(1).split()), int(m.group(2))
    if not (
        len(name) >= 2 and name[0].isalpha() and name == name.upper()
        and all(c.isalpha() or c in HEADER_NAME_PUNCTUATION for c in name)
    ):
        return None
    if country:
        return (name, number) if name == country.upper() else None
    return (name, number) if 1 <= number < 1000 else None  # "RURITANIA 2012" is a year, not a page


def looks_like_title(stripped: str) -> bool:
    return stripped.isupper() and len(stripped) < 60 and stripped.upper() != "EXECUTIVE SUMMARY" and not stripped.startswith(("#", "*"))


def _cover(stripped: str) -> tuple[str, int | None] | None:
    """(country as printed, year) of a title line before the text begins, if it is one:
    'Kazakhstan 2023 Human Rights Report', '## Eritrea', '2012 Country Reports on Human Rights
    Practices: Algeria'."""
    m = TITLE_YEAR_RE.match(stripped) or SERIES_TITLE_RE.match(stripped)
    if m:
        return " ".join(m.group("country").split()), int(m.group("year"))
    md = MD_HEADING_RE.match(stripped)
    if md and len(md.group(1)) <= 2 and md.group(2):
        text = series.strip_residue(md.group(2))
        if (
            text.upper() != "EXECUTIVE SUMMARY" and not SECTION_RE.match(text) and not LETTERED_RE.match(text)
            and len(text) < 60 and not series.is_known(text, "heading")
        ):
            return country_of(text), None
    return None


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
    content = [i for i, line in enumerate(lines) if line.strip() and not is_furniture(line.strip())]
    # a footer line counts once text has begun (before it, it is the cover of a 2023 chapter)
    if len(content) > 1 and any(is_furniture(line.strip()) for line in lines[content[1]:]):
        return True
    first = next((line.strip() for line in lines if line.strip()), "")
    country = country_of(first) if looks_like_title(first) else ""
    return bool(country) and any(line.startswith(" ") and header_of(line.strip(), country) for line in lines)


def _drop_trailing_blanks(out: list[Line | None]) -> None:
    while out and out[-1] is None:
        out.pop()


def read_lines(text: str) -> Lines:
    """Drop page furniture and give every content line its printed page; None marks a blank line.
    Title lines before the text (the country, the year) are read and dropped."""
    leading_space_pages = _uses_leading_space_pages(text)
    title = ""
    year: int | None = None
    paged = "\f" in text or leading_space_pages
    out: list[Line | None] = []
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
        before_text = not any(line is not None for line in out)
        series_year = SERIES_YEAR_RE.match(stripped)
        if series_year and year is None:
            year = int(series_year.group(1).replace(" ", ""))
        if is_furniture(stripped) or (series_year and before_text and not is_furniture(stripped) and len(stripped) < 80):
            if before_text and not content_on_page and page == 1:
                continue  # a cover line before the text: not the foot of a page
            after_footer = True
            paged = True
            _drop_trailing_blanks(out)
            continue
        header = header_of(stripped, title)
        if header:
            page = header[1]
            content_on_page = False
            after_footer = False
            in_gap = True  # blank lines around furniture say nothing about paragraphs
            paged = True
            _drop_trailing_blanks(out)
            title = title or header[0]
            continue
        if not title and before_text:
            if looks_like_title(stripped):
                title = country_of(stripped)
                m = TITLE_YEAR_RE.match(stripped)
                if m and year is None:
                    year = int(m.group("year"))
                continue
            cover = _cover(stripped)
            if cover:
                title, cover_year = cover
                year = year if year is not None else cover_year
                continue
        starts_page = (leading_space_pages and bool(re.match(r"^ \S", raw))) or after_footer
        if starts_page and content_on_page:
            page += 1
        out.append(Line(stripped, page, starts_page or not content_on_page))
        content_on_page = True
        after_footer = in_gap = False
    return Lines(out, title, year, paged)


# ---------------------------------------------------------------- what a line is

def is_title_case(text: str) -> bool:
    words = re.findall(r"[A-Za-z][A-Za-z’'-]*", text)
    if not words:
        return False
    return all(w[0].isupper() for w in words if w.lower() not in MINOR_WORDS) and words[0][0].isupper()


def looks_like_heading(lines: list[str]) -> bool:
    """Whether a block of the pdf-text layout (lines between blank lines) is a heading."""
    if not lines or len(lines) > 3:
        return False
    joined = " ".join(" ".join(lines).split())
    if SECTION_STRICT_RE.match(joined):
        return not joined.endswith(".")
    if LETTERED_RE.match(joined):
        return len(lines) <= 2 and not joined.endswith(".")
    if re.search(r"[.?!;,]$", joined):
        return False
    if _known(joined):  # a known title, however it is wrapped ("Acts of Violence, ... Based" / "on Sexual ...")
        return True
    if len(lines) > 2 or len(joined) > 120 or len(lines[-1]) > 75:
        return False
    return is_title_case(joined)


def _marker_heading(text: str) -> bool:
    """A line that opens a heading by its form: "Section N.", "c. Title", "Executive Summary"."""
    if text.upper() == "EXECUTIVE SUMMARY":
        return True
    m = SECTION_RE.match(text)
    if m and m.group(2)[:1].isupper():
        return True
    return bool(LETTERED_RE.match(text)) and not SENTENCE_END_RE.search(text)


def _title_part(text: str) -> tuple[str, str]:
    """(kind, title) of a heading for the known-titles lookup: a Section's title, a lettered
    subsection's title, or any other heading."""
    m = SECTION_RE.match(text)
    if m:
        return "section", m.group(2)
    m = LETTERED_RE.match(text)
    if m:
        return "lettered", m.group(2)
    return "heading", text


def _known(text: str) -> bool:
    kind, title = _title_part(text)
    return series.is_known(title, kind) or (kind == "heading" and series.is_known(title, "section"))


def _known_prefix(text: str) -> bool:
    kind, title = _title_part(text)
    return series.is_known_prefix(title, kind) or (kind == "heading" and series.is_known_prefix(title, "section"))


RUNIN_LABEL_RE = re.compile(r"^([A-Z][^:.!?]{0,200}?)\s?:\s+\S")


def runin_label(text: str) -> str | None:
    """The run-in heading a paragraph opens with ("Pretrial Detention:  The law ..."), if any."""
    m = RUNIN_LABEL_RE.match(text)
    if not m:
        return None
    label = " ".join(m.group(1).split())
    if series.is_known(label, "heading"):
        return label
    if len(label.split()) > 8 or len(label) > 70 or not is_title_case(label):
        return None
    return label


def _clean_heading(text: str) -> str:
    text = " ".join(MD_LINK_RE.sub(r"\1", text).split())
    m = BOLD_LINE_RE.match(text)
    if m:
        text = m.group(1).strip()
    text = text.strip("*_ ").strip()
    stripped = series.strip_residue(text)
    if stripped != text and (re.search(r"[a-z)\]](?:Share|Print|Email|Tweet)", text) or _known(stripped) or _marker_heading(stripped)):
        return stripped
    return text


# ---------------------------------------------------------------- layouts

def detect_layout(lines: Lines) -> str:
    """pdf-text, pdf-wrapped or web, from the shape of the content lines (see the module doc)."""
    texts = [line.text for line in lines.lines if line is not None]
    if not texts:
        return "pdf-text"
    marked = sum(1 for t in texts if MD_HEADING_RE.match(t) and t.startswith("#"))
    long_lines = sum(1 for t in texts if len(t) > 200)
    if marked >= 3 or long_lines >= max(2, 0.25 * len(texts)):
        return "web"
    blank_runs = sum(1 for a, b in zip(lines.lines, lines.lines[1:]) if a is not None and b is None)
    wrapped = statistics.median(len(t) for t in texts) < 120
    if len(texts) >= 40 and wrapped and blank_runs * 40 <= len(texts):
        return "pdf-wrapped"
    return "pdf-text"


def blocks(lines: Lines, layout: str) -> list[Block]:
    if layout == "web":
        return _web_blocks(lines.lines)
    if layout == "pdf-wrapped":
        return _wrapped_blocks(lines.lines)
    return _text_blocks(lines.lines)


def _runs(lines: list[Line | None], starts_block: Callable[[list[Line], Line], bool] | None = None) -> list[list[Line]]:
    """Lines grouped at blank lines (None), and before a line that `starts_block` (given the
    group so far) says opens a new block."""
    out: list[list[Line]] = []
    current: list[Line] = []
    for line in lines:
        if line is None:
            if current:
                out.append(current)
                current = []
            continue
        if current and starts_block is not None and starts_block(current, line):
            out.append(current)
            current = []
        current.append(line)
    if current:
        out.append(current)
    return out


def _text_blocks(lines: list[Line | None]) -> list[Block]:
    """pdf-text: blocks at blank lines and at page breaks that evidently start a new paragraph
    (the extractor often drops the blank line there)."""
    return [Block(b) for b in _runs(lines, _new_paragraph_at_page_break)]


def _new_paragraph_at_page_break(current: list[Line], line: Line) -> bool:
    if not line.page_start:
        return False
    prev = current[-1].text
    heading_before = looks_like_heading([x.text for x in current]) and not SENTENCE_END_RE.search(prev)
    sentence_break = bool(SENTENCE_END_RE.search(prev)) and bool(re.match(r"[A-Z0-9“\"]", line.text))
    heading_next = bool(SECTION_STRICT_RE.match(line.text) or LETTERED_RE.match(line.text))
    return heading_before or sentence_break or heading_next


def _unmarked_heading(text: str, following: list[str], width: float) -> bool:
    """Whether a line is a heading printed without a marker: title case, no closing punctuation,
    not the start of a run-in heading ("Censorship ... and Other" / "Media, ...:  Journalists"),
    not longer than a heading is, and followed by the start of a paragraph or another heading."""
    if not text or re.search(r"[.?!;,:]$", text) or len(text) > MAX_HEADING_CHARS:
        return False
    if not is_title_case(text) or runin_label(text):
        return False
    known = _known(text) or _known_prefix(text)
    if not known and len(text) > 0.9 * width:
        return False
    if following:
        nxt = following[0]
        if not PARAGRAPH_START_RE.match(nxt) and not (known and nxt[:1].islower()):
            return False
        label = runin_label(f"{text} {nxt}")
        if label and len(label) > len(text) and not _known(text) and len(text) >= 0.7 * width:
            return False  # the line is the first part of a run-in heading wrapped over two lines
    return True


def _heading_extent(texts: list[str], i: int) -> tuple[int, str]:
    """(index after the heading's last line, its text) for a heading starting at texts[i]:
    a wrapped heading goes on while a known title does, or while its line ends open (on "of",
    "and", a comma) or the next line begins with a lower-case word ("on Sexual Orientation")."""
    text = texts[i]
    j = i + 1
    while j < len(texts) and j - i < MAX_HEADING_LINES:
        nxt = texts[j]
        if nxt is None or _marker_heading(nxt) or re.search(r"[.?!;]$", nxt) or runin_label(nxt):
            break
        joined = f"{text} {nxt}"
        if len(joined) > MAX_HEADING_CHARS:
            break
        if _known(joined) or _known_prefix(joined) or re.fullmatch(r"\([^()]{1,40}\)", nxt):
            text, j = joined, j + 1  # a known title goes on, or an abbreviation follows: "(IDPs)"
            continue
        if _known(text):
            break
        last = re.sub(r"[^\w’'-]", "", text.rsplit(" ", 1)[-1]).lower()
        first = nxt.split(" ", 1)[0]
        open_end = text.endswith((",", "-", "–")) or last in OPEN_ENDINGS
        lower_start = first.lower() in MINOR_WORDS and first[:1].islower()
        if not is_title_case(_title_part(joined)[1]) or series.is_known(nxt, "heading"):
            break
        if open_end or lower_start or (_marker_heading(texts[i]) and _overflow(nxt, texts[j + 1 : j + 2])):
            text, j = joined, j + 1
            continue
        break
    return j, " ".join(text.split())


def _overflow(nxt: str, after: list[str | None]) -> bool:
    """Whether a line after a numbered or lettered heading is the heading's last word or two run
    over ("Section 3. ... in the Political" / "Process"), rather than a sub-heading: it is that
    short, and the line after it opens an ordinary paragraph (not a heading, not a run-in)."""
    if len(nxt.split()) > 2 or not after or after[0] is None:
        return False
    following = after[0]
    return bool(PARAGRAPH_START_RE.match(following)) and not is_title_case(following) and not runin_label(following)


def _line_width(lines: list[Line | None]) -> float:
    lengths = sorted(len(line.text) for line in lines if line is not None)
    if not lengths:
        return 80.0
    return float(max(40, lengths[int(0.9 * (len(lengths) - 1))]))


def _wrapped_blocks(lines: list[Line | None]) -> list[Block]:
    """pdf-wrapped: no blank lines to go by. A heading starts after a line that ends a sentence
    (or after another heading) and is told by its marker or its form (_unmarked_heading); a
    paragraph ends at a sentence end when the line is short of the text's width (the next word
    would have fitted), or when a heading or a run-in heading comes next."""
    width = _line_width(lines)
    texts = [line.text if line is not None else None for line in lines]
    out: list[Block] = []
    current: list[Line] = []
    i = 0

    def flush() -> None:
        nonlocal current
        if current:
            out.append(Block(current, heading=False))
            current = []

    while i < len(lines):
        line = lines[i]
        if line is None:
            flush()
            i += 1
            continue
        t = line.text
        prev = current[-1].text if current else None
        at_start = prev is None or bool(SENTENCE_END_RE.search(prev))
        following = [x for x in texts[i + 1 : i + 3] if x is not None]
        if at_start and (_marker_heading(t) or _unmarked_heading(t, following, width) or _bare_section(t)):
            end, heading = _heading_extent(texts, i)
            after = next((x for x in texts[end : end + 1] if x is not None), None)
            if _marker_heading(t) or after is None or PARAGRAPH_START_RE.match(after) or _known(heading):
                flush()
                out.append(Block(lines[i:end], heading=True, text=_clean_heading(heading)))
                i = end
                continue
        if current and prev is not None and SENTENCE_END_RE.search(prev) and PARAGRAPH_START_RE.match(t):
            first_word = t.split(" ", 1)[0]
            if len(prev) + 1 + len(first_word) <= width or runin_label(t) or _starts_runin(t, following):
                flush()
        current.append(line)
        i += 1
    flush()
    return out


def _starts_runin(text: str, following: list[str]) -> bool:
    """A paragraph whose run-in heading is wrapped onto its second line."""
    if not following or not is_title_case(text) or re.search(r"[.?!;:]", text):
        return False
    label = runin_label(f"{text} {following[0]}")
    return bool(label) and len(label) > len(text)


def _bare_section(text: str) -> bool:
    """A Section's known title printed without "Section N."."""
    return bool(series.section_numbers(text))


def _web_blocks(lines: list[Line | None]) -> list[Block]:
    """web: blocks at blank lines (Markdown's paragraphs); a marked heading (`####`, a line in
    bold) is a block of its own; a line that opens a block and has a heading's form is a heading
    without a marker; a block of long lines (a line per paragraph) is split at each line."""
    out: list[Block] = []
    for run in _runs(lines):
        para: list[Line] = []

        def flush() -> None:
            nonlocal para
            if para:
                out.append(Block(para, heading=False))
                para = []

        for k, line in enumerate(run):
            t = line.text
            if series.RESIDUE_LINE_RE.match(t):
                continue
            md = MD_HEADING_RE.match(t) if t.startswith("#") else None
            bold = BOLD_LINE_RE.match(t)
            if md or bold:
                text = _clean_heading(md.group(2) if md else t)
                flush()
                if text:
                    out.append(Block([Line(text, line.page, line.page_start)], heading=True, text=text))
                continue
            cleaned = _clean_heading(t)
            following = [x.text for x in run[k + 1 : k + 2]]
            if not para and (_marker_heading(cleaned) or _unmarked_heading(cleaned, following, 200.0) or _bare_section(cleaned)):
                out.append(Block([Line(cleaned, line.page, line.page_start)], heading=True, text=cleaned))
                continue
            if para and len(para[-1].text) > 150 and SENTENCE_END_RE.search(para[-1].text):
                flush()  # a line per paragraph
            para.append(Line(MD_LINK_RE.sub(r"\1", t), line.page, line.page_start))
        flush()
    return out
