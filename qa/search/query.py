"""The question as the pipeline reads it: misspellings corrected against the report's own
vocabulary, and what the question asks for (a count, a date, a name, a reason...).

Spelling: a query word the report never uses (its stem is not in the index), that is not a common
English word, is replaced by the closest report word (optimal string alignment distance 1, or 2
for words of eight letters or more) when that word is much more common in English: "foriegners"
-> "foreigners", "corruptoin" -> "corruption", "Nazarbaev" -> "Nazarbayev". Everyday words the
report happens not to use ("cops", "sacked", "jailed") are left alone: bridging them to the
report's terms is the job of the dense signals, not the speller's. A word the embedding model's
own vocabulary holds whole is an English word and is kept without looking further; for the rest
the English prior is wordfreq's, loaded only when a question has such a word.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from ..document import drop_format_chars
from ..represent.lexical import tokenize

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

    texts: Callable[[], Iterable[str]]  # the indexed text, read when a word needs correcting
    known_stem: Callable[[str], bool]  # is this word's stem in the lexical index?
    english_word: Callable[[str], bool] = lambda word: False  # cheap first test: a known English word
    _vocabulary: Counter | None = field(default=None, repr=False)
    _choices: list[str] = field(default_factory=list, repr=False)

    @classmethod
    def from_texts(cls, texts: Iterable[str] | Callable[[], Iterable[str]], known_stem: Callable[[str], bool],
                   english_word: Callable[[str], bool] | None = None) -> Speller:
        source = texts if callable(texts) else (lambda t=list(texts): t)
        return cls(source, known_stem, english_word or (lambda word: False))

    @property
    def vocabulary(self) -> Counter:
        """Lower-case surface word -> count in the report (made on first need: most questions
        have no word the index does not know, and never need it)."""
        if self._vocabulary is None:
            vocab: Counter = Counter()
            for t in self.texts():
                vocab.update(w.lower() for w in WORD_RE.findall(drop_format_chars(t).replace("’", "'")) if len(w) >= MIN_WORD - 1)
            self._vocabulary = vocab
        return self._vocabulary

    def suggest(self, word: str) -> str | None:
        """The report word to search for instead of `word`, or None to keep it."""
        w = word.lower().replace("’", "'")
        if len(w) < MIN_WORD or not w.isalpha() or self.known_stem(w) or self.english_word(w) or w in self.vocabulary:
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


# ---------------------------------------------------------------- what the question asks for

WH_WORD = re.compile(r"\b(how|what|which|who|whom|whose|when|where|why|whether|does|do|did|is|are|was|were|can|could|has|have|had|will|should)\b", re.I)
NUMERIC_CUES = re.compile(
    r"\bhow (many|much|long|old|often|large|big|high|low|far|common)\b|\bwhat (percentage|percent|proportion|share|number|amount|fraction|portion)\b"
    r"|\b(number|numbers|count|counts|total|toll|percentage|percent|proportion|share|rate|age|length|duration|range|"
    r"maximum|minimum|max|min|amount|fine|fines|cost|wage|wages|salary|figures?|statistics|how many)\b",
    re.I,
)
PERCENT_CUES = re.compile(r"\b(percentage|percent|proportion|share|fraction|portion|rate)\b", re.I)
DURATION_CUES = re.compile(r"\b(how long|length|duration|period|sentence|sentenced|term|prison time|how far in advance|days|months|years)\b", re.I)
MONEY_CUES = re.compile(r"\b(how much|cost|fine|fines|wage|wages|salary|paid|pay|price|tenge|dollars|budget|amount)\b", re.I)
TIME_UNITS = re.compile(r"\b(hours?|days?|weeks?|months?|years?)\b", re.I)
MONEY_UNITS = re.compile(r"\$|\b(tenge|dollars?)\b", re.I)
PERCENT_UNITS = re.compile(r"\b(percent|per cent)\b|%", re.I)


def question_type(question: str) -> str:
    """The kind of answer the question asks for: numeric, when, who, where, why or what."""
    q = " " + question.lower().replace("’", "'") + " "
    if re.search(r"\bwhen\b|\b(what|which|in what) (year|years|date|dates|day|month|time)\b|\bsince when\b", q):
        return "when"
    if NUMERIC_CUES.search(q) and not re.search(r"\bwho\b|\bwhy\b", q):
        return "numeric"
    if re.search(r"\bwho\b|\bwhom\b|\bwhose\b|\b(which|what) (organi[sz]ations?|groups?|agenc(y|ies)|ministr(y|ies)|bod(y|ies)|part(y|ies)|ngos?|officials?|court|courts|person|people|company|companies|institution|authority|authorities|newspapers?|outlets?|unions?|leaders?|activists?|journalists?|judges?|general|conscript|head|defendants?|chair|official|opposition|channels?)\b|\bname of the\b", q):
        return "who"
    if re.search(r"\bwhere\b|\b(which|what) (city|cities|town|region|oblast|country|countries|village|place|prison|facility|province)\b", q):
        return "where"
    if re.search(r"\bwhy\b|\bfor what reason\b|\bwhat (was|is|were) the (reason|cause|purpose|explanation)\b|\breason\b|\bexplanation\b|\bcaused?\b", q):
        return "why"
    return "what"


@dataclass(frozen=True)
class QuestionProfile:
    """What the question asks for, read once and used to extract and score spans."""

    type: str
    tokens: frozenset
    keyword_query: bool  # no question word: "prisoner amnesty numbers"
    wants_percent: bool
    wants_duration: bool
    wants_money: bool
    wants_year: bool
    wants_person: bool = False
    counted: frozenset = frozenset()  # the stems of what a count question counts ("how many prisoners")
    places: tuple[str, ...] = ()  # countries the question names ("in Uzbekistan"), lower case


COUNTED_RE = re.compile(
    r"\bhow (?:many|much) ((?:[a-z’'-]+ ){0,2}?[a-z’'-]+?)(?= (?:are|were|was|is|did|do|does|have|has|had|in|on|of|at|for|from|"
    r"live|get|got|went|could|can|will|would|were|according|during|since|by|reported?)\b|[?.!,]|$)"
    r"|\b(?:number|numbers|count|total|tally|toll) of ((?:[a-z’'-]+ ){0,2}?[a-z’'-]+?)(?= (?:are|were|was|is|in|on|at|for|from|during|by)\b|[?.!,]|$)"
    r"|\b([a-z’'-]+) (?:count|counts|toll|tally|total|numbers)\b",
)
GENERIC_COUNTED = frozenset(("people", "person", "persons", "times", "cases", "of", "the"))


def counted_of(question: str) -> frozenset:
    """The stems of what a count question counts: "how many prisoners were released" ->
    {prison}; "death toll" -> {death}; empty for other questions."""
    m = COUNTED_RE.search(question.lower())
    if not m:
        return frozenset()
    words = next(g for g in m.groups() if g)
    return frozenset(tokenize(" ".join(w for w in words.split() if w not in GENERIC_COUNTED)))


def places_of(question: str) -> tuple[str, ...]:
    """The countries a question names, lower case, in order."""
    from ..ingest.names import COUNTRIES

    return tuple(dict.fromkeys(w for w in re.findall(r"[a-z]+", question.lower()) if w in COUNTRIES))


def profile_question(question: str) -> QuestionProfile:
    qtype = question_type(question)
    return QuestionProfile(
        type=qtype,
        tokens=frozenset(tokenize(question)),
        keyword_query=not WH_WORD.search(question) and "?" not in question,
        wants_percent=bool(PERCENT_CUES.search(question)),
        wants_duration=bool(DURATION_CUES.search(question)),
        wants_money=bool(MONEY_CUES.search(question)),
        wants_year=qtype == "when" or bool(re.search(r"\b(what|which) years?\b", question, re.I)),
        wants_person=bool(re.search(r"\b(who|whom|whose)\b|\bwhich (person|official|activist|journalist|judge|leader|general|conscript|head)\b", question, re.I)),
        counted=counted_of(question) if qtype == "numeric" else frozenset(),
        places=places_of(question),
    )


# ---------------------------------------------------------------- the query as the pipeline reads it

YEAR_RE = re.compile(r"\b(?:19|20)\d\d\b")


@dataclass(frozen=True)
class Query:
    """A question as every later stage reads it."""

    text: str  # as asked (validated)
    search: str  # what retrieval reads: misspellings corrected
    corrections: tuple[tuple[str, str], ...]  # (typed, searched for)
    profile: QuestionProfile  # what it asks for
    years: frozenset[str]  # years the question names ("in 2014")

    @property
    def corrected(self) -> str | None:
        """The question as searched for, when it differs from what was typed."""
        return self.search if self.corrections else None


def understand(text: str, speller: Speller | None = None) -> Query:
    search, corrections = speller.correct(text) if speller is not None else (text, [])
    return Query(
        text=text,
        search=search,
        corrections=tuple(corrections),
        profile=profile_question(search),
        years=frozenset(YEAR_RE.findall(search)),
    )
