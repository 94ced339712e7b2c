"""Other Country Reports, and documents that are not reports: `kzqa index FILE --name`, text and
PDF, `kzqa ask --index NAME` / `--report NAME`, `kzqa list`.

The reports are our own (tests/fakereport.py): a chapter on a fictional RURITANIA written out as
the State Department's extracted text and as a ten-page PDF made with reportlab, with running
headers, footers, lettered subsections, stand-alone and run-in headings. The generator knows the
page each sentence starts on; parsing, pages and citations must survive the round trip.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fakereport import FACTS, GARDEN_FACTS, garden_text, paginate, ruritania, ruritania_blocks, write_garden_pdf
from faulthelpers import link_index, sql
from qa.front.cli import cli
from qa.ingest.parse import parse_report
from qa.ingest.sources import read_source
from qa.index.read import read_manifest
from qa.index.naming import resolve_location

SECTION_NUMBERS = [
    "summary", "1", "1.a", "1.b", "1.c", "1.c", "1.d", "1.d", "2", "2.a", "2.a", "2.a", "2.b",
    "3", "4", "5", "6", "6", "6", "7", "7.a", "7.b",
]


def run(args, env, input=None):
    return CliRunner().invoke(cli, args, env=env, input=input, catch_exceptions=False)


@pytest.fixture(scope="module")
def fake():
    return ruritania()


@pytest.fixture(scope="module")
def built(index_dir, tmp_path_factory, fake):
    """One root with the shipped index and four more: Ruritania as text and as PDF, and a
    gardening document (not a report) as text and as PDF. Built once, through the CLI."""
    root = tmp_path_factory.mktemp("reports")
    files = tmp_path_factory.mktemp("report-files")
    link_index(index_dir, root)
    txt = files / "ruritania-2011.txt"
    txt.write_text(fake.as_text(), encoding="utf-8")
    pdf = fake.write_pdf(files / "ruritania-2011.pdf")
    garden_txt = files / "garden.txt"
    garden_txt.write_text(garden_text(), encoding="utf-8")
    garden_pdf = write_garden_pdf(files / "garden.pdf")
    env = {"KZQA_INDEX_DIR": str(root), "NO_COLOR": "1"}
    results = {
        "ruritania-2011": run(["index", str(txt)], env),  # name from the file's stem
        "rur-pdf": run(["index", str(pdf), "--name", "rur-pdf"], env),
        "garden": run(["index", str(garden_txt), "--name", "garden"], env),
        "garden-pdf": run(["index", str(garden_pdf), "--name", "garden-pdf"], env),
    }
    return {"root": root, "env": env, "results": results, "txt": txt, "pdf": pdf, "garden_txt": garden_txt, "garden_pdf": garden_pdf}


def stored_report(root: Path, name: str) -> dict:
    (row,) = sql(resolve_location(root, name).path, "SELECT json FROM report")
    return json.loads(row[0])


def ask_json(built, name, question, option="--index"):
    r = run(["ask", question, option, name, "--json", "-k", "3"], built["env"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_reports_index_as_text_and_as_pdf(built, fake):
    for name in ("ruritania-2011", "rur-pdf"):
        r = built["results"][name]
        assert r.exit_code == 0, r.output
        assert f"built index '{name}'" in r.stdout and f"{fake.page_count} pages" in r.stdout
        assert "warning" not in r.stderr and "Traceback" not in r.output
    m = read_manifest(resolve_location(built["root"], "rur-pdf")).data
    assert m["corpus"]["kind"] == "pdf" and m["corpus"]["structured"] is True
    assert m["corpus"]["title"] == "RURITANIA" and m["corpus"]["page_count"] == 10


@pytest.mark.parametrize("name", ["ruritania-2011", "rur-pdf"])
def test_sections_and_every_sentence_page_survive_the_round_trip(built, fake, name):
    rep = stored_report(built["root"], name)
    assert rep["title"] == "RURITANIA" and rep["page_count"] == fake.page_count
    assert [s["number"] for s in rep["sections"]] == SECTION_NUMBERS
    ids = [s["id"] for s in rep["sections"]]
    for expected in ("1.c/prison-and-detention-center-conditions", "2.a/internet-freedom", "6/women", "6/children",
                     "1.d/pretrial-detention", "2.a/freedom-of-press"):
        assert expected in ids
    assert rep["sections"][ids.index("1.d/pretrial-detention")]["level"] == 4  # run-in heading
    assert rep["sections"][ids.index("3")]["title"] == "Respect for Political Rights: The Right of Citizens to Change Their Government"
    got = [(text, page) for s in rep["sections"] for p in s["paragraphs"] for text, page in p["sentences"]]
    assert got == fake.sentences  # every sentence, whole, in order, on the page it starts on
    text = " ".join(t for t, _ in got)
    assert "Country Reports" not in text and "RURITANIA 2" not in text and "Bureau of Democracy" not in text


def test_text_and_pdf_give_the_same_index(built):
    a, b = stored_report(built["root"], "ruritania-2011"), stored_report(built["root"], "rur-pdf")
    assert a["sections"] == b["sections"]


CITED = [
    ("how many prisoners were released in the amnesty", "4,217", FACTS["amnesty"], "1.c", "Prison and Detention Center Conditions"),
    ("how many websites were blocked", "312", FACTS["websites"], "2.a", "Internet Freedom"),
    ("what percent of the vote did Elphberg win in the presidential election", "71 percent", FACTS["election"], "3", None),
    ("what was the minimum monthly wage", "18,500", FACTS["wage"], "7.b", "b. Acceptable Conditions of Work"),
]


@pytest.mark.parametrize("name", ["ruritania-2011", "rur-pdf"])
@pytest.mark.parametrize("question, answer, sentence, section, heading", CITED, ids=[c[1] for c in CITED])
def test_answers_cite_section_and_page(built, fake, name, question, answer, sentence, section, heading):
    obj = ask_json(built, name, question)
    a = obj["answer"]
    assert a["found"] and answer in a["text"], a
    assert a["sentence"] == sentence
    assert a["page"] == fake.page_of(sentence)
    top = obj["passages"][0]
    assert top["section"] == section and sentence in top["text"]
    assert top["page_start"] <= a["page"] <= top["page_end"]
    assert top["headings"][0].startswith(f"Section {section[0]}.")
    if heading:
        assert top["headings"][-1] == heading


def test_report_option_is_an_alias_and_text_output_cites(built, fake):
    r = run(["ask", "how many websites were blocked", "--report", "rur-pdf"], built["env"])
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("Answer: 312 websites")
    assert f"§2.a Freedom of Speech and Press › Internet Freedom — p. {fake.page_of(FACTS['websites'])}" in r.stdout


def test_default_is_still_the_shipped_report(built):
    r = run(["ask", "how many prisoners were released", "--json"], built["env"])
    assert r.exit_code == 0
    assert "8,390" in json.loads(r.stdout)["answer"]["text"]


def test_list_shows_every_index(built):
    r = run(["list", "--json"], built["env"])
    assert r.exit_code == 0, r.output
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert set(rows) == {"kazakhstan-2011", "ruritania-2011", "rur-pdf", "garden", "garden-pdf"}
    for row in rows.values():
        assert row["status"] == "ok" and row["problem"] is None
        assert row["model"] == "sentence-transformers/all-MiniLM-L6-v2"
        assert row["chunks"] > 0 and row["built"] and (row["pages"] is None) == (row["name"] == "garden")
    assert rows["kazakhstan-2011"]["default"] and rows["kazakhstan-2011"]["pages"] == 37
    assert rows["kazakhstan-2011"]["source"] == "shipped report"
    assert rows["rur-pdf"]["pages"] == 10 and rows["rur-pdf"]["kind"] == "pdf" and rows["rur-pdf"]["title"] == "RURITANIA"
    assert rows["rur-pdf"]["source"] == str(built["pdf"].resolve())
    assert rows["garden-pdf"]["structured"] is False and rows["garden-pdf"]["pages"] == 3
    table = run(["list"], built["env"])
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["NAME", "REPORT", "LAYOUT", "PAGES", "PASSAGES", "MODEL", "BUILT", "STATUS"]
    default = next(line for line in lines if line.startswith("kazakhstan-2011*"))
    assert "Kazakhstan 2011" in default and " pdf-text " in default and " 37 " in default
    assert "all-MiniLM-L6-v2" in default and default.endswith("ok")
    assert any(line.startswith("rur-pdf ") and "Ruritania 2011 (ruritania-2011.pdf)" in line for line in lines)
    assert rows["rur-pdf"]["country"] == "Ruritania" and rows["rur-pdf"]["year"] == 2011


def test_indexing_the_same_file_again_is_up_to_date(built):
    r = run(["index", str(built["txt"])], built["env"])
    assert r.exit_code == 0 and "is up to date" in r.stdout


def test_a_name_holding_another_report_is_not_replaced(built):
    before = read_manifest(resolve_location(built["root"], "rur-pdf")).data
    r = run(["index", str(built["garden_txt"]), "--name", "rur-pdf"], built["env"])
    assert r.exit_code == 1
    assert r.stderr.startswith("kzqa: error: index 'rur-pdf' holds another report (") and "--rebuild" in r.stderr
    assert read_manifest(resolve_location(built["root"], "rur-pdf")).data == before


def test_the_shipped_reports_name_is_kept_for_it(built):
    r = run(["index", str(built["txt"]), "--name", "kazakhstan-2011"], built["env"])
    assert r.exit_code == 1 and "kept for the shipped report" in r.stderr


def test_unknown_index_name_lists_the_known_ones(built):
    r = run(["ask", "torture", "--index", "chad"], built["env"])
    assert r.exit_code == 1
    assert "no index named 'chad'" in r.stderr and "rur-pdf" in r.stderr and "kzqa index FILE --name chad" in r.stderr


@pytest.mark.parametrize("name", ["garden", "garden-pdf"])
def test_a_document_that_is_not_a_report_indexes_by_paragraphs_with_a_warning(built, name):
    r = built["results"][name]
    assert r.exit_code == 0, r.output
    assert "kzqa: warning: no section structure found" in r.stderr
    rep = stored_report(built["root"], name)
    assert rep["structured"] is False
    assert {s["number"] for s in rep["sections"]} == {"text"}
    paragraphs = [p for s in rep["sections"] for p in s["paragraphs"]]
    assert len(paragraphs) == 6  # every paragraph kept as a paragraph
    sentences = [t for p in paragraphs for t, _ in p["sentences"]]
    assert GARDEN_FACTS["compost"] in sentences  # single-spaced sentences are split too


def test_pdf_pages_are_cited_for_a_document_that_is_not_a_report(built):
    obj = ask_json(built, "garden-pdf", "how often should a compost heap be turned")
    assert obj["answer"]["sentence"] == GARDEN_FACTS["compost"]
    assert obj["answer"]["page"] == 2  # the PDF's second page
    obj = ask_json(built, "garden-pdf", "when is the last spring frost")
    assert obj["answer"]["page"] == 3 and "April 20" in obj["answer"]["text"]
    obj = ask_json(built, "garden", "when is the last spring frost")
    assert obj["answer"]["page"] is None  # plain text has no pages: none is invented
    assert all(p["page_start"] is None and p["page_end"] is None for p in obj["passages"])


# ---------------------------------------------------------------- parser generality, no index

def _sentences(report):
    return [(x.text, x.page) for s in report.sections for p in s.paragraphs for x in p.sentences]


@pytest.mark.parametrize("country", ["CÔTE D’IVOIRE", "BOSNIA AND HERZEGOVINA", "KOREA, DEMOCRATIC PEOPLE’S REPUBLIC OF"])
def test_running_headers_of_any_country_name(country):
    fake = paginate(ruritania_blocks(), country=country)
    text = fake.as_text().replace("RURITANIA\n", f"{country}\n", 1).replace("RURITANIA \n", f"{country} \n", 1)
    rep = parse_report(text)
    assert rep.title == country and rep.page_count == fake.page_count
    assert _sentences(rep) == fake.sentences
    assert country + " 2" not in rep.text()


def test_later_years_title_line_and_one_line_footer(fake):
    text = fake.as_text().replace("RURITANIA \n", "RURITANIA 2012 HUMAN RIGHTS REPORT \n", 1)
    text = text.replace(
        "Country Reports on Human Rights Practices for 2011 \nUnited States",
        "Country Reports on Human Rights Practices for 2012 United States",
    )
    rep = parse_report(text)
    assert rep.title == "RURITANIA" and rep.page_count == fake.page_count
    assert _sentences(rep) == fake.sentences


def test_pdf_text_without_leading_spaces_or_headers_still_counts_pages(fake, tmp_path):
    pdf = fake.write_pdf(tmp_path / "r.pdf")
    text, kind = read_source(pdf)
    assert kind == "pdf" and text.count("\f") == fake.page_count - 1
    bare = "\n".join(line.lstrip() for line in text.split("\n"))  # an extractor that drops leading spaces
    no_headers = "\n".join(line for line in bare.split("\n") if not line.replace("\f", "").startswith("RURITANIA "))
    for variant in (bare, no_headers):
        rep = parse_report(variant)
        assert rep.page_count == fake.page_count and _sentences(rep) == fake.sentences


def test_indented_plain_text_is_not_paged_by_its_indents():
    text = "MY NOTES\n\n Indented first paragraph.  It has two sentences.\n\n Another indented one.\n"
    rep = parse_report(text)
    assert rep.page_count is None and not rep.structured  # no pages shown: none invented
    assert [x.text for p in rep.sections[0].paragraphs for x in p.sentences] == [
        "Indented first paragraph.", "It has two sentences.", "Another indented one.",
    ]


def test_one_space_after_a_full_stop_parses_the_same(fake):
    """Most PDFs put one space between sentences (the State Department's text has two)."""
    import re

    single = re.sub(r"(?<=\S)  (?=\S)", " ", fake.as_text())
    assert not any("  " in line.strip() for line in single.splitlines())
    rep, ref = parse_report(single), parse_report(fake.as_text())
    assert _sentences(rep) == fake.sentences
    assert [(s.id, s.level, s.page) for s in rep.sections] == [(s.id, s.level, s.page) for s in ref.sections]
