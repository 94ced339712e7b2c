"""Opening an index for use: load it, or build it when missing and rebuild it when stale or
damaged, saying why; what cannot be rebuilt is served as it is or left alone with a one-line error."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import Fix, IndexDamaged, KzqaError
from .chunking import ChunkingParams
from .format import FORMAT_VERSION, Manifest
from .naming import DEFAULT_NAME, check_root, resolve_location
from .read import (
    IndexIncomplete,
    IndexMisnamed,
    StoredIndex,
    legacy_manifest,
    manifest_source,
    own_params,
    read_index,
    read_manifest,
    stale_reasons,
)
from .listing import list_indexes

if TYPE_CHECKING:  # pragma: no cover
    from .write import Progress  # the build (and what it loads to parse) is imported only to build


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
    folder this process cannot write) is left exactly as it is, with a one-line KzqaError; an
    intact index whose report can no longer be read (emptied, replaced by a binary file) is served
    as it is, saying that it is out of date and why it could not be rebuilt."""
    params = params or ChunkingParams()
    notify = notify or (lambda msg: None)
    loc = resolve_location(index_dir, name)
    check_root(loc.root)
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
        except IndexMisnamed as exc:
            raise KzqaError(str(exc), Fix.REBUILD, loc.name) from None  # or rename the file back
        except IndexDamaged as exc:
            problem = str(exc)
            with contextlib.suppress(KzqaError):
                manifest = read_manifest(loc)
    else:
        legacy = legacy_manifest(loc)
        if legacy is not None:  # an index of kzqa 0.1.0: rebuilt in this format from its report
            problem = f"index is out of date: index format {legacy.get('format_version')} (this kzqa uses {FORMAT_VERSION})"
            corpus = legacy.get("corpus") if isinstance(legacy.get("corpus"), dict) else {}
            if isinstance(corpus.get("source"), str) and corpus["source"] != "package":
                manifest = Manifest({"corpus": {"source": corpus["source"]}, "chunking": legacy.get("chunking")})
    if stored is not None:
        reasons = stale_reasons(manifest, own_params(manifest, params))
        if not reasons:
            return stored
        problem = "index is out of date: " + "; ".join(reasons)
    if not auto_build:
        if stored is not None:
            stored.encoder.close()
        if incomplete:
            raise KzqaError(f"index {loc.name!r} has no finished build", Fix.BUILD, loc.name)
        if problem:
            raise KzqaError(problem, Fix.REBUILD, loc.name)
        raise KzqaError(f"no index {loc.name!r} in {loc.root}", Fix.BUILD, loc.name)
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
            raise KzqaError(problem, Fix.REBUILD, loc.name)
        if incomplete:
            raise KzqaError(
                f"index {loc.name!r} in {loc.root} has no finished build (its first build was interrupted)", Fix.BUILD, loc.name
            )
        names = [i.name for i in list_indexes(loc.root, check=False) if i.status != "incomplete"] if loc.root.is_dir() else []
        known = f" (indexed: {', '.join(names)})" if names else ""
        raise KzqaError(f"no index named {loc.name!r} in {loc.root}{known}", Fix.BUILD, loc.name)
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
            raise KzqaError(f"{problem}; and it cannot be rebuilt: {exc}", exc.fix, exc.index) from None
        raise
    if stored is not None:
        stored.encoder.close()
    return read_index(loc)
