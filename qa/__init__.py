"""kzqa: cited question answering over a Country Report on Human Rights Practices.

    >>> import qa
    >>> answer = qa.ask("how many prisoners were released")
    >>> answer.text, answer.page
    ('8,390 prisoners', 5)

    >>> index = qa.load_index()          # load once, ask many times
    >>> [p.id for p in index.ask("internet freedom", k=2).passages]

Importing `qa` is cheap: heavy modules load on first use.
"""

from __future__ import annotations

__version__ = "0.3.0"

__all__ = [
    "Answer",
    "Candidate",
    "Chunk",
    "Hit",
    "Index",
    "KzqaError",
    "Passage",
    "Report",
    "Section",
    "Sentence",
    "ask",
    "build_index",
    "load_index",
    "load_report",
    "__version__",
]

_LAZY = {
    "Answer": "search.answer",
    "Candidate": "search.spans",
    "Passage": "search.answer",
    "Chunk": "index.chunking",
    "Hit": "search.retrieve",
    "Index": "search.pipeline",
    "ask": "facade",
    "load_index": "facade",
    "KzqaError": "errors",
    "Report": "document",
    "Section": "document",
    "Sentence": "document",
    "load_report": "ingest.parse",
    "build_index": "index.write",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'qa' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
