"""Reading a report file: extracted text as it is, or a PDF through pypdf (pages joined by form
feeds, which the parser reads as page breaks).

Every way a file can be unusable (missing, a folder or a device, empty, binary, not UTF-8, a broken
or encrypted PDF, a PDF of scanned images) ends in a KzqaError with a one-line reason.
"""

from __future__ import annotations

import contextlib
import logging
import re
import stat
from pathlib import Path

from .errors import KzqaError

MAX_SOURCE_BYTES = 200 * 1024 * 1024


def read_source(path: str | Path) -> tuple[str, str]:
    """(text, kind) where kind is "text" or "pdf"."""
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
        raw = p.read_bytes()
    except OSError as exc:
        raise KzqaError(f"cannot read {p}: {exc.strerror or exc}") from None
    if raw.startswith(b"%PDF") or raw[:1024].lstrip().startswith(b"%PDF"):
        return _read_pdf(p), "pdf"
    if not raw.strip():
        raise KzqaError(f"{p}: the file is empty")
    return _decode_text(p, raw), "text"


def _decode_text(p: Path, raw: bytes) -> str:
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if raw.startswith(bom):
            try:
                return raw[len(bom):].decode(codec)
            except UnicodeDecodeError:
                raise KzqaError(f"{p}: broken UTF-16 text") from None
    if b"\x00" in raw[:4096]:
        raise KzqaError(f"{p}: looks like a binary file, not report text or a PDF")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KzqaError(f"{p}: not UTF-8 text (bad byte at offset {exc.start}); give UTF-8 text or a PDF") from None
    if not any(ch.isalpha() for ch in text):
        raise KzqaError(f"{p}: has no words to index")
    return text


def _read_pdf(p: Path) -> str:
    try:
        from pypdf import PdfReader
    except ImportError:  # pragma: no cover
        raise KzqaError("reading PDFs needs pypdf (pip install pypdf)") from None
    # pypdf logs warnings about repairable damage on stderr; a failure is reported below instead
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR + 10)
    try:
        reader = PdfReader(str(p))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception:  # noqa: BLE001 - e.g. AES without the cryptography package
                ok = 0
            if not ok:
                raise KzqaError(f"{p}: the PDF is encrypted; give a decrypted copy")
        pages = [_page_text(page) for page in reader.pages]
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
