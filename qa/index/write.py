"""Building an index: report file -> parse -> chunk -> embed -> one SQLite transaction.

The report file is read once; the bytes hashed into the manifest are the bytes parsed. The
build's write transaction is opened before anything is computed and is the build lock: a second
build of the same index waits on it, then sees the index it wanted and does not build again.
Nothing reaches the database file until COMMIT; a build that fails or is killed before it leaves
the previous index as it was (SQLite's journal), and a first build that fails removes the empty
file it made. A file whose pages are damaged is not rewritten in place: the rows go to a new file
beside it, renamed over it while the lock is held (_target). Text that the previous build
embedded with the same model is not embedded again (looked up by the sha256 of the text, as
llm's embedding collections do).

Test hook (documented, tiny; qa/testhook.py): KZQA_TEST_PAUSE_AT=stage[,stage...][:seconds] makes a build print
"kzqa: test pause at <stage>" on stderr and sleep there (default: an hour, i.e. until killed), so
tests can kill a build, or change its source file, at a known point. Stages, in order: lock (the
write lock held, nothing written), embed (after the first batch of vectors), export (vectors done,
the encoder file about to be made or reused), write (the new rows half written, not committed),
commit (every row written, the transaction not yet committed), done (committed).

Why one file of ~620 lines: the build is one transaction (lock, interrupts, the writes, the
tidying of what a killed build left); split, its steps would share the open transaction's state.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .. import __version__
from ..document import default_report_path
from ..errors import Fix, IndexDamaged, KzqaError
from ..ingest.parse import parse_source
from .chunking import ChunkingParams, chunk_report
from .format import (
    APPLICATION_ID, FORMAT_VERSION, LEXICAL_SETTINGS, SCHEMA, VECTOR_KINDS, Manifest, chunk_from_json, chunk_to_json, dumps,
    SUFFIX, report_to_json, sha256_bytes, typed_from_json,
)
from .naming import DEFAULT_NAME, IndexLocation, check_root, fsync_folder, refuse_links, resolve_location
from ..represent.typed import typed_fingerprint
from .read import (
    IndexMisnamed,
    manifest_in,
    model_fingerprint,
    sqlite_intact,
    newer_format,
    read_manifest,
    read_rows,
    short_reason,
    stale_reasons,
    verify_index,
)

LOCK_TIMEOUT_S = 600.0  # how long a build waits for another build of the same index


Progress = Callable[[str, int, int], None]
EMBED_BATCH = 64  # texts per progress step
# texts per forward pass: torch's working memory grows with it (a 1 MB report peaked at 1.42 GB
# with 32, 0.91 GB with 8, in the same time: the texts are embedded in order of length)
MODEL_BATCH = 8


def _test_pause(stage: str) -> None:
    """The test hook described in the module docstring (qa/testhook.py)."""
    from ..testhook import test_pause

    test_pause(stage)


def _noop_progress(step: str, done: int, total: int) -> None:
    pass


@dataclass
class BuildResult:
    manifest: Manifest
    built: bool  # False when an up-to-date index was already there
    seconds: float = 0.0
    reasons: list[str] = field(default_factory=list)
    cleaned: list[str] = field(default_factory=list)  # what earlier builds left, removed (readable phrases)
    by_other: bool = False  # not built: another process built it while this one waited


def build_index(
    source: str | Path | None = None,
    index_dir: str | Path | None = None,
    name: str | None = None,
    params: ChunkingParams | None = None,
    rebuild: bool = False,
    progress: Progress | None = None,
    notify: Callable[[str], None] | None = None,
) -> BuildResult:
    """Build (or refresh) an index of `source` (default: the shipped report). Safe to interrupt.

    Without `rebuild`, an up-to-date index is left alone, an index of another file under the same
    name is not replaced, nor is one made by a newer kzqa. A build that had to wait for another
    one to finish does not build again if that one left an up-to-date index."""
    from ..ingest.sources import decode_source, read_source_bytes

    params = params or ChunkingParams()
    progress = progress or _noop_progress
    loc = resolve_location(index_dir, name)
    check_root(loc.root)
    src_path = _source_path(source, loc)
    read_path = src_path or default_report_path()
    started = time.perf_counter()
    raw = read_source_bytes(read_path)  # read once: these bytes are hashed, and parsed if a build is needed
    digest = sha256_bytes(raw)
    try:
        before = read_manifest(loc)
    except IndexDamaged:
        before = None
    if before is not None and not rebuild and not _journal(loc).exists():
        # the common case, an up-to-date index, needs no lock (nor a writable folder: `kzqa
        # index` on a read-only index just says it is up to date)
        moved = _check_replace(loc, before, src_path, rebuild, digest)
        with contextlib.suppress(IndexDamaged):
            if not moved and not stale_reasons(before, params, digest, read_path):
                verify_index(loc)
                return BuildResult(before, built=False, cleaned=_tidy(loc))
    with _writer(loc, notify) as w:
        _test_pause("lock")
        try:
            old = manifest_in(w.conn, loc)
        except IndexDamaged as exc:
            if "not a kzqa index" in str(exc):
                raise KzqaError(f"{loc.path} is an SQLite file that kzqa did not write", Fix.CLEAR, loc.name) from None
            if isinstance(exc, IndexMisnamed) and not rebuild:
                raise KzqaError(str(exc), Fix.REPLACE, loc.name) from None
            old = None
        if old is not None:
            moved = _check_replace(loc, old, src_path, rebuild, digest)
            fresh = False
            with contextlib.suppress(IndexDamaged):
                if not moved and not stale_reasons(old, params, digest, read_path):
                    read_rows(w.conn, loc, old)
                    verify_index_encoder(loc, old)
                    fresh = True
            by_other = fresh and w.waited and (before is None or before.build_id != old.build_id)
            if fresh and (not rebuild or by_other):
                return BuildResult(old, built=False, cleaned=w.tidied + _tidy(loc), by_other=by_other)
            if moved and notify:
                notify(f"index {loc.name!r} holds this very report text, read from {old.data['corpus']['source']}; "
                       f"now from {src_path} (its unchanged passages are not embedded again)")
        progress("parse", 0, 1)
        src = decode_source(read_path, raw)
        report = parse_source(src, read_path.stem if src_path else None)
        if not report.sections or not any(s.paragraphs for s in report.sections):
            raise KzqaError(f"{read_path}: no text found to index")
        progress("parse", 1, 1)
        manifest = _write(w, loc, report, src_path, src.kind, digest, params, progress, old)
    _test_pause("done")
    return BuildResult(manifest, built=True, seconds=time.perf_counter() - started, cleaned=w.tidied + _tidy(loc))


def verify_index_encoder(loc: IndexLocation, manifest: Manifest) -> None:
    from .encoder_files import check_encoder

    check_encoder(loc.root, manifest.data["encoder"]["key"], manifest.data["encoder"]["sha256"])


def _source_path(source: str | Path | None, loc: IndexLocation) -> Path | None:
    """The report file to index (None: the shipped one), checked before anything is locked."""
    if source is None:
        return None
    src = Path(source).expanduser()
    try:
        src = src.resolve()
    except (OSError, RuntimeError):
        pass
    if not src.exists():
        raise KzqaError(f"no such report file: {source}")
    if src.is_dir():
        raise KzqaError(f"{source} is a folder; give a report file (text or PDF)")
    if not src.is_file():
        raise KzqaError(f"{source} is not a regular file; give a report file (text or PDF)")
    with contextlib.suppress(OSError):
        if src.samefile(default_report_path()):
            return None  # the shipped report, however it was named
    if loc.name == DEFAULT_NAME:
        raise KzqaError(
            f"the index name {DEFAULT_NAME!r} is kept for the shipped report; give {source} another name", Fix.RENAME
        )
    return src


class AnotherReport(KzqaError):
    """The index of that name holds another report (another file, and other text)."""

    def __init__(self, message: str, name: str, shown: str) -> None:
        super().__init__(message, Fix.REPLACE, name)
        self.name, self.shown = name, shown


def _check_replace(loc: IndexLocation, old: Manifest, src_path: Path | None, rebuild: bool, digest: str) -> bool:
    """Refuse to replace, without --rebuild, an index of another report or one a newer kzqa made.
    True when the index holds the very bytes of `src_path` read from another file (a folder
    moved or copied): the same report, to be rebuilt from its new place, not refused."""
    if newer_format(old):
        if rebuild:
            return False
        raise KzqaError(
            f"index {loc.name!r} was built by a newer kzqa (format {old.data['format_version']}; this kzqa reads "
            f"format {FORMAT_VERSION})", Fix.UPGRADE, loc.name,
        )
    was = old.data["corpus"].get("source")
    now = "package" if src_path is None else str(src_path)
    if was == now:
        return False
    if src_path is not None and was != "package" and old.data["corpus"].get("sha256") == digest:
        return True
    if rebuild:
        return False
    shown = "the shipped report" if was == "package" else was
    raise AnotherReport(f"index {loc.name!r} holds another report ({shown})", loc.name, shown)


# ---------------------------------------------------------------- the write transaction

@dataclass
class _Writer:
    conn: sqlite3.Connection
    waited: bool = False
    tidied: list[str] = field(default_factory=list)
    intact: bool = True  # the file passes SQLite's quick_check: it can be rewritten in place


def _journal(loc: IndexLocation) -> Path:
    return loc.path.with_name(loc.path.name + "-journal")


@contextlib.contextmanager
def _interrupts_as_exceptions() -> Iterator[None]:
    """SIGTERM and SIGHUP end a build the way Ctrl-C does (an exception, so the transaction is
    rolled back and a first build's empty file removed), instead of killing it outright."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise KeyboardInterrupt

    saved = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError, OSError):
            saved[sig] = signal.signal(sig, stop)
    try:
        yield
    finally:
        for sig, handler in saved.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(sig, handler)


