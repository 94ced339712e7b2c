"""Reading a report file: extracted text as it is, or a PDF through pypdf (pages joined by form
feeds, which the parser reads as page breaks)."""

from __future__ import annotations

from pathlib import Path

from .errors import KzqaError


def read_source(path: str | Path) -> tuple[str, str]:
    """(text, kind) where kind is "text" or "pdf"."""
    p = Path(path)
    try:
        head = p.read_bytes()[:5] if p.stat().st_size else b""
    except OSError as exc:
        raise KzqaError(f"cannot read {p}: {exc.strerror or exc}") from None
    if head.startswith(b"%PDF"):
        return _read_pdf(p), "pdf"
    raw = p.read_bytes()
    if not raw.strip():
        raise KzqaError(f"{p}: the file is empty")
    if b"\x00" in raw[:4096]:
        raise KzqaError(f"{p}: looks like a binary file, not report text or a PDF")
    try:
        return raw.decode("utf-8-sig"), "text"
    except UnicodeDecodeError as exc:
        raise KzqaError(f"{p}: not UTF-8 text (bad byte at offset {exc.start}); give UTF-8 text or a PDF") from None


def _read_pdf(p: Path) -> str:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError:  # pragma: no cover
        raise KzqaError("reading PDFs needs pypdf (pip install pypdf)") from None
    try:
        reader = PdfReader(str(p))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise KzqaError(f"{p}: cannot read this PDF ({exc.__class__.__name__}: {exc})") from None
    if not any(t.strip() for t in pages):
        raise KzqaError(f"{p}: the PDF has no extractable text (scanned images need OCR first)")
    return "\f".join(pages)
