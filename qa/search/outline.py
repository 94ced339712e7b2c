"""The report's outline: its table of contents, and what a reference (`kzqa show REF`) points to.

A reference is one of
  - a passage id from `ask` output:  "1.c/prison-and-detention-center-conditions/4"
  - a section or subsection number:  "6", "1.c", "1c", "§1.c", "Section 6", "summary"
  - a section id:                    "6/women", "1.d/arrest-procedures-and-treatment-while-in-detention"
  - a heading, case-insensitive, or a unique prefix of one: "Internet Freedom", "internet"
  - a page:                          "p5", "p. 5", "page 5"

Everything here is a pure function of a Report and its chunks; rendering lives in render.py.
"""

from __future__ import annotations

import difflib
import re
import textwrap
from dataclasses import dataclass, field

from ..index.chunking import Chunk, short_heading
from ..errors import Fix, KzqaError
from ..document import Paragraph, Report, Section, Sentence

PAGE_RE = re.compile(r"^(?:p|pp|pg|page)\.?\s*(\d{1,5})$", re.IGNORECASE)
NUMBER_RE = re.compile(r"^(?:§\s*|section\s+)?(\d{1,3})(?:\.?\s*([a-z]))?\.?$", re.IGNORECASE)
PASSAGE_RE = re.compile(r"^(.+)/(\d+)$")
MAX_LISTED = 8

class RefError(KzqaError):
    """A reference that names nothing, or more than one thing; `candidates` are section ids."""

    def __init__(self, message: str, candidates: list[str] | None = None, fix: Fix | None = None) -> None:
        super().__init__(message, fix)
        self.candidates = candidates or []


@dataclass(frozen=True)
class Target:
    """What a reference resolved to: a section (`kind` section/heading), a passage, or a page."""

    kind: str
    ref: str
    section: Section | None = None
    chunk: Chunk | None = None
    page: int | None = None


@dataclass
class ShownParagraph:
    paragraph: Paragraph
    marked: list[bool]  # per sentence: inside the emphasised passage

    @property
    def sentences(self) -> list[Sentence]:
        return self.paragraph.sentences

    @property
    def page_start(self) -> int:
        return self.paragraph.page_start

    @property
    def page_end(self) -> int:
        return self.paragraph.page_end

    @property
    def text(self) -> str:
        return self.paragraph.text

    @property
    def any_marked(self) -> bool:
        return any(self.marked)


@dataclass
class ShownSection:
    section: Section
    depth: int  # 0 for the excerpt's own heading; deeper sub-headings count up from it
    paragraphs: list[ShownParagraph] = field(default_factory=list)


@dataclass
class Excerpt:
    """The text a reference points to, ready to render."""

    target: Target
    root: Section | None  # None for a page
    parts: list[ShownSection]
    page_start: int
    page_end: int
    page_count: int

    @property
    def kind(self) -> str:
        return self.target.kind

    @property
    def passage(self) -> Chunk | None:
        return self.target.chunk


@dataclass(frozen=True)
class TocEntry:
    id: str  # section id: a valid REF for `kzqa show`
    number: str  # "1.c", "6", "summary"
    label: str  # as printed: "Section 1. Respect ...", "1.c  Torture ...", "Internet Freedom"
    title: str
    level: int
    depth: int  # enclosing headings above it (0 for a numbered section)
    page: int | None  # None: the source has no printed pages
    page_end: int | None


# --- resolution ----------------------------------------------------------------------------------


def _norm(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.strip().strip("\"'").split()).lower().rstrip(":").strip()


def _names(section: Section) -> set[str]:
    """The names a heading answers to: its title, and its heading as printed."""
    names = {_norm(section.title), _norm(section.headings[-1]), _norm(short_heading(section.headings[-1]))}
    return {n for n in names if n}


def _describe(section: Section, width: int = 40) -> str:
    title = section.title if len(section.title) <= width else section.title[: width - 1].rstrip(" ,") + "…"
    return f"{section.id} “{title}”"


def _listing(sections: list[Section]) -> str:
    shown = "; ".join(_describe(s) for s in sections[:MAX_LISTED])
    more = len(sections) - MAX_LISTED
    return shown + (f"; and {more} more" if more > 0 else "")