def _create(path: Path) -> bool:
    """Make an empty index file if there is none (True: this call made it). Never follows a
    symbolic link (refuse_links has refused one; O_NOFOLLOW closes the race)."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except FileExistsError:
        return False
    os.close(fd)
    return True


@contextlib.contextmanager
def _writer(loc: IndexLocation, notify: Callable[[str], None] | None, timeout: float = LOCK_TIMEOUT_S) -> Iterator[_Writer]:
    """The build's write transaction (BEGIN IMMEDIATE: one writer per index, readers go on).
    Waits for another build of the same index, saying so. The body commits (_write); any
    exception rolls back, and a file this build made that still holds no build is removed."""
    refuse_links(loc.root, loc.path)
    refuse_links(loc.root, _journal(loc))
    try:
        loc.root.mkdir(parents=True, exist_ok=True)
        journal_before = _journal(loc).exists()
        created = _create(loc.path)
        conn = sqlite3.connect(loc.path, timeout=0.2, isolation_level=None, check_same_thread=False)
        inode = os.stat(loc.path).st_ino
        if loc.path.is_symlink():  # made since the first check: the connection may be to its target
            conn.close()
            refuse_links(loc.root, loc.path)
    except (OSError, sqlite3.Error) as exc:
        raise KzqaError(f"cannot write index folder {loc.root}: {short_reason(exc)}") from None
    w = _Writer(conn)
    committed = False
    try:
        with _interrupts_as_exceptions():
            deadline = time.monotonic() + timeout
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise KzqaError(f"cannot write index {loc.name!r} in {loc.root}: {short_reason(exc)}") from None
                    if not w.waited and notify:
                        notify(f"another kzqa process is building index {loc.name!r}; waiting for it")
                    w.waited = True
                    if time.monotonic() > deadline:
                        raise KzqaError(f"index {loc.name!r} is locked by another build (gave up after {timeout:.0f} s)") from None
                except sqlite3.DatabaseError:
                    # not an SQLite file at all (zeroed, overwritten): nothing in it can be kept
                    conn.close()
                    conn = None
                    loc.path.unlink()
                    with _writer(loc, notify, timeout) as again:
                        yield again
                    committed = True
                    return
            # A build killed while writing its rows (before COMMIT synced anything) leaves a journal
            # that SQLite ignores (a hot one is rolled back by the next reader). One seen before the
            # lock was a live build's if this build had to wait for it (that build's commit removed
            # it); one seen only now is this transaction's own (SQLite makes one for an empty file).
            # This transaction takes a left-over one over, and SQLite deletes it when it ends.
            if journal_before and not w.waited and _journal(loc).exists():
                w.tidied.append("the journal of a build killed while writing")
            # A file whose pages are damaged cannot be rewritten in place (SQLite stops at the first
            # bad page: "database disk image is malformed"): the build then writes its
            # replacement beside it and renames it into place (_write).
            w.intact = sqlite_intact(conn)
            if w.tidied and w.intact:  # a write makes the transaction own the stale journal, so SQLite deletes it at the end
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                conn.execute(f"PRAGMA user_version = {int(version)}")
            if not loc.path.exists() or os.stat(loc.path).st_ino != inode:
                # the file this build waited on was removed (a failed first build): start again
                conn.execute("ROLLBACK")
                conn.close()
                conn = None
                with _writer(loc, notify, timeout) as again:
                    yield again
                committed = True
                return
            yield w
            committed = True  # the body ended normally: it committed, or found nothing to do
    except sqlite3.Error as exc:
        raise KzqaError(f"cannot write index {loc.name!r} in {loc.root}: {short_reason(exc)}") from None
    finally:
        if conn is not None:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            conn.close()
            if not committed and created:
                with contextlib.suppress(OSError, KzqaError, IndexDamaged):
                    if read_manifest(loc) is None and os.stat(loc.path).st_ino == inode:
                        loc.path.unlink()


_ENCODER: list = []


def _reference_encoder(factory):
    """The build encoder, loaded once per process (a process that builds several indexes, such
    as a test session or a library user, pays for loading the model once)."""
    if not _ENCODER:
        _ENCODER.append(factory())
    return _ENCODER[0]


def _cached_vectors(conn: sqlite3.Connection, old: Manifest | None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(sha256 of a text -> its vector, sha256 of a sentence -> its token vectors), from the
    previous build of this index when it used the same model: every chunk row that still matches
    its checksum, with its sentences (a damaged row costs only its own texts), as long as the
    vectors themselves verify."""
    if old is None or old.data.get("model") != model_fingerprint():
        return {}, {}
    try:
        rows = conn.execute("SELECT json, sha256, sentences FROM chunks ORDER BY pos").fetchall()
        arrays = {}
        for kind, n, dim, data, digest in conn.execute("SELECT kind, rows, dim, data, sha256 FROM vectors"):
            dtype = VECTOR_KINDS.get(kind)
            if dtype and isinstance(data, bytes) and sha256_bytes(data) == digest and len(data) == n * dim * np.dtype(dtype).itemsize:
                arrays[kind] = np.frombuffer(data, dtype=dtype).reshape(n, dim)
    except sqlite3.Error:
        return {}, {}
    if not {"chunks", "sentences"} <= set(arrays) or len(rows) != arrays["chunks"].shape[0]:
        return {}, {}
    n_sentences = sum(n for _, _, n in rows if isinstance(n, int))
    if n_sentences != arrays["sentences"].shape[0]:
        return {}, {}
    offsets = arrays["token_offsets"].reshape(-1) if "token_offsets" in arrays else None
    tokens_ok = offsets is not None and "tokens" in arrays and offsets.shape[0] == n_sentences + 1 and offsets[-1] == arrays["tokens"].shape[0]
    cache: dict[str, np.ndarray] = {}
    token_cache: dict[str, np.ndarray] = {}
    offset = 0
    for pos, (text, digest, n) in enumerate(rows):
        if sha256_bytes(text) == digest:
            with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
                chunk, _, _ = chunk_from_json(json.loads(text))
                if len(chunk.sentences) == n:
                    cache[sha256_bytes(chunk.index_text)] = arrays["chunks"][pos]
                    for i, sentence in enumerate(chunk.sentences):
                        key = sha256_bytes(sentence.text)
                        cache[key] = arrays["sentences"][offset + i]
                        if tokens_ok:
                            token_cache[key] = arrays["tokens"][offsets[offset + i] : offsets[offset + i + 1]]
        offset += n
    return cache, token_cache


