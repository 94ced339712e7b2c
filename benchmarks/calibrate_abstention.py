"""Calibrate the abstention threshold ("The report does not appear to answer this.").

    python benchmarks/calibrate_abstention.py [--mode hybrid] [--fit-on original,user-dev]

Fits on the original set and the user set's dev split (never on test: it refuses).

For each candidate threshold on the answer confidence, prints abstention precision and recall on
the eval set's unanswerable items and the share of answerable items still answered. kzqa's
FOUND_THRESHOLD (qa/api.py) is the threshold with the best abstention F1 among those that keep at
least 97% of answerable items answered.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.api import FOUND_THRESHOLD, FOUND_THRESHOLD_LEXICAL, load_index  # noqa: E402
from qa.evalset import FIT_DEFAULT, load_fit_items  # noqa: E402
from qa.evaluate import markdown_table  # noqa: E402

KEEP_ANSWERED = 0.97


def auc(pos: list[float], neg: list[float]) -> float:
    """P(confidence of an answerable item > that of an unanswerable one)."""
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg)) if pos and neg else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="hybrid")
    ap.add_argument("--fit-on", default=FIT_DEFAULT, help="comma list of original, user-dev (test is refused)")
    args = ap.parse_args()
    items = load_fit_items(args.fit_on, "calibrate the abstention threshold")
    print(f"fitting on: {args.fit_on}")
    index = load_index()
    conf = {it.id: index.ask(it.question, mode=args.mode).confidence for it in items}
    pos = [conf[it.id] for it in items if it.answerable]
    neg = [conf[it.id] for it in items if not it.answerable]
    print(f"{len(pos)} answerable, {len(neg)} unanswerable; confidence AUC {auc(pos, neg):.3f}; current threshold {FOUND_THRESHOLD_LEXICAL if args.mode == 'bm25' else FOUND_THRESHOLD}")
    rows, best = [], None
    for t in [x / 100 for x in range(30, 71, 2)]:
        abstained_neg = sum(c < t for c in neg)
        abstained_pos = sum(c < t for c in pos)
        precision = abstained_neg / (abstained_neg + abstained_pos) if abstained_neg + abstained_pos else 0.0
        recall = abstained_neg / len(neg) if neg else 0.0
        answered = 1 - abstained_pos / len(pos)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append([f"{t:.2f}", f"{precision:.3f}", f"{recall:.3f}", f"{f1:.3f}", f"{answered:.3f}"])
        if answered >= KEEP_ANSWERED and (best is None or f1 > best[1]):
            best = (t, f1)
    print(markdown_table(["threshold", "abstain P", "abstain R", "F1", "answerable answered"], rows))
    if best:
        print(f"\nbest threshold keeping >= {KEEP_ANSWERED:.0%} answered: {best[0]:.2f} (F1 {best[1]:.3f})")


if __name__ == "__main__":
    main()
