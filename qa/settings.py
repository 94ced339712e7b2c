"""Every choice list and limit kzqa has, defined once, and the checks of what a caller passes.

The library and the command line take up to MAX_QUESTION_CHARS and MAX_K; `kzqa serve` and
`kzqa mcp` take less on purpose (SERVE_MAX_QUESTION_CHARS, SERVE_MAX_K): what one request of an
unknown client may cost a server that answers many."""

from __future__ import annotations

import unicodedata

from .document import drop_format_chars
from .errors import KzqaError

MODES = ("bm25", "dense", "hybrid", "rerank")
DEFAULT_MODE = "hybrid"
FORMATS = ("text", "json", "markdown")
MAX_QUESTION_CHARS = 10_000
MAX_K = 1_000  # passages per answer, on the command line and in the shell
SERVE_MAX_QUESTION_CHARS = 2_000
SERVE_MAX_K = 100


def validate_question(question: str) -> str:
    if not isinstance(question, str):
        raise KzqaError("the question must be text")
    bad = next((i for i, ch in enumerate(question) if "\ud800" <= ch <= "\udfff"), None)
    if bad is not None:  # a lone surrogate ("\ud800" in JSON): not text any encoder or output can take
        raise KzqaError(f"the question is not valid text (a lone surrogate at character {bad + 1})")
    # control characters (a terminal escape, a NUL) become spaces: they must never reach the output;
    # format characters (a zero-width space, a soft hyphen) go: they would cut a word in two
    question = drop_format_chars(question)
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
