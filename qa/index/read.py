"""Reading an index back: the manifest and every row in one read transaction (so one build or
the next, never a mix, and never stopped by a build in progress), each row checked against its
sha256 and the encoder file against the manifest; and whether an intact index is stale (built from
other text, by another kzqa, model or settings)."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np

from .. import __version__
from ..document import Report, default_report_path
from ..errors import Fix, IndexDamaged, KzqaError
from .chunking import Chunk, ChunkingParams
from .format import (
    APPLICATION_ID, FORMAT_VERSION, LEXICAL_SETTINGS, VECTOR_KINDS, Manifest, chunk_from_json, manifest_problem, typed_from_json,
    report_from_json, sha256_bytes, sha256_file,
)
from .naming import IndexLocation, check_root
from ..represent.typed import typed_fingerprint

READ_TIMEOUT_S = 60.0  # how long a reader waits for a build to finish committing


def model_fingerprint() -> dict:
    """The encoder's fingerprint (qa/represent/encoder.py): an index built with another is stale."""
    from ..represent.encoder import ENCODER

    return ENCODER.fingerprint()


# ---------------------------------------------------------------- serialisation


# ---------------------------------------------------------------- the database

class IndexIncomplete(IndexDamaged):
    """The index file is there but holds no finished build (its first build was killed)."""


class IndexMisnamed(IndexDamaged):
    """The index file holds another index: its name is not the one recorded inside it (a copy, or
    a renamed file). Never served under the wrong name, nor replaced without --rebuild (it may
    be the only copy of the index it holds)."""

    def __init__(self, message: str, inner: str) -> None:
        super().__init__(message)
        self.inner = inner


def _read_only_connection(path: Path, timeout: float = READ_TIMEOUT_S) -> sqlite3.Connection:
    """A connection that only reads, but that may undo what a killed build left in the journal
    when the file and its folder can be written (SQLite does that on opening); else read-only."""
    # (never through a symbolic link: undoing a journal writes the file it points to)
    writable = not path.is_symlink() and os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)
    mode = "rw" if writable else "ro"
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode={mode}", uri=True, timeout=timeout, isolation_level=None, check_same_thread=False)
    if writable:
        conn.execute("PRAGMA query_only = 1")
    return conn


def short_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc)
    return text if text and len(text) < 100 else exc.__class__.__name__


@contextlib.contextmanager
def _reading(loc: IndexLocation) -> Iterator[sqlite3.Connection | None]:
    """A read transaction on the index's database (None when there is no database file).
    What cannot be opened or read is IndexDamaged, with the reason."""
    check_root(loc.root)
    path = loc.path
    if path.is_dir():
        raise KzqaError(f"index path {path} exists but is a folder, not an index file")
    if not path.exists():
        if path.is_symlink():
            raise IndexDamaged(f"index file {path} is a symbolic link to nothing")
        yield None
        return
    if not os.access(path, os.R_OK):
        raise IndexDamaged(f"index file {path} is unreadable (Permission denied)")
    try:
        conn = _read_only_connection(path)
    except sqlite3.Error as exc:
        raise IndexDamaged(f"index file {path} is unreadable ({short_reason(exc)})") from None
    try:
        try:
            conn.execute("BEGIN")
        except sqlite3.OperationalError as exc:
            raise _read_error(path, exc) from None
        yield conn
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("COMMIT")
        conn.close()


def _read_error(path: Path, exc: sqlite3.Error) -> KzqaError:
    text = str(exc)
    if "locked" in text:
        return KzqaError(f"index file {path} is locked by a build that is writing it (waited {READ_TIMEOUT_S:.0f} s); try again")
    if "readonly" in text or "read-only" in text:
        return IndexDamaged(f"index file {path} needs a build's unfinished changes undone, and its folder cannot be written")
    return IndexDamaged(f"index file {path} is unreadable ({short_reason(exc)})")


def _format_of(conn: sqlite3.Connection, path: Path) -> int | None:
    """The index format of an open database; None for an empty one (a first build that did not
    finish); IndexDamaged for a file that is not a kzqa index."""
    try:
        app, version = conn.execute("PRAGMA application_id").fetchone()[0], conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as exc:
        raise _read_error(path, exc) from None
    if not tables and app == 0 and version == 0:
        return None
    if app != APPLICATION_ID:
        raise IndexDamaged(f"index file {path} is not a kzqa index")
    return version


def _manifest_row(conn: sqlite3.Connection, path: Path) -> dict | None:
    try:
        row = conn.execute("SELECT json FROM manifest WHERE id = 1").fetchone()
    except sqlite3.Error as exc:
        raise _read_error(path, exc) from None
    if row is None:
        return None
    try:
        data = json.loads(row[0])
    except (TypeError, ValueError, RecursionError):
        raise IndexDamaged(f"index manifest in {path} is unreadable (not JSON)") from None
    if not isinstance(data, dict):
        raise IndexDamaged(f"index manifest in {path} is incomplete (not an object)")
    return data


