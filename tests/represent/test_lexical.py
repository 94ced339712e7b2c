"""Tokeniser and BM25: numbers whole, the IDF that suits a small corpus, hand-checked scores."""

import math

import numpy as np
from rank_bm25 import BM25Okapi

from qa.represent.lexical import BM25Lucene, LexicalIndex, tokenize


def test_numbers_stay_whole_and_thousands_separators_are_ignored():
    toks = tokenize("The release of 8,390 prisoners in 2010; fines of 15,999 tenge and 2.5 percent")
    assert "8390" in toks and "2010" in toks and "15999" in toks and "2.5" in toks
    assert tokenize("8390") == tokenize("8,390")


def test_stemming_and_stop_words():
    assert tokenize("how many prisoners were released") == tokenize("prisoner release")
    assert tokenize("the of and what how") == []


def test_lucene_idf_is_positive_where_okapi_floors_it():
    docs = [["prison", "a"], ["prison", "b"], ["prison", "c"], ["court", "d"]]
    okapi = BM25Okapi(docs)
    lucene = BM25Lucene(docs)
    # "prison" is in 3 of 4 documents: Okapi's raw IDF is negative and gets floored
    assert math.log((4 - 3 + 0.5) / (3 + 0.5)) < 0
    assert lucene.idf["prison"] == math.log(1 + (4 - 3 + 0.5) / (3 + 0.5))
    assert lucene.idf["prison"] > 0 and okapi.idf["prison"] != lucene.idf["prison"]


def test_bm25_score_matches_a_hand_computation():
    docs = [["prison", "riot"], ["court", "trial", "judge", "bribe"]]
    index = LexicalIndex(docs)
    k1, b = 1.2, 0.75
    avgdl = 3.0
    idf = math.log(1 + (2 - 1 + 0.5) / (1 + 0.5))
    want = idf * (1 * (k1 + 1)) / (1 + k1 * (1 - b + b * 2 / avgdl))
    got = index.scores(["riot"])
    assert np.isclose(got[0], want) and got[1] == 0.0


def test_unknown_terms_and_empty_queries_score_zero():
    index = LexicalIndex([["a"], ["b"]])
    assert index.scores(["zzz"]).tolist() == [0.0, 0.0]
    assert index.scores([]).tolist() == [0.0, 0.0]


def test_fast_scoring_matches_rank_bm25_on_the_real_index(index):
    """The posting-list scorer gives rank_bm25's scores on real chunks and real questions."""
    from qa.evaluation.evalset import load_eval_set

    lexical = index.lexical
    sentence_lexical = index.sentence_lexical
    for item in load_eval_set()[:80]:
        for lex in (lexical, sentence_lexical):
            q = lex.query_tokens(item.question)
            assert np.allclose(lex.scores(q), lex.reference_scores(q), rtol=1e-5, atol=1e-5), item.id


def test_all_variants_score(index):
    docs = [c.index_text for c in index.chunks]
    for variant in ("lucene", "okapi", "plus", "l"):
        lex = LexicalIndex([tokenize(d) for d in docs], variant=variant)
        s = lex.scores(tokenize("prisoner amnesty"))
        assert s.shape == (len(docs),) and s.max() > 0
        assert np.allclose(s, lex.reference_scores(tokenize("prisoner amnesty")), rtol=1e-5, atol=1e-5)
