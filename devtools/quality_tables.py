"""README's Quality tables as `kzqa eval --all-modes` gives them now, in the exact form
tests/test_readme.py checks (the headline rows of this release, every configuration, by style, by
question type):

    python devtools/quality_tables.py [--index-dir DIR]

It prints the tables; pasting them is still a person's job (the prose beside them says what they
mean). The same run_eval, sets and k as the command and the test.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def ci(s, metric: str) -> str:
    lo, hi = s.ci[metric]
    return f"{s.metrics[metric]:.3f} ({lo:.2f}–{hi:.2f})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index-dir", default=None)
    args = ap.parse_args()
    from qa import __version__
    from qa.evaluation.evalset import default_questions_path, load_eval_set
    from qa.evaluation.evaluate import run_eval
    from qa.index.open import open_index
    from qa.search.pipeline import Index
    from qa.settings import MODES

    index = Index(open_index(args.index_dir, notify=None))
    sets = {n: load_eval_set(default_questions_path(n)) for n in ("original", "user")}
    run = run_eval(index, sets, list(MODES), Path(tempfile.mkdtemp(prefix="kzqa-tables-")))
    groups = {(s.config, s.group): s for s in run.summaries}
    styles = {(s.config, s.group): s for s in run.style_summaries}
    release = ".".join(__version__.split(".")[:2])

    print("headline rows (hybrid):")
    for name in ("user-test", "user-dev", "original"):
        s = groups[("hybrid", name)]
        m = s.metrics
        cells = [name, release, ci(s, "R@1"), f"{m['R@5']:.3f}", ci(s, "RR@10"), ci(s, "sentence_acc"), ci(s, "answer_acc"),
                 f"{100 * m['none_rate']:.1f}%", f"{100 * m['unsure_rate']:.1f}%", f"{100 * m['declined']:.0f}%", f"{m['ece']:.3f}"]
        print("| " + " | ".join(cells) + " |")
    print("\nby style (user-test, hybrid):")
    print("| config | style | n | R@1 | MRR@10 | sent | ans | none | declined |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (config, style), s in sorted(styles.items()):
        if config != "hybrid":
            continue
        m = s.metrics
        cells = [config, style, f"{int(m['answerable'])}+{int(m['unanswerable'])}", ci(s, "R@1"), ci(s, "RR@10"), ci(s, "sentence_acc"),
                 ci(s, "answer_acc"), f"{m['none_rate']:.3f}", f"{m['declined']:.3f}"]
        print("| " + " | ".join(cells) + " |")
    print("\nby question type:")
    print("| config | set | measure | numeric | who | when | what | why |\n|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in ("original", "user-dev", "user-test"):
        m = groups[("hybrid", name)].metrics
        for label, measure in (("ans", "answer_acc"), ("sent", "sentence_acc")):
            cells = ["hybrid", name, label] + [f"{m[f'{measure}[{t}]']:.3f} ({int(m[f'n[{t}]'])})" for t in ("numeric", "who", "when", "what", "why")]
            print("| " + " | ".join(cells) + " |")
    print("\nevery configuration:")
    print("| config | set | R@1 | MRR@10 | sent | ans | none | unsure | declined | ECE |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in ("original", "user-dev", "user-test"):
        for config in MODES:
            s = groups[(config, name)]
            m = s.metrics
            cells = [config, name, ci(s, "R@1"), ci(s, "RR@10"), ci(s, "sentence_acc"), ci(s, "answer_acc"),
                     f"{m['none_rate']:.3f}", f"{m['unsure_rate']:.3f}", f"{m['declined']:.3f}", f"{m['ece']:.3f}"]
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
