"""Answers: question types, typed spans, the learned span ranker, the three outcomes, and the
passages an answer stands on."""

import json

import numpy as np
import pytest

from qa.search.confidence import NOT_FOUND_MESSAGE, UNSURE_MESSAGE
from qa.search.query import question_type
from qa.search.spans import extract_spans
from qa.search.scorers import shipped_span_model
from qa.search.query import profile_question
from qa.front.render import answer_markdown, answer_text
from qa.search.spans import SentenceWords, Span, _locality, ranked_spans, span_candidates, span_feature_names, span_features


@pytest.mark.parametrize(
    "question, qtype",
    [
        ("how many prisoners were released", "numeric"),
        ("What percentage of the vote did the president get?", "numeric"),
        ("minimum wage amount", "numeric"),
        ("When did the riots in Zhanaozen happen?", "when"),
        ("in what year was the law adopted", "when"),
        ("Who heads the Ministry of Internal Affairs?", "who"),
        ("Which organization monitored the election?", "who"),
        ("Where were the rioters shot?", "where"),
        ("Why was the newspaper closed?", "why"),
        ("What does the law say about censorship?", "what"),
    ],
)
def test_question_types(question, qtype):
    assert question_type(question) == qtype


def test_quantity_spans_keep_their_unit_and_skip_years_and_days():
    sentence = "On May 8, 2011, authorities released 8,390 prisoners and 95 percent of detainees, compared with 17 in 2010."
    texts = [s.text for s in extract_spans(sentence, "numeric", "how many were released")]
    assert "8,390 prisoners" in texts and "95 percent" in texts
    assert not {"2011", "2010", "8"} & set(texts)  # years and the day of a date are not counts


def test_spans_never_repeat_the_question():
    sentence = "In the first nine months of the year, police registered 1,023 rape cases."
    texts = [s.text for s in extract_spans(sentence, "numeric", "How many rape cases in the first nine months?")]
    assert "nine months" not in texts and texts and texts[0].startswith("1,023")


def test_date_and_name_spans():
    s = "On December 16 and 17, police led by General Kalmukhanbet Kasymov fired on rioters in Zhanaozen."
    assert "December 16 and 17" in [x.text for x in extract_spans(s, "when", "when did police fire")]
    names = [x.text for x in extract_spans(s, "who", "who led the police")]
    assert "General Kalmukhanbet Kasymov" in names
    assert "On December" not in names


def test_locality_is_linear_in_the_sentence():
    """Issue 13 item 6: a one-line 20,000-word document made every ask rescan the sentence per span."""
    import time

    words = " ".join(f"word{i}" for i in range(20_000)) + " prisoners 8,390 released"
    profile = profile_question("how many prisoners were released")
    shared = SentenceWords.of(words)
    spans = [Span(m, words.index(m), "quantity") for m in ("8,390",)] * 200
    t = time.perf_counter()
    values = [_locality(words, sp, profile, words=shared) for sp in spans]
    assert time.perf_counter() - t < 1.0
    assert values[0] > 0.5  # both question words sit next to the figure


def test_span_candidates_stay_inside_a_clause_and_skip_function_words():
    sentence = "On April 15, the Senate dismissed six of the country’s 44 Supreme Court judges; it replaced the chief justice."
    ws = SentenceWords.of(sentence)  # noqa: F841 (the ranker's own word split is span_words)
    from qa.search.spans import span_words

    words = span_words(sentence)
    texts = [sentence[words[i].start : words[j].end] for i, j in span_candidates(sentence)]
    assert "six" in texts and "the Senate" in texts
    assert not any(";" in t for t in texts)  # never across a hard break
    assert not any(t.split()[-1].lower() in ("of", "the", "on") for t in texts)
    X = span_features(sentence, profile_question("how many judges were dismissed"), span_candidates(sentence), words)
    assert X.shape == (len(texts), len(span_feature_names())) and np.isfinite(X).all()


def test_span_ranker_gives_the_count_not_the_sentence():
    model = shipped_span_model()
    best = ranked_spans("In response to 2,011 cases of corruption, the Ministry for Internal Affairs dismissed 78 police "
                        "officers for corruption and convicted 18.", profile_question("how many cops were fired"), model)
    assert best and any(ch.isdigit() for ch in best[0][0]) and len(best[0][0].split()) <= 4


def test_a_question_the_report_cannot_answer_is_declined_or_flagged(index):
    a = index.ask("What is the boiling point of mercury in kelvin?")
    assert a.level in ("none", "unsure")
    assert a.passages  # the nearest passages are still shown
    assert a.to_dict()["answer"]["message"] in (NOT_FOUND_MESSAGE, UNSURE_MESSAGE)
    if a.level == "none":
        assert not a.found and a.text is None and a.alternatives == []


def test_when_question_gets_a_date(index):
    a = index.ask("When did police shoot into crowds of rioters in Zhanaozen?")
    assert a.found and a.text and "December 16" in a.text


def test_confidence_is_a_probability_and_orders_answerable_above_unanswerable(index):
    good = index.ask("What share of the vote did Nazarbayev receive in the presidential election?")
    bad = index.ask("What is the capital of Australia?")
    assert 0.0 <= bad.confidence < good.confidence <= 1.0
    assert good.level == "answer" and "95 percent" in (good.text or "")


def test_the_answer_passage_is_always_shown(index):
    for question in ("how many foreigners were deported", "who monitored the April election", "minimum wage"):
        a = index.ask(question, k=1)
        assert a.passage_id in [p.id for p in a.passages]
        assert all(alt.passage_id in [p.id for p in a.passages] for alt in a.alternatives)


def test_three_outcomes_in_text_markdown_and_json(index):
    a = index.ask("how many foreigners were deported")
    for level, message in (("unsure", UNSURE_MESSAGE), ("none", NOT_FOUND_MESSAGE)):
        a.level, a.found = level, level != "none"
        text, md, doc = answer_text(a), answer_markdown(a), json.loads(json.dumps(a.to_dict()))
        assert message in text and message in md
        assert doc["answer"]["level"] == level and doc["answer"]["message"] == message
    a.level, a.found = "answer", True
    assert answer_text(a).startswith("Answer: ") and a.to_dict()["answer"]["message"] is None


@pytest.mark.parametrize("question", ["e", "x y z", "a"])
def test_a_question_of_single_letters_is_not_answered(index, question):
    """Issue 13 item 18: the question `e` came back found=true (it matched the e of e-mail)."""
    a = index.ask(question)
    assert a.level == "none" and not a.found and a.text is None and a.confidence == 0.0
