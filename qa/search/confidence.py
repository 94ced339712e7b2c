"""How sure kzqa is, and which of three things it says.

`answer.confidence` is a calibrated probability that the answering sentence is right: a linear
model over signals that survive rewording (below) gives a score, and a logistic curve (Platt
scaling) fitted on cross-validated scores of the eval sets' fitting items (original + user dev)
maps it to a probability (qa/search/scorers.py). Two thresholds on it, chosen on the same items, give the outcome:

- `answer`: the answer, plainly;
- `unsure`: "The report may not answer this; the closest it comes:" and the sentence;
- `none`: "The report does not appear to answer this.", only when the evidence says so clearly.

Signals: the best sentence's score and its margin over the next; its MiniLM and late-interaction
similarity; how much of the question it and the best three cover; the share of the question's
words the report never uses (a name or place it does not mention: "Uzbekistan", "Putin"); a year
the question names that the report, or the cited passage, does not; the best passage's fused score
and margin; whether the sentence holds an answer of the asked type; whether BM25 and the dense side
agree on the best passage; the question's length; a question about a person ("who", "whose
names") whose best sentence names nobody.
"""

from __future__ import annotations

import math

import numpy as np

NOT_FOUND_MESSAGE = "The report does not appear to answer this."
UNSURE_MESSAGE = "The report may not answer this; the closest it comes:"

CONFIDENCE_FEATURES = (
    "top", "margin", "top_cos", "top_late", "coverage", "coverage3", "unknown_words", "year_missing",
    "year_unknown", "passage_top", "passage_margin", "typed", "agreement", "question_words", "person_missing",
    "kind_top", "kind_top3", "count_top", "count_passage", "place_other", "place_missing",
)
ASKED_FEATURES = ("kind_top", "kind_top3", "count_top", "count_passage", "place_other", "place_missing")
PLAIN_CONFIDENCE_FEATURES = CONFIDENCE_FEATURES[: CONFIDENCE_FEATURES.index("kind_top")]  # kzqa 0.2's
LEXICAL_CONFIDENCE_FEATURES = (
    "top", "margin", "coverage", "coverage3", "unknown_words", "year_missing", "year_unknown",
    "passage_top", "passage_margin", "typed", "question_words", "person_missing",
)


def confidence_features(
    sentence_scores: np.ndarray,
    sentence_rows: np.ndarray,
    row_names: tuple[str, ...],
    passage_scores: np.ndarray,
    unknown_share: float,
    year_missing: bool,
    year_unknown: bool,
    agreement: bool,
    question_words: int,
    person_missing: bool = False,
    asked: tuple[float, ...] = (0.5, 0.5, 0.5, 0.5, 0.0, 0.0),
) -> np.ndarray:
    """One row of CONFIDENCE_FEATURES for a question, from its ranked candidates."""
    order = np.argsort(-sentence_scores, kind="stable")
    top = order[0]
    col = {name: i for i, name in enumerate(row_names)}
    second = sentence_scores[order[1]] if len(order) > 1 else sentence_scores[top] - 1.0
    passages = np.sort(passage_scores)[::-1]
    return np.array([
        sentence_scores[top],
        sentence_scores[top] - second,
        sentence_rows[top, col["cos"]],
        sentence_rows[top, col["late"]],
        sentence_rows[top, col["coverage"]],
        sentence_rows[order[:3], col["coverage"]].max(),
        unknown_share,
        float(year_missing),
        float(year_unknown),
        passages[0],
        passages[0] - (passages[1] if len(passages) > 1 else passages[0]),
        sentence_rows[top, col["typed"]],
        float(agreement),
        math.log1p(question_words),
        float(person_missing),
        *asked,
    ])


# the typed spans (qa/represent/typed.py) that can answer each kind of question
ASKED_KINDS = {"who": frozenset(("person", "org", "group")), "when": frozenset(("date",)),
               "numeric": frozenset(("count", "amount", "percent")), "where": frozenset(("place",)), "why": frozenset(("reason",))}


def holds_kind(profile, spans: list) -> bool:
    """A sentence's typed spans hold one of the kind the question asks for."""
    kinds = ASKED_KINDS.get(profile.type, ())
    return any(span[2] in kinds for span in spans)


def holds_count(profile, spans: list) -> bool:
    """A sentence's typed spans hold a number bound to the noun the question counts."""
    from ..represent.lexical import tokenize

    return any(span[2] == "count" and len(span) > 4 and frozenset(tokenize(span[4])) & profile.counted for span in spans)


def asked_fit(profile, typed: list[list] | None, best: int | None, top3: list[int], passage: list[int], passage_text: str,
              country: str) -> tuple[float, ...]:
    """Does the text hold what the question asks for? (ASKED_FEATURES; 0.5 where it cannot say):
    a span of the asked kind in the chosen sentence, in one of the best three; for a count, a
    number bound to the noun the question counts ("how many convictions" is not answered by
    "45 cases"), in the sentence, in its passage; whether the question names another country
    than the report's, and one its passage never mentions ("how many Jews live in Uzbekistan")."""
    kinds = ASKED_KINDS.get(profile.type)
    if typed is None or best is None:
        kind_top = kind_top3 = count_top = count_passage = 0.5
    else:
        kind_top = float(holds_kind(profile, typed[best])) if kinds else 0.5
        kind_top3 = float(any(holds_kind(profile, typed[s]) for s in top3)) if kinds else 0.5
        count_top = float(holds_count(profile, typed[best])) if profile.counted else 0.5
        count_passage = float(any(holds_count(profile, typed[s]) for s in passage)) if profile.counted else 0.5
    others = [p for p in profile.places if p != country and not (country and p in country)]
    place_other = float(bool(others))
    place_missing = float(any(p not in passage_text for p in others))
    return kind_top, kind_top3, count_top, count_passage, place_other, place_missing
