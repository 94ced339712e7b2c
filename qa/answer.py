"""Stage 5: from ranked passages to an answer: the answering sentence, the short answer, several
answers where the report gives several, and abstention when nothing answers.

No extractive-QA model ships offline, so the short answer comes from question-type detection
("how many" -> a quantity, "when" -> a date, "who" -> a name, ...) and typed span extraction over
the best-scoring sentences. Sentences are scored with the dense model and BM25 at sentence level.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from .lexical import STOP_WORDS, tokenize

NOT_FOUND_MESSAGE = "The report does not appear to answer this."

QUESTION_TYPES = ("numeric", "when", "who", "where", "why", "what")

MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    "seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|dozens?|half"
)
NUMBER = rf"(?:\$?\d[\d,]*(?:\.\d+)?|(?:{NUMBER_WORDS})(?:[- ](?:{NUMBER_WORDS}))*)"
QUANTITY_RE = re.compile(
    rf"(?<![\w$])(?:(?:approximately|about|nearly|almost|over|more than|fewer than|less than|at least|up to|some|only)\s+)?"
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
    """The kind of answer the question asks for (one of QUESTION_TYPES)."""
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


ORG_WORDS = re.compile(
    r"\b(Ministry|Office|Commission|Committee|Party|Court|Agency|Council|Union|Association|Bureau|Service|Police|"
    r"Department|Coalition|Network|Foundation|Center|Centre|International|Organization|Government|Parliament|Senate|"
    r"Mazhilis|Republic|Oblast|Prison|Code|Law|Constitution|Watch|Fund|Institute|University|Bank|Group|League|Front)\b"
)


def _looks_like_person(text: str) -> bool:
    words = text.split()
    return 2 <= len(words) <= 4 and not ORG_WORDS.search(text) and all(w[0].isupper() for w in words)


def profile_question(question: str) -> QuestionProfile:
    qtype = question_type(question)
    return QuestionProfile(
        type=qtype,
        tokens=frozenset(_content_words(question)),
        keyword_query=not WH_WORD.search(question) and "?" not in question,
        wants_percent=bool(PERCENT_CUES.search(question)),
        wants_duration=bool(DURATION_CUES.search(question)),
        wants_money=bool(MONEY_CUES.search(question)),
        wants_year=qtype == "when" or bool(re.search(r"\b(what|which) years?\b", question, re.I)),
        wants_person=bool(re.search(r"\b(who|whom|whose)\b|\bwhich (person|official|activist|journalist|judge|leader|general|conscript|head)\b", question, re.I)),
    )


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


def _quantities(sentence: str, profile: QuestionProfile) -> list[Span]:
    spans = []
    q_numbers = {t for t in profile.tokens if t[0].isdigit()}
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
        if core and core.replace(",", "") in q_numbers:
            continue
        if text.lower() in ("one", "half", "one of"):
            continue
        own = _content_words(text)
        if own and own <= profile.tokens:
            continue  # "nine months" when the question says "in the first nine months"
        start = sentence.find(text, m.start())
        spans.append(Span(text, start if start >= 0 else m.start(), "quantity"))
    return spans


def _dates(sentence: str, profile: QuestionProfile) -> list[Span]:
    return [
        Span(m.group(0).strip(), m.start(), "date")
        for m in DATE_RE.finditer(sentence)
        if m.group(0).strip() and not _content_words(m.group(0)) <= profile.tokens
    ]


def _names(sentence: str, profile: QuestionProfile) -> list[Span]:
    spans = []
    for m in NAME_RE.finditer(sentence):
        text, start = m.group(0), m.start()
        words = text.split()
        while words and (words[0].lower() in SENTENCE_STARTERS or words[0].lower() in STOP_WORDS) and start == m.start() and m.start() == 0:
            start += len(words[0]) + 1
            words = words[1:]
        text = " ".join(words).strip(" .,")
        if not text or not text[0].isupper() or re.fullmatch(rf"(?:{MONTHS})", text) or text.lower() in STOP_WORDS:
            continue
        own = _content_words(text)
        if own and own <= profile.tokens:
            continue
        if start == 0 and (len(words) == 1 and not words[0].isupper() or sentence[len(text) : len(text) + 1] == ":"):
            continue  # "Courts ..." opening a sentence, or a run-in heading "Foreign Travel:"
        spans.append(Span(text, start, "name"))
    return spans


def _reasons(sentence: str, profile: QuestionProfile) -> list[Span]:
    return [
        Span(m.group(0).strip(" ,"), m.start(), "reason")
        for m in REASON_RE.finditer(sentence)
        if len(m.group(0).split()) >= 3
    ]


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
    """Keep the number and its unit or noun: '8,390 prisoners', '95 percent', not 'two of the'."""
    words = text.split()
    out: list[str] = []
    seen_number = False
    after = 0
    for w in words:
        bare = w.strip(",.;:()").lower()
        if seen_number and (bare in UNIT_STOP or re.search(r"(ing|ed)$", bare) and not PERCENT_UNITS.search(bare)):
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


def _locality(sentence: str, span: Span, profile: QuestionProfile, window: int = 10) -> float:
    """Question words close to the span, nearer counting more (0..1)."""
    if not profile.tokens:
        return 0.0
    words = [(m.start(), m.end(), m.group(0)) for m in WORD_RE.finditer(sentence)]
    inside = [i for i, (a, b, _) in enumerate(words) if a < span.end and b > span.start]
    if not inside:
        return 0.0
    lo, hi = inside[0], inside[-1]
    best: dict[str, float] = {}
    for i, (_, _, w) in enumerate(words):
        if lo <= i <= hi:
            continue
        d = lo - i if i < lo else i - hi
        if d > window:
            continue
        for t in tokenize(w):
            if t in profile.tokens:
                best[t] = max(best.get(t, 0.0), 1.0 / (1.0 + 0.3 * (d - 1)))
    return sum(best.values()) / len(profile.tokens)


def score_span(sentence: str, span: Span, profile: QuestionProfile, locality: float | None = None) -> float:
    """How well a span answers: its neighbourhood, its own words, and the unit the question wants."""
    score = 0.4 * (_locality(sentence, span, profile) if locality is None else locality)
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
        if profile.wants_person and _looks_like_person(span.text):
            score += 0.1
    elif span.kind == "date" and profile.wants_year and re.search(r"\b(19|20)\d\d\b", span.text):
        score += 0.05
    return score


@dataclass
class ScoredSentence:
    text: str
    page: int
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
        for sp in spans_of(s.text, extraction_type, profile):
            locality = _locality(s.text, sp, profile)
            local = score_span(s.text, sp, profile, locality)
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


@dataclass
class Passage:
    rank: int
    score: float
    id: str
    text: str
    section: str
    headings: list[str]
    page_start: int
    page_end: int
    sentence: str | None = None  # the best-matching sentence of this passage
    sentence_page: int | None = None


@dataclass
class Answer:
    question: str
    found: bool
    text: str | None
    sentence: str | None
    page: int | None
    passage_id: str | None
    qtype: str
    mode: str
    passages: list[Passage] = field(default_factory=list)
    alternatives: list[Candidate] = field(default_factory=list)
    confidence: float = 0.0
    hits: list = field(default_factory=list, repr=False, compare=False)  # retrieve.Hit, for evaluation

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": {
                "found": self.found,
                "text": self.text,
                "sentence": self.sentence,
                "page": self.page,
                "passage_id": self.passage_id,
                "type": self.qtype,
                "confidence": round(self.confidence, 4),
                "alternatives": [
                    {"text": c.text, "sentence": c.sentence, "page": c.page, "passage_id": c.passage_id} for c in self.alternatives
                ],
                "message": None if self.found else NOT_FOUND_MESSAGE,
            },
            "mode": self.mode,
            "passages": [
                {k: v for k, v in asdict(p).items()} | {"score": round(p.score, 6)} for p in self.passages
            ],
        }
