"""Report-like documents of our own for tests: a Country Report chapter on a fictional country
(RURITANIA), written out as the State Department's extracted text and as a PDF (reportlab), plus
a document that is not a report at all. The generator knows the page every sentence starts on,
so tests can check pages and citations after the round trip through the parser and the index.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

FOOTER = (
    "Country Reports on Human Rights Practices for 2011",
    "United States Department of State • Bureau of Democracy, Human Rights and Labor",
)
WIDTH = 84

# Facts the tests ask about: (question, answer text in the sentence, section number, last heading)
FACTS = {
    "amnesty": "An amnesty in March released 4,217 prisoners from the Strelsau penal colony.",
    "websites": "Authorities blocked 312 websites during the year, including the news portal Zenda Today.",
    "election": "President Rudolf Elphberg won the October 9 presidential election with 71 percent of the vote.",
    "wage": "The minimum monthly wage was 18,500 crowns.",
    "pretrial": "Pretrial Detention:  The law allows police to hold suspects for 72 hours before charging them.",
    "press": "Freedom of Press:  Three private newspapers closed after tax inspections.",
    "women": "The law criminalizes rape, but spousal rape is not specifically mentioned.",
    "children": "Citizenship derives from either parent, and 3,400 births went unregistered.",
}

SUBJECTS = [
    "Observers in the northern provinces", "Local human rights groups", "Several opposition deputies",
    "The Ministry of Justice", "Regional prosecutors", "Independent journalists", "International monitors",
    "Trade union leaders", "Residents of Zenda", "Officials in the capital", "The ombudsman", "Defense lawyers",
]
VERBS = [
    "reported that", "stated that", "claimed that", "noted that", "complained that", "acknowledged that",
]
CLAUSES = [
    "local officials rarely enforced the regulations", "courts seldom acquitted defendants in such cases",
    "police questioned activists without a warrant", "the authorities delayed registration for months",
    "the new rules applied unevenly across the regions", "several complaints remained without an answer",
    "detainees waited weeks before seeing a lawyer", "the budget for the inspectorate fell again",
    "public hearings were announced only a day in advance", "the commission met only twice",
    "inspectors visited fewer facilities than planned", "the procedure remained confusing for most applicants",
]
TAILS = ["", " during the year", " in the first half of the year", ", according to press accounts", " in most districts"]


def _filler(rng: random.Random, n: int, used: set[str]) -> list[str]:
    """n sentences of plausible report prose, none used before (every sentence is unique)."""
    out = []
    while len(out) < n:
        sentence = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(CLAUSES)}{rng.choice(TAILS)}."
        if sentence not in used:
            used.add(sentence)
            out.append(sentence)
    return out


@dataclass
class Block:
    kind: str  # "title", "heading", "para"
    sentences: list[str] = field(default_factory=list)  # for "para"
    text: str = ""  # for "title" and "heading"


def ruritania_blocks(seed: int = 7, scale: float = 1.0) -> list[Block]:
    """The chapter's blocks; `scale` < 1 shortens the filler prose (a quicker index to build)."""
    rng = random.Random(seed)
    used: set[str] = set()

    def para(*facts: str, filler: int = 4, at: int | None = None) -> Block:
        sentences = _filler(rng, max(1, round(filler * scale)), used)
        at = None if at is None else min(at, len(sentences))
        pos = len(sentences) // 2 if at is None else at
        for f in facts:
            sentences.insert(pos, f)
            pos += 1
        return Block("para", sentences)

    H = lambda text: Block("heading", text=text)  # noqa: E731
    return [
        Block("title", text="RURITANIA"),
        H("EXECUTIVE SUMMARY"),
        Block("para", [
            "The Kingdom of Ruritania is a constitutional monarchy with a parliament elected every four years.",
            "The king appoints the government, and Mr. Elphberg’s party held most seats in the assembly.",
        ] + _filler(rng, 3, used)),
        para(filler=6),
        para(filler=5),
        H("Section 1. Respect for the Integrity of the Person, Including Freedom from:"),
        H("a. Arbitrary or Unlawful Deprivation of Life"),
        para(filler=7), para(filler=6),
        H("b. Disappearance"),
        Block("para", ["There were no reports of politically motivated disappearances in Ruritania."]),
        H("c. Torture and Other Cruel, Inhuman, or Degrading Treatment or Punishment"),
        para(filler=8), para(filler=7),
        H("Prison and Detention Center Conditions"),
        para(filler=5), para(FACTS["amnesty"], filler=6), para(filler=7),
        H("d. Arbitrary Arrest or Detention"),
        para(filler=6),
        para(FACTS["pretrial"], filler=5, at=0),
        para(filler=8),
        H("Section 2. Respect for Civil Liberties, Including:"),
        H("a. Freedom of Speech and Press"),
        para(filler=7),
        para(FACTS["press"], filler=6, at=0),
        H("Internet Freedom"),
        para(FACTS["websites"], filler=6), para(filler=8),
        H("b. Freedom of Peaceful Assembly and Association"),
        para(filler=9), para(filler=6),
        H("Section 3. Respect for Political Rights: The Right of Citizens to Change Their Government"),
        para(FACTS["election"], filler=6, at=1), para(filler=8),
        H("Section 4. Official Corruption and Government Transparency"),
        para(filler=9), para(filler=7),
        H("Section 5. Governmental Attitude Regarding International and Nongovernmental"),
        para(filler=6),
        H("Section 6. Discrimination, Societal Abuses, and Trafficking in Persons"),
        H("Women"),
        para(FACTS["women"], filler=7), para(filler=6),
        H("Children"),
        para(FACTS["children"], filler=7), para(filler=8),
        H("Section 7. Worker Rights"),
        H("a. Freedom of Association and the Right to Collective Bargaining"),
        para(filler=8), para(filler=7),
        H("b. Acceptable Conditions of Work"),
        para(FACTS["wage"], filler=7), para(filler=9),
    ]


