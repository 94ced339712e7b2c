"""Reading batch question files: plain text (one question a line) or JSONL ({"question", "id"}).

Each non-blank line is one item; its 1-based line number is its id unless it gives one (a JSON
"id" that is a string or a whole number; null or a missing id means the line number; any other
value is used as its JSON text). A line starting with "{" is read as JSON; any other line is a
question as it stands. A line that cannot be read (bad UTF-8, malformed JSON, not an object, no
"question", a "question" that is not text) becomes an item with an error naming its line, and the
run goes on with the others; so does a line whose JSON is too deep or has a number too long to
read, or whose id is not valid text. Blank lines are skipped (they still count for line numbers).
A byte-order mark is dropped wherever a line starts with one (files joined with `cat`). A file in
UTF-16 (with its byte-order mark) is read as such. A file that is empty, has only blank lines, or
looks binary is an error as a whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import KzqaError
from ..settings import MAX_BATCH_BYTES, MAX_ID_CHARS


@dataclass
class BatchItem:
    line: int
    id: str | int
    question: str | None
    error: str | None = None


BOM = b"\xef\xbb\xbf"


def json_error(exc: json.JSONDecodeError) -> str:
    """What is wrong with a JSON text, as a phrase: json's own message names the place with a
    trailing "at" in some cases ("Unterminated string starting at"), not in others."""
    return f"{exc.msg.removesuffix(' at')} at column {exc.colno}"


def _has_surrogates(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def parse_batch_bytes(data: bytes) -> list[BatchItem]:
    items: list[BatchItem] = []
    for n, raw in enumerate(data.splitlines(), 1):
        while raw.startswith(BOM):
            raw = raw[3:]
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            items.append(BatchItem(n, n, None, f"line {n}: not UTF-8 text (bad byte at column {exc.start + 1})"))
            continue
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                items.append(BatchItem(n, n, None, f"line {n}: malformed JSON ({json_error(exc)})"))
                continue
            except RecursionError:
                items.append(BatchItem(n, n, None, f"line {n}: malformed JSON (nested too deeply)"))
                continue
            except ValueError as exc:  # e.g. an integer of more than 4,300 digits
                items.append(BatchItem(n, n, None, f"line {n}: malformed JSON ({' '.join(str(exc).split())[:120]})"))
                continue
            if not isinstance(obj, dict):
                items.append(BatchItem(n, n, None, f"line {n}: a JSON line must be an object"))
                continue
            item_id = obj.get("id")
            if item_id is None:
                item_id = n
            elif not isinstance(item_id, (str, int)) or isinstance(item_id, bool):
                try:
                    item_id = json.dumps(item_id, ensure_ascii=False)
                except (ValueError, RecursionError):
                    item_id = n
            if isinstance(item_id, str) and _has_surrogates(item_id):
                item_id = json.dumps(item_id)  # kept as its escaped JSON text: it cannot be written as UTF-8
            if isinstance(item_id, str) and len(item_id) > MAX_ID_CHARS:
                item_id = item_id[: MAX_ID_CHARS - 1] + "…"
            elif isinstance(item_id, int) and len(str(abs(item_id))) > MAX_ID_CHARS:
                item_id = str(item_id)[: MAX_ID_CHARS - 1] + "…"
            question = obj.get("question")
            if not isinstance(question, str):
                what = "has no \"question\"" if question is None else "has a \"question\" that is not text"
                items.append(BatchItem(n, item_id, None, f"line {n}: {what}"))
                continue
            items.append(BatchItem(n, item_id, question))
        else:
            items.append(BatchItem(n, n, line.strip()))
    return items


def from_utf16(data: bytes, what: str) -> bytes:
    """UTF-16 text (marked by its byte-order mark) as UTF-8 bytes; anything else as it is."""
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(codec)
            except UnicodeDecodeError:
                raise KzqaError(f"{what} looks like a binary file (it starts like UTF-16 text but is not)") from None
            return text.encode("utf-8", "surrogatepass")
    return data


def check_batch_bytes(data: bytes, what: str) -> None:
    """Whole-file problems: nothing to ask, or not text at all."""
    if b"\x00" in data[:4096] or data.startswith(b"%PDF"):
        raise KzqaError(f"{what} looks like a binary file; give text with one question a line, or JSONL")
    if not data.removeprefix(b"\xef\xbb\xbf").strip():
        raise KzqaError(f"{what} has no questions (it is empty)")


def read_batch_bytes(data: bytes, what: str = "the input") -> list[BatchItem]:
    if len(data) > MAX_BATCH_BYTES:
        raise KzqaError(f"{what} is too large ({len(data)} bytes; limit {MAX_BATCH_BYTES})")
    data = from_utf16(data, what)
    check_batch_bytes(data, what)
    return parse_batch_bytes(data)


def read_batch_file(path: str | Path) -> list[BatchItem]:
    p = Path(path)
    try:
        if p.is_dir():
            raise KzqaError(f"{p} is a folder; give a file of questions")
        size = p.stat().st_size
        if size > MAX_BATCH_BYTES:
            raise KzqaError(f"{p} is too large ({size} bytes; limit {MAX_BATCH_BYTES})")
        with open(p, "rb") as f:  # bounded: a pipe or a device has no size to check first
            data = f.read(MAX_BATCH_BYTES + 1)
    except OSError as exc:
        raise KzqaError(f"cannot read {p}: {exc.strerror or exc}") from None
    return read_batch_bytes(data, str(p))


def duplicate_ids(items: list[BatchItem]) -> list[str | int]:
    seen: set = set()
    dups = []
    for item in items:
        key = str(item.id)
        if key in seen and item.id not in dups:
            dups.append(item.id)
        seen.add(key)
    return dups
