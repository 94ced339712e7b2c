"""The cross-encoder experiment's generated questions (training/experiments/question_generation.py): made from the
report's real sentences by spaCy's parse, their answers verbatim in the sentence and absent from
the question, their unanswerable variants really unanswerable by that sentence, the same for the
same seed."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("spacy")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training" / "experiments"))

from question_generation import PREAMBLES, YEAR_WORDS, generate, says  # noqa: E402


@pytest.fixture(scope="module")
def generated(report):
    sentences = [s.text for sec in report.sections for p in sec.paragraphs for s in p.sentences][:160]
    return generate(sentences, report.label, report.country, report.year, seed=3)


def test_answers_stand_in_their_sentence_and_not_in_the_question(generated):
    answerable = [q for q in generated if q.answer is not None]
    assert len(answerable) >= 100  # ~2 per sentence of six words or more
    for q in answerable:
        assert q.answer in q.sentence
        asked = q.question
        for preamble in PREAMBLES:
            asked = asked.replace(preamble, "")
        assert not says(asked, q.answer)


def test_every_kind_of_answer_is_asked_for(generated):
    kinds = {q.kind for q in generated if q.answer is not None}
    assert {"person", "organisation", "date", "count", "thing"} <= kinds


def test_unanswerable_variants_ask_what_their_sentence_cannot_answer(generated, report):
    variants = [q for q in generated if q.answer is None]
    assert {q.variant for q in variants} >= {"other-year", "other-country"}
    for q in variants:
        if q.variant == "other-year":
            years = set(YEAR_WORDS.findall(q.question))
            assert years and not years <= set(YEAR_WORDS.findall(q.sentence)) | {str(report.year)}
        if q.variant == "other-country":
            assert report.country not in q.question


def test_same_seed_same_questions(report, generated):
    sentences = [s.text for sec in report.sections for p in sec.paragraphs for s in p.sentences][:160]
    again = generate(sentences, report.label, report.country, report.year, seed=3)
    assert [q.to_dict() for q in again] == [q.to_dict() for q in generated]