def _wrap(sentences: list[str], width: int = WIDTH) -> list[list[tuple[int, str]]]:
    """Lines of (sentence index, word) tokens; sentences joined by two spaces, words by one."""
    lines: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    length = 0
    for si, sentence in enumerate(sentences):
        words = sentence.replace(":  ", ":\x00").split(" ")
        for wi, word in enumerate(words):
            word = word.replace("\x00", "  ")
            sep = 0 if not current else (2 if wi == 0 else 1)
            if current and length + sep + len(word) > width:
                lines.append(current)
                current, length, sep = [], 0, 0
            current.append((si if wi == 0 else -1, word))
            length += sep + len(word)
    if current:
        lines.append(current)
    return lines


@dataclass
class FakeReport:
    country: str
    pages: list[list[str]]  # body lines of each page ("" = blank line)
    sentences: list[tuple[str, int]]  # every sentence, in order, with the page it starts on
    headings: list[str]

    @property
    def sentence_pages(self) -> dict[str, int]:
        return dict(self.sentences)

    @property
    def page_count(self) -> int:
        return len(self.pages)

    def page_of(self, needle: str) -> int:
        hits = [p for s, p in self.sentence_pages.items() if needle in s]
        assert len(hits) == 1, (needle, hits)
        return hits[0]

    # ---- the State Department's extracted text: furniture on some page breaks, a single
    # leading space on the first line of the other pages, trailing spaces
    def as_text(self) -> str:
        out: list[str] = [""]
        for pno, lines in enumerate(self.pages, 1):
            if pno > 1:
                if pno % 3 == 2:  # footer and running header
                    out += ["", FOOTER[0] + " ", FOOTER[1].replace(" • ", "  •  ") + " ", "", "", "", f" {self.country} {pno} ", " ", ""]
                    body = list(lines)
                else:
                    body = [" " + lines[0]] + lines[1:]
            else:
                body = list(lines)
            out += [line + " " if line else " " for line in body]
        return "\n".join(out) + "\n"

    # ---- a PDF with one page per page: running header (pages 2 on), body lines, footers
    def write_pdf(self, path: Path) -> Path:
        return draw_chapter_pdf(path, self.pages, f" {self.country}", FOOTER, title=f"{self.country} 2011 Human Rights Report")


