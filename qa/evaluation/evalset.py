"""The eval sets as data: items, loading, the fixed dev/test split, the content-word overlap that
tells a question written from the report from one written in a reader's words, and the checks
that keep every item verbatim against the shipped report.

Two sets ship in `eval/`: `questions.jsonl` (the original set, written while reading the report)
and `user-questions.jsonl` (questions in users' words, split into `dev` and `test` by a stable
hash of the id). Nothing in kzqa is chosen on `test`: see eval/README.md.
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Fix, KzqaError
from ..settings import EVAL_SETS, EVAL_SPLITS as SPLITS
from ..represent.lexical import tokenize
from ..document import Report, normalize_space

TYPES = ("numeric", "who", "when", "what", "why", "unanswerable")
STYLES = ("colloquial", "keyword", "typo", "context", "indirect", "analyst")
FIELDS = ("id", "question", "answer", "evidence", "section", "heading", "type")
USER_FIELDS = FIELDS + ("style", "split")
MIN_EVIDENCE_WORDS = 8

EVAL_DIR = Path(__file__).resolve().parents[2] / "eval"
SETS = dict(zip(EVAL_SETS, ("questions.jsonl", "user-questions.jsonl")))


@dataclass
class EvalItem:
    id: str
    question: str
    answers: list[str]
    evidence: list[str]
    type: str
    section: list[str] = field(default_factory=list)
    heading: list[str] = field(default_factory=list)
    style: str | None = None
    split: str | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.evidence)


def default_questions_path(which: str = "original") -> Path:
    return EVAL_DIR / SETS[which]


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _item_problem(d) -> str | None:
    """What makes a parsed eval line unusable, in a few words (None: nothing): every field the
    eval reads is checked for its type here, so a wrong one is a one-line error, not a crash."""
    if not isinstance(d, dict):
        return "not a JSON object"
    if "id" not in d or "question" not in d:
        return "no " + " or ".join(f'"{k}"' for k in ("id", "question") if k not in d)
    if not isinstance(d["id"], (str, int)) or isinstance(d["id"], bool):
        return '"id" must be text or a whole number'
    if not isinstance(d["question"], str):
        return '"question" must be text'
    for key in ("answer", "evidence", "section", "heading"):
        value = d.get(key)
        values = value if isinstance(value, list) else [value] if value is not None else []
        bad = next((v for v in values if not isinstance(v, str)), "")
        if bad != "":
            return f'"{key}" must be text or a list of texts; it holds {_short_json(bad)}'
    for key in ("type", "style", "split"):
        if d.get(key) is not None and not isinstance(d[key], str):
            return f'"{key}" must be text; it is {_short_json(d[key])}'
    return None


def _short_json(value, limit: int = 40) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def load_eval_set(path: str | Path | None = None) -> list[EvalItem]:
    p = Path(path) if path else default_questions_path()
    if not p.is_file():
        raise KzqaError(f"no eval set at {p}", Fix.EVAL_SET)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KzqaError(f"{p}: not UTF-8 text (byte {exc.start}); an eval set is JSON lines in UTF-8") from None
    except OSError as exc:
        raise KzqaError(f"cannot read {p}: {exc.strerror or exc}") from None
    items = []
    seen: set[str] = set()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise KzqaError(f"{p}: line {n} is not a valid eval item ({exc.__class__.__name__})") from None
        problem = _item_problem(d)
        if problem:
            raise KzqaError(f"{p}: line {n} is not a valid eval item ({problem})")
        item = EvalItem(
            id=str(d["id"]), question=d["question"], answers=_as_list(d.get("answer")),
            evidence=_as_list(d.get("evidence")), type=d.get("type") or "what",
            section=_as_list(d.get("section")), heading=_as_list(d.get("heading")),
            style=d.get("style"), split=d.get("split"),
        )
        if not isinstance(item.question, str) or not item.question.strip():
            raise KzqaError(f"{p}: line {n} has no question")
        if not item.id or any(ch.isspace() for ch in item.id):
            raise KzqaError(f"{p}: line {n}: item ids must be non-empty and without spaces (got {item.id!r})")
        if item.id in seen:
            raise KzqaError(f"{p}: line {n}: duplicate item id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise KzqaError(f"{p}: the eval set is empty")
    return items


def split_of(item_id: str) -> str:
    """The fixed split of a user-phrased item: a stable hash of its id, about half each."""
    return SPLITS[hashlib.sha256(item_id.encode("utf-8")).digest()[0] & 1]


def select_split(items: list[EvalItem], split: str | None) -> list[EvalItem]:
    if split is None:
        return items
    if split not in SPLITS:
        raise KzqaError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    return [it for it in items if it.split == split]


def refuse_test_split(split: str | None, purpose: str) -> None:
    """Calibration, training and ablations fit on dev (and the original set) only: test is for
    reporting, so that its figures stay an honest estimate of what users get."""
    if split == "test":
        raise SystemExit(f"refusing to {purpose} on the test split: fit on dev (and the original set); test is only reported")


FIT_DEFAULT = "original,user-dev"


def load_fit_items(spec: str = FIT_DEFAULT, purpose: str = "fit") -> list[EvalItem]:
    """The items a calibration, training or ablation script may look at: a comma list of
    `original`, `user-dev` (never `user-test`, never the whole user set, which holds test)."""
    items: list[EvalItem] = []
    for part in [p.strip() for p in spec.split(",") if p.strip()]:
        if part in ("user-test", "test"):
            refuse_test_split("test", purpose)
        if part == "original":
            items += load_eval_set(default_questions_path("original"))
        elif part in ("user-dev", "dev"):
            items += select_split(load_eval_set(default_questions_path("user")), "dev")
        else:
            raise SystemExit(f"unknown item set {part!r} for {purpose}: use original and/or user-dev")
    return items


# ---------------------------------------------------------------- what `kzqa eval` runs


@dataclass
class Group:
    """A slice of the items that gets its own column group: a set, or a split of one."""

    name: str  # original | user-dev | user-test | a file's name
    set: str
    split: str | None = None
    style: str | None = None

    def select(self, results: list) -> list:
        """The results (qa/evaluation/evaluate.py's ItemResult) of this slice's items."""
        return [
            r for r in results
            if r.set == self.set and (self.split is None or r.split == self.split) and (self.style is None or r.style == self.style)
        ]


def default_groups(sets: list[str]) -> list[Group]:
    groups = []
    for s in sets:
        if s == "user":
            groups += [Group(f"user-{split}", "user", split) for split in SPLITS]
        else:
            groups.append(Group(s, s))
    return groups


def choose_sets(which: str = "all", split: str | None = None, questions: str | Path | None = None
                ) -> tuple[dict[str, list[EvalItem]], list[Group]]:
    """The eval sets to run, by name, and the column groups to report: the shipped sets (`which`:
    "all", or one of EVAL_SETS) or the file `questions` (named by its stem); every item, or one
    split. A file whose items have splits gets a group per split, as the user set does."""
    if questions is not None:
        path = Path(questions)
        items = load_eval_set(path)
        name = path.stem
        splits = sorted({it.split for it in items if it.split})
        if split:
            items = select_split(items, split)
            if not items:
                raise KzqaError(f"{path} has no items in split {split!r}")
            return {name: items}, [Group(f"{name}-{split}", name, split)]
        if splits:
            return {name: items}, [Group(f"{name}-{s}", name, s) for s in splits]
        return {name: items}, default_groups([name])
    names = list(EVAL_SETS) if which == "all" else [which]
    sets = {n: load_eval_set(default_questions_path(n)) for n in names}
    if not split:
        return sets, default_groups(names)
    if "user" not in sets:
        raise KzqaError(f"only the user set has splits; the {', '.join(names)} set has none")
    sets["user"] = select_split(sets["user"], split)
    groups = [Group("original", "original")] if "original" in sets else []
    return sets, groups + [Group(f"user-{split}", "user", split)]


# ---------------------------------------------------------------- overlap

def content_words(text: str) -> set[str]:
    """A question's or sentence's content words as kzqa indexes them (stemmed, stop words out),
    numbers left out: a figure in a question is not a reworded word."""
    return {t for t in tokenize(text) if not t[0].isdigit()}


def content_overlap(question: str, evidence: list[str]) -> float | None:
    """Share of the question's content words that also occur in its evidence (all evidence
    strings together); None when the question has no content word."""
    q = content_words(question)
    if not q:
        return None
    e: set[str] = set()
    for ev in evidence:
        e |= content_words(ev)
    return len(q & e) / len(q)


@dataclass
class OverlapStats:
    mean: float
    median: float
    n: int


def overlap_stats(items: list[EvalItem]) -> OverlapStats:
    values = [v for it in items if it.answerable for v in [content_overlap(it.question, it.evidence)] if v is not None]
    if not values:
        return OverlapStats(0.0, 0.0, 0)
    return OverlapStats(statistics.fmean(values), statistics.median(values), len(values))


# ---------------------------------------------------------------- locating evidence

def _strip_number(heading: str) -> str:
    return re.sub(r"^(?:Section \d+\.\s+|[a-z]\.\s+)", "", heading).rstrip(":").strip()


def locate(evidence: str, report: Report) -> list[tuple[str, str]]:
    """(section label, most specific heading) of every paragraph holding `evidence` (the report
    prints a few sentences twice), in the eval set's notation ("summary", "1.c"; the heading
    without "Section N." or "a.")."""
    ev = normalize_space(evidence)
    out = []
    for s in report.sections:
        for p in s.paragraphs:
            if ev in normalize_space(p.text):
                heading = _strip_number(s.headings[-1])
                out.append((s.number, "EXECUTIVE SUMMARY" if s.number == "summary" else heading))
    return out


def _body_text(report: Report) -> str:
    return normalize_space(" ".join(p.text for s in report.sections for p in s.paragraphs))


def validate_items(raw: list[dict], report: Report, user_set: bool = False) -> list[str]:
    """Every problem with the items (empty: valid). Checks fields, types, verbatim evidence and
    answers, and that section and heading name where the evidence stands."""
    body = _body_text(report)
    problems: list[str] = []
    ids: set[str] = set()
    questions: set[str] = set()
    fields = USER_FIELDS if user_set else FIELDS
    for d in raw:
        iid = d.get("id")
        where = f"{iid}:"
        if tuple(d) != fields:
            problems.append(f"{where} fields {list(d)} (expected {list(fields)} in this order)")
            continue
        if iid in ids:
            problems.append(f"{where} duplicate id")
        ids.add(iid)
        q = d["question"]
        if not isinstance(q, str) or not q.strip():
            problems.append(f"{where} empty question")
            continue
        if normalize_space(q).lower() in questions:
            problems.append(f"{where} duplicate question")
        questions.add(normalize_space(q).lower())
        if d["type"] not in TYPES:
            problems.append(f"{where} type {d['type']!r}")
        if user_set:
            if d["style"] not in STYLES:
                problems.append(f"{where} style {d['style']!r}")
            if d["split"] != split_of(iid):
                problems.append(f"{where} split {d['split']!r} (the hash of the id gives {split_of(iid)!r})")
        if d["type"] == "unanswerable":
            if any(d[k] is not None for k in ("answer", "evidence", "section", "heading")):
                problems.append(f"{where} unanswerable items have null answer, evidence, section and heading")
            continue
        evidence, answers = _as_list(d["evidence"]), _as_list(d["answer"])
        sections, headings = _as_list(d["section"]), _as_list(d["heading"])
        if not evidence or not answers:
            problems.append(f"{where} answerable items need evidence and an answer")
            continue
        if not (len(evidence) == len(sections) == len(headings)):
            problems.append(f"{where} evidence, section and heading lists differ in length")
            continue
        for ev, sec, head in zip(evidence, sections, headings):
            if not isinstance(ev, str) or normalize_space(ev) not in body:
                problems.append(f"{where} evidence not verbatim in the report: {str(ev)[:70]!r}")
                continue
            if len(ev.split()) < MIN_EVIDENCE_WORDS:
                problems.append(f"{where} evidence shorter than {MIN_EVIDENCE_WORDS} words")
            places = locate(ev, report)
            if not places:
                problems.append(f"{where} evidence crosses a paragraph boundary: {ev[:70]!r}")
            elif not isinstance(head, str) or (sec, head.lower()) not in {(s, h.lower()) for s, h in places}:
                problems.append(f"{where} section/heading {sec!r}/{head!r}; the evidence stands under {places[0][0]!r}/{places[0][1]!r}")
        for a in answers:
            if not isinstance(a, str) or not a or not any(a in ev for ev in evidence):
                problems.append(f"{where} answer {a!r} is not a substring of its evidence")
    return problems


def summary(items: list[EvalItem]) -> dict:
    """Counts a reader of eval/README.md wants: by type, style, split; overlap; two-place items."""
    answerable = [it for it in items if it.answerable]
    stats = overlap_stats(items)
    return {
        "items": len(items),
        "answerable": len(answerable),
        "unanswerable": len(items) - len(answerable),
        "two_place": sum(len(it.evidence) > 1 for it in items),
        "types": dict(Counter(it.type for it in items)),
        "styles": dict(Counter(it.style for it in items if it.style)),
        "splits": dict(Counter(it.split for it in items if it.split)),
        "overlap_mean": round(stats.mean, 3),
        "overlap_median": round(stats.median, 3),
    }
