"""The ablations that chose kzqa's chunking and BM25 defaults (kzqa 0.1), measured in one run.
(The fusion, sentence, span and confidence choices of 0.2 are training/ablate.py's.)

    python training/choose_defaults.py [--quick] [--fit-on original,user-dev]

Measured on the original set and the user set's dev split (never on test: it refuses).

Prints one table per question: chunk size (needs one index build per size), BM25 variant and
tokeniser. The figures are recorded in eval/ablations.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.search.pipeline import Index  # noqa: E402
from qa.index.chunking import ChunkingParams  # noqa: E402
from qa.evaluation.evalset import FIT_DEFAULT, load_fit_items  # noqa: E402
from qa.evaluation.evaluate import evaluate_config, markdown_table  # noqa: E402
from qa.represent.lexical import LexicalIndex, tokenize  # noqa: E402
from qa.index.write import build_index
from qa.index.open import open_index  # noqa: E402

COLUMNS = [("R@1", "R@1"), ("R@3", "R@3"), ("R@5", "R@5"), ("R@10", "R@10"), ("MRR@10", "RR@10"), ("nDCG@10", "nDCG@10"), ("sent", "sentence_acc")]


def row(name, metrics):
    return [name] + [f"{metrics[key]:.3f}" for _, key in COLUMNS]


def show(title, rows):
    print(f"\n## {title}\n")
    print(markdown_table(["config"] + [c for c, _ in COLUMNS], rows))
    sys.stdout.flush()


def relex(index: Index, **settings) -> None:
    """Swap the BM25 indexes (passage and sentence level) of a loaded index for other settings."""
    tok = {"stem": settings.get("stem", True), "stop_words": settings.get("stop_words", True)}
    passages = [tokenize(c.index_text, **tok) for c in index.chunks]
    sentences = [tokenize(s.text, **tok) for s in index.sentences]
    index.lexical = LexicalIndex(passages, **settings)
    index.sentence_lexical = LexicalIndex(sentences, **settings)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="skip the chunk-size builds")
    ap.add_argument("--fit-on", default=FIT_DEFAULT, help="comma list of original, user-dev (test is refused)")
    args = ap.parse_args()
    items = load_fit_items(args.fit_on, "run ablations")
    print(f"measured on: {args.fit_on}")
    out = Path(tempfile.mkdtemp(prefix="kzqa-ablate-"))
    print(f"{len(items)} eval items; TREC files under {out}")

    if not args.quick:
        rows = []
        for max_words in (60, 90, 120, 160, 200):
            root = out / f"w{max_words}"
            params = ChunkingParams(max_words=max_words)
            t = time.perf_counter()
            build_index(index_dir=root, params=params)
            index = Index(open_index(root, params=params, auto_build=False, notify=None))
            build_s = time.perf_counter() - t
            for mode in ("bm25", "dense", "hybrid"):
                r = evaluate_config(index, items, mode, out / f"w{max_words}-runs")
                rows.append(row(f"max_words={max_words} ({len(index.chunks)} chunks) {mode}", r.metrics))
            print(f"  built max_words={max_words} in {build_s:.1f} s", file=sys.stderr)
        show("Chunk size (max words per passage)", rows)

    root = out / "default"
    build_index(index_dir=root)
    index = Index(open_index(root, auto_build=False, notify=None))
    rows = []
    for variant in ("lucene", "okapi", "plus", "l"):
        for stem in (True, False):
            relex(index, variant=variant, stem=stem)
            for mode in ("bm25", "hybrid"):
                r = evaluate_config(index, items, mode, out / "lex")
                rows.append(row(f"{variant} stem={'on' if stem else 'off'} {mode}", r.metrics))
    show("BM25 variant and stemming", rows)
    relex(index, variant="lucene", stem=True)


if __name__ == "__main__":
    main()
