"""The sentence encoder's interface: everything the rest of kzqa needs to know about the network
that turns text into vectors, so that a second encoder (another model, a trained one) is one new
file beside qa/represent/minilm.py and one line here.

The encoders that run the network (sentence-transformers to build, ONNX to answer) and the faiss
index are qa/represent/dense.py's; late interaction (qa/represent/late.py) reads word pieces
through `is_special` and `word_of`; the index records `fingerprint()` and is stale when it changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from .minilm import MiniLM


class Encoder(Protocol):
    name: str  # the model's name, as the index manifest records it
    dim: int  # length of a sentence vector and of a token vector
    max_tokens: int  # word pieces the network reads, special tokens included (longer text is cut)
    token_type_ids: bool  # whether the network takes BERT's segment ids as a third input

    def model_dir(self) -> Path:
        """The folder of the weights and tokenizer.json, installed with kzqa (nothing is fetched)."""

    def tokenizer(self):
        """The model's own `tokenizers.Tokenizer`, truncating at `max_tokens`, not padding."""

    def count_tokens(self, text: str) -> int:
        """Word pieces the network would see for `text`, special tokens included, before truncation."""

    def is_whole_word(self, word: str) -> bool:
        """Whether the vocabulary holds `word` as one piece (the spelling corrector trusts those)."""

    def is_special(self, piece: str) -> bool:
        """Whether a piece is a special token ([CLS], [SEP], ...), not text."""

    def word_of(self, piece: str) -> tuple[str, bool]:
        """(the piece's text, whether it continues the word before it)."""

    def fingerprint(self) -> dict:
        """What identifies the network and its export: an index built with another is stale."""


ENCODER: Encoder = MiniLM()  # the one in use
