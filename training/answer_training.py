"""Fitting kzqa's scorers, shared by training/train_answer_model.py and training/ablate.py.

For one retrieval mode, in order, each stage fitted on the items of the previous one's output:
  1. passage fusion (logistic regression: is this passage relevant?) over the mode's signals;
  2. the answer sentence (logistic regression: does this sentence hold the answer?) over
     qa/search/select.py's features of the candidates that stage 1 puts in the pool;
  3. confidence (logistic regression: is the chosen sentence right?) over qa/search/confidence.py's
     features, then a logistic curve (Platt) from its scores to a probability;
  4. the two thresholds of the outcome (answer / unsure / none), on the user set's dev items.
And, for every mode, the short-answer span ranker (qa/search/spans.py) on the gold sentences.

Cross-fitting: items are split into K folds (grouped by item); the features of a fold's items for
stage n+1 come from stage-n models fitted without that fold, so every figure printed and the data
the calibration sees are out-of-fold, as they would be for a new question. The shipped models are
then fitted on all the items. Only `original` and `user-dev` items are ever used (qa/evaluation/evalset.py:
load_fit_items refuses the test split).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.search.pipeline import Index  # noqa: E402
from qa.search.confidence import ASKED_FEATURES, CONFIDENCE_FEATURES, LEXICAL_CONFIDENCE_FEATURES  # noqa: E402
from qa.evaluation.evalset import EvalItem  # noqa: E402
from qa.evaluation.evaluate import contains_answer, relevant_chunks, short_answer_correct  # noqa: E402
from qa.search.scorers import Calibration, LinearModel, ModeModel  # noqa: E402
from qa.document import normalize_space  # noqa: E402
from qa.search.select import LEXICAL_SENTENCE_FEATURES, SENTENCE_FEATURES, select_columns  # noqa: E402
from qa.search.spans import answer_candidates, parse_feature_names, ranked_spans, span_feature_names, span_features, span_words  # noqa: E402

FOLDS = 5
SEED = 7
SHIFTS = (4.0, 3.0, 2.0, 1.0, 0.0, -1.0)  # outcome score min(logit(confidence), logit(answerable) + shift): the shifts tried
NONE_MAX = 0.03  # answerable user questions told "not in the report"
UNSURE_MAX = 0.15  # answerable user questions flagged unsure


def fit_linear(X: np.ndarray, y: np.ndarray, names: tuple[str, ...], C: float = 1.0, balanced: bool = False) -> LinearModel:
    from sklearn.linear_model import LogisticRegression

    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-9] = 1.0
    clf = LogisticRegression(C=C, max_iter=5000, class_weight="balanced" if balanced else None)
    clf.fit((X - mean) / scale, y.astype(int))
    return LinearModel(tuple(names), mean, scale, clf.coef_[0].astype(np.float64), float(clf.intercept_[0]))


def folds_of(items: list[EvalItem], k: int = FOLDS) -> dict[str, int]:
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(items))
    return {items[i].id: int(f % k) for f, i in enumerate(order)}


def gold_sentences(index: Index, item: EvalItem, normalised: list[str]) -> set[int]:
    """Sentences that hold a gold answer form and lie inside the item's evidence."""
    if not item.answerable:
        return set()
    evidence = [normalize_space(e) for e in item.evidence]
    return {
        sid for sid, t in enumerate(normalised)
        if contains_answer(t, item.answers) and any(t in e or e in t for e in evidence)
    }


@dataclass
class StageFigures:
    """Out-of-fold figures of one mode, per item group (original, user-dev)."""

    passage_r1: dict[str, float] = field(default_factory=dict)
    sentence_acc: dict[str, float] = field(default_factory=dict)
    sentence_in_pool: dict[str, float] = field(default_factory=dict)


@dataclass
class ModeFit:
    mode: str
    model: ModeModel
    figures: StageFigures
    oof: list[dict]  # per item: group, answerable, sentence_ok, probability


def _group(item: EvalItem) -> str:
    return "user-dev" if item.split == "dev" else "original"


