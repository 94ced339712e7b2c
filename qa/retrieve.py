"""Stage 4: retrieval modes (bm25, dense, hybrid) and their fusion into ranked Hits.

Fusion was chosen by measurement on the eval set (eval/README.md): see DEFAULT_FUSION.
- "rrf": reciprocal rank fusion, score = sum 1 / (k + rank), ranks 1-based, k = RRF_K.
- "convex": alpha * minmax(dense) + (1 - alpha) * minmax(bm25), min-max over all chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .chunking import Chunk
from .dense import DenseIndex, QueryEncoder
from .lexical import LexicalIndex

MODES = ("bm25", "dense", "hybrid")
FUSIONS = ("rrf", "convex")
DEFAULT_FUSION = "convex"
RRF_K = 60
CONVEX_ALPHA = 0.5


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


def ranks_of(scores: np.ndarray) -> np.ndarray:
    """1-based rank of every document (ties broken by document order)."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), dtype=np.int64)
    ranks[order] = np.arange(1, len(scores) + 1)
    return ranks


def rrf(score_lists: list[np.ndarray], k: int = RRF_K) -> np.ndarray:
    return sum(1.0 / (k + ranks_of(s)) for s in score_lists)


def convex(dense: np.ndarray, lexical: np.ndarray, alpha: float = CONVEX_ALPHA) -> np.ndarray:
    return alpha * minmax(dense) + (1.0 - alpha) * minmax(lexical)


class Retriever:
    """Scores every chunk for a question; the corpus is small enough for exact search."""

    def __init__(
        self,
        chunks: list[Chunk],
        lexical: LexicalIndex,
        dense: DenseIndex,
        encoder: QueryEncoder,
        fusion: str = DEFAULT_FUSION,
        alpha: float = CONVEX_ALPHA,
        rrf_k: int = RRF_K,
    ) -> None:
        self.chunks = chunks
        self.lexical = lexical
        self.dense = dense
        self.encoder = encoder
        self.fusion = fusion
        self.alpha = alpha
        self.rrf_k = rrf_k

    def score_all(
        self, question: str, mode: str = "hybrid", query_vector: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(fused, bm25, dense) scores for every chunk, in chunk order."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
        lexical = self.lexical.scores(self.lexical.query_tokens(question))
        if mode == "bm25":
            return lexical, lexical, None
        if query_vector is None:
            query_vector = self.encoder.encode([question])[0]
        dense = self.dense.scores(query_vector)
        if mode == "dense":
            return dense, lexical, dense
        if self.fusion == "rrf":
            return rrf([dense, lexical], self.rrf_k), lexical, dense
        return convex(dense, lexical, self.alpha), lexical, dense

    def search(self, question: str, k: int = 3, mode: str = "hybrid") -> list[Hit]:
        fused, lexical, dense = self.score_all(question, mode)
        order = np.argsort(-fused, kind="stable")[: max(0, k)]
        return [
            Hit(
                chunk=self.chunks[i],
                rank=r,
                score=float(fused[i]),
                bm25=float(lexical[i]),
                dense=None if dense is None else float(dense[i]),
            )
            for r, i in enumerate(order, 1)
        ]
