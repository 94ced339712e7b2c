"""The pipeline: a loaded index and the stages a question goes through (the CLI, the application
layer and the eval runner all ask through `Index`; `qa.ask` is qa/facade.py). `Index.analyse` runs
the stages in order:

    question --search/query.py--> Query (spelling corrected, the asking sentence, its profile)
             --search/retrieve.py--> every passage scored by several signals, fused (fitted weights)
             --search/select.py--> the sentences of the best passages scored (fitted model)
             --search/spans.py--> the short answer in the best sentence (fitted span ranker over its
                                  phrases, reading the sentence's parse: qa/represent/typed.py)
             --search/confidence.py--> a calibrated probability and the outcome: answer, unsure, none
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .answer import Answer, Candidate, Passage
from ..index.chunking import Chunk
from .confidence import CONFIDENCE_FEATURES, asked_fit, confidence_features
from ..represent.dense import DenseIndex, QueryEncoder
from ..errors import KzqaError
from ..represent.late import content_vectors, maxsim_all
from ..represent.lexical import LexicalIndex
from .scorers import ModeModel, shipped_models, shipped_span_model
from .query import Query, Speller, understand
from ..document import Report
from .retrieve import MODE_SIGNALS, Hit, best_per_passage, fuse, minmax, normalised_signals
from .select import SENTENCE_FEATURES, SentenceSignals, select_columns, sentence_features
from .spans import ScoredSentence, choose_answers, looks_like_person, ranked_spans, spans_of
from ..index.read import StoredIndex
from ..index.open import open_index
from ..settings import DEFAULT_MODE, validate_k, validate_mode, validate_question

CANDIDATES = 10  # passages whose sentences compete for the answer (and that rerank reorders)

MAX_ALTERNATIVES = 3
SHORT_ANSWER_WORDS = 6  # a longer "short answer" that is most of its sentence is not given


@dataclass
class Analysis:
    """Everything one question's pass through the stages produced (what `ask` reads an Answer
    from; what the training and ablation scripts read features from)."""

    query: Query
    mode: str
    raw: dict[str, np.ndarray]  # passage signals, unnormalised
    passage_features: np.ndarray  # (passages, signals of the mode), normalised
    signal_names: tuple[str, ...]
    fused: np.ndarray  # one score per passage
    order: np.ndarray  # passages, best first (rerank: the pool reordered by its best sentences)
    pool: list[int]  # the passages whose sentences compete
    sids: list[int]  # candidate sentences
    sentence_rows: np.ndarray  # (candidates, SENTENCE_FEATURES)
    sentence_scores: np.ndarray | None = None
    confidence_row: np.ndarray | None = None
    confidence_score: float | None = None

    @property
    def best_sid(self) -> int | None:
        if self.sentence_scores is None or not len(self.sids):
            return None
        return self.sids[int(np.argmax(self.sentence_scores))]


class Index:
    """A loaded index: retrieval over passages, and answers with citations."""

    def __init__(self, stored: StoredIndex, models: dict[str, ModeModel] | None = None) -> None:
        # one onnxruntime session per export (its sha256) per process, however many Indexes use it
        self.encoder = QueryEncoder(stored.onnx_path, key=getattr(stored.encoder, "sha256", None))
        self.stored = stored
        self.chunks: list[Chunk] = stored.chunks
        self.report: Report = stored.report  # with several reports: the first (see `reports`)
        self.manifest = stored.manifest.data
        # the reports searched: one, or several as one (qa/index/corpus.py: their union, ids prefixed)
        self.members: list[StoredIndex] = list(getattr(stored, "members", None) or [stored])
        self.report_names: list[str] = [m.manifest.data["name"] for m in self.members]
        self.reports: dict[str, Report] = {n: m.report for n, m in zip(self.report_names, self.members)}
        self.report_labels: dict[str, str] = {n: r.label for n, r in self.reports.items()}
        merged = getattr(stored, "chunk_report", None)
        self.chunk_report = merged if merged is not None else np.zeros(len(self.chunks), dtype=np.int64)
        lex = self.manifest["lexical"]
        self.lexical_settings = dict(variant=lex["variant"], k1=lex["k1"], b=lex["b"], stem=lex["stem"], stop_words=lex["stop_words"])
        self.lexical = LexicalIndex(stored.tokens, **self.lexical_settings)
        self.dense = DenseIndex(stored.vectors)
        self.sentence_chunk = np.asarray([ci for ci, c in enumerate(self.chunks) for _ in c.sentences], dtype=np.int64)
        self.chunk_sentences: list[list[int]] = []
        start = 0
        for chunk in self.chunks:
            self.chunk_sentences.append(list(range(start, start + len(chunk.sentences))))
            start += len(chunk.sentences)
        self.sentences = [s for c in self.chunks for s in c.sentences]
        self.chunk_ids = [c.id for c in self.chunks]
        sentence_tokens = [t for ts in stored.sentence_tokens for t in ts]
        self.sentence_lexical = LexicalIndex(sentence_tokens, **self.lexical_settings)
        self.sentence_term_sets = [frozenset(t) for t in sentence_tokens]
        # each sentence's typed spans (qa/represent/typed.py), made at build time; None: an index without them
        self.typed: list[list] | None = getattr(stored, "typed", None)
        self.sentence_vectors = stored.sentence_vectors
        self.token_vectors = stored.token_vectors
        self.token_offsets = stored.token_offsets
        self._models = models
        self._speller: Speller | None = None
        self._token_matrix: np.ndarray | None = None
        self._heading_terms: dict[int, frozenset] = {}
        n = max(1, len(self.sentences))
        self._unknown_idf = math.log(1.0 + (n + 0.5) / 0.5)

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

    @classmethod
    def union(cls, stored: list[StoredIndex], models: dict[str, ModeModel] | None = None) -> Index:
        """One Index over several loaded reports, ranked on one scale (qa/index/corpus.py); a single
        report gives the plain Index of that report, with its own passage ids."""
        if len(stored) == 1:
            return cls(stored[0], models)
        from ..index.corpus import merge

        return cls(merge(stored), models)

    @classmethod
    def load_many(
        cls,
        names: list[str | None],
        index_dir: str | Path | None = None,
        auto_build: bool = True,
        notify: Callable[[str], None] | None = None,
    ) -> Index:
        """Load (building where needed) the named indexes (None: the default) and search them as one."""
        names = list(dict.fromkeys(names))
        if not names:
            raise KzqaError("no reports to search")
        kwargs = {} if notify is None else {"notify": notify}
        return cls.union([open_index(index_dir, n, auto_build=auto_build, **kwargs) for n in names])

    @property
    def name(self) -> str:
        return "+".join(self.report_names)

    @property
    def several(self) -> bool:
        """Whether this Index searches several reports (passage ids then carry the report's name)."""
        return len(self.members) > 1

    def report_of(self, ref: str) -> tuple[str, Report, list[Chunk], str]:
        """(name, report, its chunks with their own ids, the reference without its report
        prefix) for a reference to one report: 'kazakhstan-2023:1.c' names its report; an
        Index of one report takes any reference as its own."""
        from ..index.corpus import split_ref

        name, rest = split_ref(ref, self.report_names)
        if name is None:
            if self.several:
                raise KzqaError(
                    f"{len(self.members)} reports are open; put the report's name before the reference: "
                    + ", ".join(f"{n}:{ref.strip() or '1.c'}" for n in self.report_names[:2]) + ", ..."
                )
            name = self.report_names[0]
        member = self.members[self.report_names.index(name)]
        return name, member.report, member.chunks, rest

    @property
    def models(self) -> dict[str, ModeModel]:
        if self._models is None:
            self._models = shipped_models()
        return self._models

    @property
    def token_matrix(self) -> np.ndarray:
        """The sentences' token vectors as float32, made on first use (stored as float16)."""
        if self._token_matrix is None:
            self._token_matrix = np.ascontiguousarray(self.token_vectors, dtype=np.float32)
        return self._token_matrix

    @property
    def speller(self) -> Speller:
        if self._speller is None:
            from ..represent.encoder import ENCODER

            vocab = self.lexical._vocab
            self._speller = Speller.from_texts(
                lambda: (c.index_text for c in self.chunks), lambda w: any(t in vocab for t in self.lexical.query_tokens(w)), ENCODER.is_whole_word)
        return self._speller

    # ------------------------------------------------------------ helpers the stages read

    def heading_terms(self, ci: int) -> frozenset:
        if ci not in self._heading_terms:
            self._heading_terms[ci] = frozenset(self.sentence_lexical.query_tokens(self.chunks[ci].heading_text))
        return self._heading_terms[ci]

    def sentence_idf(self, term: str) -> float:
        return self.sentence_lexical.idf(term, self._unknown_idf)

    def query_term_set(self, query: Query) -> frozenset:
        return frozenset(self.sentence_lexical.query_tokens(query.search))

    # ------------------------------------------------------------ the stages

    def understand(self, question: str) -> Query:
        return understand(validate_question(question), self.speller)

    def analyse(self, question: str | Query, mode: str = DEFAULT_MODE, models: ModeModel | None = None, stop_after: str | None = None) -> Analysis:
        """Run the stages for one question. `models` defaults to the shipped ones for the mode;
        `stop_after` ("passages", "sentences") stops early, for the training script."""
        validate_mode(mode)
        query = question if isinstance(question, Query) else self.understand(question)
        model = models if models is not None else self.models[mode]
        retrieval = "hybrid" if mode == "rerank" else mode
        names = MODE_SIGNALS[retrieval]
        raw: dict[str, np.ndarray] = {"bm25": self.lexical.scores(self.lexical.query_tokens(query.search)).astype(np.float64)}
        cos = late = None
        if retrieval != "bm25":
            qvec, qtokens, qids = self.encoder.encode_with_tokens(query.search)
            raw["dense"] = self.dense.scores(qvec).astype(np.float64)
            cos = (self.sentence_vectors @ qvec).astype(np.float64)
            raw["dense_sentence"] = best_per_passage(cos, self.sentence_chunk, len(self.chunks))
        n = len(self.chunks)
        if "late" in names:
            late = maxsim_all(content_vectors(qtokens, qids), self.token_matrix, self.token_offsets)
            raw["late"] = best_per_passage(late, self.sentence_chunk, n)
        features = normalised_signals(raw, names)
        fused = fuse(features, model.passage) if model.passage is not None else features.sum(axis=1)
        order = np.argsort(-fused, kind="stable")
        pool = [int(ci) for ci in order[:CANDIDATES]]
        analysis = Analysis(query, mode, raw, features, names, fused, order, pool, [], np.zeros((0, len(SENTENCE_FEATURES))))
        if stop_after == "passages":
            return analysis
        pool_scores = fused[pool]
        norm = minmax(pool_scores) if len(pool) > 1 else np.ones(len(pool))
        passage_norm = {ci: float(v) for ci, v in zip(pool, norm)}
        sids = [s for ci in pool for s in self.chunk_sentences[ci]]
        sentence_bm25 = self.sentence_lexical.scores(self.sentence_lexical.query_tokens(query.search)).astype(np.float64)
        signals = SentenceSignals(cos, late, sentence_bm25)
        analysis.sids = sids
        analysis.sentence_rows = sentence_features(self, query, sids, signals, pool, passage_norm)
        if stop_after == "sentences" or model.sentence is None:
            return analysis
        analysis.sentence_scores = model.sentence.score(select_columns(analysis.sentence_rows, model.sentence.features))
        if mode == "rerank":
            best = {}
            for sid, score in zip(sids, analysis.sentence_scores):
                ci = int(self.sentence_chunk[sid])
                best[ci] = max(best.get(ci, -np.inf), float(score))
            reranked = sorted(pool, key=lambda ci: -best[ci])
            analysis.order = np.asarray(reranked + [int(ci) for ci in order[CANDIDATES:]])
        analysis.confidence_row = self._confidence_row(analysis, retrieval)
        if model.confidence is not None:
            analysis.confidence_score = float(model.confidence.score(
                analysis.confidence_row[[CONFIDENCE_FEATURES.index(f) for f in model.confidence.features]])[0])
        return analysis

    def _has_content(self, query: Query) -> bool:
        """A question needs a word of two letters or more, or a figure, to be answered at all: "e"
        matches the "e" of "e-mail" but asks nothing."""
        return any(len(t) > 1 or t.isdigit() for t in self.lexical.query_tokens(query.search))

    def _confidence_row(self, a: Analysis, retrieval: str) -> np.ndarray:
        terms = [t for t in self.lexical.query_tokens(a.query.search) if not t[0].isdigit()]
        unknown = sum(t not in self.lexical._vocab for t in terms) / len(terms) if terms else 0.0
        best = a.best_sid
        passage_text = self.chunks[int(self.sentence_chunk[best])].text if best is not None else ""
        year_missing = any(y not in passage_text for y in a.query.years)
        year_unknown = any(y not in self.lexical._vocab for y in a.query.years)
        agreement = retrieval == "hybrid" and int(np.argmax(a.raw["bm25"])) == int(np.argmax(a.raw["dense"]))
        wants_person = a.query.profile.wants_person or "name" in a.query.search.lower()
        person_missing = wants_person and best is not None and not any(
            looks_like_person(s.text) for s in spans_of(self.sentences[best].text, "who", a.query.profile))
        top3 = [a.sids[int(i)] for i in np.argsort(-a.sentence_scores, kind="stable")[:3]] if a.sentence_scores is not None else []
        passage_sids = self.chunk_sentences[int(self.sentence_chunk[best])] if best is not None else []
        report = self.report_names[int(self.chunk_report[int(self.sentence_chunk[best])])] if best is not None else None
        country = (self.reports[report].country or "").lower() if report else ""
        asked = asked_fit(a.query.profile, self.typed, best, top3, passage_sids, passage_text.lower(), country)
        return confidence_features(
            a.sentence_scores, a.sentence_rows, SENTENCE_FEATURES, a.fused[a.pool], unknown, year_missing,
            year_unknown, agreement, len(terms), person_missing, asked,
        )

    # ------------------------------------------------------------ the public calls

    def search(self, question: str, k: int = 3, mode: str = DEFAULT_MODE) -> list[Hit]:
        """Ranked passages only (rerank scores the pool's sentences to reorder it)."""
        validate_k(k)
        a = self.analyse(question, mode, stop_after=None if mode == "rerank" else "passages")
        return self._hits(a, [int(ci) for ci in a.order[:k]])

    def _hits(self, a: Analysis, ranked: list[int]) -> list[Hit]:
        dense = a.raw.get("dense")
        return [
            Hit(self.chunks[ci], r, float(a.fused[ci]), float(a.raw["bm25"][ci]), None if dense is None else float(dense[ci]))
            for r, ci in enumerate(ranked, 1)
        ]

    def ask(self, question: str, k: int = 3, mode: str = DEFAULT_MODE) -> Answer:
        validate_k(k)
        validate_mode(mode)
        a = self.analyse(question, mode)
        model = self.models[mode]
        best_sid = a.best_sid
        content = self._has_content(a.query)
        probability = float(model.calibration(a.confidence_score)) if content else 0.0
        answerable = self.answerable_probability(a, model) if content else 0.0
        level = model.level(probability, answerable)
        ranked = [int(ci) for ci in a.order[:k]]
        answer_chunk = int(self.sentence_chunk[best_sid]) if best_sid is not None else None
        if answer_chunk is not None and answer_chunk not in ranked and level != "none":
            ranked.append(answer_chunk)  # an answer never comes from a passage that is not shown
        best_in_passage: dict[int, int] = {}
        for sid, score in sorted(zip(a.sids, a.sentence_scores), key=lambda x: -x[1]):
            best_in_passage.setdefault(int(self.sentence_chunk[sid]), sid)
        rank_of = {int(ci): r for r, ci in enumerate(a.order, 1)}
        passages = []
        for ci in ranked:
            chunk = self.chunks[ci]
            sid = best_in_passage.get(ci)
            report = self.report_names[int(self.chunk_report[ci])]
            passages.append(Passage(
                rank=rank_of[ci], score=float(a.fused[ci]), id=chunk.id, text=chunk.text, section=chunk.section,
                headings=list(chunk.headings), page_start=chunk.page_start, page_end=chunk.page_end,
                sentence=self.sentences[sid].text if sid is not None else None,
                sentence_page=self.sentences[sid].page if sid is not None else None,
                report=report, report_label=self.report_labels[report],
            ))
        sentence = self.sentences[best_sid] if best_sid is not None else None
        text = self.short_answer(a) if sentence is not None and level != "none" else None
        alternatives = self._alternatives(a, best_sid, set(ranked)) if level == "answer" and text else []
        return Answer(
            question=a.query.text, found=level != "none", text=text,
            sentence=sentence.text if sentence else None, page=sentence.page if sentence else None,
            passage_id=self.chunk_ids[answer_chunk] if answer_chunk is not None else None,
            qtype=a.query.profile.type, mode=mode, passages=passages, alternatives=alternatives,
            confidence=probability, hits=self._hits(a, ranked), level=level,
            corrections=list(a.query.corrections), searched=a.query.corrected,
            report=self.report_names[int(self.chunk_report[answer_chunk])] if answer_chunk is not None else None,
            reports=list(self.report_names), answerable=answerable,
        )

    def answerable_probability(self, a: Analysis, model: ModeModel) -> float | None:
        """The probability that the report answers the question at all (None: no such model)."""
        if model.answerable is None or a.confidence_row is None:
            return None
        row = a.confidence_row[[CONFIDENCE_FEATURES.index(f) for f in model.answerable.features]]
        score = float(model.answerable.score(row)[0])
        return float(model.answerable_calibration(score)) if model.answerable_calibration is not None else float(1 / (1 + np.exp(-score)))

    def short_answer(self, a: Analysis, span_model=None) -> str | None:
        """The short answer in the chosen sentence: the fitted span ranker's best phrase (the
        shipped ranker, or `span_model`); none where it would be most of the sentence (the
        sentence itself is shown)."""
        sid = a.best_sid
        if sid is None:
            return None
        sentence = self.sentences[sid].text
        spans = ranked_spans(sentence, a.query.profile, span_model or shipped_span_model(), self.typed[sid] if self.typed else None)
        text = spans[0][0] if spans else None
        if text and len(text.split()) > SHORT_ANSWER_WORDS and len(text.split()) >= 0.8 * len(sentence.split()):
            return None
        return text or None

    def _alternatives(self, a: Analysis, best_sid: int, shown: set[int]) -> list[Candidate]:
        """Other figures for a counting question, from other sentences nearly as good, in shown passages."""
        if a.query.profile.type != "numeric":
            return []
        probs = 1.0 / (1.0 + np.exp(-a.sentence_scores))
        top = float(probs.max())
        ranked = sorted(zip(a.sids, a.sentence_scores, probs), key=lambda x: -x[1])
        sentences = [
            ScoredSentence(self.sentences[sid].text, self.sentences[sid].page, int(self.sentence_chunk[sid]), float(p), sid)
            for sid, _, p in ranked[:5] if p >= 0.5 * top and int(self.sentence_chunk[sid]) in shown
        ]
        out, seen = [], {self.sentences[best_sid].text}
        for c in choose_answers(a.query.profile, sentences, self.chunk_ids):
            if c.sentence not in seen:
                seen.add(c.sentence)
                out.append(c)
        return out[:MAX_ALTERNATIVES]


