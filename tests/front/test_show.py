"""`kzqa show` and `kzqa toc`: what a reference points to (qa.search.outline), and the commands."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from qa.front.cli import cli
from qa.errors import KzqaError
from qa.search.outline import RefError, excerpt, resolve_ref, show, toc_entries, toc_lines

PRISON = "1.c/prison-and-detention-center-conditions"


def run(args, env):
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


# --- resolving references -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref, kind, section_id, page",
    [
        (f"{PRISON}/4", "passage", PRISON, None),
        (f"({PRISON}/4)", "passage", PRISON, None),  # as printed by `ask`, brackets and all
        ("1.c", "section", "1.c", None),
        ("1C", "section", "1.c", None),
        ("§1.c", "section", "1.c", None),
        ("6", "section", "6", None),
        ("Section 6", "section", "6", None),
        ("summary", "section", "summary", None),
        ("Executive Summary", "section", "summary", None),
        ("Internet Freedom", "heading", "2.a/internet-freedom", None),
        ("internet FREEDOM", "heading", "2.a/internet-freedom", None),
        ("internet", "heading", "2.a/internet-freedom", None),  # a unique prefix
        ("Torture", "section", "1.c", None),  # prefix of a lettered subsection's title
        ("c. Torture and Other Cruel", "section", "1.c", None),  # the heading as printed
        ("Discrimination", "heading", "6/women/discrimination", None),  # an exact title beats prefixes
        ("6/women", "heading", "6/women", None),
        ("p5", "page", None, 5),
        ("p. 5", "page", None, 5),
        ("page 37", "page", None, 37),
        ("PAGE 1", "page", None, 1),
    ],
)
def test_resolve_ref(index, ref, kind, section_id, page):
    target = resolve_ref(index.report, index.chunks, ref)
    assert target.kind == kind
    assert (target.section.id if target.section else None) == section_id
    assert target.page == page
    if kind == "passage":
        assert target.chunk.id == f"{PRISON}/4"


def test_ambiguous_heading_lists_candidates(index):
    with pytest.raises(RefError) as err:
        resolve_ref(index.report, index.chunks, "freedom of")
    assert isinstance(err.value, KzqaError)
    assert "'freedom of' matches 9 headings" in str(err.value)
    assert "2.b/freedom-of-assembly “Freedom of Assembly”" in str(err.value)
    assert set(err.value.candidates) >= {"2.a", "2.b/freedom-of-association", "2.c", "7.a"}
    # every candidate it offers is itself a reference that works
    for cand in err.value.candidates:
        assert resolve_ref(index.report, index.chunks, cand).section.id == cand


@pytest.mark.parametrize(
    "ref, message",
    [
        ("Internet Fredom", "did you mean: 2.a/internet-freedom “Internet Freedom”?"),
        ("xyzzy plugh", "nothing matches 'xyzzy plugh'"),
        ("p0", "there is no page 0; the report has pages 1–37"),
        ("page 38", "there is no page 38"),
        ("9", "there is no section 9"),
        ("1.z", "there is no section 1.z"),
        (f"{PRISON}/9", f"no passage 9 under {PRISON} “Prison and Detention Center Conditions”; it has passages 1–"),
        ("  ", "the reference is empty"),
    ],
)
def test_bad_refs(index, ref, message):
    with pytest.raises(RefError) as err:
        resolve_ref(index.report, index.chunks, ref)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


# --- excerpts -------------------------------------------------------------------------------------


def test_passage_is_shown_in_its_subsection_with_its_sentences_marked(index):
    chunk = next(c for c in index.chunks if c.id == f"{PRISON}/4")
    ex = show(index.report, index.chunks, chunk.id)
    assert ex.kind == "passage" and ex.root.id == PRISON
    assert [p.section.id for p in ex.parts] == [PRISON]
    marked = [s for part in ex.parts for para in part.paragraphs for s, m in zip(para.sentences, para.marked) if m]
    assert marked == list(chunk.sentences)
    everything = [s for part in ex.parts for para in part.paragraphs for s in para.sentences]
    assert everything == [s for p in index.report.section(PRISON).paragraphs for s in p.sentences]
    assert (ex.page_start, ex.page_end) == (4, 5)


def test_every_passage_can_be_shown_and_marks_exactly_itself(index):
    for chunk in index.chunks:
        ex = show(index.report, index.chunks, chunk.id)
        marked = [s for part in ex.parts for para in part.paragraphs for s, m in zip(para.sentences, para.marked) if m]
        assert marked == list(chunk.sentences), chunk.id
        assert ex.page_start <= chunk.page_start <= chunk.page_end <= ex.page_end


def test_run_in_heading_passage_widens_to_its_subsection(index):
    ex = show(index.report, index.chunks, "1.d/arrest-procedures-and-treatment-while-in-detention/amnesty/1")
    assert ex.root.id == "1.d/arrest-procedures-and-treatment-while-in-detention"
    assert [p.section.title for p in ex.parts] == [
        "Arrest Procedures and Treatment While in Detention", "Arbitrary Arrest", "Pretrial Detention", "Amnesty",
    ]


def test_passage_under_a_numbered_section_stays_out_of_its_subheadings(index):
    ex = show(index.report, index.chunks, "6/1")
    assert [p.section.id for p in ex.parts] == ["6"]  # not the eight pages of Women, Children, ...


def test_sections_include_all_their_subheadings(index):
    ex = show(index.report, index.chunks, "1.c")
    assert [p.section.id for p in ex.parts] == ["1.c", PRISON]
    assert [p.depth for p in ex.parts] == [0, 1]
    ex = show(index.report, index.chunks, "6")
    ids = [p.section.id for p in ex.parts]
    assert ids[0] == "6" and "6/women/rape-and-domestic-violence" in ids and ids[-1] == "6/other-societal-violence-or-discrimination"
    assert "7" not in ids and (ex.page_start, ex.page_end) == (25, 32)
    assert not any(m for part in ex.parts for para in part.paragraphs for m in para.marked)


def test_page_shows_every_paragraph_on_it(index):
    ex = show(index.report, index.chunks, "p5")
    shown = [para.text for part in ex.parts for para in part.paragraphs]
    expected = [p.text for s in index.report.sections for p in s.paragraphs if p.page_start <= 5 <= p.page_end]
    assert shown == expected and len(shown) >= 3
    assert {part.section.id for part in ex.parts} >= {PRISON, "1.d", "1.d/role-of-the-police-and-security-apparatus"}
    assert ex.root is None and (ex.page_start, ex.page_end) == (5, 5)


def test_excerpt_accepts_a_string(index):
    assert excerpt(index.report, index.chunks, "Amnesty").root.title == "Amnesty"


# --- table of contents ----------------------------------------------------------------------------


def test_toc_entries_follow_the_document(index):
    report = index.report
    entries = toc_entries(report)
    assert [e.id for e in entries] == [s.id for s in report.sections]
    assert [e.page for e in entries] == sorted(e.page for e in entries)
    assert [e.id for e in toc_entries(report, depth=1)] == ["summary", "1", "2", "3", "4", "5", "6", "7"]
    by_id = {e.id: e for e in entries}
    assert by_id["2.a/internet-freedom"].page == 12 and by_id["6"].page_end == 32
    assert by_id["1.c"].label.startswith("1.c  Torture")


def test_toc_lines_look_like_a_printed_contents(index):
    lines = toc_lines(index.report, width=80)
    assert lines[0] == "KAZAKHSTAN — contents (37 pages)"
    assert all(len(line) <= 80 for line in lines)
    assert any(line.startswith("   1.a  Arbitrary or Unlawful Deprivation of Life .") and line.endswith("  2") for line in lines)
    internet = next(line for line in lines if "Internet Freedom" in line)
    assert internet.startswith("        Internet Freedom .") and internet.endswith(" 12")


# --- the commands ---------------------------------------------------------------------------------


def test_show_passage_text(cli_env):
    r = run(["show", f"{PRISON}/4"], cli_env)
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:4] == [
        "Section 1. Respect for the Integrity of the Person, Including Freedom from:",
        "  c. Torture and Other Cruel, Inhuman, or Degrading Treatment or Punishment",
        "    Prison and Detention Center Conditions",
        f"§1.c · pp. 4–5 · passage {PRISON}/4 (p. 5) marked ┃",
    ]
    assert "── p. 4 ──" in lines and "── p. 5 ──" in lines
    assert lines.index("── p. 4 ──") < lines.index("── p. 5 ──")
    marked = [line for line in lines if line.startswith("  ┃ ")]
    assert marked[0] == "  ┃ The government took steps to decrease the total number of prisoners. January 1 amendments to the"
    assert any("8,390" in line for line in marked)
    assert not any("Prison conditions were harsh" in line for line in marked)
    assert r.stderr == ""


def test_ask_then_show_the_cited_page(cli_env):
    """The everyday path: ask, take the first citation's id, read around it, then read its page."""
    answer = json.loads(run(["ask", "how many prisoners were released", "--json"], cli_env).stdout)
    first = answer["passages"][0]
    r = run(["show", first["id"]], cli_env)
    assert r.exit_code == 0
    marked = " ".join(line[4:] for line in r.stdout.splitlines() if line.startswith("  ┃ "))
    assert " ".join(answer["answer"]["sentence"].split()) in " ".join(marked.split())
    page = run(["show", "page", str(answer["answer"]["page"])], cli_env)  # unquoted words work too
    assert page.exit_code == 0
    assert page.stdout.startswith(f"Page {answer['answer']['page']} of 37\n")
    assert "resulting in the release of 8,390 prisoners." in " ".join(page.stdout.split())


