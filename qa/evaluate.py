"""Evaluation: the eval set, relevance judgements, TREC qrels/run files, and the results table.

Ranking metrics come from ir-measures (trec_eval through pytrec_eval), computed from the TREC
files this module writes, so any standard tool can re-score them.

Relevance rule: a passage is relevant to an item when it contains one of the item's evidence
strings (whitespace-normalised). When no passage contains an evidence string whole (a chunk
boundary splits it), every passage that contains a sentence of that evidence holding an answer
form is relevant instead; failing that, every passage holding any of its sentences.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .errors import KzqaError
from .report import normalize_space

TYPES = ("numeric", "who", "when", "what", "why", "unanswerable")
K = 10


@dataclass
class EvalItem:
    id: str
    question: str
    answers: list[str]
    evidence: list[str]
    type: str
    section: list[str] = field(default_factory=list)
    heading: list[str] = field(default_factory=list)

    @property
    def answerable(self) -> bool:
        return bool(self.evidence)


def default_questions_path() -> Path:
    return Path(__file__).resolve().parent.parent / "eval" / "questions.jsonl"


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def load_eval_set(path: str | Path | None = None) -> list[EvalItem]:
    p = Path(path) if path else default_questions_path()
    if not p.is_file():
        raise KzqaError(f"no eval set at {p} (give one with --questions FILE)")
    items = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            items.append(
                EvalItem(
                    id=str(d["id"]), question=d["question"], answers=_as_list(d.get("answer")),
                    evidence=_as_list(d.get("evidence")), type=d.get("type", "what"),
                    section=_as_list(d.get("section")), heading=_as_list(d.get("heading")),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise KzqaError(f"{p}: line {n} is not a valid eval item ({exc.__class__.__name__}: {exc})") from None
    return items


def split_sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.?!\"”’)])\s+(?=[A-Z0-9“\"])", normalize_space(text)) if s]


def relevant_chunks(item: EvalItem, chunks) -> set[str]:
    """Ids of the passages that hold the item's evidence (see the module docstring)."""
    texts = {c.id: normalize_space(c.text) for c in chunks}
    relevant: set[str] = set()
    for evidence in item.evidence:
        ev = normalize_space(evidence)
        whole = {cid for cid, t in texts.items() if ev in t}
        if whole:
            relevant |= whole
            continue
        parts = split_sentences(ev)
        with_answer = [s for s in parts if any(a in s for a in item.answers)] or parts
        relevant |= {cid for cid, t in texts.items() if any(s in t for s in with_answer)}
    return relevant


def contains_answer(text: str | None, answers: list[str]) -> bool:
    if not text:
        return False
    t = normalize_space(text).lower()
    return any(normalize_space(a).lower() in t for a in answers)


# ---------------------------------------------------------------- TREC files