def draw_chapter_pdf(path: Path, pages: list[list[str]], header: str, footer: tuple[str, str],
                     line_gap: int = 15, title: str | None = None) -> Path:
    """A PDF with the State Department's page furniture: the running header (`header` and the
    page number) from page 2 on, the body lines (an empty line leaves its gap), and the two
    footer lines on every page."""
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=letter)
    if title:
        c.setTitle(title)
    for pno, lines in enumerate(pages, 1):
        c.setFont("Times-Roman", 11)
        if pno > 1:
            c.drawString(72, 750, f"{header} {pno}")
        y = 720
        for line in lines:
            if line:
                c.drawString(72, y, line)
            y -= line_gap
        c.setFont("Times-Roman", 9)
        c.drawString(72, 52, footer[0])
        c.drawString(72, 40, footer[1])
        c.showPage()
    c.save()
    return path


def paginate(blocks: list[Block], lines_per_page: int = 40, country: str = "RURITANIA") -> FakeReport:
    flat: list[tuple[str, list[int]]] = []  # (line text, sentence ids starting on it)
    sentences: list[str] = []
    headings: list[str] = []
    for b in blocks:
        if b.kind == "title":
            flat += [(b.text, []), ("", [])]
            continue
        if b.kind == "heading":
            headings.append(b.text)
            flat += [(b.text, []), ("", [])]
            continue
        base = len(sentences)
        sentences += b.sentences
        for toks in _wrap(b.sentences):
            text = ""
            for i, (si, word) in enumerate(toks):
                if i:
                    text += "  " if si >= 0 else " "
                text += word
            flat.append((text, [base + si for si, _ in toks if si >= 0]))
        flat.append(("", []))
    pages: list[list[str]] = []
    starts_on: dict[int, int] = {}
    current: list[str] = []
    for text, starts in flat:
        if len(current) >= lines_per_page:
            pages.append(current)
            current = []
        if not current and not text:
            continue  # no blank line at the top of a page
        current.append(text)
        for si in starts:
            starts_on[si] = len(pages) + 1
    while current and not current[-1]:
        current.pop()
    if current:
        pages.append(current)
    assert len(set(sentences)) == len(sentences), "sentences must be unique"
    ordered = [(" ".join(text.split()), starts_on[si]) for si, text in enumerate(sentences)]
    return FakeReport(country, pages, ordered, headings)


def ruritania(lines_per_page: int = 40, scale: float = 1.0) -> FakeReport:
    return paginate(ruritania_blocks(scale=scale), lines_per_page)


# ---- a document that is not a Country Report: gardening notes, single-spaced, no sections

GARDEN_FACTS = {
    "tomatoes": "Tomatoes need at least six hours of direct sun each day.",
    "compost": "A compost heap should be turned every three weeks to keep it aerobic.",
    "frost": "The last spring frost in our valley usually comes around April 20.",
}


def garden_pages() -> list[list[str]]:
    rng = random.Random(3)
    words = "soil water seeds roots leaves mulch beds rows weeds shade spring summer".split()

    def sentence() -> str:
        a, b, c = rng.sample(words, 3)
        return f"The {a} and the {b} matter more than the {c} in a small garden."

    paragraphs = [
        [sentence() for _ in range(4)] + [GARDEN_FACTS["tomatoes"]] + [sentence() for _ in range(3)],
        [sentence() for _ in range(6)],
        [sentence() for _ in range(3)] + [GARDEN_FACTS["compost"]] + [sentence() for _ in range(4)],
        [sentence() for _ in range(5)],
        [GARDEN_FACTS["frost"]] + [sentence() for _ in range(5)],
        [sentence() for _ in range(6)],
    ]
    pages: list[list[str]] = []
    for i in range(0, len(paragraphs), 2):
        lines: list[str] = []
        for p in paragraphs[i : i + 2]:
            text = " ".join(p)
            line = ""
            for w in text.split(" "):
                if line and len(line) + 1 + len(w) > WIDTH:
                    lines.append(line)
                    line = w
                else:
                    line = f"{line} {w}" if line else w
            lines += [line, ""]
        pages.append(lines[:-1])
    return pages


def garden_text() -> str:
    return "\n".join(line for page in garden_pages() for line in page + [""])


def write_garden_pdf(path: Path) -> Path:
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=letter)
    for lines in garden_pages():
        c.setFont("Helvetica", 10)
        y = 740
        for line in lines:
            if line:
                c.drawString(60, y, line)
            y -= 14
        c.showPage()
    c.save()
    return path
