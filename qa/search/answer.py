"""The answer a person reads: the answering sentence, the short answer, other answers
where the report gives several, the confidence and which of three things kzqa says (an answer;
"unsure" with the closest sentence; "not in the report"). The dataclasses that leave the library.

How each part is found lives in its own module: the sentence (qa/search/select.py), the short answer
(qa/search/spans.py), the confidence (qa/search/confidence.py); qa/search/pipeline.py runs them in order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .confidence import NOT_FOUND_MESSAGE, UNSURE_MESSAGE
from .spans import Candidate


@dataclass
class Passage:
    rank: int
    score: float
    id: str
    text: str
    section: str
    headings: list[str]
    page_start: int | None
    page_end: int | None
    sentence: str | None = None  # the best-matching sentence of this passage
    sentence_page: int | None = None
    report: str | None = None  # the name of the index the passage is from ("kazakhstan-2023")
    report_label: str | None = None  # how citations name that report among others ("Kazakhstan 2023")


@dataclass
class Answer:
    question: str
    found: bool  # False only when kzqa says the report does not answer (level "none")
    text: str | None
    sentence: str | None
    page: int | None
    passage_id: str | None
    qtype: str
    mode: str
    passages: list[Passage] = field(default_factory=list)
    alternatives: list[Candidate] = field(default_factory=list)
    confidence: float = 0.0  # calibrated probability that `sentence` answers the question
    hits: list = field(default_factory=list, repr=False, compare=False)  # retrieve.Hit, for evaluation
    level: str = "answer"  # answer | unsure | none
    corrections: list[tuple[str, str]] = field(default_factory=list)  # (typed, searched for)
    searched: str | None = None  # the question as searched for, when spelling was corrected
    report: str | None = None  # the index the answering sentence is from
    reports: list[str] = field(default_factory=list)  # the indexes asked (several: a corpus)
    answerable: float | None = None  # calibrated probability that the report answers the question at all

    @property
    def several_reports(self) -> bool:
        """Asked of several reports: every citation names its report."""
        return len(self.reports) > 1

    @property
    def answer_passage(self) -> Passage | None:
        return next((p for p in self.passages if p.id == self.passage_id), None)

    @property
    def message(self) -> str | None:
        return {"none": NOT_FOUND_MESSAGE, "unsure": UNSURE_MESSAGE}.get(self.level)

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "query": {
                "corrected": self.searched,
                "corrections": [{"typed": a, "searched": b} for a, b in self.corrections],
            },
            "answer": {
                "found": self.found,
                "level": self.level,
                "text": self.text,
                "sentence": self.sentence,
                "page": self.page,
                "passage_id": self.passage_id,
                "report": self.report,
                "type": self.qtype,
                "confidence": round(self.confidence, 4),
                "answerable": None if self.answerable is None else round(self.answerable, 4),
                "alternatives": [
                    {"text": c.text, "sentence": c.sentence, "page": c.page, "passage_id": c.passage_id} for c in self.alternatives
                ],
                "message": self.message,
            },
            "mode": self.mode,
            "reports": list(self.reports),
            "passages": [dict(asdict(p)) | {"score": round(p.score, 6)} for p in self.passages],
        }