def read_manifest(loc: IndexLocation) -> Manifest | None:
    """None when there is no finished index; IndexDamaged when there is one that cannot be read.
    A manifest from a newer kzqa comes back as it is (see newer_format)."""
    with _reading(loc) as conn:
        if conn is None:
            return None
        return manifest_in(conn, loc)


def manifest_in(conn: sqlite3.Connection, loc: IndexLocation) -> Manifest | None:
    version = _format_of(conn, loc.path)
    if version is None:
        return None
    data = _manifest_row(conn, loc.path)
    if data is None:
        return None
    if version > FORMAT_VERSION:
        return Manifest({**data, "format_version": version})
    problem = manifest_problem(data)
    if problem:
        raise IndexDamaged(f"index manifest in {loc.path} is incomplete ({problem})")
    if data["name"] != loc.name:
        raise IndexMisnamed(
            f"index file {loc.path} holds the index {data['name'][:120]!r}, not {loc.name!r} (copied or renamed?)", data["name"]
        )
    return Manifest(data)


def own_params(manifest: Manifest, params: ChunkingParams | None = None) -> ChunkingParams:
    """The chunking an index should have: the caller's for the shipped report, its own for others."""
    if manifest.data["corpus"].get("source") == "package":
        return params or ChunkingParams()
    return ChunkingParams(**manifest.data["chunking"])


def newer_format(manifest: Manifest) -> bool:
    return manifest.data["format_version"] > FORMAT_VERSION


def manifest_source(manifest: Manifest) -> Path | None:
    src = manifest.data["corpus"].get("source")
    if src == "package":
        return default_report_path()
    return Path(src) if isinstance(src, str) and src else None


def source_digest(path: Path | None) -> str | None:
    """The sha256 of a report file as it is now; None when it cannot be read (an unreadable source
    is no reason to throw away a working index)."""
    if path is None:
        return None
    try:
        return sha256_file(path) if path.is_file() else None
    except OSError:
        return None


def stale_reasons(manifest: Manifest, params: ChunkingParams, source_sha256: str | None = None, source: Path | None = None) -> list[str]:
    """Why an intact index no longer matches what a build would produce now (empty: fresh).
    `source_sha256` is the hash of the report bytes a build would read; by default, of the file
    the manifest names, as it is now."""
    m = manifest.data
    reasons = []
    if m["format_version"] > FORMAT_VERSION:
        reasons.append(f"index format {m['format_version']} is from a newer kzqa (this kzqa reads format {FORMAT_VERSION})")
    elif m["format_version"] != FORMAT_VERSION:
        reasons.append(f"index format {m['format_version']} (this kzqa uses {FORMAT_VERSION})")
    if m["package_version"] != __version__:
        reasons.append(f"built by kzqa {m['package_version']} (this is {__version__})")
    if m["model"] != model_fingerprint():
        reasons.append("embedding model changed")
    if m.get("typed") != typed_fingerprint():
        reasons.append("typed spans are made differently")
    if m["chunking"] != params.as_dict():
        reasons.append("chunking parameters changed")
    if m["lexical"] != LEXICAL_SETTINGS:
        reasons.append("lexical settings changed")
    src = source or manifest_source(manifest)
    digest = source_sha256 if source_sha256 is not None else source_digest(src)
    if digest is not None and digest != m["corpus"]["sha256"]:
        reasons.append(f"report text changed ({src.name if src else 'source'})")
    return reasons


# ---------------------------------------------------------------- load

@dataclass
class StoredIndex:
    """Everything read back from an index, in one read transaction, checked."""

    location: IndexLocation
    manifest: Manifest
    report: Report
    chunks: list[Chunk]
    tokens: list[list[str]]
    sentence_tokens: list[list[list[str]]]
    vectors: np.ndarray
    sentence_vectors: np.ndarray
    encoder: object = None  # models.EncoderFile: the verified encoder file, held open
    token_vectors: np.ndarray | None = None  # float16, every sentence's content pieces (qa/represent/late.py)
    token_offsets: np.ndarray | None = None  # int64, sentence i's pieces are [offsets[i], offsets[i + 1])
    typed: list[list] | None = None  # each sentence's typed spans, in sentence order (qa/represent/typed.py)

    @property
    def onnx_path(self) -> Path:
        """The encoder file to open: the one held open since it was verified (through /proc on
        Linux, so a rebuild that replaces or removes the file cannot change what is read)."""
        held = self.encoder.fd_path
        return Path(held) if held else self.encoder.path


def sqlite_intact(conn: sqlite3.Connection) -> bool:
    """Whether SQLite's own check of every page (PRAGMA quick_check, a few ms) passes: the rows'
    checksums cannot see damage on a page no row is read from (an index b-tree, the free list)."""
    try:
        return conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]
    except sqlite3.DatabaseError:
        return False


