"""The eval set is valid against the shipped report; metrics agree with hand computation."""

import json
import math
from pathlib import Path

import pytest

from qa.chunking import Chunk
from qa.evaluate import (
    EvalItem,
    answer_metrics,
    contains_answer,
    load_eval_set,
    ranking_metrics,
    relevant_chunks,
    write_qrels,
    write_run,
)
from qa.report import Sentence, normalize_space

EVAL = Path(__file__).resolve().parent.parent / "eval" / "questions.jsonl"
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
    from qa.evaluate import ItemResult

    def r(type_, found, ok=False):
        return ItemResult("i", type_, found, None, None, [], [], ok, ok, 1.0, 10.0)

    results = [r("numeric", True, True), r("numeric", False), r("unanswerable", False), r("unanswerable", True)]
    m = answer_metrics(results)
    assert m["answer_acc"] == 0.5  # one of two answerable items right
    assert m["abstain_P"] == 0.5  # abstained twice, once rightly
    assert m["abstain_R"] == 0.5  # one of two unanswerable items abstained


def test_kzqa_eval_writes_trec_files_and_a_table(cli_env, tmp_path):
    from click.testing import CliRunner

    from qa.cli import cli

    small = tmp_path / "small.jsonl"
    small.write_text("".join(line + "\n" for line in EVAL.read_text(encoding="utf-8").splitlines()[:12]))
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["eval", "--questions", str(small), "--all-modes", "--out", str(out)], env=cli_env)
    assert r.exit_code == 0, r.output
    for name in ("qrels.txt", "run-bm25.txt", "run-dense.txt", "run-hybrid.txt", "run-rerank.txt", "results.json"):
        assert (out / name).exists()
    assert "| hybrid |" in r.stdout and "nDCG@10" in r.stdout
    rows = json.loads((out / "results.json").read_text())["results"]
    assert [row["config"] for row in rows] == ["bm25", "dense", "hybrid", "rerank"]
    assert all(0.0 <= row["R@10"] <= 1.0 for row in rows)
    j = CliRunner().invoke(cli, ["eval", "--questions", str(small), "--json"], env=cli_env)
    assert j.exit_code == 0 and json.loads(j.stdout)["results"][0]["config"] == "hybrid"
