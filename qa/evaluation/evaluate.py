"""Evaluation: relevance judgements, TREC qrels/run files, per-item scores, metrics with bootstrap
confidence intervals, and the results tables, by eval set, split and style.

Ranking metrics come from ir-measures (trec_eval through pytrec_eval), computed from the TREC
files this module writes, so any standard tool can re-score them.

Relevance rule: a passage is relevant to an item when it contains one of the item's evidence
strings (whitespace-normalised). When no passage contains an evidence string whole (a chunk
boundary splits it), every passage that contains a sentence of that evidence holding an answer
form is relevant instead; failing that, every passage holding any of its sentences.

Confidence intervals: 95 % percentile bootstrap over items (scipy.stats.bootstrap, seeded), so a
difference of one or two questions is not read as progress.

Why one file of ~500 lines: the relevance rule, the metrics and the tables read the same per-item
records; kept together so that a figure and the rule it counts by are read in one place.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .evalset import TYPES, EvalItem, Group, default_groups
from ..document import normalize_space

K = 10
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20111231


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


STRAY_WORDS = 3


def short_answer_correct(text: str | None, answers: list[str]) -> bool:
    """The short answer holds a gold form with at most three words more: a clause or a sentence
    passed off as a short answer does not count ("78 police officers" for "78", not "the
    Ministry for Internal Affairs dismissed 78 police officers")."""
    if not text:
        return False
    t = normalize_space(text).lower()
    n = len(t.split())
    return any(normalize_space(a).lower() in t and n <= len(a.split()) + STRAY_WORDS for a in answers)


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


def measure_names(k: int = K) -> tuple[str, ...]:
    """R@1, R@3, R@5 (those within k), R@k, RR@k, nDCG@k: the labels follow k."""
    cutoffs = [c for c in (1, 3, 5) if c < k] + [k]
    return tuple(f"R@{c}" for c in cutoffs) + (f"RR@{k}", f"nDCG@{k}")


def per_query_metrics(qrels_path: Path, run_path: Path, k: int = K) -> dict[str, dict[str, float]]:
    """measure -> query id -> value, by ir-measures, for every judged query (a judged query
    with nothing retrieved scores 0, as trec_eval -c)."""
    import ir_measures

    names = measure_names(k)
    measures = [ir_measures.parse_measure(m) for m in names]
    qrels = list(ir_measures.read_trec_qrels(str(qrels_path)))
    run = list(ir_measures.read_trec_run(str(run_path)))
    judged = {q.query_id for q in qrels}
    values: dict[str, dict[str, float]] = {m: {q: 0.0 for q in judged} for m in names}
    by_str = {str(m): n for m, n in zip(measures, names)}
    for metric in ir_measures.iter_calc(measures, qrels, run):
        values[by_str[str(metric.measure)]][metric.query_id] = metric.value
    return values


def ranking_metrics(qrels_path: Path, run_path: Path, k: int = K) -> dict[str, float]:
    """Mean ranking metrics over the queries that have judgements."""
    values = per_query_metrics(qrels_path, run_path, k)
    return {m: (sum(v.values()) / len(v) if v else 0.0) for m, v in values.items()}


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
    level: str = "answer"  # answer | unsure | none
    confidence: float = 0.0
    style: str | None = None
    split: str | None = None
    set: str = "original"
    ranking: dict | None = None  # measure -> value (answerable items)


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


def answer_level(answer) -> str:
    return getattr(answer, "level", None) or ("answer" if answer.found else "none")


def run_items(index, items: list[EvalItem], mode: str, k: int = K, set_name: str = "original") -> list[ItemResult]:
    """Ask every item once; record what a reader would see and whether it is right."""
    results = []
    for it in items:
        t0 = time.perf_counter()
        answer = index.ask(it.question, k=k, mode=mode)
        latency = (time.perf_counter() - t0) * 1000
        level = answer_level(answer)
        shown = level != "none"
        results.append(
            ItemResult(
                id=it.id, type=it.type, found=answer.found, text=answer.text, sentence=answer.sentence,
                ranked=[p.id for p in answer.passages], relevant=sorted(relevant_chunks(it, index.chunks)) if it.answerable else [],
                text_correct=it.answerable and shown and short_answer_correct(answer.text, it.answers),
                sentence_correct=it.answerable and shown and contains_answer(answer.sentence, it.answers),
                latency_ms=latency,
                passage_words=statistics.fmean(len(p.text.split()) for p in answer.passages[:3]) if answer.passages else 0.0,
                level=level, confidence=float(answer.confidence), style=it.style, split=it.split, set=set_name,
            )
        )
    return results


def score_ranking(results: list[ItemResult], out_dir: Path, name: str, k: int = K) -> None:
    """Write qrels and the run as TREC files and attach each answerable item's ranking metrics."""
    out_dir.mkdir(parents=True, exist_ok=True)
    qrels = {r.id: set(r.relevant) for r in results if r.type != "unanswerable"}
    qrels_path = out_dir / "qrels.txt"
    write_qrels(qrels_path, qrels)
    run_path = out_dir / f"run-{name}.txt"
    write_run(run_path, {r.id: r.ranked for r in results}, f"kzqa-{name}")
    values = per_query_metrics(qrels_path, run_path, k)
    for r in results:
        if r.id in qrels:
            r.ranking = {m: v.get(r.id, 0.0) for m, v in values.items()}


def evaluate_config(index, items: list[EvalItem], mode: str, out_dir: Path, name: str | None = None, k: int = K) -> ConfigResult:
    """One configuration over one list of items: per-item results and their mean metrics."""
    name = name or mode
    results = run_items(index, items, mode, k)
    score_ranking(results, out_dir, name, k)
    return ConfigResult(name, group_metrics(results, k), results)


# ---------------------------------------------------------------- metrics

def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def expected_calibration_error(confidences: list[float], correct: list[bool], bins: int = 10) -> float:
    """Weighted mean |accuracy - mean confidence| over equal-width confidence bins."""
    if not confidences:
        return 0.0
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, c in enumerate(confidences) if (lo <= c < hi) or (b == bins - 1 and c == 1.0)]
        if idx:
            total += len(idx) * abs(_mean(correct[i] for i in idx) - _mean(confidences[i] for i in idx))
    return total / len(confidences)


