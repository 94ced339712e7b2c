"""The fast query encoder (ONNX export) agrees with sentence-transformers, the reference."""

import numpy as np
import pytest

from qa.represent.dense import OnnxEncoder, ReferenceEncoder, count_tokens

QUERIES = [
    "how many prisoners were released",
    "What did the government do about internet freedom and blocked web sites?",
    "torture",
    "Zhanaozen",
    "who won the presidential election in April with 95 percent of the vote",
    "minimum wage tenge",
    "were there any reports of disappearances during 2011",
    "child labor in cotton and tobacco fields of South Kazakhstan Oblast",
    "trafficking", "what is the legal age of consent?", "refugees from Uzbekistan and China",
    "ONE WORD QUERY", "8,390", "", "a " * 400,
]


@pytest.fixture(scope="module")
def reference():
    return ReferenceEncoder()


def test_onnx_encoder_matches_sentence_transformers(index, reference):
    fast = OnnxEncoder(index.stored.onnx_path)
    texts = QUERIES + [c.index_text for c in index.chunks[:40]]
    a = fast.encode(texts)
    b = reference.encode(texts)
    cos = np.sum(a * b, axis=1)
    assert cos.min() >= 0.9999, cos.min()
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)


def test_stored_vectors_are_the_reference_embeddings(index, reference):
    chunks = index.chunks[:10]
    again = reference.encode([c.index_text for c in chunks])
    assert np.allclose(again, index.stored.vectors[:10], atol=1e-5)


def test_count_tokens_counts_word_pieces():
    assert count_tokens("torture") == 3  # [CLS] torture [SEP]
    assert count_tokens("a " * 400) == 402
