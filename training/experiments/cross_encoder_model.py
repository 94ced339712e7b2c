"""An experiment, not shipped (see training/experiments/cross_encoder.py): a small cross-encoder that reads a question with one
candidate sentence at a time and says whether the sentence answers it and where the answer is.

It is all-MiniLM-L6-v2's first layers fine-tuned by training/train_reader.py (seeded, CPU) on the
eval sets' fitting items and on questions generated from the reports' own sentences, exported to
ONNX with int8 weights (qa/data/reader.onnx). Two heads over the pair `[CLS] question [SEP]
report label. heading: sentence [SEP]`:
- `answers`: a logit that this sentence answers the question (trained with hard negatives from
  the same passage and with unanswerable variants: another year, country, person);
- `start`/`end`: logits over the sentence's word pieces for where the answer begins and ends
  (SQuAD 2.0 style: a sentence that does not answer points both at [CLS]).

It runs over the few best candidate sentences only (READ_SENTENCES), in one batch, with numpy,
onnxruntime and tokenizers: nothing else loads on the query path.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

READER_FILE = "reader.onnx"
READER_META = "reader.json"
MAX_QUESTION_PIECES = 40  # a longer question is cut (its preamble first: see question_for_reader)
MAX_PIECES = 128  # question + context, special pieces included
MAX_ANSWER_PIECES = 24  # the longest span the reader may give


def reader_path() -> Path:
    return Path(__file__).resolve().parents[1] / "out" / READER_FILE


def context_prefix(report_label: str | None, heading: str | None) -> str:
    """What stands before the sentence in the reader's second segment: the report (its country
    and year: a question about another year or country is not answered here) and the heading."""
    parts = [p for p in (report_label, heading) if p]
    return (". ".join(parts) + ": ") if parts else ""


def question_for_reader(question: str) -> str:
    """The asking part of a question with a long preamble ("I'm a lawyer ... . How many ...?"):
    the reader's window is short, and the question is at its end."""
    return question.strip()


@dataclass(frozen=True)
class Reading:
    """What the reader says of one (question, sentence) pair."""

    answers: float  # logit: the sentence answers the question
    span: tuple[int, int] | None  # character offsets of the best answer span in the sentence
    span_score: float  # start + end logits of that span
    null_score: float  # start + end logits at [CLS]: "no answer here"

    @property
    def span_margin(self) -> float:
        return self.span_score - self.null_score


def encode_pairs(tokenizer, question: str, contexts: list[tuple[str, str]]):
    """Token ids, segment ids, mask and, per row, (first sentence piece, piece -> char offsets in
    the sentence) for the pairs (question, prefix + sentence). Shared with the training script so
    that training and answering read the same input."""
    q_ids = tokenizer.encode(question_for_reader(question), add_special_tokens=False).ids[:MAX_QUESTION_PIECES]
    rows = []
    for prefix, sentence in contexts:
        enc = tokenizer.encode(prefix + sentence, add_special_tokens=False)
        room = MAX_PIECES - len(q_ids) - 3
        ids = enc.ids[:room]
        offsets = enc.offsets[:room]
        cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
        full = [cls_id, *q_ids, sep_id, *ids, sep_id]
        segments = [0] * (len(q_ids) + 2) + [1] * (len(ids) + 1)
        first = len(q_ids) + 2
        shift = len(prefix)
        spans = [(a - shift, b - shift) for a, b in offsets]
        rows.append((full, segments, first, spans))
    width = max(len(r[0]) for r in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    seg = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, (full, segments, _, _) in enumerate(rows):
        ids[i, : len(full)] = full
        seg[i, : len(full)] = segments
        mask[i, : len(full)] = 1
    return ids, seg, mask, [(r[2], r[3]) for r in rows]


def best_span(start: np.ndarray, end: np.ndarray, first: int, spans: list[tuple[int, int]]) -> tuple[int, int, float] | None:
    """(first piece, last piece, score) of the best span inside the sentence (pieces whose
    character offsets fall in the sentence, not in the prefix)."""
    valid = [i for i, (a, b) in enumerate(spans) if a >= 0 and b > a]
    if not valid:
        return None
    lo, hi = first + valid[0], first + valid[-1]
    s = start[lo : hi + 1]
    e = end[lo : hi + 1]
    n = len(s)
    # score[i, j] = s[i] + e[j] for i <= j < i + MAX_ANSWER_PIECES
    grid = s[:, None] + e[None, :]
    band = np.triu(np.ones((n, n), dtype=bool)) & ~np.triu(np.ones((n, n), dtype=bool), MAX_ANSWER_PIECES)
    grid = np.where(band, grid, -np.inf)
    i, j = np.unravel_index(int(np.argmax(grid)), grid.shape)
    return lo + int(i), lo + int(j), float(grid[i, j])


def _word_bounds(sentence: str, a: int, b: int) -> tuple[int, int]:
    """A piece span widened to whole words ("##s" never ends an answer mid-word)."""
    while a > 0 and sentence[a - 1].isalnum():
        a -= 1
    while b < len(sentence) and sentence[b].isalnum():
        b += 1
    return a, b


class Reader:
    """The shipped reader, loaded once (an int8 ONNX file of ~20 MB: ~40 ms to start)."""

    def __init__(self, path: Path | None = None) -> None:
        from qa.represent.dense import _import_onnxruntime
        from qa.represent.encoder import ENCODER

        ort = _import_onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(os.environ.get("KZQA_ORT_THREADS", "0")) or 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # optimised when written
        options.log_severity_level = 3
        self.path = path or reader_path()
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = ENCODER.tokenizer()

    def read(self, question: str, contexts: list[tuple[str, str]]) -> list[Reading]:
        """One Reading per (prefix, sentence)."""
        if not contexts:
            return []
        ids, seg, mask, rows = encode_pairs(self.tokenizer, question, contexts)
        answers, start, end = self.session.run(["answers", "start", "end"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": seg})
        out = []
        for r, ((prefix, sentence), (first, spans)) in enumerate(zip(contexts, rows)):
            null = float(start[r, 0] + end[r, 0])
            found = best_span(start[r], end[r], first, spans)
            if found is None:
                out.append(Reading(float(answers[r]), None, -np.inf, null))
                continue
            i, j, score = found
            a, b = spans[i - first][0], spans[j - first][1]
            out.append(Reading(float(answers[r]), _word_bounds(sentence, a, b), score, null))
        return out


@lru_cache(maxsize=1)
def shipped_reader() -> Reader | None:
    """The reader in qa/data, or None where this install has none (the pipeline then answers
    as kzqa 0.2 did)."""
    path = reader_path()
    return Reader(path) if path.is_file() else None


def reader_info() -> dict:
    path = reader_path().parent / READER_META
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
