"""`kzqa list`: the indexes under a root, each checked the way `ask` would check it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..document import readable
from ..errors import Fix, KzqaError
from .format import FORMAT_VERSION, SUFFIX, is_int
from .naming import DEFAULT_NAME, IndexLocation, check_root, index_root, valid_name
from .read import legacy_manifest, newer_format, own_params, read_manifest, stale_reasons, verify_index


def _get(d, key, kind):
    """d[key] if d is a dict and the value is of `kind`, else None (list shows what it can)."""
    if not isinstance(d, dict):
        return None
    v = d.get(key)
    if kind is int:
        return v if is_int(v) else None
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
    fix: Fix | None = None  # what would mend the problem (qa/errors.py), for a front end to word

    def row(self) -> dict:
        m = self.manifest if isinstance(self.manifest, dict) else {}
        corpus = _get(m, "corpus", dict) or {}
        counts = _get(m, "counts", dict) or {}
        src = _get(corpus, "source", str)
        src = readable(src) if src else src  # a file name that is not UTF-8, shown with U+FFFD
        return {
            "name": self.name,
            "default": self.default,
            "status": self.status,
            "problem": readable(self.problem) if self.problem else self.problem,
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
            "path": readable(str(self.path)),
        }


def list_indexes(index_dir: str | Path | None = None, check: bool = True) -> list[IndexInfo]:
    """The indexes under the root, by name, each checked the way `ask` would check it (staleness,
    then every row's and the encoder's checksum) unless check=False. Reads only; never builds or
    repairs. Indexes of kzqa 0.1.0 (folders with a manifest.json) are listed as stale."""
    root = index_root(index_dir)
    check_root(root)
    if not root.exists():
        return []
    try:
        children = sorted(root.iterdir())
    except OSError as exc:
        raise KzqaError(f"cannot read index folder {root}: {exc.strerror or exc}") from None
    found: dict[str, IndexInfo] = {}
    for child in children:
        if child.name.endswith(SUFFIX) and valid_name(child.name[: -len(SUFFIX)]):
            name = child.name[: -len(SUFFIX)]
            found[name] = _info(IndexLocation(root, name), check)
    for child in children:
        if child.name in found or not valid_name(child.name):
            continue
        legacy = legacy_manifest(IndexLocation(root, child.name))
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
            info.problem, info.fix = "no finished build (its first build was interrupted)", Fix.BUILD
            return info
        info.manifest = manifest.data
        if not check:
            return info
        if newer_format(manifest):
            info.status = "newer"
            info.problem = f"built by a newer kzqa (format {manifest.data['format_version']})"
            return info
        reasons = stale_reasons(manifest, own_params(manifest))
        if reasons:
            info.status, info.problem = "stale", "; ".join(reasons)
            return info
        verify_index(loc)
        info.status = "ok"
    except KzqaError as exc:
        info.status, info.problem, info.fix = "damaged", str(exc), exc.fix
    return info