def group_metrics(results: list[ItemResult], k: int = K) -> dict[str, float]:
    answerable = [r for r in results if r.type != "unanswerable"]
    unanswerable = [r for r in results if r.type == "unanswerable"]
    declined = [r for r in results if r.level == "none"]
    m: dict[str, float] = {"n": len(results), "answerable": len(answerable), "unanswerable": len(unanswerable)}
    for name in measure_names(k):
        m[name] = _mean((r.ranking or {}).get(name, 0.0) for r in answerable)
    latencies = [r.latency_ms for r in results]
    m |= {
        "answer_acc": _mean(r.text_correct for r in answerable),
        "sentence_acc": _mean(r.sentence_correct for r in answerable),
        "none_rate": _mean(r.level == "none" for r in answerable),
        "unsure_rate": _mean(r.level == "unsure" for r in answerable),
        "declined": _mean(r.level != "answer" for r in unanswerable),
        "abstain_P": _mean(r.type == "unanswerable" for r in declined),
        "abstain_R": _mean(r.level == "none" for r in unanswerable),
        "answered_rate": _mean(r.level != "none" for r in answerable),
        "ece": expected_calibration_error([r.confidence for r in results], [r.sentence_correct for r in results]),
        "words": _mean(r.passage_words for r in results),
        "p50_ms": percentile(latencies, 0.5),
        "p95_ms": percentile(latencies, 0.95),
    }
    for t in TYPES[:-1]:
        of_type = [r for r in answerable if r.type == t]
        if of_type:
            m[f"answer_acc[{t}]"] = _mean(r.text_correct for r in of_type)
            m[f"sentence_acc[{t}]"] = _mean(r.sentence_correct for r in of_type)
            m[f"n[{t}]"] = len(of_type)
    return m


def per_item_scores(results: list[ItemResult], metric: str, k: int = K) -> list[float]:
    """The per-item values whose mean is `metric` (the population the bootstrap resamples)."""
    answerable = [r for r in results if r.type != "unanswerable"]
    if metric in measure_names(k):
        return [(r.ranking or {}).get(metric, 0.0) for r in answerable]
    if metric == "answer_acc":
        return [float(r.text_correct) for r in answerable]
    if metric == "sentence_acc":
        return [float(r.sentence_correct) for r in answerable]
    if metric == "declined":
        return [float(r.level != "answer") for r in results if r.type == "unanswerable"]
    if metric == "none_rate":
        return [float(r.level == "none") for r in answerable]
    raise KeyError(metric)


