"""The cross-encoder experiment's training examples: (question, context prefix, sentence, answer span or none).

Two sources, never the user set's test split (qa/evaluation/evalset.py: load_fit_items refuses it):
- the eval sets' fitting items (original + user-dev): each question with the candidate sentences
  kzqa's own pipeline puts before the reader (its hard negatives), the gold sentences positive,
  the answer span the first gold form found in the sentence; unanswerable items give negatives only;
- questions generated from the reports' sentences (training/question_generation.py): the source
  sentence positive (or negative, for an unanswerable variant) and other sentences of its passage
  as negatives.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from qa.document import Report, normalize_space  # noqa: E402
from qa.index.chunking import short_heading  # noqa: E402
from cross_encoder_model import context_prefix  # noqa: E402

READ_CANDIDATES = 8  # candidate sentences per fitting item (the pipeline reads fewer: READ_SENTENCES)
GENERATED_NEGATIVES = 2  # other sentences of the passage per generated question
REPORT_FILES = ("tests/fixtures/kazakhstan-2023.txt", "tests/fixtures/algeria-2012.txt", "tests/fixtures/eritrea-2011.txt")


@dataclass
class Example:
    question: str
    prefix: str
    sentence: str
    answer: tuple[int, int] | None  # character span in `sentence`; None: does not answer
    source: str  # "original", "user-dev", "generated"
    group: str  # the item or generated question it comes from (folds are drawn by group)
    kind: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def report_sentences(report: Report) -> list[tuple[str, str, int]]:
    """(sentence, its heading, its paragraph number) of a report, in order."""
    out = []
    para = 0
    for section in report.sections:
        heading = short_heading(section.headings[-1]) if section.headings else ""
        for p in section.paragraphs:
            para += 1
            for s in p.sentences:
                out.append((s.text, heading, para))
    return out


def load_reports() -> list[Report]:
    from qa.ingest.parse import load_report
    from qa.ingest.sources import load_source
    from qa.ingest.parse import parse_source

    reports = [load_report()]
    for rel in REPORT_FILES:
        path = ROOT / rel
        reports.append(parse_source(load_source(path), path.stem))
    return reports


def locate_answer(sentence: str, forms: list[str]) -> tuple[int, int] | None:
    """The first gold form found in the sentence (case and spacing ignored), as character offsets."""
    low = sentence.lower()
    for form in forms:
        f = normalize_space(form).lower()
        i = low.find(f)
        if i >= 0:
            return i, i + len(f)
        # the sentence may hold the form with other spacing
        words = f.split()
        if words:
            import re

            m = re.search(r"\s+".join(re.escape(w) for w in words), low)
            if m:
                return m.start(), m.end()
    return None


def fitting_examples(index, items, source_of) -> list[Example]:
    """Examples from eval items: the pipeline's candidate sentences for each question."""
    sys.path.insert(0, str(ROOT / "training"))
    from answer_training import gold_sentences

    normalised = [normalize_space(s.text) for s in index.sentences]
    out = []
    for it in items:
        a = index.analyse(it.question, "hybrid")
        order = [a.sids[i] for i in np.argsort(-a.sentence_scores, kind="stable")][:READ_CANDIDATES]
        gold = gold_sentences(index, it, normalised)
        sids = list(order) + [g for g in sorted(gold) if g not in order]
        for sid in sids:
            s = index.sentences[sid]
            chunk = index.chunks[int(index.sentence_chunk[sid])]
            prefix = context_prefix(index.report.label, short_heading(chunk.headings[-1]) if chunk.headings else "")
            span = locate_answer(s.text, it.answers) if sid in gold else None
            out.append(Example(it.question, prefix, s.text, span, source_of(it), it.id, it.type))
    return out


def generated_examples(reports: list[Report], seed: int, per_sentence: int = 2) -> tuple[list[Example], dict]:
    """Examples from questions generated over every report's sentences."""
    from question_generation import generate

    rng = random.Random(seed)
    out: list[Example] = []
    counts: dict = {"questions": 0, "by_variant": {}, "by_kind": {}}
    pool: dict[str, list[str]] = {}
    import question_generation as qg

    for r in reports:  # names from every report: another report's person is a plausible swap
        for doc in qg.nlp().pipe([s for s, _, _ in report_sentences(r)], batch_size=64):
            for e in doc.ents:
                if e.label_ in ("PERSON", "ORG") and len(e.text.split()) >= 2:
                    pool.setdefault(e.label_, []).append(e.text)
    pool = {k: sorted(set(v)) for k, v in pool.items()}
    for ri, report in enumerate(reports):
        rows = report_sentences(report)
        by_para: dict[int, list[int]] = {}
        for i, (_, _, para) in enumerate(rows):
            by_para.setdefault(para, []).append(i)
        index_of = {s: i for i, (s, _, _) in enumerate(rows)}
        questions = generate([s for s, _, _ in rows], report.label, report.country, report.year, seed + ri, per_sentence, pool)
        for qi, q in enumerate(questions):
            i = index_of[q.sentence]
            sentence, heading, para = rows[i]
            prefix = context_prefix(report.label, heading)
            group = f"g{ri}-{qi}"
            counts["questions"] += 1
            counts["by_variant"][q.variant] = counts["by_variant"].get(q.variant, 0) + 1
            counts["by_kind"][q.kind] = counts["by_kind"].get(q.kind, 0) + 1
            span = None
            if q.answer is not None:
                start = sentence.find(q.answer)
                if start < 0:
                    continue
                span = (start, start + len(q.answer))
            out.append(Example(q.question, prefix, sentence, span, "generated", group, q.kind))
            # negatives: other sentences of the paragraph, else its neighbours
            near = [j for j in by_para[para] if j != i] or [j for j in (i - 1, i + 1) if 0 <= j < len(rows)]
            far = [j for j in range(max(0, i - 6), min(len(rows), i + 7)) if j != i and j not in near]
            choices = near + rng.sample(far, min(len(far), 2))
            for j in rng.sample(choices, min(len(choices), GENERATED_NEGATIVES)):
                other = rows[j][0]
                if q.answer and q.answer.lower() in other.lower():
                    continue  # it may answer as well
                out.append(Example(q.question, context_prefix(report.label, rows[j][1]), other, None, "generated", group, q.kind))
    return out, counts


def write_examples(path: Path, examples: list[Example]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for e in examples:
            f.write(json.dumps(e.to_dict(), ensure_ascii=False) + "\n")