def write_qrels(path: Path, qrels: dict[str, set[str]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for qid in sorted(qrels):
            for doc in sorted(qrels[qid]):
                f.write(f"{qid} 0 {doc} 1\n")


def write_run(path: Path, run: dict[str, list[str]], tag: str) -> None:
    """Scores are written as (k - rank + 1) so that trec_eval's re-sort keeps our exact order."""
    with open(path, "w", encoding="utf-8") as f:
        for qid in sorted(run):
            docs = run[qid]
            for rank, doc in enumerate(docs, 1):
                f.write(f"{qid} Q0 {doc} {rank} {len(docs) - rank + 1} {tag}\n")


MEASURE_NAMES = ("R@1", "R@3", "R@5", "R@10", "RR@10", "nDCG@10")


def ranking_metrics(qrels_path: Path, run_path: Path) -> dict[str, float]:
    """Mean ranking metrics over the queries that have judgements, by ir-measures."""
    import ir_measures

    measures = [ir_measures.parse_measure(m) for m in MEASURE_NAMES]
    qrels = list(ir_measures.read_trec_qrels(str(qrels_path)))
    run = list(ir_measures.read_trec_run(str(run_path)))
    if not qrels:
        return {m: 0.0 for m in MEASURE_NAMES}
    judged = {q.query_id for q in qrels}
    per_query: dict[str, dict[str, float]] = defaultdict(dict)
    for metric in ir_measures.iter_calc(measures, qrels, run):
        per_query[str(metric.measure)][metric.query_id] = metric.value
    # queries with judgements but no retrieved passages count as 0 (trec_eval's -c behaviour)
    return {m: sum(per_query[m].get(q, 0.0) for q in judged) / len(judged) for m in MEASURE_NAMES}


# ---------------------------------------------------------------- running

@dataclass
class ItemResult:
    id: str
    type: str
    found: bool
    text: str | None
    sentence: str | None
    ranked: list[str]
    relevant: list[str]
    text_correct: bool
    sentence_correct: bool
    latency_ms: float
    passage_words: float


@dataclass
class ConfigResult:
    name: str
    metrics: dict[str, float]
    items: list[ItemResult]

    def row(self) -> dict:
        return {"config": self.name} | {k: round(v, 4) for k, v in self.metrics.items()}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def evaluate_config(index, items: list[EvalItem], mode: str, out_dir: Path, name: str | None = None, k: int = K) -> ConfigResult:
    name = name or mode
    qrels = {it.id: relevant_chunks(it, index.chunks) for it in items if it.answerable}
    results = []
    for it in items:
        t0 = time.perf_counter()
        answer = index.ask(it.question, k=k, mode=mode)
        latency = (time.perf_counter() - t0) * 1000
        ranked = [p.id for p in answer.passages]
        results.append(
            ItemResult(
                id=it.id, type=it.type, found=answer.found, text=answer.text, sentence=answer.sentence, ranked=ranked,
                relevant=sorted(qrels.get(it.id, ())),
                text_correct=it.answerable and answer.found and contains_answer(answer.text, it.answers),
                sentence_correct=it.answerable and answer.found and contains_answer(answer.sentence, it.answers),
                latency_ms=latency,
                passage_words=statistics.fmean(len(p.text.split()) for p in answer.passages[:3]) if answer.passages else 0.0,
            )
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    qrels_path = out_dir / "qrels.txt"
    write_qrels(qrels_path, qrels)
    run_path = out_dir / f"run-{name}.txt"
    write_run(run_path, {r.id: r.ranked for r in results}, f"kzqa-{name}")
    metrics = ranking_metrics(qrels_path, run_path)
    metrics |= answer_metrics(results)
    return ConfigResult(name, metrics, results)


def answer_metrics(results: list[ItemResult]) -> dict[str, float]:
    answerable = [r for r in results if r.type != "unanswerable"]
    unanswerable = [r for r in results if r.type == "unanswerable"]
    abstained = [r for r in results if not r.found]
    true_abstentions = [r for r in abstained if r.type == "unanswerable"]
    latencies = [r.latency_ms for r in results]
    m = {
        "answer_acc": _mean([r.text_correct for r in answerable]),
        "sentence_acc": _mean([r.sentence_correct for r in answerable]),
        "abstain_P": len(true_abstentions) / len(abstained) if abstained else 0.0,
        "abstain_R": len(true_abstentions) / len(unanswerable) if unanswerable else 0.0,
        "answered_rate": _mean([r.found for r in answerable]),
        "words": _mean([r.passage_words for r in results]),
        "p50_ms": percentile(latencies, 0.5),
        "p95_ms": percentile(latencies, 0.95),
    }
    for t in TYPES[:-1]:
        of_type = [r for r in answerable if r.type == t]
        if of_type:
            m[f"answer_acc[{t}]"] = _mean([r.text_correct for r in of_type])
            m[f"sentence_acc[{t}]"] = _mean([r.sentence_correct for r in of_type])
    return m


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


MAIN_COLUMNS = [
    ("R@1", "R@1"), ("R@3", "R@3"), ("R@5", "R@5"), ("R@10", "R@10"), ("MRR@10", "RR@10"), ("nDCG@10", "nDCG@10"),
    ("ans", "answer_acc"), ("sent", "sentence_acc"), ("abstP", "abstain_P"), ("abstR", "abstain_R"),
    ("words", "words"), ("p50 ms", "p50_ms"), ("p95 ms", "p95_ms"),
]


def table_rows(results: list[ConfigResult]) -> tuple[list[str], list[list[str]]]:
    header = ["config"] + [label for label, _ in MAIN_COLUMNS]
    rows = []
    for r in results:
        row = [r.name]
        for _, key in MAIN_COLUMNS:
            v = r.metrics.get(key, 0.0)
            row.append(f"{v:.1f}" if key in ("words", "p50_ms", "p95_ms") else f"{v:.3f}")
        rows.append(row)
    return header, rows


def type_rows(results: list[ConfigResult]) -> tuple[list[str], list[list[str]]]:
    header = ["config", "measure"] + list(TYPES[:-1])
    rows = []
    for r in results:
        for measure in ("answer_acc", "sentence_acc"):
            rows.append([r.name, measure] + [f"{r.metrics.get(f'{measure}[{t}]', 0.0):.3f}" for t in TYPES[:-1]])
    return header, rows


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def run_eval(index, items: list[EvalItem], modes: list[str], out_dir: Path, k: int = K) -> list[ConfigResult]:
    results = [evaluate_config(index, items, mode, out_dir, k=k) for mode in modes]
    summary = {
        "items": len(items),
        "answerable": sum(it.answerable for it in items),
        "index": index.manifest.get("name"),
        "k": k,
        "results": [r.row() for r in results],
    }
    (out_dir / "results.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    per_item = [
        {"config": r.name} | {k2: v for k2, v in vars(it).items()} for r in results for it in r.items
    ]
    (out_dir / "items.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in per_item), encoding="utf-8")
    return results
