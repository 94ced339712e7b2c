"""Stage 4a: the question as retrieval sees it: misspellings corrected against the report's own
vocabulary, and the question sentence told apart from a preamble ("Asylum lawyer here: ...").

Spelling: a query word the report never uses (its stem is not in the index), that is not a common
English word, is replaced by the closest report word (optimal string alignment distance 1, or 2
for words of eight letters or more) when that word is much more common in English: "foriegners"
-> "foreigners", "corruptoin" -> "corruption", "Nazarbaev" -> "Nazarbayev". Everyday words the
report happens not to use ("cops", "sacked", "jailed") are left alone: bridging them to the
report's terms is the expansion's job, not the speller's. The English prior is wordfreq's; it is
loaded only when a question has a word the report does not know.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

WORD_RE = re.compile(r"[A-Za-z][A-Za-z’'-]*[A-Za-z]|[A-Za-z]")
MIN_WORD = 4  # shorter words are too ambiguous to correct
COMMON_ZIPF = 3.0  # wordfreq's Zipf scale: >= 3 is an everyday English word (once per 1M words)
GAIN_ZIPF = 1.0  # a correction must be at least 10x more common in English than what was typed


@lru_cache(maxsize=4096)
def english_zipf(word: str) -> float:
    """How common a word is in English (wordfreq's Zipf scale, 0 = unknown)."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en", wordlist="small")


def max_distance(word: str) -> int:
    return 1 if len(word) < 8 else 2


@dataclass
class Speller:
    """Corrects query words against the words of the indexed text."""

    vocabulary: Counter  # lower-case surface word -> count in the report
    known_stem: Callable[[str], bool]  # is this word's stem in the lexical index?
    _choices: list[str] = field(default_factory=list, repr=False)

    @classmethod
    def from_texts(cls, texts: Iterable[str], known_stem: Callable[[str], bool]) -> Speller:
        vocab: Counter = Counter()
        for t in texts:
            vocab.update(w.lower() for w in WORD_RE.findall(t.replace("’", "'")) if len(w) >= MIN_WORD - 1)
        return cls(vocab, known_stem)

    def suggest(self, word: str) -> str | None:
        """The report word to search for instead of `word`, or None to keep it."""
        w = word.lower().replace("’", "'")
        if len(w) < MIN_WORD or not w.isalpha() or w in self.vocabulary or self.known_stem(w):
            return None
        typed = english_zipf(w)
        if typed >= COMMON_ZIPF:
            return None
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        if not self._choices:
            self._choices = sorted(self.vocabulary)
        limit = max_distance(w)
        found = process.extract(w, self._choices, scorer=OSA.distance, score_cutoff=limit, limit=20)
        if not found:
            return None
        # closest first; among equals, the word the report uses most, then the commoner in English
        found.sort(key=lambda m: (m[1], -self.vocabulary[m[0]], -english_zipf(m[0])))
        best = found[0][0]
        if typed > 0 and english_zipf(best) < typed + GAIN_ZIPF:
            return None
        return best

    def correct(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """(text with corrections applied, [(typed, corrected), ...])."""
        corrections: list[tuple[str, str]] = []
        out = []
        last = 0
        for m in WORD_RE.finditer(text):
            word = m.group(0)
            fix = self.suggest(word)
            if fix is None:
                continue
            if word[0].isupper():
                fix = fix[0].upper() + fix[1:]
            corrections.append((word, fix))
            out.append(text[last : m.start()])
            out.append(fix)
            last = m.end()
        if not corrections:
            return text, []
        out.append(text[last:])
        return "".join(out), corrections


QUESTION_START = re.compile(
    r"^(how|what|which|who|whom|whose|when|where|why|whether|does|do|did|is|are|was|were|can|could|has|have|had|will|would|should|tell|list|name|give|explain|describe)\b",
    re.I,
)


def question_part(text: str) -> str:
    """The sentence that asks, without a preamble that only sets the scene: "I'm a reporter
    covering Central Asia. How many ...?" -> "How many ...?". The last sentence with a question
    mark, or the last one opening with a question word; else the whole text."""
    parts = [p.strip() for p in re.split(r"(?<=[.?!:;])\s+", text.strip()) if p.strip()]
    if len(parts) < 2:
        return text.strip()
    for p in reversed(parts):
        if p.endswith("?"):
            return p
    for p in reversed(parts):
        if QUESTION_START.match(p):
            return p
    return text.strip()
