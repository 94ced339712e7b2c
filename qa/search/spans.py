"""Short answers. Two ways to find the span of a sentence that answers:

- typed extractors (quantities with their unit, dates, names, reasons), which also give the other
  figures of a counting question (the `alternatives`);
- a learned span ranker: every phrase of up to 12 words that neither starts nor ends with a
  function word is a candidate, described by generic features (its length, whether it repeats the
  question, how near it sits to the question's words and on which side, whether it holds a number,
  a date, a name, a list, a reason, the unit the question wants, the words around it), and scored
  by a linear model fitted on the eval sets' gold spans (`qa/search/scorers.py`). Nothing here knows any
  question.

Why one file of ~500 lines: the typed extractors and the span ranker's features read the same
phrases of the same sentence.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..represent.lexical import STOP_WORDS, tokenize
from .query import MONEY_UNITS, PERCENT_UNITS, TIME_UNITS, QuestionProfile, profile_question

MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    "seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|dozens?|half"
)
NUMBER = rf"(?:\$?\d[\d,]*(?:\.\d+)?|(?:{NUMBER_WORDS})(?:[- ](?:{NUMBER_WORDS}))*)"
QUANTITY_RE = re.compile(
    rf"(?<![\w$])(?:(?:approximately|about|nearly|almost|over|more than|fewer than|less than|at least|up to|some|only|between)\s+)?"
    rf"{NUMBER}(?:\s*(?:-|to|and)\s*{NUMBER})?"
    rf"(?:\s*(?:percent|per cent|%))?"
    rf"(?:(?:\s+|-)(?!(?:{MONTHS})\b)[a-z][a-z’'-]*){{0,3}}",
    re.IGNORECASE,
)
DATE_RE = re.compile(
    rf"(?:(?:early|mid|late)[- ])?(?:(?:{MONTHS})(?:\s+\d{{1,2}}(?:\s*(?:and|-|–|to)\s*\d{{1,2}})?)?(?:,?\s+\d{{4}})?)"
    rf"|\b(?:19|20)\d{{2}}(?:-\d{{2,4}})?\b"
)
NAME_RE = re.compile(
    r"(?:[A-Z][\w’'.-]*[A-Za-z]|[A-Z]{2,})(?:\s+(?:(?:of|for|and|the|on|in|against|de|ul|al)\s+)*(?:[A-Z][\w’'.-]*[A-Za-z]|[A-Z]{2,}))*"
)
REASON_RE = re.compile(
    r"\b(?:because(?: of)?|due to|owing to|as a result of|in order to|in response to|for (?=[a-z]+ing\b)|to protest|in protest|after|since|on charges of|for allegedly|for)\b[^.;:]*",
)
UNIT_STOP = frozenset("of in on at for to from by with and or the a an was were is are had has have that which who".split())
SENTENCE_STARTERS = frozenset(
    "the a an in on at during according after although however as by for from this these those there it its "
    "while when since under other some many most all several both each".split()
)



ORG_WORDS = re.compile(
    r"\b(Ministry|Office|Commission|Committee|Party|Court|Agency|Council|Union|Association|Bureau|Service|Police|"
    r"Department|Coalition|Network|Foundation|Center|Centre|International|Organization|Government|Parliament|Senate|"
    r"Mazhilis|Republic|Oblast|Prison|Code|Law|Constitution|Watch|Fund|Institute|University|Bank|Group|League|Front)\b"
)


def looks_like_person(text: str) -> bool:
    words = text.split()
    return 2 <= len(words) <= 4 and not ORG_WORDS.search(text) and all(w[0].isupper() for w in words)



@dataclass
class Span:
    text: str
    start: int
    kind: str

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def _content_words(text: str) -> set[str]:
    return set(tokenize(text))


@lru_cache(maxsize=16384)
def _quantity_candidates(sentence: str) -> tuple[tuple[str, int, str, frozenset], ...]:
    """(text, start, numeric core, its content words) of every quantity in a sentence, before the
    question is looked at: found once per sentence, however many questions meet it."""
    out = []
    for m in QUANTITY_RE.finditer(sentence):
        text = _trim_quantity(m.group(0))
        if not text or not re.search(rf"\d|\b(?:{NUMBER_WORDS})\b", text, re.I):
            continue
        first = text.split()[0]
        core = re.sub(r"[^\d.]", "", first) if re.match(r"[$\d]", first) else ""
        if core and re.fullmatch(r"(19|20)\d\d", core) and not PERCENT_UNITS.search(text):
            continue  # a year is a date, not a count
        before = sentence[max(0, m.start() - 12) : m.start()].split()
        if before and re.fullmatch(rf"(?:{MONTHS})", before[-1]):
            continue  # the day of a date
        if text.lower() in ("one", "half", "one of"):
            continue
        start = sentence.find(text, m.start())
        out.append((text, start if start >= 0 else m.start(), core.replace(",", ""), frozenset(_content_words(text))))
    return tuple(out)


def _quantities(sentence: str, profile: QuestionProfile) -> list[Span]:
    q_numbers = {t for t in profile.tokens if t[0].isdigit()}
    return [
        Span(text, start, "quantity")
        for text, start, core, own in _quantity_candidates(sentence)
        if not (core and core in q_numbers)
        and not (own and own <= profile.tokens)  # "nine months" when the question says "in the first nine months"
    ]


@lru_cache(maxsize=16384)
def _date_candidates(sentence: str) -> tuple[tuple[str, int, frozenset], ...]:
    return tuple(
        (m.group(0).strip(), m.start(), frozenset(_content_words(m.group(0))))
        for m in DATE_RE.finditer(sentence)
        if m.group(0).strip()
    )


def _dates(sentence: str, profile: QuestionProfile) -> list[Span]:
    return [Span(text, start, "date") for text, start, own in _date_candidates(sentence) if not own <= profile.tokens]


@lru_cache(maxsize=16384)
def _name_candidates(sentence: str) -> tuple[tuple[str, int, frozenset], ...]:
    out = []
    for m in NAME_RE.finditer(sentence):
        text, start = m.group(0), m.start()
        words = text.split()
        while words and (words[0].lower() in SENTENCE_STARTERS or words[0].lower() in STOP_WORDS) and start == m.start() and m.start() == 0:
            start += len(words[0]) + 1
            words = words[1:]
        text = " ".join(words).strip(" .,")
        if not text or not text[0].isupper() or re.fullmatch(rf"(?:{MONTHS})", text) or text.lower() in STOP_WORDS:
            continue
        if start == 0 and (len(words) == 1 and not words[0].isupper() or sentence[len(text) : len(text) + 1] == ":"):
            continue  # "Courts ..." opening a sentence, or a run-in heading "Foreign Travel:"
        out.append((text, start, frozenset(_content_words(text))))
    return tuple(out)


def _names(sentence: str, profile: QuestionProfile) -> list[Span]:
    return [Span(text, start, "name") for text, start, own in _name_candidates(sentence) if not (own and own <= profile.tokens)]


@lru_cache(maxsize=16384)
def _reason_candidates(sentence: str) -> tuple[tuple[str, int], ...]:
    return tuple(
        (m.group(0).strip(" ,"), m.start()) for m in REASON_RE.finditer(sentence) if len(m.group(0).split()) >= 3
    )


def _reasons(sentence: str, profile: QuestionProfile) -> list[Span]:
    return [Span(text, start, "reason") for text, start in _reason_candidates(sentence)]


EXTRACTORS = {"quantity": _quantities, "date": _dates, "name": _names, "reason": _reasons}
KINDS_BY_TYPE = {
    "numeric": ("quantity",),
    "when": ("date",),
    "who": ("name",),
    "where": ("name",),
    "why": ("reason",),
    "open": ("quantity", "date"),  # a keyword query: names near its words are too often wrong
}


def spans_of(sentence: str, qtype: str, profile: QuestionProfile) -> list[Span]:
    """Typed candidate answers in `sentence`, excluding what the question itself says."""
    return [span for kind in KINDS_BY_TYPE.get(qtype, ()) for span in EXTRACTORS[kind](sentence, profile)]


def extract_spans(sentence: str, qtype: str, question: str) -> list[Span]:
    return spans_of(sentence, qtype, profile_question(question))


def _trim_quantity(text: str) -> str:
    """Keep the number and its unit or noun: '8,390 prisoners', '95 percent', not 'two of the';
    a range stays whole: 'between 60,000 and 100,000', '10 to 15 years'."""
    words = text.split()
    out: list[str] = []
    seen_number = False
    after = 0
    for k, w in enumerate(words):
        bare = w.strip(",.;:()").lower()
        nxt = words[k + 1].strip(",.;:()").lower() if k + 1 < len(words) else ""
        joins_range = bare in ("and", "to") and after == 0 and bool(re.match(rf"\$?\d|(?:{NUMBER_WORDS})\b", nxt))
        if seen_number and not joins_range and (bare in UNIT_STOP or re.search(r"(ing|ed)$", bare) and not PERCENT_UNITS.search(bare)):
            break
        if seen_number and not re.search(rf"\d|^(?:{NUMBER_WORDS})", bare):
            after += 1
            if after > 2 and not PERCENT_UNITS.search(bare):
                break
        out.append(w.strip(",.;:()"))
        if re.search(rf"\d|^(?:{NUMBER_WORDS})", bare):
            seen_number = True
        if w.endswith((",", ";", ":", ")")):
            break
    while out and out[-1].lower() in UNIT_STOP:
        out.pop()
    return " ".join(out)


WORD_RE = re.compile(r"[\w’'$%.,-]+")


@dataclass(frozen=True)
class SentenceWords:
    """A sentence's words with their offsets and tokens, computed once and shared by every span."""

    spans: tuple[tuple[int, int], ...]
    tokens: tuple[frozenset, ...]

    @classmethod
    @lru_cache(maxsize=4096)
    def of(cls, sentence: str) -> SentenceWords:
        found = [(m.start(), m.end(), m.group(0)) for m in WORD_RE.finditer(sentence)]
        return cls(tuple((a, b) for a, b, _ in found), tuple(frozenset(tokenize(w)) for _, _, w in found))


