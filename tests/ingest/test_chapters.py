"""Real chapters of the series in its three layouts (tests/fixtures/): Kazakhstan 2023 as the text of
its PDF (pdf-wrapped), Algeria 2012 and Eritrea 2011 as the State Department's web page (web).
Their outlines, ten known sentences each with their section and heading, no invented pages, and
the 2023 chapter as a PDF with the real page furniture (made here with reportlab) keeping its
printed pages. Parsing only: the indexes and the questions across reports are in
tests/index/test_corpus.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fakereport import draw_chapter_pdf
from qa.ingest.parse import parse_report
from qa.ingest.sources import load_source

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def chapter(name: str):
    return parse_report((FIXTURES / f"{name}.txt").read_text(encoding="utf-8"), fallback_title=name)


@pytest.fixture(scope="module")
def chapters():
    return {name: chapter(name) for name in ("kazakhstan-2023", "algeria-2012", "eritrea-2011")}


SECTIONS = {
    "kazakhstan-2023": [
        "Respect for the Integrity of the Person",
        "Respect for Civil Liberties",
        "Freedom to Participate in the Political Process",
        "Corruption in Government",
        "Governmental Posture Towards International and Nongovernmental Monitoring and Investigation of Alleged Abuses of Human Rights",
        "Discrimination and Societal Abuses",
        "Worker Rights",
    ],
    "algeria-2012": [
        "Respect for the Integrity of the Person, Including Freedom from:",
        "Respect for Civil Liberties, Including:",
        "Respect for Political Rights: The Right of Citizens to Change Their Government",
        "Corruption and Lack of Transparency in Government",
        "Governmental Attitude Regarding International and Nongovernmental Investigation of Alleged Violations of Human Rights",
        "Discrimination, Societal Abuses, and Trafficking in Persons",
        "Worker Rights",
    ],
}
SECTIONS["eritrea-2011"] = [
    *SECTIONS["algeria-2012"][:3], "Official Corruption and Government Transparency", *SECTIONS["algeria-2012"][4:],
]

LETTERED = {
    "kazakhstan-2023": {
        "1.a": "Arbitrary Deprivation of Life and Other Unlawful or Politically Motivated Killings",
        "1.b": "Disappearance",
        "1.c": "Torture and Other Cruel, Inhuman, or Degrading Treatment or Punishment, and Other Related Abuses",
        "1.d": "Arbitrary Arrest or Detention",
        "1.e": "Denial of Fair Public Trial",
        "1.f": "Transnational Repression",
        "1.g": "Property Seizure and Restitution",
        "1.h": "Arbitrary or Unlawful Interference with Privacy, Family, Home, or Correspondence",
        "2.a": "Freedom of Expression, Including for Members of the Press and Other Media",
        "2.b": "Freedoms of Peaceful Assembly and Association",
        "2.c": "Freedom of Religion",
        "2.d": "Freedom of Movement and the Right to Leave the Country",
        "2.e": "Protection of Refugees",
        "2.f": "Status and Treatment of Internally Displaced Persons (IDPs)",
        "2.g": "Stateless Persons",
        "7.a": "Freedom of Association and the Right to Collective Bargaining",
        "7.b": "Prohibition of Forced or Compulsory Labor",
        "7.c": "Prohibition of Child Labor and Minimum Age for Employment",
        "7.d": "Discrimination (see section 6)",
        "7.e": "Acceptable Conditions of Work",
    },
    "algeria-2012": {
        "1.a": "Arbitrary or Unlawful Deprivation of Life",
        "1.b": "Disappearance",
        "1.c": "Torture and Other Cruel, Inhuman, or Degrading Treatment or Punishment",
        "1.d": "Arbitrary Arrest or Detention",
        "1.e": "Denial of Fair Public Trial",
        "1.f": "Arbitrary Interference with Privacy, Family, Home, or Correspondence",
        "2.a": "Freedom of Speech and Press",
        "2.b": "Freedom of Peaceful Assembly and Association",
        "2.c": "Freedom of Religion",
        "2.d": "Freedom of Movement, Internally Displaced Persons, Protection of Refugees, and Stateless Persons",
        "7.a": "Freedom of Association and the Right to Collective Bargaining",
        "7.b": "Prohibition of Forced or Compulsory Labor",
        "7.c": "Prohibition of Child Labor and Minimum Age for Employment",
        "7.d": "Acceptable Conditions of Work",
    },
}
LETTERED["eritrea-2011"] = dict(LETTERED["algeria-2012"])

# ten known sentences per chapter: (its beginning, section number, its last heading)
KNOWN = {
    "kazakhstan-2023": [
        ("Human rights defenders further reported that prison sentences for security service officia", "1.c",
         "c. Torture and Other Cruel, Inhuman, or Degrading Treatment or Punishment, and Other Related Abuses"),
        ("NPM members reported many prisoners did not have access to a secure channel for submission", "1.c", "Administration"),
        ("Specific issues included mandatory prenotification of visits, which gave prison administra", "1.c", "Independent Monitoring"),
        ("Several human rights and media figures reported they believed the convicted individuals we", "2.a", "Violence and Harassment"),
        ("National Security: The law criminalized the release of information regarding the health", "2.a", "National Security"),
        ("The government had an agreement with China not to tolerate the presence of ethnic separati", "2.e", "Access to Asylum"),
        ("Refoulement: In December 2022, the government deported to Russia former Russian presidenti", "2.e", "Refoulement"),
        ("Government Human Rights Bodies: The Presidential Commission on Human Rights was a consulta", "5", "Government Human Rights Bodies"),
        ("Rape and Domestic Violence: The law criminalized sexual abuse and rape", "6", "Rape and Domestic Violence"),
        ("See the Department of Labor’s Findings on the Worst Forms of Child Labor at https://www.do", "7.c",
         "c. Prohibition of Child Labor and Minimum Age for Employment"),
    ],
    "algeria-2012": [
        ("In September government officials indicated that internal lists of prosecutions and convic", "1.c",
         "c. Torture and Other Cruel, Inhuman, or Degrading Treatment or Punishment"),
        ("Monitoring: While the government allowed the International Committee of the Red Cross (ICR", "1.c", "Monitoring"),
        ("The government-appointed head of the National Consultative Commission for the Promotion an", "1.d", "d. Arbitrary Arrest or Detention"),
        ("Freedom of Speech: Individuals were not able to criticize the government publicly, and in ", "2.a", "Freedom of Speech"),
        ("In January the editors of El Watan, an independent newspaper known to be critical of gover", "2.a", "Censorship or Content Restrictions"),
        ("The constitution provides for the right of association, but the government severely restri", "2.b", "Freedom of Association"),
        ("See the Department of State’s International Religious Freedom Report at 2009-2017.state.go", "2.c", "c. Freedom of Religion"),
        ("In December elections for the Senate, the upper house of parliament, the RND won the major", "3", "Recent Elections"),
        ("Birth registration: Citizenship and nationality are transmitted from the mother or father.", "6", "Birth registration"),
        ("The law permits unions to affiliate with international labor bodies and develop relations ", "7.a",
         "a. Freedom of Association and the Right to Collective Bargaining"),
    ],
    "eritrea-2011": [
        ("Reports of prisoners’ deaths due to torture, poor sanitation, and inadequate medical treat", "1.c",
         "c. Torture and Other Cruel, Inhuman, or Degrading Treatment or Punishment"),
        ("There are more than 300 prisons and detention centers, which were filled to capacity.", "1.c", "Prison and Detention Center Conditions"),
        ("The law and unimplemented constitution provide for freedom of speech and of the press; how", "2.a", "Status of Freedom of Speech and Press"),
        ("The government did not grant Ethiopians asylum.", "2.d", "Access to Asylum"),
        ("The government permitted only the ICRC to operate effectively, although it limited ICRC op", "5", "UN and Other International Bodies"),
        ("Sexual Harassment: Sexual harassment is illegal; however, cultural norms prevented women f", "6", "Sexual Harassment"),
        ("The government requires all students (except girls already married, who were generally exe", "6", "Education"),
        ("There were fewer than 10 Jews in the country.", "6", "Anti-Semitism"),
        ("There were reports of government and societal discrimination against the Kunama, one of ni", "6", "National/Racial/Ethnic Minorities"),
        ("The law prohibits forced or compulsory labor, including by children.", "7.b", "b. Prohibition of Forced or Compulsory Labor"),
    ],
}


@pytest.mark.parametrize("name, layout, country", [
    ("kazakhstan-2023", "pdf-wrapped", "Kazakhstan"), ("algeria-2012", "web", None), ("eritrea-2011", "web", "Eritrea"),
])
def test_layout_is_detected_and_the_title_read(chapters, name, layout, country):
    report = chapters[name]
    assert report.layout == layout and report.structured
    assert report.country == country  # Algeria's web page has no title line: the file name gives it at build
    if name == "kazakhstan-2023":
        assert report.year == 2023  # "Kazakhstan 2023 Human Rights Report" (and the garbled "for 202 3")


@pytest.mark.parametrize("name", list(SECTIONS))
def test_outline_executive_summary_seven_sections_and_every_lettered_subsection(chapters, name):
    report = chapters[name]
    assert report.sections[0].id == "summary" and report.sections[0].title == "Executive Summary"
    assert report.sections[0].paragraphs
    top = [s for s in report.sections if s.level == 1 and s.number != "summary"]
    assert [s.number for s in top] == ["1", "2", "3", "4", "5", "6", "7"]
    assert [s.title for s in top] == SECTIONS[name]
    assert all(s.headings == [f"Section {s.number}. {s.title}"] for s in top)
    lettered = {s.number: s.title for s in report.sections if s.level == 2}
    assert lettered == LETTERED[name]
    for s in report.sections:  # no residue or marker is left in a heading
        for h in s.headings:
            assert "#" not in h and not h.endswith("Share") and h == h.strip()


@pytest.mark.parametrize("name", list(KNOWN))
def test_ten_known_sentences_have_their_section_and_heading(chapters, name):
    report = chapters[name]
    where = {x.text: s for s in report.sections for p in s.paragraphs for x in p.sentences}
    for start, number, heading in KNOWN[name]:
        hits = [s for text, s in where.items() if text.startswith(start.rstrip())]
        assert len(hits) == 1, start
        assert (hits[0].number, hits[0].headings[-1]) == (number, heading), start
        assert hits[0].headings[0].startswith(f"Section {number[0]}.")


def test_wrapped_headings_and_run_in_headings_of_the_2023_text(chapters):
    report = chapters["kazakhstan-2023"]
    by_title = {s.title: s for s in report.sections}
    # a stand-alone heading over three lines, starting its second line in lower case
    lgbt = by_title["Acts of Violence, Criminalization, and Other Abuses Based on Sexual Orientation, Gender Identity or Expression, or Sex Characteristics"]
    assert lgbt.level == 3 and lgbt.number == "6"
    # run-in headings wrapped over two lines, and one with a space before its colon
    for title in ("Censorship or Content Restrictions for Members of the Press and Other Media, Including Online Media",
                  "Participation of Women and Members of Marginalized or Vulnerable Groups", "Arbitrary Arrest"):
        assert by_title[title].level == 4
    assert by_title["Women"].level == 3 and by_title["Rape and Domestic Violence"].headings[-2] == "Women"
    assert report.section("1.c/prison-and-detention-center-conditions").level == 3


@pytest.mark.parametrize("name", list(KNOWN))
def test_no_invented_pages(chapters, name):
    report = chapters[name]
    assert report.page_count is None and not report.paged
    assert all(s.page is None for s in report.sections)
    assert all(p.page_start is None and p.page_end is None and all(x.page is None for x in p.sentences)
               for s in report.sections for p in s.paragraphs)


def test_web_residue_is_dropped_from_a_heading(chapters):
    five = chapters["algeria-2012"].section("5")
    assert five.title.endswith("Alleged Violations of Human Rights")
    text = chapters["algeria-2012"].text()
    assert "####" not in text


def test_the_shipped_report_keeps_its_layout_and_pages(report):
    assert report.layout == "pdf-text" and report.page_count == 37
    assert (report.country, report.year, report.label) == ("Kazakhstan", 2011, "Kazakhstan 2011")


# ---------------------------------------------------------------- the 2023 chapter as a PDF

FOOTER = ("Country Reports on Human Rights Practices for 2023",
          "United States Department of State • Bureau of Democracy, Human Rights, and Labor")


def write_chapter_pdf(lines: list[str], path: Path, country: str = "KAZAKHSTAN", per_page: int = 44) -> list[list[str]]:
    """A chapter PDF with the State Department's furniture: a running header (the country and
    the page number) from page 2 on and the two footer lines on every page. Returns the lines of
    each page."""
    pages = [lines[i : i + per_page] for i in range(0, len(lines), per_page)]
    draw_chapter_pdf(path, pages, country, FOOTER, line_gap=14)
    return pages


def test_a_chapter_pdf_keeps_its_printed_pages(tmp_path):
    text = (FIXTURES / "kazakhstan-2023.txt").read_text(encoding="utf-8")
    pages = write_chapter_pdf(text.splitlines(), tmp_path / "kazakhstan-2023.pdf")
    src = load_source(tmp_path / "kazakhstan-2023.pdf")
    pdf = parse_report(src.text, paged=True)
    plain = parse_report(text)
    assert pdf.layout == "pdf-wrapped" and pdf.page_count == len(pages) == 31
    assert (pdf.country, pdf.year) == ("Kazakhstan", 2023)
    assert [(s.id, s.title, s.level) for s in pdf.sections] == [(s.id, s.title, s.level) for s in plain.sections]
    sentences = [x for s in pdf.sections for p in s.paragraphs for x in p.sentences]
    assert [x.text for x in sentences] == [x.text for s in plain.sections for p in s.paragraphs for x in p.sentences]
    assert "KAZAKHSTAN 2" not in pdf.text() and "Bureau of Democracy" not in pdf.text()
    # every sentence has the page its first word was printed on
    squeezed, page_at = "", []
    for pno, body in enumerate(pages, 1):
        for line in body:
            page_at.append((len(squeezed), pno))
            squeezed += re.sub(r"\s+", "", line)
    offset = 0
    for x in sentences:
        found = squeezed.find(re.sub(r"\s+", "", x.text), offset)
        assert found >= 0, x.text
        expected = [p for start, p in page_at if start <= found][-1]
        assert x.page == expected, x.text
        offset = found + 1
    assert sentences[0].page == 1 and sentences[-1].page == 31
    assert pdf.section("2.a/internet-freedom").page == pdf.section("2.a/internet-freedom").paragraphs[0].page_start


def test_the_2023_chapter_with_blank_lines_between_paragraphs_parses_the_same(chapters):
    """As a PDF reader that keeps paragraph gaps gives it (the pdf-text layout): the same outline."""
    from qa.ingest import layouts

    text = (FIXTURES / "kazakhstan-2023.txt").read_text(encoding="utf-8")
    gapped = "\n\n".join("\n".join(line.text for line in b.lines) for b in layouts.blocks(layouts.read_lines(text), "pdf-wrapped"))
    report = parse_report("Country Reports on Human Rights Practices for 2023\nKazakhstan 2023 Human Rights Report\n\n" + gapped)
    assert report.layout == "pdf-text" and report.page_count is None
    same = chapters["kazakhstan-2023"]
    assert [(s.id, s.title, s.level) for s in report.sections] == [(s.id, s.title, s.level) for s in same.sections]
