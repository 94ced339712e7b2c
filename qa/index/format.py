"""The index format, shared by the writer (qa/index/write.py) and the readers (read.py, open.py,
listing.py) so that neither reaches into the other: the schema, the manifest and its checks, and
how reports and chunks become JSON rows.

Layout of an index root:
    <name>.sqlite        one index: its manifest, the parsed report, the chunks (with their
                         tokens) and the vectors, in one SQLite database (standard library)
    models/              model files, once per model for every index of the root (qa/index/encoder_files.py)

Everything an index holds is written by one SQLite transaction (qa/index/write.py), so a build killed
at any moment, or failing at any step (a full disk included), leaves the previous index exactly
as it was and nothing else behind: SQLite's journal undoes an unfinished transaction the next
time the file is opened. There are no data folders, temporary manifests or lock files to tidy
(only a file whose pages are damaged, which cannot be rewritten in place, gets its replacement
written beside it and renamed over it: `.<name>.sqlite.<pid>.<random>.tmp`).
The build's write transaction is also its lock: a second build of the same index waits for it
(and says so), then finds the index it wanted already built. Readers read in one transaction, so
they see one build or the next, never a mix: a server can keep serving an index while another
process rebuilds it, and can tell that it changed from the manifest's build id.

Every row carries the sha256 of its content (report, each chunk, each vector table) and the
manifest names the encoder file by its sha256; all are checked before an index is served, with
SQLite's own page check (PRAGMA quick_check) and the name the manifest records (it must be the
file's). The
manifest records the sha256 of the very bytes of the report that were parsed (qa/ingest/sources.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..document import Paragraph, Report, Section, Sentence
from .chunking import Chunk, ChunkingParams


FORMAT_VERSION = 5  # 3: sentence token vectors for late interaction; 4: country, year, layout; no page where the source has none; 5: typed spans of every sentence


APPLICATION_ID = 0x6B7A7161  # "kzqa": marks the SQLite files kzqa wrote


SHA_RE = re.compile(r"^[0-9a-f]{64}$")  # how a sha256 is written (encoder files are named by theirs)


LEXICAL_SETTINGS = {"variant": "lucene", "stem": True, "stop_words": True, "k1": 1.2, "b": 0.75}


# the vectors table's kinds and how their BLOBs are laid out
VECTOR_KINDS = {"chunks": "<f4", "sentences": "<f4", "tokens": "<f2", "token_offsets": "<i8"}


SCHEMA = """
CREATE TABLE manifest (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
CREATE TABLE report (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL, sha256 TEXT NOT NULL);
CREATE TABLE chunks (pos INTEGER PRIMARY KEY, id TEXT NOT NULL, json TEXT NOT NULL, sha256 TEXT NOT NULL, sentences INTEGER NOT NULL);
CREATE TABLE vectors (kind TEXT PRIMARY KEY, rows INTEGER NOT NULL, dim INTEGER NOT NULL, data BLOB NOT NULL, sha256 TEXT NOT NULL);
"""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


@dataclass
class Manifest:
    """What an index was built from and how (the `manifest` row, as a dict)."""

    data: dict

    @property
    def build_id(self) -> str:
        return self.data["build_id"]

    def __getitem__(self, key):
        return self.data[key]


def report_to_json(report: Report) -> dict:
    return {
        "title": report.title,
        "page_count": report.page_count,
        "sha256": report.sha256,
        "structured": report.structured,
        "country": report.country,
        "year": report.year,
        "layout": report.layout,
        "sections": [
            {
                "id": s.id,
                "number": s.number,
                "title": s.title,
                "level": s.level,
                "headings": s.headings,
                "page": s.page,
                "paragraphs": [
                    {"page_start": p.page_start, "page_end": p.page_end, "sentences": [[x.text, x.page] for x in p.sentences]}
                    for p in s.paragraphs
                ],
            }
            for s in report.sections
        ],
    }


def report_from_json(d: dict) -> Report:
    sections = []
    for s in d["sections"]:
        paragraphs = []
        for p in s["paragraphs"]:
            sentences = [Sentence(t, _page(pg)) for t, pg in p["sentences"]]
            paragraphs.append(Paragraph(" ".join(x.text for x in sentences), sentences, p["page_start"], p["page_end"]))
        sections.append(Section(s["id"], s["number"], s["title"], s["level"], list(s["headings"]), paragraphs, _page(s["page"])))
    return Report(
        d["title"], sections, _page(d["page_count"]), d["sha256"], d["structured"],
        country=d.get("country"), year=d.get("year"), layout=d.get("layout", "pdf-text"),
    )


def _page(value) -> int | None:
    """A page number as stored (None: the source has no printed pages)."""
    return None if value is None else int(value)


def chunk_to_json(chunk: Chunk, tokens: list[str], sentence_tokens: list[list[str]], typed: list[list] | None = None) -> dict:
    return {
        "id": chunk.id,
        "section": chunk.section,
        "section_id": chunk.section_id,
        "headings": chunk.headings,
        "sentences": [[s.text, s.page] for s in chunk.sentences],
        "paragraph_breaks": chunk.paragraph_breaks,
        "tokens": tokens,
        "sentence_tokens": sentence_tokens,
        "typed": typed if typed is not None else [[] for _ in chunk.sentences],  # qa/represent/typed.py
    }


def typed_from_json(d: dict, sentences: int) -> list[list]:
    """A chunk row's typed spans, one list per sentence: [start, end, kind, role(, counted)]."""
    typed = d.get("typed")
    if not isinstance(typed, list) or len(typed) != sentences:
        raise ValueError("typed spans do not match the sentences")
    for spans in typed:
        if not isinstance(spans, list) or not all(
            isinstance(x, list) and len(x) >= 4 and is_int(x[0]) and is_int(x[1]) and isinstance(x[2], str) for x in spans
        ):
            raise ValueError("a typed span is malformed")
    return typed


def chunk_from_json(d: dict) -> tuple[Chunk, list[str], list[list[str]]]:
    chunk = Chunk(
        d["id"], d["section"], d["section_id"], list(d["headings"]),
        [Sentence(t, _page(p)) for t, p in d["sentences"]], list(d["paragraph_breaks"]),
    )
    return chunk, list(d["tokens"]), [list(t) for t in d["sentence_tokens"]]


def dumps(obj) -> str:
    """A row's JSON. A report file's name that is not UTF-8 (lone surrogates in its path) is kept
    as JSON escapes, so the row can be stored and the path read back exactly."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, ensure_ascii=True, separators=(",", ":"))
    return text


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def manifest_problem(data: dict) -> str | None:
    """What makes a parsed manifest unusable (None: nothing). Every field kzqa reads is checked
    for its type here; whether it matches this kzqa is stale_reasons' business."""
    str_fields = ("name", "package_version", "created_at", "build_id")
    dict_fields = ("corpus", "model", "chunking", "lexical", "counts", "encoder")
    missing = [k for k in ("format_version", *str_fields, *dict_fields) if k not in data]
    if missing:
        return "no " + ", ".join(missing)
    if not is_int(data["format_version"]):
        return "bad format_version"
    for key in str_fields:
        if not isinstance(data[key], str):
            return f"bad {key}"
    for key in dict_fields:
        if not isinstance(data[key], dict):
            return f"bad {key}"
    corpus = data["corpus"]
    for key, ok in (("source", str), ("kind", str), ("sha256", str), ("title", str), ("structured", bool)):
        if not isinstance(corpus.get(key), ok):
            return f"bad corpus.{key}"
    if corpus.get("page_count") is not None and not is_int(corpus.get("page_count")):
        return "bad corpus.page_count"
    if corpus.get("year") is not None and not is_int(corpus.get("year")):
        return "bad corpus.year"
    for key in ("country", "layout", "label"):
        if corpus.get(key) is not None and not isinstance(corpus.get(key), str):
            return f"bad corpus.{key}"
    if not all(is_int(data["counts"].get(k)) for k in ("sections", "chunks", "sentences")):
        return "bad counts"
    fields = set(ChunkingParams().as_dict())
    chunking = data["chunking"]
    if set(chunking) != fields or not all(is_int(v) and v > 0 for v in chunking.values()):
        return "bad chunking"
    encoder = data["encoder"]
    if not isinstance(encoder.get("key"), str) or not isinstance(encoder.get("sha256"), str):
        return "bad encoder"
    if not SHA_RE.match(encoder["sha256"]) or "/" in encoder["key"] or encoder["key"].startswith("."):
        return "bad encoder"
    if not isinstance(data["model"].get("name"), str):
        return "bad model"
    return None


SUFFIX = ".sqlite"
