"""Output formats of ask, batch, show and toc (text, json, markdown); colour only on a terminal
and never with NO_COLOR; results on stdout, errors on stderr; --version and --help."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pexpect
import pytest
from click.testing import CliRunner

from qa.front.cli import cli
from qa.front.render import use_color

SGR = re.compile(r"\x1b\[[0-9;]*m")
PRISON = "1.c/prison-and-detention-center-conditions"


def run(args, env, input=None):
    return CliRunner().invoke(cli, args, env=env, input=input, catch_exceptions=False)


# --- ask ------------------------------------------------------------------------------------------


def test_ask_markdown_is_a_note_with_citations_as_a_list(cli_env):
    r = run(["ask", "how many prisoners were released", "--format", "markdown", "-k", "3"], cli_env)
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[0] == "**Q:** how many prisoners were released"
    assert lines[2].startswith("**A:** 8,390 prisoners (p. 5) — *")
    sources = lines[lines.index("**Sources**") + 2 :]
    items = [line for line in sources if re.match(r"\d+\. ", line)]
    assert [line.split(".")[0] for line in items] == ["1", "2", "3"]
    assert items[0] == f"1. §1.c Torture and Other Cruel, Inhuman, or Degrading Treatment... › Prison and Detention Center Conditions — p. 5 (`{PRISON}/4`)"
    # every cited id in the note opens with `kzqa show`
    for line in items:
        ref = re.search(r"\(`([^`]+)`\)$", line).group(1)
        assert run(["show", ref], cli_env).exit_code == 0


def test_ask_json_matches_text(cli_env):
    obj = json.loads(run(["ask", "how many prisoners were released", "--format", "json"], cli_env).stdout)
    text = run(["ask", "how many prisoners were released"], cli_env).stdout
    assert text.startswith(f"Answer: {obj['answer']['text']}  (p. {obj['answer']['page']})")
    for p in obj["passages"]:
        assert f"({p['id']})" in text


# the three outcomes, each with the question that gives it (tests/front/test_web.py asks the same)
OUTCOMES = {"answer": "how many prisoners were released", "unsure": "what languages are spoken",
            "none": "what is the capital of France"}


@pytest.mark.parametrize("level", list(OUTCOMES))
def test_every_format_says_how_sure(cli_env, level):
    """The level in words and the calibrated probability as a percentage, where the answer (or
    "not in the report") is said: text, markdown, and what JSON holds as numbers."""
    from qa.front.render import how_sure, percent

    q = OUTCOMES[level]
    d = json.loads(run(["ask", q, "--json"], cli_env).stdout)["answer"]
    assert d["level"] == level
    said = how_sure(level, d["confidence"])
    assert percent(d["confidence"]) in said and percent(d["confidence"]).rstrip(" %").lstrip("<").isdigit()
    text = run(["ask", q], cli_env).stdout.splitlines()[0]
    markdown = run(["ask", q, "--format", "markdown"], cli_env).stdout.splitlines()[2]
    if level == "none":
        assert text == f"The report does not appear to answer this. The nearest passages ({said}):"
        assert said == f"the closest: {percent(d['confidence'])} likely to answer it"
        assert markdown == f"**A:** The report does not appear to answer this. *(The closest source: {said[13:]}.)*"
    else:
        assert text.endswith(f" — {said}") and markdown.endswith(f" — *{said}*")
    if level == "answer":
        assert text.startswith("Answer: ") and said.split(" (")[0] in ("sure", "fairly sure", "not very sure")


def test_how_sure_words_follow_the_probability():
    from qa.front.render import how_sure

    assert how_sure("answer", 0.9) == "sure (90 %)"
    assert how_sure("answer", 0.4812) == "fairly sure (48 %)"
    assert how_sure("answer", 0.31) == "not very sure (31 %)"  # "Answer:" at 0.31 says so
    assert how_sure("unsure", 0.2) == "unsure (20 %)"
    assert how_sure("none", 0.001) == "the closest: <1 % likely to answer it"


@pytest.mark.parametrize("level", list(OUTCOMES))
def test_nearest_sentences_are_not_marked_like_answers(cli_env, level):
    """An answer's sentence is bold (**…** piped, bold colour on a terminal); when kzqa is unsure
    or finds no answer the passages' nearest sentences are only the closest text: _…_ piped,
    underlined on a terminal, and quoted as such in markdown."""
    q = OUTCOMES[level]
    d = json.loads(run(["ask", q, "--json", "-k", "2"], cli_env).stdout)
    sentences = [p["sentence"] for p in d["passages"] if p["sentence"]]
    flat = " ".join(run(["ask", q, "-k", "2"], cli_env).stdout.split())
    markdown = run(["ask", q, "-k", "2", "--format", "markdown"], cli_env).stdout
    colour_env = {k: v for k, v in cli_env.items() if k != "NO_COLOR"} | {"TERM": "xterm"}
    coloured = on_a_terminal(colour_env, "ask", q, "-k", "2")
    first_words = [s.split()[0] for s in sentences]
    for sentence, start in zip(sentences, first_words):
        if level == "answer":
            assert f"**{sentence}**" in flat and f"_{sentence}_" not in flat
            assert f"   > {sentence}" in markdown
            assert f"\x1b[1;33m{start}" in coloured  # bold colour
        else:
            assert f"_{sentence}_" in flat and f"**{sentence}**" not in flat
            assert f"   > _{sentence}_" in markdown
            assert f"\x1b[4m{start}" in coloured and f"\x1b[1;33m{start}" not in coloured  # underlined, no colour


# --- batch ----------------------------------------------------------------------------------------


@pytest.fixture()
def questions(tmp_path):
    f = tmp_path / "q.txt"
    f.write_text('how many prisoners were released\n{"id": "elec", "question": "who won the presidential election"}\n{oops\n')
    return f


def test_batch_default_is_jsonl(cli_env, questions):
    r = run(["batch", str(questions), "-k", "1"], cli_env)
    assert r.exit_code == 1  # one line could not be read
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["id"] for row in rows] == [1, "elec", 3]
    assert "malformed JSON" in rows[2]["error"]


def test_batch_markdown_is_one_document(cli_env, questions, tmp_path):
    out = tmp_path / "answers.md"
    r = run(["batch", str(questions), "-k", "1", "--format", "markdown", "-o", str(out)], cli_env)
    assert r.exit_code == 1 and r.stdout == ""
    assert "kzqa: wrote 2 answers and 1 error row to" in r.stderr
    doc = out.read_text()
    assert doc.startswith("# Answers\n")
    heads = [line for line in doc.splitlines() if line.startswith("## ")]
    assert heads == ["## 1. how many prisoners were released", "## elec. who won the presidential election", "## 3"]
    assert "**A:** 8,390 prisoners (p. 5)" in doc
    assert "**Error:** line 3: malformed JSON" in doc
    assert doc.count("**Sources**") == 2


def test_batch_text(cli_env, questions):
    r = run(["batch", str(questions), "-k", "1", "--format", "text"], cli_env)
    assert r.exit_code == 1
    assert r.stdout.startswith("── 1: how many prisoners were released\nAnswer: 8,390 prisoners  (p. 5) — ")
    assert "── elec: who won the presidential election\nAnswer: " in r.stdout
    assert "── 3: error\nline 3: malformed JSON" in r.stdout
    assert "kzqa: warning: line 3: malformed JSON" in r.stderr
    assert "\x1b[" not in r.stdout


# --- show -----------------------------------------------------------------------------------------


def test_show_json(cli_env):
    r = run(["show", f"{PRISON}/4", "--format", "json"], cli_env)
    assert r.exit_code == 0
    obj = json.loads(r.stdout)
    assert obj["kind"] == "passage" and obj["section"] == "1.c" and obj["section_id"] == PRISON
    assert obj["headings"][-1] == "Prison and Detention Center Conditions"
    assert (obj["page_start"], obj["page_end"]) == (4, 5)
    assert obj["passage"]["id"] == f"{PRISON}/4" and obj["passage"]["page_start"] == 5
    paragraphs = obj["sections"][0]["paragraphs"]
    marked = [s["text"] for p in paragraphs for s in p["sentences"] if s["marked"]]
    assert " ".join(marked) == " ".join(obj["passage"]["text"].split())
    assert [p["marked"] for p in paragraphs][:3] == [False, False, False]
    # the passage starts inside the fourth paragraph, where page 5 begins
    fourth = paragraphs[3]["sentences"]
    assert [s["marked"] for s in fourth] == [s["page"] == 5 for s in fourth] and fourth[0]["page"] == 4
    assert all(p["text"] == " ".join(s["text"] for s in p["sentences"]) for p in paragraphs)


def test_show_page_says_where_its_first_and_last_paragraphs_begin_and_end(cli_env):
    """Item 22 of issue 13: p. 5 opens with a paragraph that begins on p. 4; say so."""
    text = run(["show", "p5"], cli_env).stdout
    assert text.splitlines()[1] == "The first paragraph begins on p. 4, before this page. The last paragraph runs on to p. 6."
    assert "*The first paragraph begins on p. 4, before this page." in run(["show", "p5", "--format", "markdown"], cli_env).stdout
    assert "begins on" not in run(["show", "p1"], cli_env).stdout.splitlines()[1]


def test_show_page_json(cli_env):
    obj = json.loads(run(["show", "p12", "--format", "json"], cli_env).stdout)
    assert obj["kind"] == "page" and obj["page"] == 12 and obj["passage"] is None
    assert all(p["page_start"] <= 12 <= p["page_end"] for s in obj["sections"] for p in s["paragraphs"])
    assert "2.a/internet-freedom" in [s["id"] for s in obj["sections"]]


def test_show_markdown(cli_env):
    r = run(["show", f"{PRISON}/4", "--format", "markdown"], cli_env)
    assert r.exit_code == 0
    md = r.stdout
    assert md.startswith(
        "## §1.c Torture and Other Cruel, Inhuman, or Degrading Treatment or Punishment › Prison and Detention Center Conditions — pp. 4–5\n"
    )
    assert "*[p. 4]* Prison conditions were harsh" in md
    assert "*[p. 5]* **The government took steps to decrease the total number of prisoners." in md
    assert md.rstrip().endswith(
        f"Source: *Country Reports on Human Rights Practices — Kazakhstan*, §1.c, pp. 4–5; passage `{PRISON}/4` in bold."
    )
    section = run(["show", "1.c", "--format", "markdown"], cli_env).stdout
    assert "\n### Prison and Detention Center Conditions\n" in section  # sub-headings as headings


def test_toc_json_and_markdown(cli_env):
    obj = json.loads(run(["toc", "--format", "json"], cli_env).stdout)
    assert obj["title"] == "KAZAKHSTAN" and obj["page_count"] == 37
    internet = next(e for e in obj["entries"] if e["id"] == "2.a/internet-freedom")
    assert internet == {
        "id": "2.a/internet-freedom", "number": "2.a", "label": "Internet Freedom", "title": "Internet Freedom",
        "level": 3, "depth": 2, "page": 12, "page_end": 13,
    }
    md = run(["toc", "--format", "markdown"], cli_env).stdout.splitlines()
    assert md[0] == "## KAZAKHSTAN — contents"
    assert "    - Internet Freedom — p. 12 (`2.a/internet-freedom`)" in md
    assert "- Section 7. Worker Rights — p. 32 (`7`)" in md


# --- colour ---------------------------------------------------------------------------------------


def test_use_color_rules(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert use_color(True) is True
    assert use_color(False) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color(True) is False
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert use_color(True) is False


def on_a_terminal(env, *args) -> str:
    child = pexpect.spawn(sys.executable, ["-m", "qa.front.cli", *args], env=env, encoding="utf-8", timeout=30, dimensions=(50, 200))
    out = child.read()
    child.close()
    assert child.exitstatus == 0, out
    return out


@pytest.mark.parametrize("args", [["ask", "how many prisoners were released"], ["show", f"{PRISON}/4"], ["toc"]])
def test_colour_only_on_a_terminal_and_never_with_no_color(cli_env, args):
    colour_env = {k: v for k, v in cli_env.items() if k != "NO_COLOR"} | {"TERM": "xterm"}
    assert SGR.search(on_a_terminal(colour_env, *args))
    assert not SGR.search(on_a_terminal(colour_env | {"NO_COLOR": "1"}, *args))
    piped = subprocess.run([sys.executable, "-m", "qa.front.cli", *args], capture_output=True, text=True, env=colour_env, timeout=60)
    assert piped.returncode == 0 and piped.stdout and not SGR.search(piped.stdout)


def test_show_marks_the_passage_in_colour(cli_env):
    colour_env = {k: v for k, v in cli_env.items() if k != "NO_COLOR"} | {"TERM": "xterm"}
    out = on_a_terminal(colour_env, "show", f"{PRISON}/4")
    assert "\x1b[33m┃\x1b[0m \x1b[1mThe government took steps" in out


# --- streams, version, help -----------------------------------------------------------------------


def test_results_on_stdout_errors_on_stderr(cli_env):
    ok = subprocess.run([sys.executable, "-m", "qa.front.cli", "show", "Amnesty"], capture_output=True, text=True, env=cli_env, timeout=60)
    assert ok.returncode == 0 and ok.stderr == "" and "Amnesty: An amnesty bill" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "qa.front.cli", "show", "p400"], capture_output=True, text=True, env=cli_env, timeout=60)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr == "kzqa: error: there is no page 400; the report has pages 1–37\n"
    usage = subprocess.run([sys.executable, "-m", "qa.front.cli", "show", "p5", "--format", "html"], capture_output=True, text=True, env=cli_env, timeout=60)
    assert usage.returncode == 2 and usage.stdout == "" and "Invalid value for '--format'" in usage.stderr


def test_version(cli_env):
    from qa import __version__

    r = run(["--version"], cli_env)
    assert r.exit_code == 0 and r.stdout == f"kzqa, version {__version__}\n"


def test_every_command_has_help_with_a_real_example(cli_env):
    for name, command in cli.commands.items():
        r = run([name, "--help"], cli_env)
        assert r.exit_code == 0, name
        assert "Example" in r.stdout, name
        examples = r.stdout.split("Example", 1)[1]
        assert f"kzqa {name}" in examples, name


@pytest.mark.parametrize(
    "args",
    [
        ["show", f"{PRISON}/4"],
        ["show", "Internet Freedom"],
        ["show", "p5", "--format", "markdown"],
        ["toc", "--depth", "2"],
        ["batch", "-", "--format", "markdown"],
    ],
)
def test_help_examples_run(cli_env, args):
    r = run(args, cli_env, input="how many prisoners were released\n")
    assert r.exit_code == 0 and r.stdout and r.stderr == ""
