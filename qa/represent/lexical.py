"""The lexical side: a tokeniser that keeps numbers whole, and BM25 over chunks.

IDF: rank_bm25's BM25Okapi floors the IDF of any term found in more than half the documents to
epsilon * mean IDF, and gives 0 to a term in exactly half. On a corpus of ~150 chunks that
discards common but meaningful words ("prisoners", "government"). We use Lucene's IDF,
log(1 + (N - df + 0.5) / (df + 0.5)), which is positive and monotone for every df; the eval table
(eval/README.md) compares it with BM25Okapi, BM25L and BM25Plus.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from rank_bm25 import BM25L, BM25Okapi, BM25Plus

from ..document import drop_format_chars

TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+(?:['’][a-z]+)*")

# A short English stop list: function words that carry no topic. Question words ("how", "when",
# "who") are stop words for retrieval; the answer stage reads the raw question for them.
STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not of off on once only or other our ours ourselves out over own
    same she should so some such than that the their theirs them themselves then there these they
    this those through to too under until up very was we were what when where which while who whom
    why will with would you your yours yourself yourselves also many much did does there's s t
    whats what's tell me please""".split()
)


@lru_cache(maxsize=1)
def _stemmer():
    """Snowball English (Porter 2) through PyStemmer's C build: 1 ms to import, where the pure
    Python snowballstemmer package costs ~80 ms; both give identical stems."""
    import Stemmer

    return Stemmer.Stemmer("english")


def normalize_number(token: str) -> str:
    """'8,390' -> '8390' so a user typing 8390 finds it; decimals keep their point."""
    if token[0].isdigit():
        token = token.replace(",", "")
    return token


def tokenize(text: str, stem: bool = True, stop_words: bool = True) -> list[str]:
    tokens = []
    for raw in TOKEN_RE.findall(drop_format_chars(text).lower().replace("’", "'")):
        if stop_words and raw in STOP_WORDS:
            continue
        if raw[0].isdigit():
            tokens.append(normalize_number(raw))
            continue
        raw = raw.replace("'s", "") if raw.endswith("'s") else raw
        tokens.append(raw)
    if stem:
        words = [t for t in tokens if not t[0].isdigit()]
        stems = iter(_stemmer().stemWords(words))
        tokens = [t if t[0].isdigit() else next(stems) for t in tokens]
    return tokens


class BM25Lucene(BM25Okapi):
    """BM25Okapi scoring with Lucene's always-positive IDF (see module docstring)."""

    def _calc_idf(self, nd):
        self.idf = {
            word: math.log(1.0 + (self.corpus_size - freq + 0.5) / (freq + 0.5)) for word, freq in nd.items()
        }


BM25_VARIANTS = {"lucene": BM25Lucene, "okapi": BM25Okapi, "plus": BM25Plus, "l": BM25L}
DEFAULT_VARIANT = "lucene"


class LexicalIndex:
    """BM25 over pre-tokenised documents; built from tokens so nothing needs unpickling."""

    def __init__(
        self,
        doc_tokens: Sequence[Sequence[str]],
        variant: str = DEFAULT_VARIANT,
        k1: float = 1.2,
        b: float = 0.75,
        stem: bool = True,
        stop_words: bool = True,
    ):
        if variant not in BM25_VARIANTS:
            raise ValueError(f"unknown BM25 variant {variant!r}; choose from {', '.join(BM25_VARIANTS)}")
        self.variant = variant
        self.stem = stem
        self.stop_words = stop_words
        self.doc_tokens = [list(t) for t in doc_tokens]
        # rank_bm25 divides by zero on an empty corpus or all-empty documents
        safe = [t if t else ["\x00empty"] for t in self.doc_tokens] or [["\x00empty"]]
        self._bm25 = BM25_VARIANTS[variant](safe, k1=k1, b=b)
        self._vocab = set(self._bm25.idf)
        self._postings = self._build_postings() if variant in ("lucene", "okapi") else None

    def _build_postings(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per term: (documents, BM25 term weight in each), so a query costs a few numpy adds
        instead of rank_bm25's Python loop over every document (same scores: tests check)."""
        bm = self._bm25
        doc_len = np.asarray(bm.doc_len, dtype=np.float64)
        norm = bm.k1 * (1 - bm.b + bm.b * doc_len / bm.avgdl)
        docs: dict[str, list[int]] = {}
        tfs: dict[str, list[int]] = {}
        for i, freqs in enumerate(bm.doc_freqs):
            for term, tf in freqs.items():
                docs.setdefault(term, []).append(i)
                tfs.setdefault(term, []).append(tf)
        postings = {}
        for term, ids in docs.items():
            ids_arr = np.asarray(ids, dtype=np.int64)
            tf = np.asarray(tfs[term], dtype=np.float64)
            postings[term] = (ids_arr, bm.idf[term] * tf * (bm.k1 + 1) / (tf + norm[ids_arr]))
        return postings

    def query_tokens(self, text: str) -> list[str]:
        """Tokenise a query the way the documents were tokenised."""
        return tokenize(text, stem=self.stem, stop_words=self.stop_words)

    def idf(self, term: str, default: float = 0.0) -> float:
        """The term's IDF in this index (`default` for a term it does not hold)."""
        return float(self._bm25.idf.get(term, default))

    def _known_terms(self, query_tokens: Sequence[str]) -> list[str]:
        return [t for t in query_tokens if t in self._vocab] if self.doc_tokens else []

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        if self._postings is None:
            return self.reference_scores(query_tokens)
        terms = self._known_terms(query_tokens)
        out = np.zeros(len(self.doc_tokens), dtype=np.float64)
        for term in terms:  # a repeated query term counts again, as in rank_bm25
            ids, weights = self._postings[term]
            out[ids] += weights
        return out.astype(np.float32)

    def reference_scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """rank_bm25's own scoring: the scorer of BM25+ and BM25L, and the reference in parity tests."""
        terms = self._known_terms(query_tokens)
        if not terms:
            return np.zeros(len(self.doc_tokens), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)[: len(self.doc_tokens)]
