"""The library's front door: `qa.ask` and `qa.load_index` (what README's *Library* shows). It keeps
one loaded Index per index folder and set of reports, so that asking many questions loads once;
the stages themselves are qa/search/pipeline.py's."""

from __future__ import annotations

from pathlib import Path

from .errors import Fix, KzqaError
from .search.answer import Answer
from .search.pipeline import Index
from .settings import DEFAULT_MODE


_cache: dict[tuple, Index] = {}


def report_names(reports: str | list[str] | tuple[str, ...], index_dir: str | Path | None = None) -> list[str]:
    """The index names `reports` stands for: a list of names as given, or "all": every index of
    the folder that can be read (what `kzqa list` shows, less unfinished or newer ones)."""
    if isinstance(reports, str):
        if reports != "all":
            return [reports]
        from .index.format import FORMAT_VERSION
        from .index.listing import list_indexes

        infos = list_indexes(index_dir, check=False)
        names = [i.name for i in infos if isinstance(i.manifest, dict) and isinstance(i.manifest.get("format_version"), int)
                 and i.manifest["format_version"] <= FORMAT_VERSION]
        if not names:
            raise KzqaError("no indexed reports to search", Fix.BUILD)
        return names
    if not isinstance(reports, (list, tuple)):
        raise KzqaError(f"reports is a list of index names, or \"all\" (got {type(reports).__name__})")
    bad = next((n for n in reports if not isinstance(n, str)), "")
    if bad != "":
        raise KzqaError(f"reports is a list of index names (text); it holds {bad!r}")
    names = list(reports)
    if not names:
        raise KzqaError("no reports to search")
    return names


def load_index(
    index_dir: str | Path | None = None,
    name: str | None = None,
    auto_build: bool = True,
    reports: str | list[str] | None = None,
) -> Index:
    """Load (building on first use) and cache an index; `reports` (a list of index names, or
    "all") loads several and searches them as one."""
    names = report_names(reports, index_dir) if reports is not None else [name]
    key = (str(index_dir) if index_dir else None, tuple(names))
    if key not in _cache:
        _cache[key] = Index.load_many(names, index_dir, auto_build=auto_build)
    return _cache[key]


def ask(
    question: str,
    k: int = 3,
    mode: str = DEFAULT_MODE,
    index_dir: str | Path | None = None,
    name: str | None = None,
    reports: str | list[str] | None = None,
) -> Answer:
    """Answer one question from the (cached) index: `qa.ask("how many prisoners were released")`;
    `reports=["kazakhstan-2011", "kazakhstan-2023"]` (or "all") asks several reports at once."""
    return load_index(index_dir, name, reports=reports).ask(question, k=k, mode=mode)
