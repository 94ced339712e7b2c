"""Which sentence answers. Every sentence of the best passages is a candidate; generic
features describe how it meets the question, and a linear model fitted on the eval sets (never
their test split) scores it (qa/search/scorers.py). (The neighbouring sentences' scores were tried as
features, for answers in the sentence after the one that echoes the question: no change on dev,
so they are not used; training/ablate.py.)

Features (one row per candidate sentence):
- `cos`, `late`: MiniLM cosine and late-interaction score with the question; `cos_z`, `late_z`: the
  same standardised over the candidates (how much better than the rest);
- `bm25`: sentence-level BM25 over the best candidate's; `coverage`: IDF-weighted share of the
  question's words the sentence holds;
- `passage`, `passage_rank`: the fused score of its passage (min-max over the pool) and 1/(1+rank);
- `heading`: share of the question's words in the passage's heading path;
- `typed`: the sentence holds a span of the kind asked for (a quantity, date, name, reason);
- `year`: the years the question names are in the sentence (1), only in its passage (-0.5), absent
  (-1), or none named (0);
- `length`, `first`: log words; first sentence of its passage;
- `asked_kind`, `counted`: the sentence's parse (qa/represent/typed.py) holds a span of the kind the
  question asks for (a person or body for "who", a date for "when", a figure for a count); for a
  count, a number bound to the noun the question counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .query import Query
from .spans import spans_of

SENTENCE_FEATURES = (
    "cos", "late", "cos_z", "late_z", "bm25", "coverage", "passage", "passage_rank", "heading", "typed", "year",
    "length", "first", "asked_kind", "counted",
)
PLAIN_SENTENCE_FEATURES = SENTENCE_FEATURES[: SENTENCE_FEATURES.index("asked_kind")]  # kzqa 0.2's
LEXICAL_SENTENCE_FEATURES = ("bm25", "coverage", "passage", "passage_rank", "heading", "typed", "year", "length", "first", "asked_kind", "counted")


@dataclass
class SentenceSignals:
    """Per-sentence evidence for one question, over the whole index (late: the pool only)."""

    cos: np.ndarray | None  # MiniLM cosine of every sentence (None in bm25 mode)
    late: np.ndarray | None  # late interaction, filled for pool sentences (None in bm25 mode)
    bm25: np.ndarray  # sentence-level BM25 of every sentence


def _z(values: np.ndarray) -> np.ndarray:
    sd = values.std()
    return (values - values.mean()) / sd if sd > 1e-9 else np.zeros_like(values)


def sentence_features(index, query: Query, sids: list[int], signals: SentenceSignals, pool: list[int], passage_norm: dict[int, float]) -> np.ndarray:
    """The SENTENCE_FEATURES rows of candidate sentences `sids` (all from passages in `pool`)."""
    ids = np.asarray(sids, dtype=np.int64)
    n = len(ids)
    chunk_of = index.sentence_chunk
    rank = {ci: r for r, ci in enumerate(pool)}
    qtokens = index.query_term_set(query)
    qidf = sum(index.sentence_idf(t) for t in qtokens) or 1.0
    bm25 = signals.bm25[ids]
    bm25 = bm25 / bm25.max() if n and bm25.max() > 0 else np.zeros(n)
    cos = signals.cos[ids] if signals.cos is not None else np.zeros(n)
    late = signals.late[ids] if signals.late is not None else np.zeros(n)
    cos_z, late_z = _z(cos), _z(late)
    kind = "open" if query.profile.type == "what" and query.profile.keyword_query else query.profile.type
    rows = np.zeros((n, len(SENTENCE_FEATURES)))
    for j, sid in enumerate(sids):
        ci = int(chunk_of[sid])
        first = sid == 0 or chunk_of[sid - 1] != ci
        text = index.sentences[sid].text
        words = index.sentence_term_sets[sid]
        coverage = sum(index.sentence_idf(t) for t in qtokens & words) / qidf
        heading = len(qtokens & index.heading_terms(ci)) / len(qtokens) if qtokens else 0.0
        if query.years:
            year = 1.0 if all(y in text for y in query.years) else (-0.5 if all(y in index.chunks[ci].text for y in query.years) else -1.0)
        else:
            year = 0.0
        spans = index.typed[sid] if index.typed else None
        rows[j] = (
            cos[j], late[j], cos_z[j], late_z[j], bm25[j], coverage, passage_norm.get(ci, 0.0), 1.0 / (1.0 + rank.get(ci, len(pool))), heading,
            1.0 if spans_of(text, kind, query.profile) else 0.0, year, math.log1p(len(text.split())), first,
            *asked_in(query.profile, spans),
        )
    return rows


def asked_in(profile, spans: list | None) -> tuple[float, float]:
    """(the sentence's parse holds a span of the kind asked for; for a count question, a number
    bound to the noun it counts), 0.5 where the question asks for no kind or there is no parse."""
    from .confidence import ASKED_KINDS, holds_count, holds_kind

    if spans is None:
        return 0.5, 0.5
    kind = float(holds_kind(profile, spans)) if profile.type in ASKED_KINDS else 0.5
    counted = float(holds_count(profile, spans)) if profile.counted else 0.5
    return kind, counted


def select_columns(rows: np.ndarray, names: tuple[str, ...], all_names: tuple[str, ...] = SENTENCE_FEATURES) -> np.ndarray:
    """The columns a model was fitted on, in its order."""
    return rows[:, [all_names.index(name) for name in names]]