def read_rows(conn: sqlite3.Connection, loc: IndexLocation, manifest: Manifest) -> tuple:
    """The report, chunks and vectors of the open transaction, each row checked against its hash,
    and the file's pages checked by SQLite."""
    where = loc.path
    try:
        report_row = conn.execute("SELECT json, sha256 FROM report WHERE id = 1").fetchone()
        chunk_rows = conn.execute("SELECT pos, json, sha256 FROM chunks ORDER BY pos").fetchall()
        vector_rows = {r[0]: r[1:] for r in conn.execute("SELECT kind, rows, dim, data, sha256 FROM vectors")}
    except sqlite3.Error as exc:
        raise _read_error(where, exc) from None
    if report_row is None:
        raise IndexDamaged(f"index file {where} has no report")
    if sha256_bytes(report_row[0]) != report_row[1]:
        raise IndexDamaged(f"index file {where}: the report does not match its checksum")
    for pos, (n, text, digest) in enumerate(chunk_rows):
        if n != pos or sha256_bytes(text) != digest:
            raise IndexDamaged(f"index file {where}: chunk {pos} does not match its checksum")
    arrays = {}
    for kind, dtype in VECTOR_KINDS.items():
        if kind not in vector_rows:
            raise IndexDamaged(f"index file {where} has no {kind} vectors")
        rows, dim, data, digest = vector_rows[kind]
        width = np.dtype(dtype).itemsize
        if not isinstance(data, bytes) or sha256_bytes(data) != digest or len(data) != rows * dim * width:
            raise IndexDamaged(f"index file {where}: the {kind} vectors do not match their checksum")
        arrays[kind] = np.frombuffer(data, dtype=dtype).reshape(rows, dim)
    if not sqlite_intact(conn):
        raise IndexDamaged(f"index file {where} is damaged (SQLite's page check fails)")
    counts = manifest.data["counts"]
    if len(chunk_rows) != counts["chunks"]:
        raise IndexDamaged(f"index file {where} holds {len(chunk_rows)} chunks, its manifest says {counts['chunks']}")
    try:
        report = report_from_json(json.loads(report_row[0]))
        docs = [json.loads(text) for _, text, _ in chunk_rows]
        pairs = [chunk_from_json(d) for d in docs]
        typed = [spans for d, (c, _, _) in zip(docs, pairs) for spans in typed_from_json(d, len(c.sentences))]
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise IndexDamaged(f"index file {where} is unreadable ({exc.__class__.__name__})") from None
    n_sentences = sum(len(c.sentences) for c, _, _ in pairs)
    if arrays["chunks"].shape[0] != len(pairs) or arrays["sentences"].shape[0] != n_sentences:
        raise IndexDamaged(f"index vectors do not match the chunks in {where}")
    offsets = arrays["token_offsets"].reshape(-1)
    if (
        offsets.shape[0] != n_sentences + 1 or (offsets.size and offsets[0] != 0)
        or np.any(np.diff(offsets) < 0) or offsets[-1] != arrays["tokens"].shape[0]
    ):
        raise IndexDamaged(f"index token vectors do not match the sentences in {where}")
    return report, pairs, arrays["chunks"], arrays["sentences"], arrays["tokens"], offsets, typed


def read_index(loc: IndexLocation, manifest: Manifest | None = None) -> StoredIndex:
    """Load an index: manifest and rows from one read transaction (one build, never a mix), every
    row and the encoder file checked. `manifest`, if given, is only what the caller saw before:
    the index read is whatever build is there now."""
    from .encoder_files import open_encoder

    with _reading(loc) as conn:
        if conn is None:
            raise IndexDamaged(f"index file {loc.path} is missing")
        current = manifest_in(conn, loc)
        if current is None:
            raise IndexIncomplete(f"index file {loc.path} has no finished build")
        if newer_format(current):
            raise _newer_error(loc, current)
        report, pairs, vectors, sentence_vectors, token_vectors, token_offsets, typed = read_rows(conn, loc, current)
    encoder = open_encoder(loc.root, current.data["encoder"]["key"], current.data["encoder"]["sha256"])
    return StoredIndex(
        loc, current, report,
        chunks=[c for c, _, _ in pairs], tokens=[t for _, t, _ in pairs], sentence_tokens=[st for _, _, st in pairs],
        vectors=vectors, sentence_vectors=sentence_vectors, encoder=encoder,
        token_vectors=token_vectors, token_offsets=token_offsets, typed=typed,
    )


def verify_index(loc: IndexLocation) -> Manifest:
    """Check an index the way loading it would (rows and encoder), without keeping it."""
    stored = read_index(loc)
    stored.encoder.close()
    return stored.manifest


def _newer_error(loc: IndexLocation, manifest: Manifest) -> KzqaError:
    return KzqaError(
        f"index {loc.name!r} was built by a newer kzqa (format {manifest.data['format_version']}; this kzqa "
        f"reads format {FORMAT_VERSION})", Fix.UPGRADE, loc.name,
    )


# ---------------------------------------------------------------- listing


def legacy_manifest(loc: IndexLocation) -> dict | None:
    """The manifest of a kzqa 0.1.0 index folder of this name (format 1), if there is one."""
    path = loc.legacy_folder / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None