def _write(w: _Writer, loc: IndexLocation, report, src_path, kind, digest, params, progress, old) -> Manifest:
    from ..represent.dense import ReferenceEncoder, count_tokens, export_onnx
    from ..represent.encoder import ENCODER
    from ..represent.lexical import tokenize
    from .encoder_files import ensure_encoder, model_key

    chunks = chunk_report(report, params, count_tokens)
    progress("chunk", 1, 1)
    lex = {"stem": LEXICAL_SETTINGS["stem"], "stop_words": LEXICAL_SETTINGS["stop_words"]}
    tokens = [tokenize(c.index_text, **lex) for c in chunks]
    sentence_tokens = [[tokenize(s.text, **lex) for s in c.sentences] for c in chunks]
    texts = [c.index_text for c in chunks] + [s.text for c in chunks for s in c.sentences]
    vectors = np.zeros((len(texts), ENCODER.dim), dtype=np.float32)
    cache, token_cache = _cached_vectors(w.conn, old)
    hashes = [sha256_bytes(t) for t in texts]
    # each distinct text is embedded once: a document that repeats itself (a page furniture line
    # on every page, 20,000 identical pages) costs what its distinct text costs
    first = {}
    for i, h in enumerate(hashes):
        first.setdefault(h, i)
    todo = sorted((i for h, i in first.items() if h not in cache), key=lambda i: len(texts[i]))
    if todo:
        progress("load model", 0, 1)
        encoder = _reference_encoder(ReferenceEncoder)
        progress("load model", 1, 1)
    for start in range(0, len(todo), EMBED_BATCH):
        batch = todo[start : start + EMBED_BATCH]
        for i, vector in zip(batch, encoder.encode([texts[i] for i in batch], batch_size=MODEL_BATCH)):
            cache[hashes[i]] = vector
        progress("embed", min(start + EMBED_BATCH, len(todo)), len(todo))
        if start == 0:
            _test_pause("embed")
    if not todo:
        progress("embed", len(texts), len(texts))
        _test_pause("embed")
    for i, h in enumerate(hashes):
        vectors[i] = cache[h]
    chunk_vectors, sentence_vectors = vectors[: len(chunks)], vectors[len(chunks) :]
    typed = _typed(w.conn, old, [s.text for c in chunks for s in c.sentences], progress)
    token_vectors, token_offsets = _token_vectors(texts[len(chunks) :], hashes[len(chunks) :], token_cache, encoder if todo else None, progress)

    _test_pause("export")
    progress("export encoder", 0, 1)
    fingerprint = model_fingerprint()
    key = model_key(fingerprint)
    encoder_sha = ensure_encoder(loc.root, key, export_onnx)
    progress("export encoder", 1, 1)

    manifest = {
        "format_version": FORMAT_VERSION,
        "name": loc.name,
        "package_version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "build_id": uuid.uuid4().hex,
        "corpus": {
            "source": "package" if src_path is None else str(src_path),
            "kind": kind,
            "sha256": digest,  # of the bytes that were parsed
            "title": report.title,
            "page_count": report.page_count,
            "structured": report.structured,
            "country": report.country,
            "year": report.year,
            "label": report.label,
            "layout": report.layout,
        },
        "model": fingerprint,
        "typed": typed_fingerprint(),
        "encoder": {"key": key, "sha256": encoder_sha},
        "chunking": params.as_dict(),
        "lexical": LEXICAL_SETTINGS,
        "counts": {
            "sections": len(report.sections),
            "chunks": len(chunks),
            "sentences": sum(len(c.sentences) for c in chunks),
        },
    }
    progress("write", 0, 1)
    with _target(w, loc) as conn:
        _store(conn, report, chunks, tokens, sentence_tokens, typed, chunk_vectors, sentence_vectors, token_vectors, token_offsets, manifest)
    progress("write", 1, 1)
    return Manifest(manifest)


