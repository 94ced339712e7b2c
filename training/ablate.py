"""Ablations of the answer pipeline, measured out of fold on the user set's dev split and the
original set (never on test: it refuses), each variant fitted afresh the way the shipped models are.

    python training/ablate.py [--fit-on original,user-dev] [--mode hybrid]

Prints one row per variant: passage R@1 and answering-sentence accuracy, out of fold, with 95 %
bootstrap intervals over items. A change stays in kzqa only if it helps on dev; the decisions and
this output are recorded in eval/ablations.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from answer_training import fit_mode, fit_spans  # noqa: E402
from qa.search.confidence import ASKED_FEATURES, PLAIN_CONFIDENCE_FEATURES  # noqa: E402
from qa.search.select import PLAIN_SENTENCE_FEATURES  # noqa: E402

from qa.search.pipeline import Index  # noqa: E402
from qa.evaluation.evalset import FIT_DEFAULT, load_fit_items  # noqa: E402
from qa.evaluation.evaluate import bootstrap_ci, markdown_table  # noqa: E402
from qa.search.query import Speller  # noqa: E402
from qa.search.select import SENTENCE_FEATURES  # noqa: E402
from qa.index.open import open_index  # noqa: E402


def cell(values: list[float]) -> str:
    if not values:
        return "–"
    lo, hi = bootstrap_ci(values)
    return f"{np.mean(values):.3f} ({lo:.2f}–{hi:.2f})"


def row(label: str, fit) -> list[str]:
    out = [label]
    for group in ("user-dev", "original"):
        items = [o for o in fit.oof if o["group"] == group and o["answerable"]]
        out += [cell([float(o["passage_r1"]) for o in items]), cell([float(o["sentence_ok"]) for o in items])]
        if group == "user-dev":
            unanswerable = [o for o in fit.oof if o["group"] == group and not o["answerable"]]
            out += [cell([float(o["answer_ok"]) for o in items]), cell([float(o["level"] != "answer") for o in unanswerable])]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fit-on", default=FIT_DEFAULT, help="comma list of original, user-dev (test is refused)")
    ap.add_argument("--mode", default="hybrid")
    ap.add_argument("--only-answers", action="store_true", help="only the rows on answers and answerability (the first five)")
    args = ap.parse_args()
    items = load_fit_items(args.fit_on, "run ablations")
    index = Index(open_index(None, notify=None), models={})
    print(f"measured on: {args.fit_on} ({len(items)} items), out of fold, mode {args.mode}\n")
    rows = []

    def run(label: str, **kwargs) -> None:
        t = time.perf_counter()
        rows.append(row(label, fit_mode(index, items, args.mode, **kwargs)))
        print(f"  {label}: {time.perf_counter() - t:.0f} s", file=sys.stderr)

    run("kzqa (all signals and features)")
    run("answerability model off (the confidence alone decides the outcome)", answerable_names=())
    run("asked kind off: no kind/count/place signals in the confidence and answerability", confidence_names=PLAIN_CONFIDENCE_FEATURES)
    run("asked kind off in the sentence scorer", sentence_names=PLAIN_SENTENCE_FEATURES)
    run("sentence scorer, confidence and outcome as in kzqa 0.2", confidence_names=PLAIN_CONFIDENCE_FEATURES, answerable_names=(),
        sentence_names=PLAIN_SENTENCE_FEATURES)
    if args.only_answers:
        print(markdown_table(["variant", "user-dev passage R@1", "user-dev sentence", "user-dev short answer",
                              "user-dev unanswerable declined", "original passage R@1", "original sentence"], rows))
        return
    run("passages: without late interaction", signals=("bm25", "dense", "dense_sentence"))
    run("passages: without the best-sentence cosine", signals=("bm25", "dense", "late"))
    run("passages: BM25 + passage cosine only (learned weights)", signals=("bm25", "dense"))
    no = lambda *names: tuple(f for f in SENTENCE_FEATURES if f not in names)  # noqa: E731
    run("sentences: without late interaction", sentence_names=no("late", "late_z", "prev_late"))
    run("sentences: without the answer-type and year features", sentence_names=no("typed", "year"))
    run("sentences: without standardised scores", sentence_names=no("cos_z", "late_z"))

    speller = index.speller
    index._speller = Speller(lambda: [], lambda word: True)  # knows every word: corrects nothing
    run("query: no spelling correction")
    index._speller = speller

    header = ["variant", "user-dev passage R@1", "user-dev sentence", "user-dev short answer", "user-dev unanswerable declined",
              "original passage R@1", "original sentence"]
    print(markdown_table(header, rows))
    span_model, span_acc = fit_spans(index, items)
    _, lexical_acc = fit_spans(index, items, parse=False)
    typed = typed_extractor_accuracy(index, items)
    print(f"\nshort answer given the gold sentence, out of fold: span ranker {span_acc}; without the parse features (0.2) "
          f"{lexical_acc}; typed extractors alone (0.1.0) {typed}")


def typed_extractor_accuracy(index: Index, items) -> dict[str, float]:
    from answer_training import _group, gold_sentences

    from qa.evaluation.evaluate import short_answer_correct
    from qa.document import normalize_space
    from qa.search.spans import ScoredSentence, choose_answers

    normalised = [normalize_space(s.text) for s in index.sentences]
    acc: dict[str, list[bool]] = {}
    for it in items:
        gold = sorted(gold_sentences(index, it, normalised))
        if not gold:
            continue
        s = index.sentences[gold[0]]
        found = choose_answers(index.understand(it.question).profile, [ScoredSentence(s.text, s.page, 0, 1.0, gold[0])], index.chunk_ids)
        acc.setdefault(_group(it), []).append(short_answer_correct(found[0].text if found else None, it.answers))
    return {g: round(float(np.mean(v)), 3) for g, v in acc.items()}


if __name__ == "__main__":
    main()
