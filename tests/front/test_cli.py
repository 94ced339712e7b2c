"""The CLI through click's CliRunner: text, JSON, batch, index, errors."""

import json

from click.testing import CliRunner

from qa.front.cli import cli


def run(args, env, input=None):
    return CliRunner().invoke(cli, args, env=env, input=input, catch_exceptions=False)


def test_ask_text_output(cli_env):
    r = run(["ask", "how many prisoners were released"], cli_env)
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("Answer: 8,390 prisoners")
    assert "[1] §1.c Torture and Other Cruel" in r.stdout
    assert "Prison and Detention Center Conditions — p. 5" in r.stdout
    assert "**January 1 amendments" in r.stdout  # the answering sentence, marked when piped
    assert "\x1b[" not in r.stdout


def test_ask_json_is_exactly_one_object(cli_env):
    r = run(["ask", "how many prisoners were released", "--json", "-k", "4"], cli_env)
    assert r.exit_code == 0
    obj = json.loads(r.stdout)
    assert obj["question"] == "how many prisoners were released"
    assert obj["answer"]["found"] is True and "8,390" in obj["answer"]["text"]
    assert len(obj["passages"]) == 4
    assert obj["passages"][0]["headings"][0].startswith("Section ")


def test_ask_markdown(cli_env):
    r = run(["ask", "who won the presidential election", "--format", "markdown"], cli_env)
    assert r.exit_code == 0
    assert r.stdout.startswith("**Q:** who won the presidential election")
    assert "**Sources**" in r.stdout and "1. §" in r.stdout


def test_ask_reads_stdin(cli_env):
    r = run(["ask", "-", "--json"], cli_env, input="how many prisoners were released\n")
    assert r.exit_code == 0 and json.loads(r.stdout)["answer"]["found"]


def test_bm25_mode(cli_env):
    r = run(["ask", "hazing", "--mode", "bm25", "--json"], cli_env)
    assert r.exit_code == 0
    assert json.loads(r.stdout)["mode"] == "bm25"


def test_empty_question_is_a_one_line_error(cli_env):
    r = run(["ask", "   "], cli_env)
    assert r.exit_code == 1
    assert r.stderr.strip() == "kzqa: error: the question is empty"
    assert r.stdout == ""


def test_usage_errors(cli_env):
    assert run(["ask", "x", "-k", "0"], cli_env).exit_code == 2
    assert run(["ask", "x", "--mode", "magic"], cli_env).exit_code == 2
    assert run(["ask", "x", "--json", "--format", "markdown"], cli_env).exit_code == 2
    assert run(["nosuchcommand"], cli_env).exit_code == 2


def test_batch_text_and_jsonl(cli_env, tmp_path):
    f = tmp_path / "q.txt"
    f.write_text('how many prisoners were released\n\n{"id": "e1", "question": "who won the election"}\n{broken\n{"id": 7}\n')
    out = tmp_path / "out.jsonl"
    r = run(["batch", str(f), "-o", str(out)], cli_env)
    assert r.exit_code == 1  # two lines could not be read
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["id"] for row in rows] == [1, "e1", 4, 7]
    assert "8,390" in rows[0]["answer"]["text"]
    assert rows[1]["question"] == "who won the election"
    assert "line 4: malformed JSON" in rows[2]["error"]
    assert "line 5" in rows[3]["error"] and "question" in rows[3]["error"]
    assert "line 4" in r.stderr


def test_batch_all_good_exits_zero_to_stdout(cli_env, tmp_path):
    f = tmp_path / "q.txt"
    f.write_text("torture\nminimum wage\n")
    r = run(["batch", str(f)], cli_env)
    assert r.exit_code == 0
    assert len(r.stdout.splitlines()) == 2


def test_index_up_to_date(cli_env):
    r = run(["index"], cli_env)
    assert r.exit_code == 0 and "up to date" in r.stdout


def test_version_and_help(cli_env):
    r = run(["--version"], cli_env)
    assert r.exit_code == 0 and "kzqa" in r.stdout
    for cmd in (["--help"], ["ask", "--help"], ["batch", "--help"], ["index", "--help"]):
        r = run(cmd, cli_env)
        assert r.exit_code == 0 and "Example" in r.stdout