def resolve_ref(report: Report, chunks: list[Chunk], ref: str) -> Target:
    """What REF names; RefError (a KzqaError) if nothing or several things, listing candidates."""
    raw = ref
    ref = " ".join(str(ref).split()).strip("()[]`'\"“”‘’ ")  # as copied from `ask` output: "(1.c/…/4)"
    if not ref:
        raise RefError("the reference is empty; give a passage id, a section (1.c), a heading or a page (p5)")
    low = ref.lower()

    m = PAGE_RE.match(ref)
    if m:
        page = int(m.group(1))
        if report.page_count is None:
            raise RefError("this report has no printed pages (its source shows none); give a section (1.c), a heading or a passage id")
        if not 1 <= page <= report.page_count:
            raise RefError(f"there is no page {page}; the report has pages 1–{report.page_count}")
        return Target("page", raw, page=page)

    by_chunk = {c.id.lower(): c for c in chunks}
    if low in by_chunk:
        chunk = by_chunk[low]
        return Target("passage", raw, section=report.section(chunk.section_id), chunk=chunk)

    by_id = {s.id.lower(): s for s in report.sections}
    if low in by_id:
        section = by_id[low]
        return Target("section" if section.level <= 2 else "heading", raw, section=section)

    m = PASSAGE_RE.match(low)
    if m and m.group(1) in by_id:
        section = by_id[m.group(1)]
        count = sum(1 for c in chunks if c.section_id == section.id)
        has = f"it has passages 1–{count}" if count > 1 else ("it has one passage" if count else "it has no text of its own")
        raise RefError(f"no passage {m.group(2)} under {_describe(section)}; {has}", [section.id])

    m = NUMBER_RE.match(ref)
    if m:
        number = m.group(1) + (f".{m.group(2).lower()}" if m.group(2) else "")
        level = 2 if m.group(2) else 1
        for s in report.sections:
            if s.number == number and s.level == level:
                return Target("section", raw, section=s)
        numbered = [s for s in report.sections if s.level <= 2 and s.number != "summary"]
        near = [s for s in numbered if s.number.split(".")[0] == m.group(1)] or [s for s in numbered if s.level == 1]
        raise RefError(f"there is no section {number}; sections with a number near it: {_listing(near)}", [s.id for s in near])

    section = _match_heading(report, ref)
    return Target("section" if section.level <= 2 else "heading", raw, section=section)


def _match_heading(report: Report, ref: str) -> Section:
    want = _norm(ref)
    sections = report.sections
    for test in (
        lambda names: want in names,
        lambda names: any(n.startswith(want) for n in names),
        lambda names: any(re.search(r"\b" + re.escape(want), n) for n in names),
    ):
        found = [s for s in sections if test(_names(s))]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise RefError(
                f"{ref!r} matches {len(found)} headings: {_listing(found)}; give more of the heading, or one of these ids",
                [s.id for s in found],
            )
    titles = {}
    for s in sections:
        for n in _names(s):
            titles.setdefault(n, s)
    close = difflib.get_close_matches(want, list(titles), n=5, cutoff=0.6)
    near = list({titles[c].id: titles[c] for c in close}.values())
    if near:
        raise RefError(f"nothing matches {ref!r}; did you mean: {_listing(near)}?", [s.id for s in near])
    raise RefError(f"nothing matches {ref!r}: give a passage id, a section (1.c), a heading or a page (p5)", fix=Fix.OUTLINE)


# --- excerpts ------------------------------------------------------------------------------------


def _subtree_end(sections: list[Section], i: int, runins_only: bool = False) -> int:
    """Index after the last section under sections[i] (only its run-in headings if runins_only)."""
    level = sections[i].level
    j = i + 1
    while j < len(sections) and sections[j].level > level and (not runins_only or sections[j].level == 4):
        j += 1
    return j


def _ancestors(sections: list[Section], i: int) -> list[int]:
    """Indexes of sections[i] and its enclosing headings, innermost first."""
    out = [i]
    level = sections[i].level
    for j in range(i - 1, -1, -1):
        if sections[j].level < level:
            out.append(j)
            level = sections[j].level
            if level == 1:
                break
    return out


def passage_scope(report: Report, section: Section) -> tuple[int, int]:
    """The subsection a passage is read in: its nearest enclosing lettered subsection or
    sub-heading (with everything under it); for a passage directly under a numbered section, that
    section's own text and its run-in headings. Returns a slice of report.sections."""
    sections = report.sections
    i = sections.index(section)
    chain = _ancestors(sections, i)
    for j in chain:
        if sections[j].level in (2, 3):
            return j, _subtree_end(sections, j)
    top = chain[-1]
    return top, _subtree_end(sections, top, runins_only=sections[top].level == 1)


def _passage_marks(report: Report, chunks: list[Chunk], chunk: Chunk) -> dict[int, list[bool]]:
    """For each paragraph of the chunk's section (by position), which sentences the chunk holds."""
    section = report.section(chunk.section_id)
    flat = [(pi, si) for pi, p in enumerate(section.paragraphs) for si in range(len(p.sentences))]
    sentences = [section.paragraphs[pi].sentences[si] for pi, si in flat]
    offset = 0
    for c in chunks:
        if c.section_id != section.id:
            continue
        if c.id == chunk.id:
            break
        offset += len(c.sentences)
    n = len(chunk.sentences)
    if sentences[offset : offset + n] != list(chunk.sentences):  # chunks not in step: find by text
        offset = next(
            (o for o in range(len(sentences) - n + 1) if sentences[o : o + n] == list(chunk.sentences)), None
        )
    marks = {pi: [False] * len(p.sentences) for pi, p in enumerate(section.paragraphs)}
    if offset is not None:
        for pi, si in flat[offset : offset + n]:
            marks[pi][si] = True
    return marks