def _locality(sentence: str, span: Span, profile: QuestionProfile, window: int = 10, words: SentenceWords | None = None) -> float:
    """Question words close to the span, nearer counting more (0..1). Linear in the window: the
    sentence's words are found once (pass `words` to share them across spans)."""
    if not profile.tokens:
        return 0.0
    words = words or SentenceWords.of(sentence)
    starts = [a for a, _ in words.spans]
    lo = bisect.bisect_right(starts, span.start) - 1
    lo = max(lo, 0)
    while lo < len(words.spans) and words.spans[lo][1] <= span.start:
        lo += 1
    hi = bisect.bisect_left(starts, span.end) - 1
    if lo >= len(words.spans) or hi < lo:
        return 0.0
    best: dict[str, float] = {}
    for i in list(range(max(0, lo - window), lo)) + list(range(hi + 1, min(len(words.spans), hi + 1 + window))):
        d = lo - i if i < lo else i - hi
        for t in words.tokens[i] & profile.tokens:
            best[t] = max(best.get(t, 0.0), 1.0 / (1.0 + 0.3 * (d - 1)))
    return sum(best.values()) / len(profile.tokens)


def score_span(sentence: str, span: Span, profile: QuestionProfile, locality: float | None = None, words: SentenceWords | None = None) -> float:
    """How well a span answers: its neighbourhood, its own words, and the unit the question wants."""
    score = 0.4 * (_locality(sentence, span, profile, words=words) if locality is None else locality)
    own = _content_words(span.text)
    if span.kind == "quantity":
        if own & profile.tokens:
            score += 0.2  # "how many parolees" -> "13,511 parolees"
        has_percent = bool(PERCENT_UNITS.search(span.text))
        if profile.wants_percent:
            score += 0.2 if has_percent else -0.2
        if profile.wants_duration and TIME_UNITS.search(span.text):
            score += 0.15
        if profile.wants_money and MONEY_UNITS.search(span.text):
            score += 0.15
    elif span.kind == "name":
        if own & profile.tokens:
            score += 0.1  # "which ministry" -> "Ministry of Internal Affairs"
        if len(span.text.split()) >= 2:
            score += 0.05
        if profile.wants_person and looks_like_person(span.text):
            score += 0.1
    elif span.kind == "date" and profile.wants_year and re.search(r"\b(19|20)\d\d\b", span.text):
        score += 0.05
    return score