def bootstrap_ci(values: list[float], confidence: float = CONFIDENCE, seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """95 % percentile bootstrap interval of the mean (seeded: the same items give the same interval)."""
    import numpy as np

    if not values:
        return (0.0, 0.0)
    data = np.asarray(values, dtype=np.float64)
    if np.all(data == data[0]):
        return (float(data[0]), float(data[0]))
    from scipy.stats import bootstrap

    res = bootstrap(
        (data,), np.mean, confidence_level=confidence, n_resamples=BOOTSTRAP_RESAMPLES, method="percentile",
        random_state=np.random.default_rng(seed), vectorized=True,
    )
    return (float(res.confidence_interval.low), float(res.confidence_interval.high))


# ---------------------------------------------------------------- groups and tables

CI_METRICS = ("R@1", "RR@{k}", "sentence_acc", "answer_acc")


def ci_metric_names(k: int) -> list[str]:
    return [m.format(k=k) for m in CI_METRICS]


@dataclass
class GroupResult:
    config: str
    group: str
    metrics: dict[str, float]
    ci: dict[str, tuple[float, float]]

    def to_dict(self) -> dict:
        return {
            "config": self.config,
            "group": self.group,
            "metrics": {k: round(v, 4) for k, v in self.metrics.items()},
            "ci95": {k: [round(lo, 4), round(hi, 4)] for k, (lo, hi) in self.ci.items()},
        }


def summarise(config: str, group: Group, results: list[ItemResult], k: int, with_ci: bool = True) -> GroupResult:
    selected = group.select(results)
    metrics = group_metrics(selected, k)
    ci = {m: bootstrap_ci(per_item_scores(selected, m, k)) for m in ci_metric_names(k)} if with_ci else {}
    return GroupResult(config, group.name, metrics, ci)


def _fmt(v: float) -> str:
    return f"{v:.3f}"


def _fmt_ci(v: float, ci: tuple[float, float] | None) -> str:
    return f"{v:.3f} ({ci[0]:.2f}–{ci[1]:.2f})" if ci else f"{v:.3f}"


def _short(metric: str) -> str:
    return {"sentence_acc": "sent", "answer_acc": "ans"}.get(metric, metric.replace("RR@", "MRR@"))


def main_table(summaries: list[GroupResult], groups: list[str], k: int) -> tuple[list[str], list[list[str]]]:
    """One row per configuration, a column group per set/split: the CI'd figures and the outcomes."""
    ci_metrics = ci_metric_names(k)
    header = ["config"]
    for g in groups:
        header += [f"{g} {_short(m)}" for m in ci_metrics] + [f"{g} none", f"{g} unsure", f"{g} declined"]
    rows = []
    for config in dict.fromkeys(s.config for s in summaries):
        row = [config]
        for g in groups:
            s = next((x for x in summaries if x.config == config and x.group == g), None)
            if s is None:
                row += [""] * (len(ci_metrics) + 3)
                continue
            row += [_fmt_ci(s.metrics[m], s.ci.get(m)) for m in ci_metrics]
            row += [_fmt(s.metrics["none_rate"]), _fmt(s.metrics["unsure_rate"]), _fmt(s.metrics["declined"])]
        rows.append(row)
    return header, rows


def detail_table(summaries: list[GroupResult], k: int) -> tuple[list[str], list[list[str]]]:
    """Every other figure, one row per configuration and group."""
    ranking = [m for m in measure_names(k) if m != "R@1"]
    header = ["config", "set", "n"] + [_short(m) for m in ranking] + ["ECE", "words", "p50 ms", "p95 ms"]
    rows = []
    for s in summaries:
        m = s.metrics
        rows.append(
            [s.config, s.group, str(int(m["n"]))] + [_fmt(m[x]) for x in ranking]
            + [_fmt(m["ece"]), f"{m['words']:.1f}", f"{m['p50_ms']:.1f}", f"{m['p95_ms']:.1f}"]
        )
    return header, rows


def style_table(summaries: list[GroupResult], k: int) -> tuple[list[str], list[list[str]]]:
    ci_metrics = ci_metric_names(k)
    header = ["config", "style", "n"] + [_short(m) for m in ci_metrics] + ["none", "declined"]
    rows = []
    for s in summaries:
        m = s.metrics
        rows.append(
            [s.config, s.group, f"{int(m['answerable'])}+{int(m['unanswerable'])}"]
            + [_fmt_ci(m[x], s.ci.get(x)) for x in ci_metrics] + [_fmt(m["none_rate"]), _fmt(m["declined"])]
        )
    return header, rows


def type_table(summaries: list[GroupResult]) -> tuple[list[str], list[list[str]]]:
    header = ["config", "set", "measure"] + list(TYPES[:-1])
    rows = []
    for s in summaries:
        for measure, label in (("answer_acc", "ans"), ("sentence_acc", "sent")):
            rows.append(
                [s.config, s.group, label]
                + [f"{s.metrics[f'{measure}[{t}]']:.3f} ({int(s.metrics[f'n[{t}]'])})" if f"n[{t}]" in s.metrics else "–" for t in TYPES[:-1]]
            )
    return header, rows


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------- the whole run

@dataclass
class EvalRun:
    k: int
    groups: list[Group]
    summaries: list[GroupResult]
    style_summaries: list[GroupResult]
    configs: list[ConfigResult]
    counts: dict[str, dict]

    def to_dict(self) -> dict:
        return {
            "k": self.k,
            "confidence_level": CONFIDENCE,
            "bootstrap": {"method": "percentile", "resamples": BOOTSTRAP_RESAMPLES, "seed": BOOTSTRAP_SEED},
            "sets": self.counts,
            "results": [s.to_dict() for s in self.summaries],
            "styles": [s.to_dict() for s in self.style_summaries],
        }

    def report(self) -> str:
        lines = []
        for g in self.groups:
            c = self.counts[g.name]
            lines.append(f"{g.name}: {c['items']} questions ({c['answerable']} answerable, {c['unanswerable']} not in the report)")
        lines.append(f"k = {self.k}; figures with a 95 % bootstrap interval over items in brackets\n")
        lines.append(markdown_table(*main_table(self.summaries, [g.name for g in self.groups], self.k)))
        lines.append(
            "\nsent: the answering sentence holds a gold answer; ans: the short answer holds one with at most "
            "3 more words; none: answerable items told the report does not answer; unsure: answerable items "
            "flagged unsure; declined: unanswerable items given none or unsure.\n"
        )
        lines.append(markdown_table(*detail_table(self.summaries, self.k)))
        if self.style_summaries:
            lines.append(f"\nBy style, {self._style_group()} (n = answerable+unanswerable):\n")
            lines.append(markdown_table(*style_table(self.style_summaries, self.k)))
        lines.append("\nBy question type (short answer and sentence accuracy; items in brackets):\n")
        lines.append(markdown_table(*type_table(self.summaries)))
        return "\n".join(lines)

    def _style_group(self) -> str:
        test = [g for g in self.groups if g.split == "test"]
        return (test or self.groups)[-1].name


def run_eval(
    index,
    sets: dict[str, list[EvalItem]],
    modes: list[str],
    out_dir: Path,
    k: int = K,
    groups: list[Group] | None = None,
    with_ci: bool = True,
) -> EvalRun:
    """Every configuration over every set; summaries per set/split and per style (of the test
    split when there is one); TREC files, results.json and items.jsonl in out_dir."""
    groups = groups or default_groups(list(sets))
    summaries: list[GroupResult] = []
    style_summaries: list[GroupResult] = []
    configs: list[ConfigResult] = []
    for mode in modes:
        results: list[ItemResult] = []
        for set_name, items in sets.items():
            rs = run_items(index, items, mode, k, set_name)
            score_ranking(rs, out_dir / set_name, mode, k)
            results += rs
        configs.append(ConfigResult(mode, group_metrics(results, k), results))
        for g in groups:
            summaries.append(summarise(mode, g, results, k, with_ci))
        style_base = next((g for g in groups if g.split == "test"), None)
        if style_base is not None:
            styles = sorted({r.style for r in style_base.select(results) if r.style})
            for st in styles:
                sg = Group(st, style_base.set, style_base.split, st)
                style_summaries.append(summarise(mode, sg, results, k, with_ci))
    counts = {}
    for g in groups:
        sel = g.select(configs[0].items) if configs else []
        counts[g.name] = {
            "items": len(sel),
            "answerable": sum(r.type != "unanswerable" for r in sel),
            "unanswerable": sum(r.type == "unanswerable" for r in sel),
        }
    run = EvalRun(k, groups, summaries, style_summaries, configs, counts)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(run.to_dict() | {"index": index.manifest.get("name")}, indent=1), encoding="utf-8")
    per_item = [{"config": c.name} | asdict(it) for c in configs for it in c.items]
    (out_dir / "items.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in per_item), encoding="utf-8")
    return run
