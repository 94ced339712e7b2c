"""The library API and the end-to-end example."""

import qa


def test_example_question_returns_the_8390_passage_on_page_5(index):
    answer = index.ask("how many prisoners were released", k=3)
    assert len(answer.passages) == 3
    top3 = [p for p in answer.passages if "8,390 prisoners" in p.text]
    assert top3, [p.id for p in answer.passages]
    p = top3[0]
    assert p.section == "1.c" and p.page_start <= 5 <= p.page_end
    assert p.headings[-1] == "Prison and Detention Center Conditions"


def test_answer_has_sentence_and_citations(index):
    answer = index.ask("how many prisoners were released")
    assert answer.found
    assert "8,390" in answer.text
    assert answer.sentence in " ".join(p.text for p in answer.passages) or answer.sentence
    assert answer.page == 5
    d = answer.to_dict()
    assert set(d) >= {"question", "answer", "passages"}
    assert set(d["answer"]) >= {"found", "text", "sentence", "page", "alternatives"}
    first = d["passages"][0]
    assert set(first) >= {"rank", "score", "id", "text", "section", "headings", "page_start", "page_end"}
    assert [p["rank"] for p in d["passages"]] == [1, 2, 3]


def test_each_passage_marks_a_sentence_of_its_own(index):
    for p in index.ask("freedom of the press and censorship", k=5).passages:
        assert p.sentence and p.sentence in p.text


def test_modes_rank_differently_but_all_work(index):
    results = {m: [p.id for p in index.ask("internet blocking of web sites", k=5, mode=m).passages] for m in ("bm25", "dense", "hybrid", "rerank")}
    for ids in results.values():
        assert len(ids) == 5 and len(set(ids)) == 5
        assert any(i.startswith("2.a/internet-freedom") for i in ids)


def test_k_larger_than_the_corpus(index):
    answer = index.ask("torture", k=10_000)
    assert len(answer.passages) == len(index.chunks)


def test_top_level_ask_uses_a_cached_index(index_dir):
    a = qa.ask("how many prisoners were released", index_dir=index_dir)
    b = qa.load_index(index_dir)
    assert b is qa.load_index(index_dir)
    assert a.passages[0].id == b.ask("how many prisoners were released").passages[0].id


def test_public_names_are_exported():
    for name in qa.__all__:
        assert getattr(qa, name) is not None


def test_control_characters_never_reach_the_answer(index):
    a = index.ask("how many\x1b[31m prisoners\x00 were released")
    assert "\x1b" not in a.question and "\x00" not in a.question
    assert "\x1b" not in qa_json(a)


def qa_json(answer):
    from qa.front.render import answer_json

    return answer_json(answer)


def test_citation_of_a_document_without_sections():
    from qa.front.render import citation

    assert citation("text", ["notes"], 1, 2) == "notes — pp. 1–2"
    assert citation("1.c", ["Section 1. X", "c. Torture", "Prison Conditions"], 5, 5) == "§1.c Torture › Prison Conditions — p. 5"


def test_search_ranks_as_ask_does(index):
    for mode in ("bm25", "dense", "hybrid", "rerank"):
        hits = index.search("prisoner amnesty", k=5, mode=mode)
        passages = index.ask("prisoner amnesty", k=5, mode=mode).passages
        assert [h.chunk.id for h in hits] == [p.id for p in passages], mode
        assert [h.rank for h in hits] == [1, 2, 3, 4, 5]


def test_reports_that_are_not_names_are_a_one_line_error(index_dir):
    """Item 27 of issue 20: reports=[None] said "no index named 'None'"."""
    import pytest

    for reports, said in (([None], "it holds None"), (["kazakhstan-2011", 5], "it holds 5"), (5, "(got int)")):
        with pytest.raises(qa.KzqaError) as err:
            qa.ask("torture", index_dir=index_dir, reports=reports)
        assert said in str(err.value) and "'None'" not in str(err.value)
    assert qa.ask("torture", index_dir=index_dir, reports=("kazakhstan-2011",)).reports == ["kazakhstan-2011"]
