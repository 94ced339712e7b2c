"""Every choice list and every limit on what a caller gives kzqa (a question, a batch, a report
file, a name, a request), defined once, and the checks of what a caller passes. The stages'
own tuning (how long a heading or a sentence may be, how many passages compete) stays with them.

The library and the command line take up to MAX_QUESTION_CHARS and MAX_K; `kzqa serve` and
`kzqa mcp` take less on purpose (the SERVE_ limits): what one request of an unknown client may
cost a server that answers many."""

from __future__ import annotations

import unicodedata

from .errors import KzqaError

MODES = ("bm25", "dense", "hybrid", "rerank")
DEFAULT_MODE = "hybrid"
FORMATS = ("text", "json", "markdown")
MAX_QUESTION_CHARS = 10_000
MAX_K = 1_000  # passages per answer, on the command line and in the shell
MAX_TOC_DEPTH = 4  # heading levels: 1 sections, 2 lettered subsections, 3 sub-headings, 4 run-in headings
MAX_STDIN_QUESTION_BYTES = 1024 * 1024  # `kzqa ask -`
MAX_BATCH_BYTES = 50 * 1024 * 1024  # a `kzqa batch` file
MAX_ID_CHARS = 200  # a longer batch id is cut (with "…"): it names a row, it is not data
MAX_INDEX_NAME_CHARS = 100
# A report file, and the work of reading a PDF's text: a real report page holds tens of kB of
# drawing instructions (content streams) and text extraction costs time in proportion to them
# (pypdf's layout extraction takes ~1.4 s per MB here; a text page has 5-20 kB); these bounds stop
# a crafted or broken file (one 5 MB stream shared by 200 pages) long before it ties up the machine.
MAX_SOURCE_BYTES = 200 * 1024 * 1024
MAX_PDF_PAGE_CONTENT = 1024 * 1024  # bytes of decoded content stream for one page
MAX_PDF_TOTAL_CONTENT = 8 * 1024 * 1024  # bytes of decoded content streams for the whole file
MAX_PDF_SECONDS = 60.0  # wall-clock time for extracting the text of every page

SERVE_MAX_QUESTION_CHARS = 2_000
SERVE_MAX_K = 100
SERVE_MAX_BATCH_QUESTIONS = 100  # a POST /api/batch request
SERVE_MAX_BODY_BYTES = 256 * 1024
SERVE_MAX_REF_CHARS = 300
EVAL_SETS = ("original", "user")  # the eval sets that ship in eval/ (qa/evaluation/evalset.py)
EVAL_SPLITS = ("dev", "test")  # the user set's fixed halves: dev to choose on, test only to report


def validate_question(question: str) -> str:
    if not isinstance(question, str):
        raise KzqaError("the question must be text")
    bad = next((i for i, ch in enumerate(question) if "\ud800" <= ch <= "\udfff"), None)
    if bad is not None:  # a lone surrogate ("\ud800" in JSON): not text any encoder or output can take
        raise KzqaError(f"the question is not valid text (a lone surrogate at character {bad + 1})")
    # control characters (a terminal escape, a NUL) become spaces: they must never reach the output
    q = " ".join("".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in question).split())
    if not q:
        raise KzqaError("the question is empty")
    if len(q) > MAX_QUESTION_CHARS:
        raise KzqaError(f"the question is too long ({len(q)} characters; the limit is {MAX_QUESTION_CHARS})")
    if not any(ch.isalnum() for ch in q):
        raise KzqaError("the question has no words to search for")
    return q


def validate_k(k: int) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise KzqaError(f"k must be a positive whole number (got {k!r})")
    return k


def validate_mode(mode: str) -> str:
    if mode not in MODES:
        raise KzqaError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    return mode
