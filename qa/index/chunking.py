"""Report -> Chunks. Every chunk lies inside one heading's own text, never ends
mid-sentence, and fits the embedding model's input window with its heading path prepended."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..document import Report, Section, Sentence
from ..represent.encoder import ENCODER

DEFAULT_MAX_WORDS = 120


@dataclass(frozen=True)
class ChunkingParams:
    max_words: int = DEFAULT_MAX_WORDS
    max_tokens: int = ENCODER.max_tokens

    def as_dict(self) -> dict:
        return {"max_words": self.max_words, "max_tokens": self.max_tokens}


@dataclass
class Chunk:
    id: str
    section: str  # citable number: "1.c", "6", "summary"
    section_id: str  # the Section this chunk lies in
    headings: list[str]
    sentences: list[Sentence] = field(default_factory=list)
    paragraph_breaks: list[int] = field(default_factory=list)  # sentence indexes that open a paragraph

    @property
    def text(self) -> str:
        parts: list[str] = []
        for i, s in enumerate(self.sentences):
            if i and i in self.paragraph_breaks:
                parts.append("\n")
            elif i:
                parts.append(" ")
            parts.append(s.text)
        return "".join(parts)

    @property
    def page_start(self) -> int | None:
        return self.sentences[0].page  # None: the source has no printed pages

    @property
    def page_end(self) -> int | None:
        pages = [s.page for s in self.sentences if s.page is not None]
        return max(pages) if pages else None

    @property
    def heading_text(self) -> str:
        return " › ".join(short_heading(h) for h in self.headings)

    @property
    def index_text(self) -> str:
        """What the retrievers see: the heading path, then the passage."""
        return f"{self.heading_text}.\n{self.text}"

    @property
    def word_count(self) -> int:
        return len(self.text.split())


def short_heading(heading: str) -> str:
    """'Section 1. Respect for ...' -> 'Respect for ...'; 'c. Torture ...' -> 'Torture ...'."""
    head, sep, rest = heading.partition(". ")
    if sep and (head.startswith("Section ") or (len(head) == 1 and head.islower())):
        return rest
    return heading


def _units(section: Section, max_words: int) -> list[tuple[list[Sentence], bool]]:
    """Paragraphs, with any paragraph longer than max_words split at sentence boundaries into
    near-equal runs. The flag marks a unit that opens a paragraph."""
    units: list[tuple[list[Sentence], bool]] = []
    for para in section.paragraphs:
        words = sum(len(s.text.split()) for s in para.sentences)
        if words <= max_words:
            units.append((list(para.sentences), True))
            continue
        pieces = -(-words // max_words)
        target = words / pieces
        run: list[Sentence] = []
        run_words = 0
        first = True
        for s in para.sentences:
            w = len(s.text.split())
            if run and (run_words + w > max_words or run_words >= target):
                units.append((run, first))
                first = False
                run, run_words = [], 0
            run.append(s)
            run_words += w
        if run:
            units.append((run, first))
    return units


def chunk_section(section: Section, params: ChunkingParams, count_tokens: Callable[[str], int] | None) -> list[Chunk]:
    units = _units(section, params.max_words)
    groups: list[list[tuple[list[Sentence], bool]]] = []
    current: list[tuple[list[Sentence], bool]] = []
    current_words = 0
    for unit in units:
        w = sum(len(s.text.split()) for s in unit[0])
        if current and current_words + w > params.max_words:
            groups.append(current)
            current, current_words = [], 0
        current.append(unit)
        current_words += w
    if current:
        groups.append(current)

    chunks: list[Chunk] = []
    for group in groups:
        sentences: list[Sentence] = []
        breaks: list[int] = []
        for unit_sentences, opens in group:
            if opens:
                breaks.append(len(sentences))
            sentences.extend(unit_sentences)
        chunks.extend(_fit_tokens(section, sentences, breaks, params, count_tokens))
    for n, chunk in enumerate(chunks, 1):
        chunk.id = f"{section.id}/{n}"
    return chunks


def _fit_tokens(section, sentences, breaks, params, count_tokens) -> list[Chunk]:
    """Halve a chunk at a sentence boundary until its index text fits the model window."""
    chunk = Chunk("", section.number, section.id, list(section.headings), sentences, breaks)
    if count_tokens is None or len(sentences) == 1 or count_tokens(chunk.index_text) <= params.max_tokens:
        return [chunk]
    mid = len(sentences) // 2
    left = _fit_tokens(section, sentences[:mid], [b for b in breaks if b < mid], params, count_tokens)
    right = _fit_tokens(section, sentences[mid:], [b - mid for b in breaks if b >= mid] or [0], params, count_tokens)
    return left + right


def chunk_report(
    report: Report,
    params: ChunkingParams | None = None,
    count_tokens: Callable[[str], int] | None = None,
) -> list[Chunk]:
    """One or more chunks per heading that has text of its own, in document order.

    `count_tokens` measures the index text in the embedding model's word pieces; chunks longer than
    `params.max_tokens` are split further (a single over-long sentence is left whole and truncated
    by the encoder, which is the only thing it can do)."""
    params = params or ChunkingParams()
    chunks: list[Chunk] = []
    for section in report.sections:
        if section.paragraphs:
            chunks.extend(chunk_section(section, params, count_tokens))
    return chunks