def _temporary_path(loc: IndexLocation) -> Path:
    return loc.root / f".{loc.name}{SUFFIX}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"


TMP_INDEX_RE = re.compile(r"^\.(?P<name>.+)\.sqlite\.(?P<pid>\d+)\.[0-9a-f]+\.tmp(?:-journal)?$")


@contextlib.contextmanager
def _target(w: _Writer, loc: IndexLocation) -> Iterator[sqlite3.Connection]:
    """Where the rows go: the build's own write transaction on an intact file (the commit is
    the body's), or, on a damaged one, a new file beside it, committed, synced and renamed over
    it while the lock is held: readers see the old file or the new one, never a mix. The new
    file's name holds this process's id, so one a killed build left is known for what it is."""
    if w.intact:
        w.conn.execute("PRAGMA cache_size = -262144")  # 256 MB: the transaction stays in memory until COMMIT
        yield w.conn
        return
    tmp = _temporary_path(loc)
    refuse_links(loc.root, tmp)
    conn = None
    try:
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0), 0o644))
        conn = sqlite3.connect(tmp, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA cache_size = -262144")
        conn.execute("BEGIN IMMEDIATE")
        yield conn
        conn.close()
        conn = None
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            _journal(loc).unlink()  # the damaged file's (a killed build's): it must not be taken for the new file's
        os.replace(tmp, loc.path)
        fsync_folder(loc.root)
    finally:
        if conn is not None:
            conn.close()
        for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):
            with contextlib.suppress(OSError):
                leftover.unlink()



