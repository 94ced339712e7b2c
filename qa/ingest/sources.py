"""Reading a report file: extracted text as it is, or a PDF through pypdf (pages joined by form
feeds, which the parser reads as page breaks).

The file is read once: the bytes that are decoded and parsed are the bytes whose sha256 the index
records (`Source.sha256`), so a file that changes while it is being indexed makes the index stale,
never falsely fresh.

Every way a file can be unusable (missing, a folder or a device, empty, binary, not UTF-8, a broken
or encrypted PDF, a PDF of scanned images, a PDF whose pages would take too long to read) ends in a
KzqaError with a one-line reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import re
import stat
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..errors import KzqaError
from ..settings import MAX_PDF_PAGE_CONTENT, MAX_PDF_SECONDS, MAX_PDF_TOTAL_CONTENT, MAX_SOURCE_BYTES


@dataclass(frozen=True)
class Source:
    """A report file as read: its text, "text" or "pdf", and the sha256 of the very bytes read."""

    text: str
    kind: str
    sha256: str


def read_source(path: str | Path) -> tuple[str, str]:
    """(text, kind) where kind is "text" or "pdf"."""
    src = load_source(path)
    return src.text, src.kind


def load_source(path: str | Path) -> Source:
    """Read the file once; the text, its kind and the hash of the bytes it came from."""
    return decode_source(path, read_source_bytes(path))


def read_source_bytes(path: str | Path) -> bytes:
    """The bytes of a report file (a regular file within the size limit)."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError as exc:
        raise KzqaError(f"cannot read {p}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise KzqaError(f"{p} is a folder; give a report file (text or PDF)")
    if not stat.S_ISREG(st.st_mode):
        raise KzqaError(f"{p} is not a regular file; give a report file (text or PDF)")
    if st.st_size > MAX_SOURCE_BYTES:
        raise KzqaError(f"{p} is too large ({st.st_size} bytes; the limit is {MAX_SOURCE_BYTES})")
    try:
        with open(p, "rb") as f:
            raw = f.read(MAX_SOURCE_BYTES + 1)
    except OSError as exc:
        raise KzqaError(f"cannot read {p}: {exc.strerror or exc}") from None
    if len(raw) > MAX_SOURCE_BYTES:
        raise KzqaError(f"{p} is too large (over {MAX_SOURCE_BYTES} bytes)")
    return raw


def decode_source(path: str | Path, raw: bytes) -> Source:
    """The text of a report file's bytes (read by read_source_bytes), as text or PDF."""
    p = Path(path)
    digest = hashlib.sha256(raw).hexdigest()
    if raw.startswith(b"%PDF") or raw[:1024].lstrip().startswith(b"%PDF"):
        return Source(_read_pdf(p, raw), "pdf", digest)
    if not raw.strip():
        raise KzqaError(f"{p}: the file is empty")
    return Source(_decode_text(p, raw), "text", digest)


# Characters no text file has in any number: controls other than layout, unassigned code points,
# private use, surrogates. Random bytes read as UTF-16 are full of them.
_NOT_TEXT = frozenset(("Cc", "Cn", "Co", "Cs"))
_LAYOUT = frozenset("\t\n\r\f\v")


def looks_like_text(text: str, sample: int = 65536) -> bool:
    """Whether decoded text is text rather than binary that happened to decode: at most 1 in
    200 characters of its first `sample` may be controls, unassigned or private-use code points."""
    head = text[:sample]
    bad = sum(1 for ch in head if ch not in _LAYOUT and unicodedata.category(ch) in _NOT_TEXT)
    return bad * 200 <= len(head)


def _decode_text(p: Path, raw: bytes) -> str:
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if raw.startswith(bom):
            binary = f"{p}: looks like a binary file, not report text or a PDF (it starts like UTF-16 text but is not)"
            try:
                text = raw[len(bom):].decode(codec)
            except UnicodeDecodeError:
                raise KzqaError(binary) from None
            return _checked_text(p, text, binary)
    binary = f"{p}: looks like a binary file, not report text or a PDF"
    if b"\x00" in raw[:4096]:
        raise KzqaError(binary)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KzqaError(f"{p}: not UTF-8 text (bad byte at offset {exc.start}); give UTF-8 text or a PDF") from None
    return _checked_text(p, text, binary)


def _checked_text(p: Path, text: str, binary_message: str) -> str:
    """Decoded text that is really report text: not binary that happened to decode, not wordless."""
    if not looks_like_text(text):
        raise KzqaError(binary_message)
    if not any(ch.isalpha() for ch in text):
        raise KzqaError(f"{p}: has no words to index")
    return text


def _read_pdf(p: Path, raw: bytes) -> str:
    try:
        from pypdf import PdfReader
    except ImportError:  # pragma: no cover
        raise KzqaError("reading PDFs needs pypdf (pip install pypdf)") from None
    # pypdf logs warnings about repairable damage on stderr; a failure is reported below instead
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR + 10)
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception:  # noqa: BLE001 - e.g. AES without the cryptography package
                ok = 0
            if not ok:
                raise KzqaError(f"{p}: the PDF is encrypted; give a decrypted copy")
        pages = _pages_text(p, reader)
    except KzqaError:
        raise
    except RecursionError:
        raise KzqaError(f"{p}: cannot read this PDF (too deeply nested)") from None
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on damaged files
        raise KzqaError(f"{p}: cannot read this PDF ({exc.__class__.__name__}: {_short(exc)})") from None
    finally:
        logger.setLevel(level)
    if not pages:
        raise KzqaError(f"{p}: the PDF has no pages")
    if not any(t.strip() for t in pages):
        raise KzqaError(f"{p}: the PDF has no extractable text (scanned images need OCR first)")
    return "\f".join(pages)