def fit_mode(
    index: Index,
    items: list[EvalItem],
    mode: str,
    signals: tuple[str, ...] | None = None,
    sentence_names: tuple[str, ...] | None = None,
    confidence_names: tuple[str, ...] | None = None,
    log=print,
    answerable_names: tuple[str, ...] | None = None,
    confidence_C: float = 0.5,
    answerable_C: float = 0.5,
    shifts: tuple[float, ...] | None = None,
) -> ModeFit:
    """Fit the passage, sentence and confidence stages of `mode` with cross-fitting."""
    retrieval = "hybrid" if mode == "rerank" else mode
    sentence_names = sentence_names or (LEXICAL_SENTENCE_FEATURES if retrieval == "bm25" else SENTENCE_FEATURES)
    confidence_names = confidence_names or (LEXICAL_CONFIDENCE_FEATURES + ASKED_FEATURES if retrieval == "bm25" else CONFIDENCE_FEATURES)
    fold = folds_of(items)
    fold_spans = fit_spans(index, items, fold, with_folds=True)[2]  # out-of-fold short answers
    queries = {it.id: index.understand(it.question) for it in items}
    normalised = [normalize_space(s.text) for s in index.sentences]
    gold = {it.id: gold_sentences(index, it, normalised) for it in items}
    relevant = {it.id: relevant_chunks(it, index.chunks) for it in items}
    figures = StageFigures()

    # stage 1: passages
    base = [index.analyse(queries[it.id], mode, ModeModel(), stop_after="passages") for it in items]
    names = base[0].signal_names
    cols = [names.index(s) for s in (signals or names)]
    used = tuple(names[c] for c in cols)

    def passage_model(train_ids: set[str]) -> LinearModel | None:
        if len(used) < 2 and used == names:
            return None
        X = np.concatenate([b.passage_features for b, it in zip(base, items) if it.id in train_ids and it.answerable])
        y = np.concatenate([[c.id in relevant[it.id] for c in index.chunks] for it in items if it.id in train_ids and it.answerable])
        model = fit_linear(X[:, cols], y, used)
        if used != names:  # a subset: give the other signals weight 0 so the model reads the full row
            full = LinearModel(names, np.zeros(len(names)), np.ones(len(names)), np.zeros(len(names)), model.intercept)
            mean, scale, coef = full.mean.copy(), full.scale.copy(), full.coef.copy()
            for k, c in enumerate(cols):
                mean[c], scale[c], coef[c] = model.mean[k], model.scale[k], model.coef[k]
            model = LinearModel(names, mean, scale, coef, model.intercept)
        return model

    ids = [it.id for it in items]
    fold_passage = {f: passage_model({i for i in ids if fold[i] != f}) for f in range(FOLDS)}

    # stage 2: sentences, with each fold's passage model fitted without it
    rows, labels, r1 = {}, {}, {}
    for it in items:
        a = index.analyse(queries[it.id], mode, ModeModel(passage=fold_passage[fold[it.id]]), stop_after="sentences")
        rows[it.id] = (a.sids, select_columns(a.sentence_rows, sentence_names))
        labels[it.id] = np.array([s in gold[it.id] for s in a.sids])
        if it.answerable:
            r1[it.id] = float(index.chunk_ids[int(a.order[0])] in relevant[it.id])

    def sentence_model(train_ids: set[str]) -> LinearModel:
        chosen = sorted(i for i in train_ids if labels[i].size)
        return fit_linear(np.concatenate([rows[i][1] for i in chosen]), np.concatenate([labels[i] for i in chosen]), sentence_names)

    answerable_ids = {it.id for it in items if it.answerable}
    fold_sentence = {f: sentence_model({i for i in answerable_ids if fold[i] != f}) for f in range(FOLDS)}

    # stage 3: confidence rows from out-of-fold passage and sentence models
    conf_rows, conf_labels, chosen_ok, answer_ok = {}, {}, {}, {}
    for it in items:
        f = fold[it.id]
        a = index.analyse(queries[it.id], mode, ModeModel(passage=fold_passage[f], sentence=fold_sentence[f]))
        sid = a.best_sid
        ok = bool(it.answerable and sid is not None and contains_answer(index.sentences[sid].text, it.answers))
        chosen_ok[it.id] = ok
        span_model = fold_spans[f] if fold_spans else None
        answer_ok[it.id] = bool(it.answerable and short_answer_correct(index.short_answer(a, span_model), it.answers))
        conf_rows[it.id] = a.confidence_row[[CONFIDENCE_FEATURES.index(n) for n in confidence_names]]
        conf_labels[it.id] = ok
        if it.answerable:
            figures.sentence_in_pool.setdefault(_group(it), []).append(bool(gold[it.id] & set(a.sids)))
    for it in items:
        if it.answerable:
            figures.passage_r1.setdefault(_group(it), []).append(r1[it.id])
            figures.sentence_acc.setdefault(_group(it), []).append(chosen_ok[it.id])

    def confidence_model(train_ids: set[str]) -> LinearModel:
        X = np.stack([conf_rows[i] for i in train_ids])
        y = np.array([conf_labels[i] for i in train_ids])
        return fit_linear(X, y, confidence_names, C=confidence_C)

    oof_score = {}
    for f in range(FOLDS):
        m = confidence_model({i for i in ids if fold[i] != f})
        for i in ids:
            if fold[i] == f:
                oof_score[i] = float(m.score(conf_rows[i])[0])
    calibration = fit_platt(np.array([oof_score[i] for i in ids]), np.array([conf_labels[i] for i in ids]))

    # stage 4: does the report answer the question at all? (the same row; label: answerable)
    answerable_names = confidence_names if answerable_names is None else answerable_names
    ans_cols = [confidence_names.index(n) for n in answerable_names]
    answerable_label = {it.id: it.answerable for it in items}

    def answerable_model(train_ids: set[str]) -> LinearModel:
        X = np.stack([conf_rows[i][ans_cols] for i in sorted(train_ids)])
        y = np.array([answerable_label[i] for i in sorted(train_ids)])
        return fit_linear(X, y, answerable_names, C=answerable_C, balanced=True)

    oof_answerable = {}
    if answerable_names:
        for f in range(FOLDS):
            m = answerable_model({i for i in ids if fold[i] != f})
            for i in ids:
                if fold[i] == f:
                    oof_answerable[i] = float(m.score(conf_rows[i][ans_cols])[0])
        answerable_calibration = fit_platt(np.array([oof_answerable[i] for i in ids]), np.array([answerable_label[i] for i in ids]))
    oof = [
        {"id": it.id, "group": _group(it), "answerable": it.answerable, "sentence_ok": chosen_ok[it.id],
         "passage_r1": r1.get(it.id), "confidence": float(calibration(oof_score[it.id])), "answer_ok": answer_ok[it.id],
         "p_answerable": float(answerable_calibration(oof_answerable[it.id])) if oof_answerable else None}
        for it in items
    ]
    # the outcome's score and thresholds, chosen on user-dev: the shift that declines the most
    # unanswerable questions within the limits on answerable ones (ties: the confidence alone,
    # then the larger shift, where the answerability model weighs least)
    dev = [o for o in oof if o["group"] == "user-dev"] or oof
    best = None
    for shift in ((None,) + tuple(shifts or SHIFTS) if oof_answerable else (None,)):
        probe = ModeModel(answerable_shift=shift)
        for o in oof:
            o["probability"] = probe.outcome_score(o["confidence"], o["p_answerable"])
        unsure_t, answer_t = choose_thresholds(dev)
        declined = np.mean([o["probability"] < answer_t for o in dev if not o["answerable"]]) if any(not o["answerable"] for o in dev) else 0.0
        if best is None or declined > best[0] + 1e-9:
            best = (declined, shift, unsure_t, answer_t)
    _, shift, unsure_t, answer_t = best
    probe = ModeModel(answerable_shift=shift)
    for o in oof:  # the outcome each item would get (thresholds chosen on all of dev: in-sample for them)
        o["probability"] = p = probe.outcome_score(o["confidence"], o["p_answerable"])
        o["level"] = "answer" if p >= answer_t else ("unsure" if p >= unsure_t else "none")

    model = ModeModel(
        passage=passage_model(set(ids)),
        sentence=sentence_model(answerable_ids),
        confidence=confidence_model(set(ids)),
        calibration=calibration,
        answer_threshold=answer_t,
        unsure_threshold=unsure_t,
        answerable=answerable_model(set(ids)) if oof_answerable else None,
        answerable_calibration=answerable_calibration if oof_answerable else None,
        answerable_shift=shift,
    )
    for attr in ("passage_r1", "sentence_acc", "sentence_in_pool"):
        setattr(figures, attr, {g: float(np.mean(v)) for g, v in getattr(figures, attr).items()})
    return ModeFit(mode, model, figures, oof)


