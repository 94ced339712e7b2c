"""Retrieval: every passage scored by several signals, fused into one ranking.

Signals (each over every passage, for one question):
- `bm25`: BM25 of the passage for the question's words (spelling corrected, qa/search/query.py);
- `dense`: all-MiniLM-L6-v2 cosine of question and passage;
- `dense_sentence`: the best MiniLM cosine of the question with one of the passage's sentences;
- `late`: late interaction over MiniLM's token vectors (qa/represent/late.py): each content word of the
  question meets its most similar word piece of a sentence, so "cops" can meet "police"; the best
  sentence of the passage counts.

Fusion: each signal is min-max normalised over the passages and combined linearly with weights
fitted on the original set and the user set's dev split (qa/search/scorers.py); `bm25` and `dense` modes
use their own signals only. (0.1.0's fixed fusions, convex and RRF, are gone: eval/ablations.md
has what they measured.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..index.chunking import Chunk

SIGNALS = ("bm25", "dense", "dense_sentence", "late")
MODE_SIGNALS = {
    "bm25": ("bm25",),
    "dense": ("dense", "dense_sentence", "late"),
    "hybrid": SIGNALS,
}


@dataclass
class Hit:
    chunk: Chunk
    rank: int  # 1-based
    score: float
    bm25: float
    dense: float | None


def minmax(scores: np.ndarray) -> np.ndarray:
    if scores.size == 0:
        return scores
    lo, hi = float(scores.min()), float(scores.max())
    if hi - lo < 1e-12:
        return np.zeros_like(scores)
    return (scores - lo) / (hi - lo)


def best_per_passage(sentence_scores: np.ndarray, sentence_passage: np.ndarray, n_passages: int, fill: float = -1.0) -> np.ndarray:
    """The best sentence score of every passage."""
    out = np.full(n_passages, fill, dtype=np.float64)
    np.maximum.at(out, sentence_passage, sentence_scores)
    return out


def normalised_signals(raw: dict[str, np.ndarray], names: tuple[str, ...]) -> np.ndarray:
    """(passages, signals): each signal min-max normalised over the passages."""
    n = len(next(iter(raw.values())))
    cols = [minmax(raw[name].astype(np.float64)) for name in names]
    return np.stack(cols, axis=1) if cols else np.zeros((n, 0))


def fuse(features: np.ndarray, model) -> np.ndarray:
    """One score per passage: the fitted fusion, or the single signal of a one-signal mode."""
    if model is None:
        return features[:, 0]
    return model.score(features)
