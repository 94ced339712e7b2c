"""Parser facts pinned against the real report."""

import re

from qa.document import default_report_path
from qa.ingest.parse import parse_report

FURNITURE = ("Country Reports on Human Rights Practices", "United States Department of State", "Bureau of Democracy")


def all_sentences(report):
    return [(s, x) for s in report.sections for p in s.paragraphs for x in p.sentences]


def test_seven_sections_with_their_titles(report):
    top = [s for s in report.sections if s.level == 1 and s.number != "summary"]
    assert [s.number for s in top] == ["1", "2", "3", "4", "5", "6", "7"]
    titles = {s.number: s.title for s in top}
    assert titles["1"] == "Respect for the Integrity of the Person, Including Freedom from:"
    assert titles["3"] == "Respect for Political Rights: The Right of Citizens to Change Their Government"
    assert titles["5"].startswith("Governmental Attitude Regarding International and")
    assert titles["5"].endswith("Investigation of Alleged Violations of Human Rights")
    assert titles["7"] == "Worker Rights"


def test_executive_summary_comes_first(report):
    first = report.sections[0]
    assert first.id == "summary" and first.title == "Executive Summary"
    assert first.paragraphs[0].text.startswith("The Republic of Kazakhstan has a parliamentary system")


def test_lettered_subsections_of_section_1_and_7(report):
    lettered = [s.number for s in report.sections if s.level == 2]
    assert [n for n in lettered if n.startswith("1.")] == ["1.a", "1.b", "1.c", "1.d", "1.e", "1.f"]
    assert [n for n in lettered if n.startswith("7.")] == ["7.a", "7.b", "7.c", "7.d"]
    torture = report.section("1.c")
    assert torture.title == "Torture and Other Cruel, Inhuman, or Degrading Treatment or Punishment"


def test_disappearance_starts_page_3(report):
    assert report.section("1.b").page == 3
    assert report.section("1.b").paragraphs[0].text == "There were no reports of disappearances during the year."


def test_released_prisoners_sentence_is_on_page_5_under_prison_conditions(report):
    hits = [(s, x) for s, x in all_sentences(report) if "8,390 prisoners" in x.text]
    assert len(hits) == 1
    section, sentence = hits[0]
    assert sentence.page == 5
    assert section.number == "1.c"
    assert section.headings[-1] == "Prison and Detention Center Conditions"
    assert sentence.text.startswith("January 1 amendments to the criminal code")


def test_stand_alone_and_run_in_headings(report):
    ids = {s.id for s in report.sections}
    for expected in (
        "2.a/internet-freedom",
        "6/women",
        "6/children",
        "6/women/rape-and-domestic-violence",
        "1.d/arrest-procedures-and-treatment-while-in-detention/pretrial-detention",
        "2.d/stateless-persons",
    ):
        assert expected in ids
    pretrial = report.section("1.d/arrest-procedures-and-treatment-while-in-detention/pretrial-detention")
    assert pretrial.level == 4 and pretrial.title == "Pretrial Detention"
    assert pretrial.paragraphs[0].text.startswith("Pretrial Detention: The law allows police")


def test_two_line_headings_are_joined(report):
    assert report.section("2.d").title == "Freedom of Movement, Internally Displaced Persons, Protection of Refugees, and Stateless Persons"
    six = [s for s in report.sections if s.number == "6" and s.title.startswith("Societal Abuses")]
    assert six and six[0].title.endswith("Sexual Orientation and Gender Identity")


def test_no_page_furniture_survives(report):
    text = report.text() + "\n" + "\n".join(h for s in report.sections for h in s.headings)
    for f in FURNITURE:
        assert f not in text
    assert not re.search(r"KAZAKHSTAN \d", text)


def test_line_end_hyphens_are_kept_and_lines_joined(report):
    text = report.text()
    assert "opposition-affiliated groups" in text
    assert "long-running strike" in text
    assert "anti-Semitism by the government" in text
    assert "opposition- affiliated" not in text


def test_pages_are_known_and_never_go_backwards(report):
    pages = [x.page for _, x in all_sentences(report)]
    assert pages[0] == 1 and max(pages) == report.page_count == 37
    assert all(a <= b for a, b in zip(pages, pages[1:]))


def test_sentence_continuing_across_a_page_break_stays_whole(report):
    # "... approximately 52,000 prisoners and [page 5] detainees in pretrial facilities."
    hits = [x for _, x in all_sentences(report) if "52,000 prisoners and detainees in pretrial facilities" in x.text]
    assert len(hits) == 1 and hits[0].page == 4


def test_sentences_are_split_at_sentence_ends_only(report):
    sentences = [x.text for _, x in all_sentences(report)]
    assert len(sentences) > 550
    # an initial is not a sentence end
    assert any("The former Director of the Stepnogorsk pretrial detention facility D. Abetov was charged" in s for s in sentences)
    for s in sentences:
        assert s[0].isupper() or s[0].isdigit() or s[0] in "“\"", s


def test_parser_is_not_country_specific():
    text = default_report_path().read_text(encoding="utf-8").replace("KAZAKHSTAN", "CHAD")
    other = parse_report(text)
    assert other.title == "CHAD" and other.page_count == 37
    assert other.section("1.b").page == 3


def test_unstructured_text_still_gives_paragraphs():
    text = "Some notes.\n\nFirst paragraph here.  It has two sentences.\n\nSecond one.\n"
    r = parse_report(text)
    assert not r.structured
    assert [p.text for s in r.sections for p in s.paragraphs][-1] == "Second one."


def test_format_characters_are_dropped_from_report_text(report):
    """Item 21 of issue 20, at index build: a soft hyphen or zero-width space inside a word of the
    report (PDF text has them) would cut the word in two for BM25 and the speller, and be
    stored invisibly in the sentence; the parser drops them."""
    text = default_report_path().read_text(encoding="utf-8")
    hidden = text.replace("prisoners", "pris\u00adoners").replace("government", "gov\u200bern\u2060ment")
    assert hidden != text
    other = parse_report(hidden)
    assert [p.text for s in other.sections for p in s.paragraphs] == [p.text for s in report.sections for p in s.paragraphs]