def test_show_section_heading_and_page(cli_env):
    r = run(["show", "1.c"], cli_env)
    assert r.exit_code == 0 and "§1.c · pp. 3–5" in r.stdout
    assert "\nPrison and Detention Center Conditions\n" in r.stdout  # its sub-heading, inside
    r = run(["show", "internet freedom"], cli_env)
    assert r.exit_code == 0 and "    Internet Freedom\n§2.a · pp. 12–13\n" in r.stdout
    r = run(["show", "p12"], cli_env)
    assert r.exit_code == 0
    assert "Section 2. Respect for Civil Liberties, Including: › a. Freedom of Speech and Press › Internet Freedom" in r.stdout


@pytest.mark.parametrize(
    "ref, message",
    [
        ("freedom of", "kzqa: error: 'freedom of' matches 9 headings: 2.a “Freedom of Speech and Press”;"),
        ("p0", "kzqa: error: there is no page 0; the report has pages 1–37"),
        ("nothing-like-this", "kzqa: error: nothing matches 'nothing-like-this'"),
    ],
)
def test_show_errors_are_one_line_on_stderr(cli_env, ref, message):
    r = run(["show", ref], cli_env)
    assert r.exit_code == 1
    assert r.stdout == ""
    assert r.stderr.startswith(message) and r.stderr.count("\n") == 1


