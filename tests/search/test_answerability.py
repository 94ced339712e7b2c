"""What the question asks for and whether the report holds it: the counted noun and the places a
question names, the asked-kind signals, and the answerability model's part in the outcome."""

import math

import pytest

from qa.search.confidence import asked_fit
from qa.search.query import counted_of, places_of, profile_question
from qa.search.scorers import ModeModel


@pytest.mark.parametrize("question, counted", [
    ("how many prisoners were released", {"prison"}),
    ("zhanaozen death toll", {"death"}),
    ("what is the number of registered NGOs in kazakhstan", {"regist", "ngos"}),
    ("Who heads the ministry?", set()),
])
def test_what_a_count_question_counts(question, counted):
    assert set(counted_of(question)) == counted


def test_places_a_question_names():
    assert places_of("How many Jews live in Uzbekistan, or in Russia?") == ("uzbekistan", "russia")
    assert places_of("how many prisoners were released") == ()


def test_asked_fit_reads_the_kind_the_count_and_the_place():
    profile = profile_question("How many deaths were reported in Uzbekistan?")
    sentence = [[25, 34, "count", "dobj", "death"], [0, 10, "np", "nsubj"]]
    other = [[0, 10, "np", "nsubj"]]
    typed = [sentence, other]
    kind_top, kind_top3, count_top, count_passage, place_other, place_missing = asked_fit(
        profile, typed, 1, [1, 0], [0, 1], "the government reported 45 deaths", "kazakhstan")
    assert (kind_top, kind_top3, count_top, count_passage) == (0.0, 1.0, 0.0, 1.0)
    assert (place_other, place_missing) == (1.0, 1.0)
    # the report's own country is no other place; a question asking no kind gets 0.5
    what = profile_question("What does the law say about Kazakhstan?")
    assert asked_fit(what, typed, 0, [0], [0, 1], "", "kazakhstan") == (0.5, 0.5, 0.5, 0.5, 0.0, 0.0)


def test_an_answer_needs_both_a_likely_sentence_and_an_answerable_question():
    plain = ModeModel(answer_threshold=0.5, unsure_threshold=0.2)
    assert plain.level(0.6, 0.01) == "answer"  # no shift fitted: the confidence alone decides
    both = ModeModel(answer_threshold=0.0, unsure_threshold=-2.0, answerable_shift=1.0)
    assert both.outcome_score(0.5, 0.9) == pytest.approx(0.0)  # min(logit 0.5, logit 0.9 + 1)
    assert both.outcome_score(0.9, 0.1) == pytest.approx(math.log(1 / 9) + 1.0)
    assert both.level(0.9, 0.9) == "answer"
    assert both.level(0.9, 0.2) == "unsure"  # a likely sentence for a question the report may not answer
    assert both.level(0.05, 0.99) == "none"  # an answerable-looking question whose best sentence is poor


def test_answers_say_how_likely_the_report_answers_at_all(index):
    here = index.ask("how many prisoners were released")
    elsewhere = index.ask("how many prisoners were released in Uzbekistan")
    assert 0.0 <= elsewhere.answerable < here.answerable <= 1.0
    assert here.to_dict()["answer"]["answerable"] == pytest.approx(here.answerable, abs=1e-4)
