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
COUNTING_HINT = re.compile(r"\b(how many|how much|number of|what number|how long|what percentage|what percent|what share|what proportion|what fraction)\b", re.I)


def question_type(question: str) -> str:
    """The kind of answer the question asks for (one of QUESTION_TYPES)."""
    q = " " + question.lower().replace("’", "'") + " "
    if re.search(r"\bhow (many|much|long|old|often|large|big|high|low)\b|\bwhat (percentage|percent|proportion|share|number|amount|fraction|portion)\b|\bnumber of\b|\bpercentage\b|\bhow many\b", q):
        return "numeric"
    if re.search(r"\bwhen\b|\b(what|which) (year|date|day|month|time)\b|\bsince when\b|\bwhat dates?\b", q):
        return "when"
    if re.search(r"\bwho\b|\bwhom\b|\bwhose\b|\b(which|what) (organi[sz]ations?|groups?|agenc(y|ies)|ministr(y|ies)|bod(y|ies)|part(y|ies)|ngos?|officials?|court|person|people|company|companies|institution|authority|authorities|newspapers?|outlets?|union|leader|activists?|journalists?|official)\b|\bname of the (person|official|organi[sz]ation|activist|journalist)\b", q):
        return "who"
    if re.search(r"\bwhere\b|\b(which|what) (city|cities|town|region|oblast|country|countries|village|place|prison|facility|province)\b", q):
        return "where"
    if re.search(r"\bwhy\b|\bfor what reason\b|\bwhat (was|is|were) the (reason|cause|purpose)\b|\breason\b|\bcaused?\b", q):
        return "why"
    return "what"


@dataclass
class Span:
    text: str
    start: int
    kind: str


def _content_words(text: str) -> set[str]:
    return set(tokenize(text))


def extract_spans(sentence: str, qtype: str, question: str) -> list[Span]:
    """Typed candidate answers in `sentence`, excluding what the question itself says."""
    q_tokens = _content_words(question)
    q_numbers = {t for t in q_tokens if t[0].isdigit()}
    spans: list[Span] = []
    if qtype == "numeric":
        wants_year = bool(re.search(r"\byear\b", question, re.I)) and not COUNTING_HINT.search(question)
        for m in QUANTITY_RE.finditer(sentence):
            text = _trim_quantity(m.group(0))
            if not text or not re.search(rf"\d|\b(?:{NUMBER_WORDS})\b", text, re.I):
                continue
            core = re.sub(r"[^\d.]", "", text.split()[0]) if text[0].isdigit() or text[0] == "$" else ""
            if core and re.fullmatch(r"(19|20)\d\d", core) and not wants_year and "percent" not in text:
                continue  # a year is not a count
            if re.fullmatch(rf"(?:{MONTHS})", sentence[max(0, m.start() - 10) : m.start()].strip().split(" ")[-1] or "x"):
                continue  # the day of a date
            if core and core.replace(",", "") in q_numbers:
                continue
            if re.fullmatch(rf"(?:{NUMBER_WORDS})", text, re.I) and text.lower() in ("one", "half"):
                continue  # "one of the ..." is rarely the count asked for
            spans.append(Span(text, m.start(), "quantity"))
    elif qtype == "when":
        for m in DATE_RE.finditer(sentence):
            text = m.group(0).strip()
            if text and not _content_words(text) <= q_tokens:
                spans.append(Span(text, m.start(), "date"))
    elif qtype in ("who", "where"):
        for m in NAME_RE.finditer(sentence):
            text = m.group(0).strip(" .,")
            words = text.split()
            if m.start() == 0 and words[0].lower() in SENTENCE_STARTERS:
                text = " ".join(words[1:])
                if not text or not text[0].isupper():
                    continue
            if re.fullmatch(rf"(?:{MONTHS})", text) or text.lower() in STOP_WORDS:
                continue
            if _content_words(text) and _content_words(text) <= q_tokens:
                continue
            spans.append(Span(text, m.start(), "name"))
    elif qtype == "why":
        for m in REASON_RE.finditer(sentence):
            text = m.group(0).strip(" ,")
            if len(text.split()) >= 3:
                spans.append(Span(text, m.start(), "reason"))
    return spans


def _trim_quantity(text: str) -> str:
    """Keep the number and its unit or noun: '8,390 prisoners', '95 percent', not 'two of the'."""
    words = text.split()
    out: list[str] = []
    seen_number = False
    for w in words:
        bare = w.strip(",.;:()").lower()
        if seen_number and bare in UNIT_STOP:
            break
        out.append(w.strip(",.;:()"))
        if re.search(rf"\d|^(?:{NUMBER_WORDS})", bare):
            seen_number = True
    while out and out[-1].lower() in UNIT_STOP:
        out.pop()
    return " ".join(out)


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


def _proximity(sentence: str, start: int, question: str) -> float:
    """Share of the question's content words found near the span (within ~12 words)."""
    q_tokens = _content_words(question)
    if not q_tokens:
        return 0.0
    window = sentence[max(0, start - 90) : start + 90]
    return len(q_tokens & _content_words(window)) / len(q_tokens)


def choose_answers(
    question: str, qtype: str, sentences: list[ScoredSentence], passage_ids: list[str], top_sentences: int = 5
) -> list[Candidate]:
    """Candidate short answers from the best sentences, best first, one per distinct value."""
    candidates: list[Candidate] = []
    seen: set[str] = set()
    for rank, s in enumerate(sentences[:top_sentences]):
        spans = extract_spans(s.text, qtype, question)
        scored = sorted(
            ((s.score + 0.15 * _proximity(s.text, sp.start, question) - 0.02 * rank, sp) for sp in spans),
            key=lambda x: -x[0],
        )
        for score, sp in scored:
            key = re.sub(r"\W+", " ", sp.text.lower()).strip()
            if key in seen:
                continue
            seen.add(key)
            candidates.append(Candidate(sp.text, s.text, s.page, passage_ids[s.chunk_index], float(score)))
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