def fit_platt(scores: np.ndarray, labels: np.ndarray, points: int = 241) -> Calibration:
    """Platt scaling (a logistic curve over the out-of-fold scores), kept as a fine grid of points.
    Isotonic regression was tried: on ~500 items its steps are so coarse that the two thresholds
    fall on one step and "unsure" vanishes."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=1e6, max_iter=5000).fit(scores.reshape(-1, 1), labels.astype(int))
    lo, hi = float(scores.min()) - 3.0, float(scores.max()) + 3.0
    x = np.linspace(lo, hi, points)
    y = clf.predict_proba(x.reshape(-1, 1))[:, 1]
    return Calibration(x, y)


def choose_thresholds(oof: list[dict]) -> tuple[float, float]:
    """unsure: at most NONE_MAX of answerable items below it; answer: at most UNSURE_MAX more."""
    p = np.sort([o["probability"] for o in oof if o["answerable"]])
    if not len(p):
        return 0.0, 0.5
    lo = float(p[int(np.floor(NONE_MAX * len(p)))]) if len(p) else 0.0
    hi = float(p[min(len(p) - 1, int(np.floor((NONE_MAX + UNSURE_MAX) * len(p))))])
    return lo, max(lo, hi)


# ---------------------------------------------------------------- spans

def span_data(index: Index, items: list[EvalItem]) -> list[tuple[EvalItem, np.ndarray, np.ndarray]]:
    normalised = [normalize_space(s.text) for s in index.sentences]
    out = []
    for it in items:
        gold = sorted(gold_sentences(index, it, normalised))
        if not gold:
            continue
        sentence = index.sentences[gold[0]].text
        query = index.understand(it.question)
        words = span_words(sentence)
        cands = answer_candidates(sentence, query.profile)
        if not cands:
            continue
        typed = index.typed[gold[0]] if index.typed else None
        X = span_features(sentence, query.profile, cands, words, typed)
        texts = [sentence[words[i].start : words[j].end] for i, j in cands]
        ok = np.array([short_answer_correct(t, it.answers) for t in texts])
        out.append((it, X, ok, (sentence, query.profile, typed)))
    return out


def fit_spans(index: Index, items: list[EvalItem], fold: dict[str, int] | None = None, with_folds: bool = False, parse: bool = True):
    """The span ranker fitted on every item's gold sentence, and its out-of-fold accuracy given
    that sentence; `with_folds` also returns the fold models (fold -> the model fitted without it);
    `parse=False` leaves out the parse features (kzqa 0.2's ranker, for the ablation)."""
    data = span_data(index, items)
    if not parse:
        keep = len(span_feature_names()) - len(parse_feature_names())
        data = [(it, X[:, :keep], ok, (sentence, profile, None)) for it, X, ok, (sentence, profile, _) in data]
    fold = fold or folds_of([d[0] for d in data])
    fold_models = {}
    names = tuple(span_feature_names()) if parse else tuple(span_feature_names()[: len(span_feature_names()) - len(parse_feature_names())])
    acc: dict[str, list[bool]] = {}
    for f in range(FOLDS):
        train = [d for d in data if fold[d[0].id] != f]
        m = fit_linear(np.concatenate([d[1] for d in train]), np.concatenate([d[2] for d in train]), names, C=0.5)
        fold_models[f] = m
        for it, X, _, (sentence, profile, typed) in data:
            if fold[it.id] == f:
                best = ranked_spans(sentence, profile, m, typed)  # as the query path decodes
                acc.setdefault(_group(it), []).append(short_answer_correct(best[0][0] if best else None, it.answers))
    model = fit_linear(np.concatenate([d[1] for d in data]), np.concatenate([d[2] for d in data]), names, C=0.5)
    figures = {g: float(np.mean(v)) for g, v in acc.items()}
    return (model, figures, fold_models) if with_folds else (model, figures)
