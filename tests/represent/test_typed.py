"""Typed spans (qa/represent/typed.py): spaCy's parse read once per sentence at build time and
stored in the index, checked like every row, remade only when a sentence or the rules change."""

import json
import sqlite3

import pytest

from qa.index.format import sha256_bytes, typed_from_json
from qa.index.read import IndexDamaged, read_index, stale_reasons, own_params
from qa.index.naming import IndexLocation
from qa.represent import typed as typed_module
from qa.represent.typed import typed_spans


def spans_by_kind(sentence, spans, kind):
    return [(sentence[a:b], rest) for a, b, k, *rest in spans if k == kind]


def test_numbers_are_bound_to_the_noun_they_count():
    s = "According to the latest government statistics, there were approximately 52,000 prisoners and detainees in pretrial facilities."
    counts = spans_by_kind(s, typed_spans([s])[0], "count")
    assert ("approximately 52,000 prisoners", ["attr", "prisoner"]) in counts


def test_entities_keep_their_titles_and_reasons_their_clause():
    s1 = "The April 12 appointment of General Kalmukhanbet Kasymov ended a tradition of civilian interior ministers."
    s2 = "Defendants are barred from freely choosing their defense counsel if the cases against them involve state secrets."
    t1, t2 = typed_spans([s1, s2])
    assert "General Kalmukhanbet Kasymov" in [t for t, _ in spans_by_kind(s1, t1, "person")]
    assert "April 12" in [t for t, _ in spans_by_kind(s1, t1, "date")]
    assert "if the cases against them involve state secrets" in [t for t, _ in spans_by_kind(s2, t2, "reason")]


def test_every_stored_span_lies_in_its_sentence(index):
    assert index.typed is not None and len(index.typed) == len(index.sentences)
    kinds = set()
    for sentence, spans in zip(index.sentences, index.typed):
        for a, b, kind, role, *_ in spans:
            kinds.add(kind)
            assert 0 <= a < b <= len(sentence.text)
            text = sentence.text[a:b]
            assert text == text.strip() and not text[-1] in ",;:"
    assert {"person", "org", "place", "date", "count", "np", "phrase", "predicate", "reason"} <= kinds


def test_a_tampered_span_row_is_damage_even_with_a_fresh_checksum(index_dir, tmp_path):
    import shutil

    root = tmp_path / "idx"
    shutil.copytree(index_dir, root)
    loc = IndexLocation(root)
    conn = sqlite3.connect(loc.path)
    text, = conn.execute("SELECT json FROM chunks WHERE pos = 0").fetchone()
    d = json.loads(text)
    d["typed"] = d["typed"][:-1]  # one sentence's spans missing
    new = json.dumps(d, ensure_ascii=False, separators=(",", ":"))
    conn.execute("UPDATE chunks SET json = ?, sha256 = ? WHERE pos = 0", (new, sha256_bytes(new)))
    conn.commit()
    conn.close()
    with pytest.raises(IndexDamaged, match="unreadable"):
        read_index(loc)


def test_malformed_spans_are_refused():
    with pytest.raises(ValueError):
        typed_from_json({"typed": [[["0", 3, "np", "nsubj"]]]}, 1)
    with pytest.raises(ValueError):
        typed_from_json({"typed": []}, 1)
    assert typed_from_json({"typed": [[[0, 3, "np", "nsubj"]]]}, 1) == [[[0, 3, "np", "nsubj"]]]


def test_changed_rules_make_the_index_stale(index, monkeypatch):
    manifest = index.stored.manifest
    assert "typed spans are made differently" not in stale_reasons(manifest, own_params(manifest))
    monkeypatch.setattr(typed_module, "TYPED_VERSION", typed_module.TYPED_VERSION + 1)
    assert "typed spans are made differently" in stale_reasons(manifest, own_params(manifest))


def test_unchanged_sentences_keep_their_spans_without_spacy(index_dir, monkeypatch):
    from qa.index.read import read_manifest
    from qa.index.write import _typed

    loc = IndexLocation(index_dir)
    stored = read_index(loc)
    monkeypatch.setattr(typed_module, "typed_spans", lambda *a, **k: pytest.fail("spaCy ran for unchanged sentences"))
    conn = sqlite3.connect(loc.path)
    try:
        got = _typed(conn, read_manifest(loc), [s.text for c in stored.chunks for s in c.sentences], lambda *a: None)
    finally:
        conn.close()
    assert got == stored.typed
