"""Every choice list and every limit on what a caller gives kzqa (a question, a batch, a report
file, a name, a request), defined once, and the checks of what a caller passes. The stages'
own tuning (how long a heading or a sentence may be, how many passages compete) stays with them.

The library and the command line take up to MAX_QUESTION_CHARS and MAX_K; `kzqa serve` and
`kzqa mcp` take less on purpose (the SERVE_ limits): what one request of an unknown client may
cost a server that answers many."""

from __future__ import annotations

import unicodedata

from .document import drop_format_chars
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


# ------------------------------------------------------------------ JSON from a caller

MAX_JSON_DEPTH = 32  # arrays and objects inside each other; kzqa's own requests need 3
MAX_JSON_NUMBER_CHARS = 100  # digits of a number; Python's int() refuses past 4,300 with a ValueError


class JsonInputError(KzqaError):
    """JSON from a caller that cannot be read: not UTF-8 or UTF-16 text, malformed, nested too
    deeply, a number too long, or a string that is not text (a lone surrogate)."""


def _json_depth(text: str) -> int:
    """How deeply arrays and objects nest in `text`, strings left out (counted before parsing,
    so that json's recursion never meets 20,000 brackets)."""
    import re

    depth = deepest = 0
    for bracket in re.findall(r"[\[\]{}]", re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _number(kind):
    def parse(token: str):
        if len(token) > MAX_JSON_NUMBER_CHARS:
            raise JsonInputError(f"a number of {len(token)} characters; the limit is {MAX_JSON_NUMBER_CHARS}")
        value = kind(token)
        if kind is float and value in (float("inf"), float("-inf")):
            raise JsonInputError(f"a number too large ({token[:20]})")
        return value
    return parse


def _no_constant(token: str):
    raise JsonInputError(f"{token} is not JSON")


def lone_surrogate(value, limit: int = MAX_JSON_DEPTH + 2) -> bool:
    """Whether a string anywhere in a parsed JSON value (keys too) holds a lone surrogate
    ("\\ud800" in JSON): not text that UTF-8, a terminal or a file can carry."""
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if limit <= 0:
        return False
    if isinstance(value, dict):
        return any(lone_surrogate(k, limit - 1) or lone_surrogate(v, limit - 1) for k, v in value.items())
    if isinstance(value, list):
        return any(lone_surrogate(v, limit - 1) for v in value)
    return False


def parse_json(text: str, what: str = "the JSON"):
    """`json.loads`, bounded (depth, number length, no NaN or Infinity): what every JSON a caller
    sends goes through. A one-line JsonInputError for anything it cannot read; never a
    RecursionError, ValueError or a 5,000-digit int."""
    import json

    if _json_depth(text) > MAX_JSON_DEPTH:
        raise JsonInputError(f"{what} is not valid JSON (nested more than {MAX_JSON_DEPTH} deep)")
    try:
        return json.loads(text, parse_int=_number(int), parse_float=_number(float), parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        said = exc.msg if exc.msg.endswith(" at") else exc.msg + " at"  # "Unterminated string starting at"
        raise JsonInputError(f"{what} is not valid JSON ({said} line {exc.lineno} column {exc.colno})") from None
    except JsonInputError as exc:
        raise JsonInputError(f"{what} is not valid JSON ({exc})") from None
    except (ValueError, RecursionError) as exc:  # what the checks above should leave none of
        raise JsonInputError(f"{what} is not valid JSON ({' '.join(str(exc).split())[:100] or 'too deep'})") from None


def decode_json(data: bytes | str, what: str = "the JSON"):
    """A caller's JSON document: bytes as UTF-8 (a byte-order mark allowed) or UTF-16 (by its
    byte-order mark), parsed by `parse_json`, every string checked to be text."""
    if isinstance(data, bytes):
        for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"), (b"\xef\xbb\xbf", "utf-8")):
            if data.startswith(bom):
                codec_used, data = codec, data[len(bom):]
                break
        else:
            codec_used = "utf-8"
        try:
            data = data.decode(codec_used)
        except UnicodeDecodeError as exc:
            raise JsonInputError(f"{what} is not {codec_used.upper()} text (bad byte at offset {exc.start})") from None
    value = parse_json(data, what)
    if lone_surrogate(value):
        raise JsonInputError(f"{what} is not valid text (a lone surrogate in a string)")
    return value