def _store(conn: sqlite3.Connection, report, chunks, tokens, sentence_tokens, typed, chunk_vectors, sentence_vectors,
           token_vectors, token_offsets, manifest: dict) -> None:
    """Every row of one build, in the open write transaction, then COMMIT."""
    for table in ("manifest", "report", "chunks", "vectors"):
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    for statement in filter(str.strip, SCHEMA.split(";")):
        conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
    report_json = dumps(report_to_json(report))
    conn.execute("INSERT INTO report VALUES (1, ?, ?)", (report_json, sha256_bytes(report_json)))
    rows = []
    first = 0
    for pos, (c, t, st) in enumerate(zip(chunks, tokens, sentence_tokens)):
        text = dumps(chunk_to_json(c, t, st, typed[first : first + len(c.sentences)]))
        first += len(c.sentences)
        rows.append((pos, c.id, text, sha256_bytes(text), len(c.sentences)))
    half = len(rows) // 2
    conn.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?)", rows[:half])
    _test_pause("write")
    conn.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?)", rows[half:])
    arrays = {"chunks": chunk_vectors, "sentences": sentence_vectors, "tokens": token_vectors, "token_offsets": token_offsets.reshape(-1, 1)}
    for kind_name, array in arrays.items():
        data = np.ascontiguousarray(array, dtype=VECTOR_KINDS[kind_name]).tobytes()
        conn.execute("INSERT INTO vectors VALUES (?, ?, ?, ?, ?)", (kind_name, array.shape[0], array.shape[1], data, sha256_bytes(data)))
    conn.execute("INSERT INTO manifest VALUES (1, ?)", (dumps(manifest),))
    _test_pause("commit")
    conn.execute("PRAGMA busy_timeout = 60000")  # COMMIT waits for readers to finish their read
    conn.execute("COMMIT")


