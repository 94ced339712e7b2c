"""The question as retrieval reads it: spelling corrected against the report, everyday words kept;
late interaction and the fitted scorers by hand."""

import json

import numpy as np
import pytest

from qa.represent.late import maxsim, pack
from qa.search.scorers import Calibration, LinearModel, shipped_models


def test_misspellings_are_corrected_against_the_report(index):
    for typed, meant in (("foriegners", "foreigners"), ("corruptoin", "corruption"), ("Nazarbaev", "Nazarbayev"),
                         ("goverment", "government"), ("Zhanozen", "Zhanaozen")):
        q = index.understand(f"how many {typed} were there")
        assert (typed, meant) in q.corrections, typed
        assert meant in q.search


@pytest.mark.parametrize("invisible", ["\u200b", "\u00ad", "\u2060", "\ufeff", "\u200d", "\u200e"],
                         ids=["zero-width-space", "soft-hyphen", "word-joiner", "bom", "zero-width-joiner", "lrm"])
def test_invisible_characters_do_not_cut_a_word(index, invisible):
    """Item 21 of issue 20: "pris\u200boners" was corrected to "pri owners" and the answer lost:
    format characters (Unicode Cf) are dropped before the question is tokenised or corrected."""
    plain = index.ask("how many prisoners were released", k=3)
    hidden = index.ask(f"how many pris{invisible}oners were re{invisible}leased", k=3)
    assert hidden.question == plain.question and hidden.corrections == [] and hidden.searched is None
    assert hidden.text == plain.text == "8,390 prisoners"
    assert [p.id for p in hidden.passages] == [p.id for p in plain.passages]


def test_format_characters_never_cut_a_token():
    from qa.represent.lexical import tokenize

    assert tokenize("pris\u00adoners were re\u200bleased in 8,\u2060390 cases") == tokenize("prisoners were released in 8,390 cases")


@pytest.mark.parametrize("word", ["cops", "sacked", "jailed", "kids", "Uzbekistan", "police"])
def test_everyday_words_and_known_names_are_left_alone(index, word):
    assert index.understand(f"{word} numbers").corrections == ()


def test_correction_is_reported_in_json_and_on_stderr(cli_env):
    from click.testing import CliRunner

    from qa.front.cli import cli

    r = CliRunner().invoke(cli, ["ask", "how many foriegners were expelled", "--json"], env=cli_env)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["query"]["corrected"] == "how many foreigners were expelled"
    assert doc["query"]["corrections"] == [{"typed": "foriegners", "searched": "foreigners"}]
    t = CliRunner().invoke(cli, ["ask", "how many foriegners were expelled"], env=cli_env)
    assert "searched for: how many foreigners were expelled" in t.stderr
    clean = CliRunner().invoke(cli, ["ask", "how many prisoners were released"], env=cli_env)
    assert "searched for" not in clean.stderr


def test_late_interaction_by_hand():
    e = np.eye(4, dtype=np.float32)
    vectors, offsets = pack([e[[0, 1]], e[[2]], np.zeros((0, 4), np.float32), e[[0, 2]]])
    query = np.stack([e[0], (e[1] + e[2]) / np.sqrt(2)])
    # text 0: best for q0 = 1, for q1 = 0.707 -> 0.854; text 1: 0 and 0.707 -> 0.354; empty: 0; text 3: 1 and 0.707
    assert maxsim(query, vectors, offsets, [0, 1, 2, 3]) == pytest.approx([0.8536, 0.3536, 0.0, 0.8536], abs=1e-3)


def test_query_token_vectors_match_the_reference_encoder(index):
    from qa.represent.dense import ReferenceEncoder

    text = "how many cops were sacked for corruption"
    _, fast, ids = index.encoder.encode_with_tokens(text)
    (reference, ref_ids), = ReferenceEncoder().token_vectors([text])
    assert ids == ref_ids
    cos = (fast * reference).sum(axis=1)
    assert cos.min() > 0.999


def test_linear_model_and_calibration_by_hand():
    m = LinearModel(("a", "b"), np.array([1.0, 0.0]), np.array([2.0, 1.0]), np.array([1.0, -1.0]), 0.5)
    # ((3-1)/2)*1 + ((2-0)/1)*-1 + 0.5 = -0.5
    assert m.score(np.array([[3.0, 2.0]]))[0] == pytest.approx(-0.5)
    assert LinearModel.from_dict(m.to_dict()).score(np.array([[3.0, 2.0]]))[0] == pytest.approx(-0.5)
    c = Calibration(np.array([0.0, 1.0]), np.array([0.2, 0.8]))
    assert c(0.5) == pytest.approx(0.5) and c(-3) == pytest.approx(0.2) and c(9) == pytest.approx(0.8)


def test_shipped_models_read_features_the_code_makes():
    from qa.search.confidence import CONFIDENCE_FEATURES
    from qa.search.retrieve import SIGNALS
    from qa.search.select import SENTENCE_FEATURES

    models = shipped_models()
    assert set(models) == {"bm25", "dense", "hybrid", "rerank"}
    for mode, m in models.items():
        assert m.sentence and set(m.sentence.features) <= set(SENTENCE_FEATURES), mode
        assert m.confidence and set(m.confidence.features) <= set(CONFIDENCE_FEATURES), mode
        assert m.passage is None or set(m.passage.features) <= set(SIGNALS)
        assert m.unsure_threshold <= m.answer_threshold
        if m.answerable_shift is None:  # thresholds on the confidence itself, a probability
            assert 0.0 <= m.unsure_threshold <= m.answer_threshold <= 1.0
        else:  # on log-odds (qa/search/scorers.py: outcome_score), the answerability model fitted
            assert m.answerable is not None and set(m.answerable.features) <= set(CONFIDENCE_FEATURES)
            assert np.all(np.diff(m.answerable_calibration.y) >= 0)
        assert np.all(np.diff(m.calibration.y) >= 0)  # a probability that rises with the score
