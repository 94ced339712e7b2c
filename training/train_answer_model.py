"""Fit kzqa's scorers and write them to qa/data/answer_model.json.

    python training/train_answer_model.py [--fit-on original,user-dev] [--modes bm25,dense,hybrid,rerank]

Fits on the original eval set and the user set's dev split only (it refuses the test split),
with grouped cross-fitting (training/answer_training.py), and prints the out-of-fold figures of
every stage; those figures are recorded in eval/README.md. Needs scikit-learn (the dev extra); the
query path applies the written coefficients with numpy.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from answer_training import fit_mode, fit_spans  # noqa: E402

from qa.settings import MODES
from qa.search.pipeline import Index  # noqa: E402
from qa.evaluation.evalset import FIT_DEFAULT, load_fit_items  # noqa: E402
from qa.search.scorers import MODEL_FILE  # noqa: E402
from qa.index.open import open_index  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fit-on", default=FIT_DEFAULT, help="comma list of original, user-dev (test is refused)")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--index-dir", default=None)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "qa" / "data" / MODEL_FILE))
    args = ap.parse_args()
    items = load_fit_items(args.fit_on, "fit kzqa's scorers")
    index = Index(open_index(args.index_dir, notify=None), models={})
    print(f"fitting on {args.fit_on}: {len(items)} items ({sum(it.answerable for it in items)} answerable)")
    doc: dict = {
        "version": 1,
        "fitted_on": args.fit_on,
        "items": len(items),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cross_validated": {},
        "modes": {},
    }
    t0 = time.perf_counter()
    span_model, span_acc = fit_spans(index, items)
    doc["span"] = span_model.to_dict()
    doc["cross_validated"]["span_on_gold_sentence"] = {k: round(v, 4) for k, v in span_acc.items()}
    print(f"span ranker (short answer right, given the gold sentence; out of fold): {span_acc}  [{time.perf_counter() - t0:.0f} s]")
    for mode in args.modes.split(","):
        t0 = time.perf_counter()
        fit = fit_mode(index, items, mode)
        doc["modes"][mode] = fit.model.to_dict()
        figs = {k: {g: round(v, 4) for g, v in getattr(fit.figures, k).items()} for k in ("passage_r1", "sentence_acc", "sentence_in_pool")}
        doc["cross_validated"][mode] = figs | {
            "unsure_threshold": round(fit.model.unsure_threshold, 4), "answer_threshold": round(fit.model.answer_threshold, 4),
        }
        print(f"{mode}: passage R@1 {figs['passage_r1']}; sentence right {figs['sentence_acc']}; "
              f"gold sentence in the pool {figs['sentence_in_pool']}; thresholds unsure {fit.model.unsure_threshold:.3f} "
              f"answer {fit.model.answer_threshold:.3f}  [{time.perf_counter() - t0:.0f} s]")
        sys.stdout.flush()
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