@dataclass
class ScoredSentence:
    text: str
    page: int | None
    chunk_index: int
    score: float
    sid: int = -1


@dataclass
class Candidate:
    text: str
    sentence: str
    page: int
    passage_id: str
    score: float


# An open question ("prisoner amnesty numbers", "what ...") gets a short answer only when a span
# sits this close to the question's words.
OPEN_MIN_LOCALITY = 0.3


def choose_answers(
    profile: QuestionProfile, sentences: list[ScoredSentence], passage_ids: list[str], top_sentences: int = 5
) -> list[Candidate]:
    """Candidate short answers from the best sentences, best first, one per distinct value."""
    extraction_type = "open" if profile.type == "what" and profile.keyword_query else profile.type
    candidates: list[Candidate] = []
    seen: set[str] = set()
    for rank, s in enumerate(sentences[:top_sentences]):
        words = SentenceWords.of(s.text)
        for sp in spans_of(s.text, extraction_type, profile):
            locality = _locality(s.text, sp, profile, words=words)
            local = score_span(s.text, sp, profile, locality, words=words)
            if extraction_type == "open":
                own_overlap = 0.2 if _content_words(sp.text) & profile.tokens else 0.0
                if locality + own_overlap < OPEN_MIN_LOCALITY:
                    continue
            key = re.sub(r"\W+", " ", sp.text.lower()).strip()
            if key in seen:
                continue
            seen.add(key)
            candidates.append(Candidate(sp.text, s.text, s.page, passage_ids[s.chunk_index], float(s.score + local - 0.02 * rank)))
    candidates.sort(key=lambda c: -c.score)
    return candidates


