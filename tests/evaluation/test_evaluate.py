"""The eval set is valid against the shipped report; metrics agree with hand computation."""

import json
import math
from pathlib import Path

import pytest

from qa.index.chunking import Chunk
from qa.evaluation.evaluate import (
    ItemResult,
    bootstrap_ci,
    contains_answer,
    expected_calibration_error,
    group_metrics,
    measure_names,
    ranking_metrics,
    relevant_chunks,
    short_answer_correct,
    write_qrels,
    write_run,
)
from qa.evaluation.evalset import EvalItem, default_questions_path, load_eval_set
from qa.document import Sentence, normalize_space

EVAL = Path(__file__).resolve().parents[2] / "eval" / "questions.jsonl"
TYPES = {"numeric", "who", "when", "what", "why", "unanswerable"}


def raw_items():
    return [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_eval_set_is_valid_against_the_report(report):
    text = normalize_space(" ".join(p.text for s in report.sections for p in s.paragraphs))
    items = raw_items()
    assert len(items) >= 150
    assert len({it["id"] for it in items}) == len(items)
    unanswerable = two_place = 0
    for it in items:
        assert isinstance(it["question"], str) and it["question"].strip(), it["id"]
        assert it["type"] in TYPES, it["id"]
        if it["type"] == "unanswerable":
            unanswerable += 1
            assert it["answer"] is None and it["evidence"] is None, it["id"]
            continue
        evidence = it["evidence"] if isinstance(it["evidence"], list) else [it["evidence"]]
        answers = it["answer"] if isinstance(it["answer"], list) else [it["answer"]]
        two_place += len(evidence) > 1
        for ev in evidence:
            assert isinstance(ev, str) and normalize_space(ev) in text, (it["id"], ev[:60])
        for a in answers:
            assert isinstance(a, str) and a
            assert any(a in ev for ev in evidence), (it["id"], a)
        assert isinstance(it["section"], (str, list)) and isinstance(it["heading"], (str, list))
    assert unanswerable >= 15 and two_place >= 10


def test_every_answerable_item_has_a_relevant_passage(index):
    for item in load_eval_set(EVAL):
        if item.answerable:
            assert relevant_chunks(item, index.chunks), item.id


def _chunk(cid, *sentences):
    return Chunk(cid, "1", "1", ["Section 1. X"], [Sentence(s, 1) for s in sentences], [0])


def test_relevance_rule_whole_and_split_evidence():
    a = _chunk("a", "Alpha one.", "Beta two holds 42 things.")
    b = _chunk("b", "Gamma three.")
    item = EvalItem("q", "?", ["42"], ["Beta two holds 42 things."], "numeric")
    assert relevant_chunks(item, [a, b]) == {"a"}
    # evidence split across a boundary: the part holding the answer decides
    split = EvalItem("q", "?", ["42"], ["Gamma three. Beta two holds 42 things."], "numeric")
    assert relevant_chunks(split, [a, b]) == {"a"}


def test_ranking_metrics_match_hand_computation(tmp_path):
    qrels = {"q1": {"d1"}, "q2": {"d2", "d3"}, "q3": {"d9"}}
    run = {"q1": ["d0", "d1", "d5"], "q2": ["d3", "x", "d2"], "q3": ["a", "b"]}
    write_qrels(tmp_path / "qrels.txt", qrels)
    write_run(tmp_path / "run.txt", run, "t")
    m = ranking_metrics(tmp_path / "qrels.txt", tmp_path / "run.txt")
    # recall@1: q1 0, q2 1/2, q3 0 -> 1/6 ; recall@3: q1 1, q2 1, q3 0 -> 2/3
    assert m["R@1"] == pytest.approx(1 / 6)
    assert m["R@3"] == pytest.approx(2 / 3)
    # MRR@10: q1 1/2, q2 1, q3 0
    assert m["RR@10"] == pytest.approx(0.5)
    # nDCG@10: q1 = (1/log2 3) / 1 ; q2 = (1 + 1/log2 4) / (1 + 1/log2 3) ; q3 = 0
    q1 = 1 / math.log2(3)
    q2 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert m["nDCG@10"] == pytest.approx((q1 + q2) / 3)


def test_trec_files_are_standard(tmp_path):
    write_qrels(tmp_path / "qrels.txt", {"q1": {"d1"}})
    write_run(tmp_path / "run.txt", {"q1": ["d0", "d1"]}, "tag")
    assert (tmp_path / "qrels.txt").read_text() == "q1 0 d1 1\n"
    assert (tmp_path / "run.txt").read_text().splitlines() == ["q1 Q0 d0 1 2 tag", "q1 Q0 d1 2 1 tag"]


def test_answer_matching_and_abstention_figures():
    assert contains_answer("8,390 prisoners", ["8,390"])
    assert not contains_answer("2,142 prisoners", ["8,390"])
    assert not contains_answer(None, ["x"])
    # a short answer must hold the gold form without being a whole sentence
    assert short_answer_correct("six", ["six"])
    assert short_answer_correct("between 60,000 and 100,000", ["between 60,000 and 100,000"])
    assert not short_answer_correct("60,000", ["between 60,000 and 100,000"])
    assert short_answer_correct("78 police officers", ["78"])  # the unit is not a stray word
    assert not short_answer_correct("Internal Affairs dismissed 78 police officers", ["78"])
    assert not short_answer_correct("the Senate dismissed six of the country's 44 Supreme Court judges in April", ["six"])

    def r(type_, level, ok=False, conf=0.5):
        return ItemResult("i", type_, level != "none", None, None, [], [], ok, ok, 1.0, 10.0, level=level, confidence=conf)

    results = [r("numeric", "answer", True), r("numeric", "none"), r("numeric", "unsure", True),
               r("unanswerable", "none"), r("unanswerable", "answer"), r("unanswerable", "unsure")]
    m = group_metrics(results)
    assert m["answer_acc"] == pytest.approx(2 / 3)  # two of three answerable items right
    assert m["none_rate"] == pytest.approx(1 / 3) and m["unsure_rate"] == pytest.approx(1 / 3)
    assert m["declined"] == pytest.approx(2 / 3)  # none or unsure on unanswerable items
    assert m["abstain_P"] == 0.5  # said "none" twice, once rightly
    assert m["abstain_R"] == pytest.approx(1 / 3)


def test_metric_labels_follow_k():
    assert measure_names(10) == ("R@1", "R@3", "R@5", "R@10", "RR@10", "nDCG@10")
    assert measure_names(5) == ("R@1", "R@3", "R@5", "RR@5", "nDCG@5")
    assert measure_names(2) == ("R@1", "R@2", "RR@2", "nDCG@2")


def test_expected_calibration_error_by_hand():
    # bin [0.2, 0.3): conf 0.25, 0.25, right 1 of 2 -> |0.5 - 0.25| = 0.25, weight 2/4
    # bin [0.9, 1.0]: conf 1.0, 0.9, right 2 of 2 -> |1 - 0.95| = 0.05, weight 2/4
    assert expected_calibration_error([0.25, 0.25, 1.0, 0.9], [True, False, True, True]) == pytest.approx(0.15)


def test_bootstrap_interval_is_seeded_and_contains_the_mean():
    values = [1.0] * 70 + [0.0] * 30
    lo, hi = bootstrap_ci(values)
    assert lo < 0.7 < hi and 0.55 < lo and hi < 0.85
    assert bootstrap_ci(values) == (lo, hi)  # same seed, same interval
    assert bootstrap_ci([1.0] * 10) == (1.0, 1.0)


def test_kzqa_eval_writes_trec_files_and_a_table(cli_env, tmp_path):
    from click.testing import CliRunner

    from qa.front.cli import cli

    small = tmp_path / "small.jsonl"
    small.write_text("".join(line + "\n" for line in EVAL.read_text(encoding="utf-8").splitlines()[:12]))
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["eval", "--questions", str(small), "--all-modes", "--out", str(out)], env=cli_env)
    assert r.exit_code == 0, r.output
    for name in ("qrels.txt", "run-bm25.txt", "run-dense.txt", "run-hybrid.txt", "run-rerank.txt"):
        assert (out / "small" / name).exists()
    assert (out / "results.json").exists() and (out / "items.jsonl").exists()
    assert "| hybrid |" in r.stdout and "nDCG@10" in r.stdout and "small R@1" in r.stdout
    rows = json.loads((out / "results.json").read_text())["results"]
    assert [row["config"] for row in rows] == ["bm25", "dense", "hybrid", "rerank"]
    assert all(0.0 <= row["metrics"]["R@10"] <= 1.0 for row in rows)
    lo, hi = rows[2]["ci95"]["R@1"]
    assert lo <= rows[2]["metrics"]["R@1"] <= hi
    j = CliRunner().invoke(cli, ["eval", "--questions", str(small), "--json", "-k", "5"], env=cli_env)
    assert j.exit_code == 0
    doc = json.loads(j.stdout)
    assert doc["results"][0]["config"] == "hybrid" and "RR@5" in doc["results"][0]["metrics"]
    assert "R@10" not in doc["results"][0]["metrics"]


def test_kzqa_eval_groups_the_user_set_by_split_and_style(cli_env, tmp_path):
    from click.testing import CliRunner

    from qa.front.cli import cli

    user = load_eval_set(default_questions_path("user"))
    subset = tmp_path / "u.jsonl"
    keep = [it.id for it in user if it.split == "dev"][:6] + [it.id for it in user if it.split == "test"][:6]
    lines = [line for line in default_questions_path("user").read_text(encoding="utf-8").splitlines() if json.loads(line)["id"] in keep]
    subset.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["eval", "--questions", str(subset)], env=cli_env)
    assert r.exit_code == 0, r.output
    assert "u-dev R@1" in r.stdout and "u-test R@1" in r.stdout and "By style, u-test" in r.stdout
