"""Late interaction over MiniLM's token vectors (in the manner of ColBERT's MaxSim): every content
word piece of the question is matched with its most similar word piece of a sentence, and the
sentence scores the mean of those best matches. A single sentence vector blurs a question into one
point; here "cops" can meet "police" and "sacked" "dismissed" inside the sentence that says so.

The sentences' token vectors are made when the index is built (qa/index/write.py) and kept as float16;
the question's come from the same network at query time (the ONNX export has a token output).
Only content pieces are kept on either side: no [CLS]/[SEP], punctuation or stop words.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .encoder import ENCODER
from .lexical import STOP_WORDS


def _piece(i: int) -> str:
    return ENCODER.tokenizer().id_to_token(int(i)) or ""


def content_positions(ids: Sequence[int]) -> list[int]:
    """Positions of the word pieces that carry content: alphanumeric, not a special token, not a
    stop word (a continuation piece "##s" belongs to its word and is kept)."""
    keep = []
    for pos, i in enumerate(ids):
        piece = _piece(i)
        if not piece or ENCODER.is_special(piece):
            continue
        bare, continues = ENCODER.word_of(piece)
        if not bare.isalnum() or (not continues and bare in STOP_WORDS):
            continue
        keep.append(pos)
    return keep


def content_vectors(tokens: np.ndarray, ids: Sequence[int]) -> np.ndarray:
    """The rows of `tokens` for the content pieces (all pieces but [CLS]/[SEP] if none is one)."""
    keep = content_positions(ids)
    if not keep:
        keep = [p for p, i in enumerate(ids) if not ENCODER.is_special(_piece(i))] or list(range(len(ids)))
    return np.ascontiguousarray(tokens[keep], dtype=np.float32)


def pack(per_text: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Many (n_i, d) matrices as one float16 (sum n_i, d) matrix and offsets (len + 1)."""
    offsets = np.zeros(len(per_text) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(m) for m in per_text])
    dim = per_text[0].shape[1] if per_text else 0
    data = np.concatenate(per_text).astype(np.float16) if per_text and offsets[-1] else np.zeros((0, dim), np.float16)
    return data, offsets


def maxsim(query: np.ndarray, vectors: np.ndarray, offsets: np.ndarray, rows: Sequence[int]) -> np.ndarray:
    """Late-interaction score of each of `rows` (indexes into the packed texts) for the query's
    token vectors: mean over query pieces of the best cosine with a piece of that text."""
    rows = np.asarray(rows, dtype=np.int64)
    out = np.zeros(len(rows), dtype=np.float64)
    if not len(rows) or not len(query):
        return out
    starts, ends = offsets[rows], offsets[rows + 1]
    lengths = ends - starts
    nonempty = lengths > 0
    if not nonempty.any():
        return out
    index = np.concatenate([np.arange(s, e) for s, e in zip(starts[nonempty], ends[nonempty])])
    sims = vectors[index].astype(np.float32) @ query.T  # (pieces of the rows, query pieces)
    bounds = np.concatenate([[0], np.cumsum(lengths[nonempty])[:-1]])
    best = np.maximum.reduceat(sims, bounds, axis=0)  # (nonempty rows, query pieces)
    out[nonempty] = best.mean(axis=1)
    return out


def maxsim_all(query: np.ndarray, vectors: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """maxsim for every packed text at once: one matrix product over all their pieces (a few
    thousand per report: ~2 ms), then the best per text. `vectors` as float32. (The `kzqa`
    command runs numpy's BLAS on one thread: qa/__main__.py.)"""
    n = len(offsets) - 1
    out = np.zeros(n, dtype=np.float64)
    if not n or not len(query) or not len(vectors):
        return out
    sims = vectors @ query.T
    lengths = np.diff(offsets)
    nonempty = lengths > 0
    best = np.maximum.reduceat(sims, offsets[:-1][nonempty], axis=0)
    out[nonempty] = best.mean(axis=1)
    return out