# ---------------------------------------------------------------- the learned span ranker

SPAN_MAX_WORDS = 12
SPAN_TOKEN_RE = re.compile(r"[\w$%][\w$%’'.,/-]*[\w$%]|[\w$%]|[;:()“”\"—–]")
HARD_BREAKS = frozenset(";:()—–")
QUOTES = frozenset("“”\"")
ARTICLES = frozenset(("the", "a", "an"))
BEFORE_WORDS = ("of", "by", "to", "from", "with", "was", "were", "is", "are", "that", "for", "in", "on", "at",
                "as", "and", "than", "about", "had", "has", "received", "included")
AFTER_WORDS = BEFORE_WORDS[:12]
SPAN_TYPES = ("numeric", "when", "who", "what", "why", "where", "open")
REASON_START = re.compile(r"(because|due|for|to|after|in order|as a result|since|in response|in protest|owing)\b")
NUMBERISH = re.compile(rf"\d|\b(?:{NUMBER_WORDS})\b", re.I)
DATEISH = re.compile(rf"\b(?:{MONTHS})\b|\b(?:19|20)\d\d\b")
TIME_WORDS = re.compile(r"\b(hours?|days?|weeks?|months?|years?)\b", re.I)
MONEY_WORDS = re.compile(r"\$|\btenge\b|\bdollars?\b", re.I)
NAME_JOINERS = frozenset(("of", "and", "the", "for", "on", "in"))


# what the parse says of a phrase (qa/represent/typed.py): is it a whole constituent, a noun phrase,
# a predicate, an entity and of which kind, and what is its head's role; and each of those for the
# kind of question asked (a "who" question wants a person or a body, as a subject or after "by")
ENTITY_GROUPS = {"person": "person", "org": "org", "group": "org", "law": "org", "place": "place", "date": "date",
                 "count": "number", "amount": "number", "percent": "number", "other": "other"}
