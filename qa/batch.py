"""Reading batch question files: plain text (one question a line) or JSONL ({"question", "id"}).

Each non-blank line is one item; its 1-based line number is its id unless it gives one (a JSON
"id" that is a string or a whole number; null or a missing id means the line number; any other
value is used as its JSON text). A line starting with "{" is read as JSON; any other line is a
question as it stands. A line that cannot be read (bad UTF-8, malformed JSON, not an object, no
"question", a "question" that is not text) becomes an item with an error naming its line, and the
run goes on with the others. Blank lines are skipped (they still count for line numbers). A file
that is empty, has only blank lines, or looks binary is an error as a whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import KzqaError

MAX_BATCH_BYTES = 50 * 1024 * 1024


@dataclass
class BatchItem:
    line: int
    id: str | int
    question: str | None
    error: str | None = None


def parse_batch_bytes(data: bytes) -> list[BatchItem]:
    items: list[BatchItem] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for n, raw in enumerate(data.splitlines(), 1):
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
                items.append(BatchItem(n, n, None, f"line {n}: malformed JSON ({exc.msg} at column {exc.colno})"))
                continue
            if not isinstance(obj, dict):
                items.append(BatchItem(n, n, None, f"line {n}: a JSON line must be an object"))
                continue
            item_id = obj.get("id")
            if item_id is None:
                item_id = n
            elif not isinstance(item_id, (str, int)) or isinstance(item_id, bool):
                item_id = json.dumps(item_id, ensure_ascii=False)
            question = obj.get("question")
            if not isinstance(question, str):
                what = "has no \"question\"" if question is None else "has a \"question\" that is not text"
                items.append(BatchItem(n, item_id, None, f"line {n}: {what}"))
                continue
            items.append(BatchItem(n, item_id, question))
        else:
            items.append(BatchItem(n, n, line.strip()))
    return items


def check_batch_bytes(data: bytes, what: str) -> None:
    """Whole-file problems: nothing to ask, or not text at all."""
    if b"\x00" in data[:4096] or data.startswith(b"%PDF"):
        raise KzqaError(f"{what} looks like a binary file; give text with one question a line, or JSONL")
    if not data.removeprefix(b"\xef\xbb\xbf").strip():
        raise KzqaError(f"{what} has no questions (it is empty)")


def read_batch_bytes(data: bytes, what: str = "the input") -> list[BatchItem]:
    if len(data) > MAX_BATCH_BYTES:
        raise KzqaError(f"{what} is too large ({len(data)} bytes; limit {MAX_BATCH_BYTES})")
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
