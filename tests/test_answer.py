"""Answers: question types, typed spans, several answers, abstention."""

import pytest

from qa.answer import NOT_FOUND_MESSAGE, extract_spans, question_type


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


def test_released_prisoners_gives_several_answers_with_citations(index):
    a = index.ask("how many prisoners were released")
    assert a.found and a.text == "8,390 prisoners" and a.page == 5
    assert a.passage_id.startswith("1.c/prison-and-detention-center-conditions/")
    alts = {c.text: c for c in a.alternatives}
    assert "2,142 prisoners" in alts
    assert alts["2,142 prisoners"].page == 5 and "amnesty" in alts["2,142 prisoners"].sentence


def test_a_question_the_report_cannot_answer_is_declined(index):
    a = index.ask("What is the boiling point of mercury in kelvin?")
    assert not a.found and a.text is None and a.alternatives == []
    assert a.passages  # the nearest passages are still shown
    assert a.to_dict()["answer"]["message"] == NOT_FOUND_MESSAGE


def test_when_question_gets_a_date(index):
    a = index.ask("When did police shoot into crowds of rioters in Zhanaozen?")
    assert a.found and a.text and "December 16" in a.text


def test_confidence_orders_answerable_above_unanswerable(index):
    good = index.ask("What share of the vote did Nazarbayev receive in the presidential election?").confidence
    bad = index.ask("What is the capital of Australia?").confidence
    assert good > bad