def test_show_needs_a_ref(cli_env):
    r = run(["show"], cli_env)
    assert r.exit_code == 2 and "Missing argument 'REF...'" in r.stderr


def test_toc_command(cli_env):
    r = run(["toc"], cli_env)
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[0] == "KAZAKHSTAN — contents (37 pages)"
    assert lines[2].startswith("Executive Summary .") and lines[2].endswith(" 1")
    assert lines[-1].startswith("   7.d  Acceptable Conditions of Work .") and lines[-1].endswith(" 36")
    shallow = run(["toc", "--depth", "1"], cli_env).stdout.splitlines()
    assert len(shallow) == 2 + 8 + 3  # title, blank, summary and 7 sections; 1, 3 and 5 take two lines
    assert sum(line.startswith("Section ") for line in shallow) == 7
    assert run(["toc", "--depth", "5"], cli_env).exit_code == 2


def test_completion_offers_section_ids(cli_env):
    import subprocess
    import sys

    env = {**cli_env, "COMP_WORDS": "kzqa show 2.a/i", "COMP_CWORD": "2", "_KZQA_COMPLETE": "bash_complete"}
    out = subprocess.run([sys.executable, "-m", "qa.front.cli"], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.split() == ["plain,2.a/internet-freedom"]
    env["_KZQA_COMPLETE"] = "bash_source"
    script = subprocess.run([sys.executable, "-m", "qa.front.cli"], capture_output=True, text=True, env=env, timeout=60).stdout
    assert "complete -o nosort -F _kzqa_completion kzqa" in script


def readme_blocks(prefixes):
    """(command, expected output) of the README's ```console blocks whose command starts so."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    blocks = []
    for body in text.split("```console\n")[1:]:
        lines = body.split("\n```", 1)[0].split("\n")
        if lines[0].startswith(tuple("$ " + p for p in prefixes)):
            blocks.append((lines[0][2:], "\n".join(lines[1:]) + "\n"))
    return blocks


def test_readme_tour_show_and_toc_output_is_real(cli_env):
    import subprocess

    blocks = readme_blocks(["kzqa show", "kzqa toc"])
    assert len(blocks) >= 4
    for command, expected in blocks:
        out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=cli_env, timeout=60)
        assert out.stdout + out.stderr == expected, command


def test_every_section_and_page_renders_in_every_format(index):
    from qa.front.render import render_excerpt
    from qa.settings import FORMATS

    refs = [s.id for s in index.report.sections] + [f"p{n}" for n in range(1, index.report.page_count + 1)]
    for ref in refs:
        ex = show(index.report, index.chunks, ref)
        assert ex.parts and any(part.paragraphs for part in ex.parts), ref  # never an empty answer
        for fmt in FORMATS:
            out = render_excerpt(ex, fmt, report_title=index.report.title)
            assert out.endswith("\n") and len(out) > 40, (ref, fmt)
        if ex.kind == "page":
            assert f"── p. {ex.target.page} ──" in render_excerpt(ex, "text")


def test_show_and_toc_stay_light(cli_env):
    """Reading the report never loads torch or sentence-transformers."""
    import subprocess
    import sys

    for args in (["show", "p5"], ["toc"]):
        probe = (
            f"from qa.front.cli import cli\ntry:\n    cli({args!r})\nexcept SystemExit:\n    pass\n"
            "import sys\nprint('HEAVY', sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sentence_transformers')))"
        )
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=cli_env, timeout=60)
        assert out.stdout.strip().splitlines()[-1] == "HEAVY []", args