ENTITY_KINDS = ("person", "org", "place", "date", "number", "other")
ROLES = ("nsubj", "nsubjpass", "dobj", "pobj", "attr", "appos", "conj", "advcl", "ROOT", "xcomp", "ccomp", "prep",
         "amod", "compound", "relcl", "acl", "npadvmod")
TYPE_ROLES = ("nsubj", "nsubjpass", "dobj", "pobj", "attr", "appos", "advcl")


def parse_feature_names() -> list[str]:
    names = ["is_phrase", "is_predicate", "is_np", "is_entity", "is_reason", "entities_inside"]
    names += [f"ent={k}" for k in ENTITY_KINDS] + [f"has_ent={k}" for k in ENTITY_KINDS] + [f"role={r}" for r in ROLES]
    for t in SPAN_TYPES:
        names += [f"{t}*ent={k}" for k in ENTITY_KINDS] + [f"{t}*has_ent={k}" for k in ENTITY_KINDS]
        names += [f"{t}*role={r}" for r in TYPE_ROLES] + [f"{t}*phrase", f"{t}*predicate", f"{t}*np", f"{t}*reason"]
    return names


def parse_features(profile: QuestionProfile, spans: list[tuple[int, int]], typed) -> np.ndarray:
    """One row of parse_feature_names() per (start, end) character span, from the sentence's
    typed spans (all 0 where the index holds none)."""
    kind = _extraction_type(profile)
    exact: dict[tuple[int, int], dict[str, str]] = {}
    entities = []
    for a, b, k, role, *_ in typed or ():
        exact.setdefault((a, b), {}).setdefault(k, role)
        if k in ENTITY_GROUPS:
            entities.append((a, b, ENTITY_GROUPS[k]))
    rows = []
    for a, b in spans:
        here = exact.get((a, b), {})
        ent = next((ENTITY_GROUPS[k] for k in here if k in ENTITY_GROUPS), None)
        inside = {g for x, y, g in entities if x >= a and y <= b}
        role = next(iter(here.values()), None)
        phrase, predicate, np_, reason = ("phrase" in here), ("predicate" in here), ("np" in here), ("reason" in here)
        row = [phrase, predicate, np_, ent is not None, reason, sum(1 for x, y, _ in entities if x >= a and y <= b)]
        row += [ent == k for k in ENTITY_KINDS] + [k in inside for k in ENTITY_KINDS] + [role == r for r in ROLES]
        for t in SPAN_TYPES:
            on = kind == t
            row += [on and ent == k for k in ENTITY_KINDS] + [on and k in inside for k in ENTITY_KINDS]
            row += [on and role == r for r in TYPE_ROLES] + [on and phrase, on and predicate, on and np_, on and reason]
        rows.append(row)
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(parse_feature_names()))


def span_feature_names() -> list[str]:
    names = ["n", "log_n", "n_is_1", "n_le_3", "n_ge_6", "repeats_question", "any_question_word", "nearness",
             "question_word_before", "question_word_after", "nearer_after_question", "starts_with_number", "has_number",
             "percent", "date", "capitalised", "list", "reason", "ends_clause", "starts_clause", "position",
             "ends_sentence", "wanted_percent", "wanted_duration", "wanted_money", "starts_with_article", "typed_span",
             "first_word_asked", "last_word_asked", "typed_score"]
    names += [f"before={w}" for w in BEFORE_WORDS] + ["before=<s>"]
    names += [f"after={w}" for w in AFTER_WORDS] + ["after=</s>"]
    for t in SPAN_TYPES:
        names += [f"{t}*{f}" for f in ("number", "date", "capitalised", "reason", "list", "n", "repeats", "has_number", "typed")]
    return names + parse_feature_names()


@dataclass(frozen=True)
class SpanWord:
    start: int
    end: int  # without trailing , or .
    text: str
    tail: str  # the , or . that followed it


