"""Work that must end: a PDF whose pages share a huge content stream, a one-line document of
thousands of words, a batch whose rows must be written as they are answered.

Part of the fault suite (tests/faults/; its conventions are in tests/faults/conftest.py).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from faulthelpers import assert_one_line_error, copy_small, kzqa, run


# ================================================================ work that must end (items 6, 7, 8)

def _pdf_of_one_stream(path: Path, pages: int, stream: bytes) -> Path:
    """A PDF of `pages` pages that all draw the same content stream (stored once, compressed)."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    w = PdfWriter()
    content = DecodedStreamObject()
    content.set_data(stream)
    ref = w._add_object(content.flate_encode())
    font = w._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"), NameObject("/BaseFont"): NameObject("/Helvetica"),
    }))
    for _ in range(pages):
        page = w.add_blank_page(612, 792)
        page[NameObject("/Contents")] = ref
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    with open(path, "wb") as f:
        w.write(f)
    return path


def _shared_content_pdf(path: Path, pages: int = 200, stream_bytes: int = 5_000_000) -> Path:
    """A small PDF whose pages all draw with one large content stream (~48 kB compressed)."""
    op = b"BT /F1 12 Tf 72 720 Td (word) Tj ET\n"
    return _pdf_of_one_stream(path, pages, op * (stream_bytes // len(op)))


@pytest.mark.parametrize("stream_bytes", [5_000_000, 400_000], ids=["one-5MB-stream", "one-400kB-stream"])
def test_w_pdf_whose_pages_share_a_huge_content_stream_fails_fast(tmp_path, stream_bytes):
    """Item 7: 200 pages drawing with one shared content stream ran `kzqa index` past 500 s."""
    pdf = _shared_content_pdf(tmp_path / "evil.pdf", stream_bytes=stream_bytes)
    assert pdf.stat().st_size < 200_000
    env = {**os.environ, "KZQA_INDEX_DIR": str(tmp_path / "root"), "NO_COLOR": "1"}
    started = time.monotonic()
    r = kzqa(["index", str(pdf), "--name", "evil"], env, timeout=120)
    assert time.monotonic() - started < 60
    assert r.returncode == 1
    assert_one_line_error(r.stderr, "drawing instructions", "it is not a text report")
    assert not (tmp_path / "root" / "evil.sqlite").exists()


def test_w_one_line_document_of_6000_words_is_cut_and_asked_quickly(small, tmp_path):
    """Item 6 (the build half): a "sentence" of thousands of words (a one-line document) is cut
    at build time into pieces of at most 100 words, so that no later stage works on one huge
    sentence."""
    c = copy_small(small, tmp_path / "root")
    rng = random.Random(6)
    words = [rng.choice(["court", "prison", "police", "law", "press", "vote", "union", "labor", "women", "child"]) for _ in range(6000)]
    words[4321] = "7,777"
    doc = tmp_path / "one-line.txt"
    doc.write_text(" ".join(words) + "\n")
    r = run(["index", str(doc), "--name", "oneline"], c["env"])
    assert r.exit_code == 0, r.output
    from qa.search.pipeline import Index
    from qa.index.open import open_index

    index = Index(open_index(c["root"], "oneline", auto_build=False, notify=None))
    assert max(len(s.text.split()) for s in index.sentences) <= 100
    assert " ".join(s.text for s in index.sentences) == " ".join(words)
    started = time.monotonic()
    r = run(["ask", "how many courts", "--index", "oneline", "--json"], c["env"])
    assert r.exit_code == 0 and time.monotonic() - started < 10


def test_w_batch_rows_are_written_as_they_are_answered(cli_env, tmp_path):
    """Item 8: the first answers reach standard output while later ones are still being worked
    out (nothing is held until the end)."""
    q = tmp_path / "many.txt"
    q.write_text("how many prisoners were released\n" * 600)
    proc = subprocess.Popen([sys.executable, "-m", "qa.front.cli", "batch", str(q), "--mode", "rerank"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=cli_env)
    try:
        first = json.loads(proc.stdout.readline())
        assert first["id"] == 1 and proc.poll() is None  # still answering the rest
    finally:
        proc.kill()
        proc.wait()


def _identical_pages_pdf(path: Path, pages: int) -> Path:
    """A small PDF of `pages` pages that all draw the same two sentences (one shared stream)."""
    return _pdf_of_one_stream(path, pages, b"BT /F1 12 Tf 72 720 Td (The committee reviewed the cases of detained journalists.) Tj ET\n"
                                            b"BT /F1 12 Tf 72 700 Td (Officials said the review would continue.) Tj ET\n")


def test_w_identical_text_is_embedded_once(small, tmp_path, monkeypatch):
    """Item 28 of issue 20: a PDF of 20,000 identical pages ran past 300 s: every copy of the same
    text was embedded again. The build embeds (and computes token vectors for) each distinct
    passage and sentence once, and every copy gets its vectors."""
    from faulthelpers import link_index
    from qa.index import write
    from qa.index.read import read_index
    from qa.index.naming import resolve_location
    from qa.represent.dense import ReferenceEncoder

    real = write._reference_encoder(ReferenceEncoder)
    asked: dict[str, list[str]] = {"encode": [], "token_vectors": []}

    class Counting:
        def encode(self, texts, batch_size=32):
            asked["encode"] += list(texts)
            return real.encode(texts, batch_size=batch_size)

        def token_vectors(self, texts, batch_size=32):
            asked["token_vectors"] += list(texts)
            return real.token_vectors(texts, batch_size=batch_size)

    monkeypatch.setattr(write, "_ENCODER", [Counting()])
    root = tmp_path / "root"
    link_index(small["root"], root)  # the encoder files: no export
    pdf = _identical_pages_pdf(tmp_path / "same.pdf", pages=2000)
    assert pdf.stat().st_size < 400_000
    started = time.monotonic()
    result = write.build_index(pdf, root, "same")
    assert result.built and result.manifest["counts"]["sentences"] >= 2000
    stored = read_index(resolve_location(root, "same"))
    texts = [c.index_text for c in stored.chunks] + [s.text for c in stored.chunks for s in c.sentences]
    assert sorted(asked["encode"]) == sorted(set(texts))  # each distinct text once
    sentences = [s.text for c in stored.chunks for s in c.sentences]
    assert sorted(asked["token_vectors"]) == sorted(set(sentences))
    first = {}
    for i, text in enumerate(sentences):  # every copy has the vectors of its text
        j = first.setdefault(text, i)
        assert (stored.sentence_vectors[i] == stored.sentence_vectors[j]).all()
    assert time.monotonic() - started < 60
    stored.encoder.close()
