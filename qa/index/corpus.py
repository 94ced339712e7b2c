"""Several indexed reports searched as one: the union of their stored indexes.

One question over many reports must rank passages of all of them on one scale. The union is
made of what each index stores, concatenated: the chunks (their ids prefixed by the report's
name, `kazakhstan-2023:1.c/prison-and-detention-center-conditions/4`, so they stay unique), the
chunk and sentence vectors, the token vectors (offsets shifted), the tokens. qa/search/pipeline.py's `Index`
is then built over the union exactly as over one report, so BM25's statistics (IDF, average
length) are those of the union, every dense score is a cosine of the same model, the min-max
normalisation and the fitted scorers see all the passages at once, and the stages run unchanged.
Each chunk knows which report it is from (`MergedIndex.chunk_report`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..errors import Fix, KzqaError
from .read import StoredIndex

ID_SEPARATOR = ":"  # between a report's name and a passage id in a multi-report index


@dataclass
class MergedIndex(StoredIndex):
    """A StoredIndex over several: `members` in order, `chunk_report[i]` the member of chunk i."""

    members: list[StoredIndex] = field(default_factory=list)
    chunk_report: np.ndarray | None = None


def prefixed(name: str, passage_id: str) -> str:
    return f"{name}{ID_SEPARATOR}{passage_id}"


def split_ref(ref: str, names: list[str]) -> tuple[str | None, str]:
    """('kazakhstan-2023', '1.c') for 'kazakhstan-2023:1.c' when that report is one of `names`;
    (None, ref) otherwise."""
    head, sep, rest = ref.strip().partition(ID_SEPARATOR)
    if sep and head in names and rest.strip():
        return head, rest.strip()
    return None, ref


def merge(members: list[StoredIndex]) -> MergedIndex:
    """The union of several loaded indexes (at least two, built with the same model and settings)."""
    if len(members) < 2:
        raise ValueError("a merged index needs at least two indexes")
    first = members[0].manifest.data
    names = [m.manifest.data["name"] for m in members]
    if len(set(names)) != len(names):
        raise KzqaError(f"report {next(n for n in names if names.count(n) > 1)!r} is named more than once")
    for m in members[1:]:
        data = m.manifest.data
        for key in ("encoder", "lexical", "model"):
            if data[key] != first[key]:
                older = min((first, data), key=lambda d: str(d.get("created_at") or ""))["name"]
                raise KzqaError(
                    f"indexes {names[0]!r} and {data['name']!r} were built with different {key} settings "
                    f"({older!r} is the older)", Fix.REBUILD, older,
                )
    chunks = []
    for name, m in zip(names, members):
        chunks.extend(dataclasses.replace(c, id=prefixed(name, c.id)) for c in m.chunks)
    offsets = [np.zeros(1, dtype=np.int64)]
    shift = 0
    for m in members:
        offsets.append(m.token_offsets[1:] + shift)
        shift += int(m.token_offsets[-1])
    return MergedIndex(
        location=members[0].location,
        manifest=members[0].manifest,
        report=members[0].report,
        chunks=chunks,
        tokens=[t for m in members for t in m.tokens],
        sentence_tokens=[t for m in members for t in m.sentence_tokens],
        vectors=np.vstack([m.vectors for m in members]),
        sentence_vectors=np.vstack([m.sentence_vectors for m in members]),
        encoder=members[0].encoder,
        token_vectors=np.vstack([m.token_vectors for m in members]),
        token_offsets=np.concatenate(offsets),
        typed=None if any(m.typed is None for m in members) else [t for m in members for t in m.typed],
        members=list(members),
        chunk_report=np.concatenate([np.full(len(m.chunks), i, dtype=np.int64) for i, m in enumerate(members)]),
    )