def _typed(conn: sqlite3.Connection, old: Manifest | None, sentences: list[str], progress) -> list[list]:
    """Every sentence's typed spans (qa/represent/typed.py): the previous build's where its
    sentence is unchanged and they were made the same way (each row still matching its checksum),
    the rest parsed by spaCy (loaded only if some sentence is new); each distinct sentence once."""
    from ..represent.typed import spans_key, typed_spans

    cache: dict[str, list] = {}
    if old is not None and old.data.get("typed") == typed_fingerprint():
        with contextlib.suppress(sqlite3.Error):
            for text, digest, n in conn.execute("SELECT json, sha256, sentences FROM chunks ORDER BY pos"):
                if sha256_bytes(text) != digest:
                    continue
                with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
                    d = json.loads(text)
                    for (sentence, _), spans in zip(d["sentences"], typed_from_json(d, n)):
                        cache[spans_key(sentence)] = spans
    keys = [spans_key(s) for s in sentences]
    todo = list(dict.fromkeys(k for k in keys if k not in cache))
    if todo:
        text_of = dict(zip(keys, sentences))
        for start in range(0, len(todo), EMBED_BATCH):
            batch = todo[start : start + EMBED_BATCH]
            for k, spans in zip(batch, typed_spans([text_of[k] for k in batch])):
                cache[k] = spans
            progress("parse sentences", min(start + EMBED_BATCH, len(todo)), len(todo))
    return [cache[k] for k in keys]


