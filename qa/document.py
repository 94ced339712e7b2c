"""The document every stage passes on: a `Report` of headed `Section`s whose `Paragraph`s and
`Sentence`s know their printed page (None where the source has none). Plain dataclasses, made by
the parser (qa/ingest/parse.py), stored in the index (qa/index/format.py), read by the rest."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

DEFAULT_REPORT_NAME = "kazakhstan-2011-human-rights-report.txt"  # the report that ships in qa/data/
UNSTRUCTURED_NUMBER = "text"  # the citable label of text in a document with no section structure



@dataclass(frozen=True)
class Sentence:
    text: str
    page: int | None  # None: the source has no printed pages


@dataclass
class Paragraph:
    text: str
    sentences: list[Sentence]
    page_start: int | None
    page_end: int | None


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
    page: int | None = 1

    @property
    def page_end(self) -> int | None:
        return self.paragraphs[-1].page_end if self.paragraphs else self.page


@dataclass
class Report:
    title: str  # the country as the text prints it ("KAZAKHSTAN"), or the document's name
    sections: list[Section]
    page_count: int | None  # None: the source has no printed pages
    sha256: str
    structured: bool = True
    country: str | None = None  # "Kazakhstan", "Côte d’Ivoire": from the title lines or running headers
    year: int | None = None  # the year reported on: "...Practices for 2011", "2023 Human Rights Report"
    layout: str = "pdf-text"  # qa/ingest/layouts.py: pdf-text, pdf-wrapped, web

    @property
    def paged(self) -> bool:
        return self.page_count is not None

    @property
    def label(self) -> str:
        """How a citation names the report among others: "Kazakhstan 2023"."""
        name = self.country or (self.title.title() if self.title.isupper() else self.title)
        return f"{name} {self.year}" if self.year else name

    def section(self, section_id: str) -> Section:
        for s in self.sections:
            if s.id == section_id:
                return s
        raise KeyError(section_id)

    def text(self) -> str:
        """All paragraph text, one paragraph per line: what evidence must be verbatim in."""
        return "\n".join(p.text for s in self.sections for p in s.paragraphs)


def default_report_path() -> Path:
    return Path(str(resources.files("qa") / "data" / DEFAULT_REPORT_NAME))


def drop_format_chars(text: str) -> str:
    """Text without Unicode format characters (category Cf: soft hyphen, zero-width space and
    joiners, bidirectional marks, a stray byte-order mark). They are invisible, so a reader never
    meant them, but a tokeniser or a speller sees a word cut in two ("pris\u200boners" became
    "pri owners"): questions and report text both lose them before anything reads their words."""
    if text.isascii():
        return text
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def readable(text: str) -> str:
    """A file name as text for people: bytes that were not UTF-8 (kept by Python as lone
    surrogates, which no encoder, database or output takes) shown as U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if not text.isascii() else text


def normalize_space(text: str) -> str:
    return " ".join(text.split())


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "untitled"
