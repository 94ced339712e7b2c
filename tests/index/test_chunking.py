"""Chunk invariants on the real report, measured with the model's own tokenizer."""

import re

from qa.index.chunking import ChunkingParams, chunk_report
from qa.represent.dense import count_tokens


def test_chunks_lie_inside_one_section_and_cover_all_its_text(report):
    chunks = chunk_report(report, ChunkingParams(), count_tokens)
    by_section = {}
    for c in chunks:
        by_section.setdefault(c.section_id, []).append(c)
    for section in report.sections:
        got = [s for c in by_section.get(section.id, []) for s in c.sentences]
        want = [s for p in section.paragraphs for s in p.sentences]
        assert got == want, section.id
        for c in by_section.get(section.id, []):
            assert c.headings == section.headings and c.section == section.number


def test_ids_are_unique_and_derived_from_place(report):
    chunks = chunk_report(report, ChunkingParams(), count_tokens)
    ids = [c.id for c in chunks]
    assert len(ids) == len(set(ids))
    assert "1.c/prison-and-detention-center-conditions/1" in ids
    for c in chunks:
        assert c.id.startswith(c.section_id + "/") and re.fullmatch(r"\d+", c.id.rsplit("/", 1)[1])


def test_no_chunk_ends_mid_sentence(report):
    for c in chunk_report(report, ChunkingParams(), count_tokens):
        last = c.sentences[-1].text
        assert re.search(r"[.?!:;][\"”’)]*$", last), (c.id, last[-40:])


def test_every_chunk_fits_the_model_window(report):
    for max_words in (60, 120, 400):
        for c in chunk_report(report, ChunkingParams(max_words=max_words), count_tokens):
            if len(c.sentences) > 1:
                assert count_tokens(c.index_text) <= 256, (max_words, c.id)


def test_long_subsections_are_split_and_chunks_are_readable(report):
    chunks = chunk_report(report, ChunkingParams(max_words=120), count_tokens)
    prison = [c for c in chunks if c.section_id == "1.c/prison-and-detention-center-conditions"]
    assert len(prison) >= 3
    assert max(c.word_count for c in chunks if len(c.sentences) > 1) <= 120


def test_page_span_and_heading_text(report):
    chunks = chunk_report(report, ChunkingParams(), count_tokens)
    for c in chunks:
        assert 1 <= c.page_start <= c.page_end <= report.page_count
    c = next(c for c in chunks if "8,390 prisoners" in c.text)
    assert c.page_start <= 5 <= c.page_end
    assert c.index_text.startswith("Respect for the Integrity of the Person")
    assert "Prison and Detention Center Conditions" in c.index_text.split("\n")[0]