def _token_vectors(sentences: list[str], hashes: list[str], cache: dict[str, np.ndarray], encoder, progress) -> tuple[np.ndarray, np.ndarray]:
    """Every sentence's content-piece vectors, packed (qa/represent/late.py); unchanged sentences keep the
    previous build's, the rest are computed (loading the model only if some are new)."""
    from ..represent.dense import ReferenceEncoder
    from ..represent.late import content_vectors, pack

    cache = dict(cache)
    first = {}
    for i, h in enumerate(hashes):
        first.setdefault(h, i)
    todo = [i for h, i in first.items() if h not in cache]  # each distinct sentence once
    if todo:
        encoder = encoder or _reference_encoder(ReferenceEncoder)
        for start in range(0, len(todo), EMBED_BATCH):
            batch = todo[start : start + EMBED_BATCH]
            for i, (tokens, ids) in zip(batch, encoder.token_vectors([sentences[i] for i in batch], batch_size=MODEL_BATCH)):
                cache[hashes[i]] = content_vectors(tokens, ids)
            progress("token vectors", min(start + EMBED_BATCH, len(todo)), len(todo))
    return pack([np.asarray(cache[h], dtype=np.float32) for h in hashes])


def _tidy(loc: IndexLocation) -> list[str]:
    """Remove what earlier runs left (only when this process may write the root): temporary
    encoder exports of killed builds, and this index's folder from kzqa 0.1.0 once the index
    exists in this format. Returns readable phrases for what it removed."""
    from .encoder_files import remove_stale_temporaries

    said = []
    temporaries = remove_stale_temporaries(loc.root)
    if temporaries:
        said.append(f"{len(temporaries)} unfinished encoder export{'s' if len(temporaries) != 1 else ''} of a killed build")
    unfinished = _remove_stale_index_files(loc.root)
    if unfinished:
        said.append(f"{len(unfinished)} unfinished replacement{'s' if len(unfinished) != 1 else ''} of a damaged index, of a killed build")
    legacy = loc.legacy_folder
    with contextlib.suppress(OSError):
        if not legacy.is_symlink() and (legacy / "manifest.json").is_file() and all(
            p.name == "manifest.json" or p.name.startswith(("data-", ".manifest.json.")) for p in legacy.iterdir()
        ):
            shutil.rmtree(legacy)
            said.append(f"the folder of its kzqa 0.1.0 index ({legacy.name}/)")
    with contextlib.suppress(OSError):
        lock = loc.root / f".{loc.name}.lock"  # kzqa 0.1.0's lock file
        if lock.is_file() and not lock.is_symlink():
            lock.unlink()
    return said


def _remove_stale_index_files(root: Path) -> list[str]:
    """Remove the replacement index files (and their journals) that builds killed while
    replacing a damaged index left (_target): those of processes that are gone."""
    from .encoder_files import _alive

    removed = []
    with contextlib.suppress(OSError):
        for path in root.iterdir():
            m = TMP_INDEX_RE.match(path.name)
            if m and not path.is_symlink() and not _alive(int(m["pid"])):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed.append(path.name)
    return [name for name in removed if not name.endswith("-journal")]