@lru_cache(maxsize=4096)
def span_words(sentence: str) -> list[SpanWord]:
    out = []
    for m in SPAN_TOKEN_RE.finditer(sentence):
        w = m.group(0)
        core = w.rstrip(",.")
        out.append(SpanWord(m.start(), m.start() + len(core), core, w[len(core):]))
    return out


@lru_cache(maxsize=4096)
def span_candidates(sentence: str, max_words: int = SPAN_MAX_WORDS) -> list[tuple[int, int]]:
    """(first word, last word) of every candidate phrase: at most `max_words` words, inside one
    clause (no ; : ( ) or dash inside), not starting with a function word (an article is allowed)
    and not ending with one."""
    ws = span_words(sentence)
    out = []
    for i, wi in enumerate(ws):
        low = wi.text.lower()
        if wi.text in HARD_BREAKS or wi.text in QUOTES or (low in STOP_WORDS and low not in ARTICLES and not low[0].isdigit()):
            continue
        for j in range(i, min(len(ws), i + max_words)):
            wj = ws[j]
            if wj.text in HARD_BREAKS:
                break
            if j > i and ws[j - 1].tail.startswith("."):
                break
            if wj.text in QUOTES or (wj.text.lower() in STOP_WORDS and not wj.text[0].isdigit()):
                continue
            out.append((i, j))
    return out


def span_features(sentence: str, profile: QuestionProfile, candidates: list[tuple[int, int]], words: list[SpanWord] | None = None,
                  parsed_spans=None) -> np.ndarray:
    """One row of span_feature_names() per candidate (`parsed_spans`: the sentence's typed spans
    from its parse, qa/represent/typed.py)."""
    ws = words if words is not None else span_words(sentence)
    qtoks = profile.tokens
    word_tokens = _word_tokens(sentence) if words is None or words is span_words(sentence) else [frozenset(tokenize(w.text)) for w in ws]
    qpos = [k for k, t in enumerate(word_tokens) if t & qtoks]
    kind = _extraction_type(profile)
    typed_spans = spans_of(sentence, kind, profile)
    typed = {(sp.start, sp.end) for sp in typed_spans}
    shared = SentenceWords.of(sentence)
    typed_scores = [(sp.start, sp.end, score_span(sentence, sp, profile, words=shared)) for sp in typed_spans]
    rows = []
    n_words = max(1, len(ws))
    for i, j in candidates:
        text = sentence[ws[i].start : ws[j].end]
        low = text.lower()
        n = j - i + 1
        own = frozenset().union(*word_tokens[i : j + 1])
        repeats = len(own & qtoks) / len(own) if own else 0.0
        left = min((i - k for k in qpos if k < i), default=99)
        right = min((k - j for k in qpos if k > j), default=99)
        starts_number = bool(re.match(rf"\$?\d|(?:{NUMBER_WORDS})\b", low))
        has_number = bool(NUMBERISH.search(low))
        percent = "percent" in low or "%" in low
        date = bool(DATEISH.search(text))
        capitalised = all(w.text[:1].isupper() for w in ws[i : j + 1] if w.text.lower() not in NAME_JOINERS)
        is_list = " and " in low or "," in text
        reason = bool(REASON_START.match(low))
        ends_clause = j + 1 == len(ws) or bool(ws[j].tail) or ws[j + 1].text in HARD_BREAKS
        starts_clause = i == 0 or bool(ws[i - 1].tail) or ws[i - 1].text in HARD_BREAKS
        is_typed = (ws[i].start, ws[j].end) in typed or any(a >= ws[i].start and b <= ws[j].end for a, b in typed)
        before = ws[i - 1].text.lower() if i > 0 else "<s>"
        after = ws[j + 1].text.lower() if j + 1 < len(ws) else "</s>"
        row = [
            n, math.log(n), n == 1, n <= 3, n >= 6, repeats, repeats > 0, math.exp(-min(left, right) / 3),
            left == 1, right == 1, left < right, starts_number, has_number, percent, date, capitalised, is_list, reason,
            ends_clause, starts_clause, i / n_words, j + 1 == len(ws), profile.wants_percent and percent,
            profile.wants_duration and bool(TIME_WORDS.search(low)), profile.wants_money and bool(MONEY_WORDS.search(low)),
            low.startswith(("the ", "a ", "an ")), is_typed,
            bool(word_tokens[i] & qtoks), bool(word_tokens[j] & qtoks),
            max((sc for a, b, sc in typed_scores if a >= ws[i].start and b <= ws[j].end), default=0.0),
        ]
        row += [before == w for w in BEFORE_WORDS] + [before == "<s>"]
        row += [after == w for w in AFTER_WORDS] + [after == "</s>"]
        for t in SPAN_TYPES:
            on = kind == t
            row += [on and starts_number, on and date, on and capitalised, on and reason, on and is_list, on * n,
                    on * repeats, on and has_number, on and is_typed]
        rows.append(row)
    lexical = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(span_feature_names()) - len(parse_feature_names()))
    parsed = parse_features(profile, [(ws[i].start, ws[j].end) for i, j in candidates], parsed_spans)
    return np.hstack([lexical, parsed])