def excerpt(report: Report, chunks: list[Chunk], target: Target | str) -> Excerpt:
    """The text a reference points to: a section with everything under it, a passage's subsection
    with the passage marked, or every paragraph on a page (each with its heading)."""
    if isinstance(target, str):
        target = resolve_ref(report, chunks, target)
    sections = report.sections
    parts: list[ShownSection] = []
    root: Section | None = None
    if target.kind == "page":
        page = target.page
        for s in sections:
            shown = [ShownParagraph(p, [False] * len(p.sentences)) for p in s.paragraphs if p.page_start <= page <= p.page_end]
            if shown:
                parts.append(ShownSection(s, 0, shown))
    else:
        if target.kind == "passage":
            start, end = passage_scope(report, target.section)
            marks = _passage_marks(report, chunks, target.chunk)
        else:
            start = sections.index(target.section)
            end = _subtree_end(sections, start)
            marks = {}
        root = sections[start]
        for s in sections[start:end]:
            own = marks if (target.chunk is not None and s.id == target.chunk.section_id) else {}
            shown = [ShownParagraph(p, own.get(pi, [False] * len(p.sentences))) for pi, p in enumerate(s.paragraphs)]
            parts.append(ShownSection(s, s.level - root.level, shown))
    pages = [p.page_start for part in parts for p in part.paragraphs] + [p.page_end for part in parts for p in part.paragraphs]
    pages = [p for p in pages if p is not None]
    if target.kind == "page":
        first = last = target.page
    elif pages:
        first, last = min(pages + ([root.page] if root.page is not None else [])), max(pages)
    else:
        first = last = root.page
    return Excerpt(target, root, parts, first, last, report.page_count)


def show(report: Report, chunks: list[Chunk], ref: str) -> Excerpt:
    """resolve_ref + excerpt: what `kzqa show REF` prints."""
    return excerpt(report, chunks, resolve_ref(report, chunks, ref))


# --- table of contents ---------------------------------------------------------------------------


def _subtree_page_end(sections: list[Section], i: int) -> int | None:
    end = _subtree_end(sections, i)
    pages = [s.page_end for s in sections[i:end] if s.page_end is not None]
    return max(pages) if pages else None


def toc_entries(report: Report, depth: int = 4) -> list[TocEntry]:
    """The outline, in document order, down to `depth` (1 sections, 2 lettered, 3 sub-headings,
    4 run-in headings), each with the page it starts on and the page its text ends on."""
    out = []
    for i, s in enumerate(report.sections):
        if s.level > depth:
            continue
        label = f"{s.number}  {s.title}" if s.level == 2 else s.headings[-1]
        above = len(_ancestors(report.sections, i)) - 1
        out.append(TocEntry(s.id, s.number, label, s.title, s.level, above, s.page, _subtree_page_end(report.sections, i)))
    return out


INDENT = {1: 0, 2: 3, 3: 8, 4: 10}


def toc_lines(report: Report, width: int = 80, depth: int = 4) -> list[str]:
    """The outline as a printed table of contents: indented headings, dot leaders, page numbers.

        Section 1. Respect for the Integrity of the Person, Including Freedom from: ....   1
           1.a  Arbitrary or Unlawful Deprivation of Life ..............................   2
                Prison and Detention Center Conditions .................................   4
    """
    paged = report.paged  # without printed pages: the outline alone
    digits = len(str(report.page_count)) if paged else 0
    pages = f" ({report.page_count} page{'' if report.page_count == 1 else 's'})" if paged else ""
    lines = [f"{report.title} — contents{pages}", ""]
    for e in toc_entries(report, depth):
        indent = INDENT.get(e.level, 10)
        hang = indent + (len(e.number) + 2 if e.level == 2 else 2)
        text_width = max(20, width - digits - 5) if paged else width  # room for " .. NN"
        wrapped = textwrap.wrap(
            e.label, width=text_width, initial_indent=" " * indent, subsequent_indent=" " * hang, break_on_hyphens=False
        ) or [" " * indent]
        if not paged:
            lines.extend(wrapped)
            continue
        last = wrapped[-1]
        fill = width - digits - 2 - len(last)
        leader = " " + "." * fill
        lines.extend(wrapped[:-1])
        lines.append(f"{last}{leader} {e.page:>{digits}}")
    return lines
