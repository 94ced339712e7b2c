"""The library API: load an index once, ask it many questions. The CLI and the eval runner use
exactly this."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .answer import (
    Answer,
    Candidate,
    Passage,
    QuestionProfile,
    ScoredSentence,
    choose_answers,
    profile_question,
    spans_of,
)
from .chunking import Chunk
from .dense import DenseIndex, QueryEncoder
from .errors import KzqaError
from .lexical import LexicalIndex
from .report import Report
from .retrieve import MODES as RETRIEVAL_MODES
from .retrieve import Hit, Retriever, minmax
from .store import StoredIndex, open_index

MODES = RETRIEVAL_MODES + ("rerank",)
DEFAULT_MODE = "hybrid"
MAX_QUESTION_CHARS = 10_000
CANDIDATES = 10  # passages whose sentences compete for the answer (and that rerank reorders)
# Abstention: the best sentence's evidence score below this means "not in the report".
FOUND_THRESHOLD = 0.46  # calibrated: benchmarks/calibrate_abstention.py
# bm25 mode has no query vector, so its confidence is word coverage alone: a weaker signal,
# calibrated the same way (python benchmarks/calibrate_abstention.py --mode bm25)
FOUND_THRESHOLD_LEXICAL = 0.30
# Sentence score = weights of (dense cosine, sentence BM25 / best, passage score normalised)
SENTENCE_WEIGHTS = (0.5, 0.3, 0.2)
# Rerank = weights of (fused passage score normalised, best sentence score, heading overlap,
# best sentence holds an answer of the asked type)
RERANK_WEIGHTS = (0.45, 0.45, 0.05, 0.05)


def validate_question(question: str) -> str:
    if not isinstance(question, str):
        raise KzqaError("the question must be text")
    bad = next((i for i, ch in enumerate(question) if "\ud800" <= ch <= "\udfff"), None)
    if bad is not None:  # a lone surrogate ("\ud800" in JSON): not text any encoder or output can take
        raise KzqaError(f"the question is not valid text (a lone surrogate at character {bad + 1})")
    # control characters (a terminal escape, a NUL) become spaces: they must never reach the output
    q = " ".join("".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in question).split())
    if not q:
        raise KzqaError("the question is empty")
    if len(q) > MAX_QUESTION_CHARS:
        raise KzqaError(f"the question is too long ({len(q)} characters; the limit is {MAX_QUESTION_CHARS})")
    if not any(ch.isalnum() for ch in q):
        raise KzqaError("the question has no words to search for")
    return q


def validate_k(k: int) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise KzqaError(f"k must be a positive whole number (got {k!r})")
    return k


class Index:
    """A loaded index: retrieval over passages, and answers with citations."""

    def __init__(self, stored: StoredIndex) -> None:
        self.stored = stored
        self.chunks: list[Chunk] = stored.chunks
        self.report: Report = stored.report
        self.manifest = stored.manifest.data
        self.encoder = QueryEncoder(stored.onnx_path)
        lex = self.manifest["lexical"]
        self.lexical_settings = dict(variant=lex["variant"], k1=lex["k1"], b=lex["b"], stem=lex["stem"], stop_words=lex["stop_words"])
        self.retriever = Retriever(self.chunks, LexicalIndex(stored.tokens, **self.lexical_settings), DenseIndex(stored.vectors), self.encoder)
        # sentence level: global ids in chunk order
        self.sentence_chunk: list[int] = []
        self.chunk_sentences: list[list[int]] = []
        for ci, chunk in enumerate(self.chunks):
            start = len(self.sentence_chunk)
            self.sentence_chunk.extend([ci] * len(chunk.sentences))
            self.chunk_sentences.append(list(range(start, len(self.sentence_chunk))))
        self.sentences = [s for c in self.chunks for s in c.sentences]
        self.chunk_ids = [c.id for c in self.chunks]
        self._heading_tokens: dict[int, set[str]] = {}  # chunk index -> tokens of its heading path, filled on use
        self.sentence_lexical = LexicalIndex([t for ts in stored.sentence_tokens for t in ts], **self.lexical_settings)
        self.sentence_vectors = stored.sentence_vectors

    @classmethod
    def load(
        cls,
        index_dir: str | Path | None = None,
        name: str | None = None,
        auto_build: bool = True,
        notify: Callable[[str], None] | None = None,
    ) -> Index:
        kwargs = {} if notify is None else {"notify": notify}
        return cls(open_index(index_dir, name, auto_build=auto_build, **kwargs))

    @property
    def name(self) -> str:
        return self.manifest["name"]

    def search(self, question: str, k: int = 3, mode: str = DEFAULT_MODE) -> list[Hit]:
        """Ranked passages only (no answer extraction, except where rerank needs its sentences)."""
        if mode == "rerank":
            return self.ask(question, k=k, mode=mode).hits
        q = validate_question(question)
        validate_k(k)
        if mode not in MODES:
            raise KzqaError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
        return self.retriever.search(q, k=k, mode=mode)

    def _query_vector(self, question: str, mode: str) -> np.ndarray | None:
        return None if mode == "bm25" else self.encoder.encode([question])[0]

    def ask(self, question: str, k: int = 3, mode: str = DEFAULT_MODE) -> Answer:
        q = validate_question(question)
        validate_k(k)
        if mode not in MODES:
            raise KzqaError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
        retrieval_mode = "hybrid" if mode == "rerank" else mode
        qvec = self._query_vector(q, retrieval_mode)
        fused, lexical, dense = self.retriever.score_all(q, retrieval_mode, qvec)
        n = len(self.chunks)
        order = np.argsort(-fused, kind="stable")
        pool = order[: max(CANDIDATES, k)]
        passage_norm = np.zeros(n, dtype=np.float32)
        passage_norm[pool] = minmax(fused[pool]) if len(pool) > 1 else 1.0

        sent_ids = [sid for ci in pool for sid in self.chunk_sentences[ci]]
        sent_scores = self._sentence_scores(q, qvec, sent_ids, passage_norm)
        best_in_chunk: dict[int, tuple[float, int]] = {}
        for sid, sc in zip(sent_ids, sent_scores):
            ci = self.sentence_chunk[sid]
            if ci not in best_in_chunk or sc > best_in_chunk[ci][0]:
                best_in_chunk[ci] = (float(sc), sid)

        profile = profile_question(q)
        if mode == "rerank":
            final = self._rerank(profile, [int(ci) for ci in pool], passage_norm, best_in_chunk)
            ranked = sorted(final, key=lambda ci: -final[ci])[:k]
            scores = final
        else:
            ranked = [int(ci) for ci in order[:k]]
            scores = {ci: float(fused[ci]) for ci in ranked}

        hits = [
            Hit(self.chunks[ci], r, scores[ci], float(lexical[ci]), None if dense is None else float(dense[ci]))
            for r, ci in enumerate(ranked, 1)
        ]
        passages = []
        for hit, ci in zip(hits, ranked):
            best = best_in_chunk.get(ci)
            sentence = self.sentences[best[1]] if best else None
            passages.append(
                Passage(
                    rank=hit.rank, score=hit.score, id=hit.chunk.id, text=hit.chunk.text, section=hit.chunk.section,
                    headings=list(hit.chunk.headings), page_start=hit.chunk.page_start, page_end=hit.chunk.page_end,
                    sentence=sentence.text if sentence else None, sentence_page=sentence.page if sentence else None,
                )
            )

        ranked_sentences = sorted(
            (ScoredSentence(self.sentences[sid].text, self.sentences[sid].page, self.sentence_chunk[sid], float(sc), sid)
             for sid, sc in zip(sent_ids, sent_scores)),
            key=lambda s: -s.score,
        )
        qtype = profile.type
        candidates = choose_answers(profile, ranked_sentences, self.chunk_ids)
        confidence = self._confidence(q, qvec, ranked_sentences)
        found = confidence >= (FOUND_THRESHOLD_LEXICAL if qvec is None else FOUND_THRESHOLD)
        top = ranked_sentences[0] if ranked_sentences else None
        if candidates:
            best = candidates[0]
            text, sentence, page, pid = best.text, best.sentence, best.page, best.passage_id
            alternatives = self._alternatives(qtype, candidates)
        elif top is not None:
            text, sentence, page, pid = None, top.text, top.page, self.chunk_ids[top.chunk_index]
            alternatives = []
        else:  # pragma: no cover - an index always has sentences
            text = sentence = page = pid = None
            alternatives = []
        answer = Answer(
            question=q, found=found, text=text if found else None, sentence=sentence, page=page, passage_id=pid,
            qtype=qtype, mode=mode, passages=passages, alternatives=alternatives if found else [], confidence=confidence,
            hits=hits,
        )
        return answer

    def _rerank(self, profile: QuestionProfile, pool: list[int], passage_norm: np.ndarray, best_in_chunk: dict) -> dict[int, float]:
        """Reorder the candidate passages without a cross-encoder: a passage is as good as its best
        sentence, helped by headings that share the question's words and by holding an answer of
        the kind the question asks for."""
        w_passage, w_sentence, w_heading, w_typed = RERANK_WEIGHTS
        out = {}
        for ci in pool:
            best_score, sid = best_in_chunk[ci]
            if ci not in self._heading_tokens:
                self._heading_tokens[ci] = set(self.sentence_lexical.query_tokens(self.chunks[ci].heading_text))
            heading = len(profile.tokens & self._heading_tokens[ci]) / len(profile.tokens) if profile.tokens else 0.0
            typed = 1.0 if spans_of(self.sentences[sid].text, profile.type, profile) else 0.0
            out[ci] = w_passage * float(passage_norm[ci]) + w_sentence * best_score + w_heading * heading + w_typed * typed
        return out

    def _sentence_scores(self, q: str, qvec: np.ndarray | None, sent_ids: list[int], passage_norm: np.ndarray) -> np.ndarray:
        ids = np.asarray(sent_ids, dtype=np.int64)
        lex_all = self.sentence_lexical.scores(self.sentence_lexical.query_tokens(q))
        lex = lex_all[ids]
        lex_norm = lex / lex.max() if lex.size and lex.max() > 0 else np.zeros_like(lex)
        pnorm = passage_norm[[self.sentence_chunk[s] for s in sent_ids]]
        if qvec is None:
            return 0.8 * lex_norm + 0.2 * pnorm
        cos = self.sentence_vectors[ids] @ qvec
        w_dense, w_lex, w_passage = SENTENCE_WEIGHTS
        return w_dense * cos + w_lex * lex_norm + w_passage * pnorm

    def _confidence(self, q: str, qvec: np.ndarray | None, ranked: list[ScoredSentence]) -> float:
        """How well the best sentences cover the question: dense similarity and the share of the
        question's content words they contain."""
        if not ranked:
            return 0.0
        # the sentences' tokens were made at build time, with the settings the query uses here
        q_tokens = set(self.sentence_lexical.query_tokens(q))
        top = ranked[:3]
        sentence_tokens = self.sentence_lexical.doc_tokens
        coverage = max((len(q_tokens & set(sentence_tokens[s.sid])) / len(q_tokens)) if q_tokens else 0.0 for s in top)
        if qvec is None:
            return coverage
        best_cos = max(float(self.sentence_vectors[s.sid] @ qvec) for s in top)
        return 0.6 * best_cos + 0.4 * coverage

    @staticmethod
    def _alternatives(qtype: str, candidates: list[Candidate]) -> list[Candidate]:
        """Other answers worth showing: for counting questions, other figures from other sentences."""
        best = candidates[0]
        margin = 0.2 if qtype == "numeric" else 0.1
        out: list[Candidate] = []
        sentences = {best.sentence}
        for c in candidates[1:]:
            if c.score >= best.score - margin and c.sentence not in sentences:
                sentences.add(c.sentence)  # one answer per sentence: its best span
                out.append(c)
        return out[:4]


_cache: dict[tuple, Index] = {}


def load_index(index_dir: str | Path | None = None, name: str | None = None, auto_build: bool = True) -> Index:
    """Load (building on first use) and cache an index."""
    key = (str(index_dir) if index_dir else None, name)
    if key not in _cache:
        _cache[key] = Index.load(index_dir, name, auto_build=auto_build)
    return _cache[key]


def ask(question: str, k: int = 3, mode: str = DEFAULT_MODE, index_dir: str | Path | None = None, name: str | None = None) -> Answer:
    """Answer one question from the (cached) index: `qa.ask("how many prisoners were released")`."""
    return load_index(index_dir, name).ask(question, k=k, mode=mode)