@lru_cache(maxsize=4096)
def _word_tokens(sentence: str) -> list[frozenset]:
    return [frozenset(tokenize(w.text)) for w in span_words(sentence)]


def _opening_with(ws: list[SpanWord], start: int, end: int, extra: int = 3) -> list[tuple[int, int]]:
    """Candidates that open with the typed span [start, end) and run on by at most `extra` words
    (never across a hard break, never ending on a function word)."""
    first = next((i for i, w in enumerate(ws) if w.start >= start), None)
    last = next((i for i, w in enumerate(ws) if w.end >= end), None)
    if first is None or last is None or last < first:
        return []
    out = [(first, last)]
    for j in range(last + 1, min(len(ws), last + 1 + extra)):
        if ws[j].text in HARD_BREAKS or ws[j - 1].tail:
            break
        if ws[j].text in QUOTES or ws[j].text.lower() in STOP_WORDS:
            continue
        out.append((first, j))
    return out


def _extraction_type(profile: QuestionProfile) -> str:
    return "open" if profile.type == "what" and profile.keyword_query else profile.type


def answer_candidates(sentence: str, profile: QuestionProfile) -> list[tuple[int, int]]:
    """The phrases that may answer: every candidate phrase; but when the sentence holds spans of
    the kind asked for, only phrases holding one (for a count or a date: opening with one, its
    qualifiers part of it, "between 60,000 and 100,000", "at least 700", then up to three words
    of unit or noun). The ranker is fitted and applied on exactly these."""
    ws = span_words(sentence)
    cands = span_candidates(sentence)
    kind = _extraction_type(profile)
    typed = [(sp.start, sp.end) for sp in spans_of(sentence, kind, profile)]
    if not typed:
        return cands
    if kind in ("numeric", "when", "open"):
        holding = sorted({c for a, b in typed for c in _opening_with(ws, a, b)})
    else:
        holding = [c for c in cands if any(a >= ws[c[0]].start and b <= ws[c[1]].end for a, b in typed)]
    return holding or cands


@lru_cache(maxsize=8)
def _columns(features: tuple[str, ...]) -> list[int]:
    """The columns of span_feature_names() a model was fitted on, in its order."""
    names = span_feature_names()
    return [names.index(f) for f in features]


def ranked_spans(sentence: str, profile: QuestionProfile, model, typed=None) -> list[tuple[str, float]]:
    """The answer_candidates of `sentence`, best first, with the model's score."""
    ws = span_words(sentence)
    cands = answer_candidates(sentence, profile)
    if not cands:
        return []
    X = span_features(sentence, profile, cands, ws, typed)
    scores = model.score(X[:, _columns(model.features)])
    order = np.argsort(-scores, kind="stable")
    return [(sentence[ws[cands[k][0]].start : ws[cands[k][1]].end], float(scores[k])) for k in order]