def _pages_text(p: Path, reader) -> list[str]:
    """Every page's text, within the bounds above: each page's content streams are measured
    before its text is extracted, and the clock is read between pages."""
    started = time.monotonic()
    total = 0
    out = []
    for number, page in enumerate(reader.pages, 1):
        size = _content_size(page)
        total += size
        if size > MAX_PDF_PAGE_CONTENT:
            raise KzqaError(
                f"{p}: page {number} of the PDF holds {size / 1e6:.1f} MB of drawing instructions "
                f"(the limit is {MAX_PDF_PAGE_CONTENT / 2**20:.0f} MB a page); it is not a text report"
            )
        if total > MAX_PDF_TOTAL_CONTENT:
            raise KzqaError(
                f"{p}: the PDF's pages hold over {MAX_PDF_TOTAL_CONTENT / 2**20:.0f} MB of drawing instructions "
                f"(by page {number}); it is not a text report"
            )
        out.append(_page_text(page))
        if time.monotonic() - started > MAX_PDF_SECONDS:
            raise KzqaError(f"{p}: reading the PDF's text took over {MAX_PDF_SECONDS:.0f} s (stopped at page {number}); it is not a text report")
    return out


def _content_size(page) -> int:
    """Bytes of the page's decoded content streams (what text extraction has to interpret)."""
    contents = page.get_contents()
    if contents is None:
        return 0
    return len(contents.get_data())


def _page_text(page) -> str:
    """One page's text with its line layout: layout mode keeps the vertical gaps between
    paragraphs as blank lines (plain mode loses them); fall back to plain mode if it fails."""
    text = ""
    with contextlib.suppress(Exception):
        text = page.extract_text(extraction_mode="layout") or ""
    if not text.strip():
        text = page.extract_text() or ""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if not line.strip():
            if out and out[-1] != "":
                out.append("")  # a run of blank lines (a vertical gap) is one paragraph break
            continue
        out.append(_unindent(line))
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out).replace("\f", "")


def _unindent(line: str) -> str:
    """Layout mode reproduces horizontal positions with spaces: keep at most one leading space
    (a page's first line often has one in the State Department's text) and no wide gaps inside
    a line other than the two spaces after a sentence."""
    body = line.lstrip(" ")
    lead = " " if len(line) - len(body) == 1 else ""
    return lead + re.sub(r" {3,}", "  ", body)


def _short(exc: Exception, limit: int = 120) -> str:
    text = " ".join(str(exc).split()) or "no details"
    return text if len(text) <= limit else text[: limit - 3] + "..."
