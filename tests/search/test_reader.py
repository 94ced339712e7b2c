"""kzqa's reader (qa/search/reader.py): the shipped file is what reader.json says, the input the
reader reads maps back to the sentence's own characters, its span decoding keeps to the sentence,
and in the pipeline it reads the best candidates and gives short answers that stand in the text."""

import hashlib
import json

import numpy as np
import pytest

from qa.represent.encoder import ENCODER
from qa.search.reader import (
    MAX_ANSWER_PIECES, MAX_PIECES, READER_META, best_span, context_prefix, encode_pairs, reader_path, shipped_reader,
)

needs_reader = pytest.mark.skipif(not reader_path().is_file(), reason="no reader shipped in this checkout")


@needs_reader
def test_shipped_reader_is_small_int8_and_is_the_file_its_description_names():
    meta = json.loads((reader_path().parent / READER_META).read_text(encoding="utf-8"))
    data = reader_path().read_bytes()
    assert len(data) <= 30_000_000
    assert hashlib.sha256(data).hexdigest() == meta["sha256"]
    assert meta["bytes"] == len(data)
    assert "user-test" not in meta["fitted_on"] and "test" not in meta["fitted_on"].split(",")
    import onnx

    model = onnx.load_from_string(data)
    kinds = {n.op_type for n in model.graph.node}
    assert kinds & {"MatMulInteger", "DynamicQuantizeMatMul", "QLinearMatMul", "MatMulIntegerToFloat"}  # int8 weights


def test_pairs_map_pieces_back_to_the_sentence():
    tok = ENCODER.tokenizer()
    sentence = "During the year the government reported 45 deaths in pretrial detention centers."
    prefix = context_prefix("Kazakhstan 2011", "Prison and Detention Center Conditions")
    ids, seg, mask, [(first, spans)] = encode_pairs(tok, "how many died in detention", [(prefix, sentence)])
    assert ids.shape == seg.shape == mask.shape and ids.shape[1] <= MAX_PIECES
    assert seg[0, first] == 1 and seg[0, first - 1] == 0  # the second segment starts at `first`
    inside = [(a, b) for a, b in spans if a >= 0]
    pieces = [sentence[a:b].lower() for a, b in inside]
    assert "45" in pieces and "deaths" in pieces  # the sentence's own characters, not the prefix's
    assert all(b <= len(sentence) for _, b in inside)


def test_best_span_keeps_to_the_sentence_and_to_its_length_limit():
    n = 40
    start, end = np.zeros(n), np.zeros(n)
    first = 5
    spans = [(-10, -5)] * 3 + [(i * 3, i * 3 + 2) for i in range(n - first - 3)]  # 3 prefix pieces, then the sentence
    start[first + 1] = 5.0  # a prefix piece: never a span's start
    start[first + 4] = 3.0
    end[first + 6] = 2.0
    end[first + 2] = 9.0  # before the best start: not a span
    i, j, score = best_span(start, end, first, spans)
    assert (i, j) == (first + 4, first + 6) and score == pytest.approx(5.0)
    end[first + 6] = 0.0
    end[first + 4 + MAX_ANSWER_PIECES + 2] = 50.0  # too far from any good start
    i, j, _ = best_span(start, end, first, spans)
    assert j - i < MAX_ANSWER_PIECES


@needs_reader
def test_reader_prefers_the_sentence_that_answers():
    reader = shipped_reader()
    prefix = context_prefix("Kazakhstan 2011", "Prison and Detention Center Conditions")
    answering = "January 1 amendments to the criminal code lowered penalties for some categories of crimes, resulting in the release of 8,390 prisoners."
    other = "Non-Kazakh speakers have protested that this is language discrimination."
    a, b = reader.read("how many prisoners were released", [(prefix, answering), (prefix, other)])
    assert a.answers > b.answers
    assert a.span is not None and "8,390" in answering[a.span[0] : a.span[1]]


@needs_reader
def test_pipeline_reads_the_best_candidates_and_answers_from_the_text(index):
    a = index.analyse("how many prisoners were released", "hybrid")
    from qa.search.pipeline import READ_SENTENCES

    assert 0 < len(a.read_sids) <= READ_SENTENCES and len(a.readings) == len(a.read_sids)
    assert set(a.read_sids) <= set(a.sids)
    answer = index.ask("how many prisoners were released")
    assert answer.text and answer.text in answer.sentence


def test_lexical_mode_reads_nothing(index):
    a = index.analyse("how many prisoners were released", "bm25")
    assert a.read_sids == [] and a.read_scores is None
