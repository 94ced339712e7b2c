"""Questions that are empty, huge, binary, hostile or fuzzed: an answer or a one-line error.

Part of the fault suite (tests/faults/; its conventions are in tests/faults/conftest.py).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.front import cli as cli_module
from qa.front.cli import cli
from faulthelpers import assert_one_line_error, kzqa, run


# ================================================================ questions

@pytest.mark.parametrize("question", ["", "   ", " \t\n ", "\u00a0\u2003"], ids=["empty", "spaces", "whitespace", "unicode-spaces"])
def test_q_empty_or_whitespace_is_a_one_line_error(cli_env, question):
    r = run(["ask", question], cli_env)
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr.strip() == "kzqa: error: the question is empty"


def test_q_one_character_gets_a_normal_answer(cli_env):
    r = run(["ask", "x", "--json"], cli_env)
    assert r.exit_code == 0
    obj = json.loads(r.stdout)
    assert obj["question"] == "x" and len(obj["passages"]) == 3


def test_q_100kb_question_is_too_long(cli_env):
    long_q = ("torture in prisons " * 6000)[:100_000]
    r = run(["ask", long_q], cli_env)
    assert r.exit_code == 1 and r.stdout == ""
    assert_one_line_error(r.stderr, "the question is too long", "limit is")
    r = run(["ask", "-"], cli_env, input=long_q)  # the same on stdin
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, "the question is too long")


def test_q_endless_stdin_is_cut_off(cli_env):
    r = kzqa(["ask", "-"], cli_env, input=b"a" * (2 * 1024 * 1024))
    assert r.returncode == 1
    assert_one_line_error(r.stderr, "standard input is too long")


def test_q_invalid_utf8_on_stdin(cli_env):
    r = kzqa(["ask", "-"], cli_env, input=b"how many \xff\xfe prisoners\n")
    assert r.returncode == 1 and r.stdout == b""
    assert_one_line_error(r.stderr, "not UTF-8 text", "offset 9")


def test_q_invalid_utf8_in_the_argument(cli_env):
    r = kzqa([], cli_env, argv_bytes=[b"ask", b"how many \xff prisoners"])
    assert r.returncode == 1 and r.stdout == b""
    assert_one_line_error(r.stderr, "the question is not UTF-8 text")


def test_q_only_stop_words_gets_a_normal_answer(cli_env):
    r = run(["ask", "what is the", "--json"], cli_env)
    assert r.exit_code == 0
    obj = json.loads(r.stdout)
    assert obj["question"] == "what is the" and len(obj["passages"]) == 3


@pytest.mark.parametrize("question", ["?", "?!...;", "¿¡—…", "!!! ??? ..."])
def test_q_only_punctuation_is_a_one_line_error(cli_env, question):
    r = run(["ask", question], cli_env)
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, "the question has no words to search for")


@pytest.mark.parametrize("question", ["Сколько заключённых освободили?", "有多少囚犯被释放", "كم عدد السجناء", "Combien de prisonniers ont été libérés ?"])
def test_q_non_english_gets_a_normal_answer(cli_env, question):
    r = run(["ask", question, "--json"], cli_env)
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert obj["question"] == question and 3 <= len(obj["passages"]) <= 4  # 4: the answer's passage is shown too


def test_q_shell_looking_question_is_only_text(cli_env, tmp_path):
    canary = tmp_path / "pwned"
    question = f"$(touch {canary}); `touch {canary}` | cat && rm -rf ~ ; echo $HOME > {canary}"
    r = kzqa(["ask", question, "--json"], cli_env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["question"] == question
    assert not canary.exists()


def test_q_control_characters_never_reach_the_terminal(cli_env):
    r = run(["ask", "prisoners\x1b[2J\x1b]0;owned\x07 released\x00", "--format", "markdown"], cli_env)
    assert r.exit_code == 0
    assert "\x1b" not in r.stdout and "\x00" not in r.stdout and "\x07" not in r.stdout
    assert r.stdout.startswith("**Q:** prisoners [2J ]0;owned released")


def test_q_empty_stdin(cli_env):
    r = run(["ask", "-"], cli_env, input="")
    assert r.exit_code == 1 and r.stderr.strip() == "kzqa: error: the question is empty"


QUESTION_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(categories=["Zs", "Cc", "Po", "Ps", "Pe"]), max_size=40),
    st.sampled_from(["", " ", "a", "the", "8,390", "how many", "-", "--json", "'; DROP TABLE x; --"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(question=QUESTION_TEXT, fmt=st.sampled_from(["json", "text", "markdown"]))
def test_q_fuzz_any_text_gets_an_answer_or_a_one_line_error(cli_env, loaded, question, fmt):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli_module, "_load", lambda index_dir, index_name: loaded)
        r = CliRunner().invoke(cli, ["ask", "--format", fmt, "--", question], env=cli_env)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    if r.exit_code == 0:
        if fmt == "json":
            assert isinstance(json.loads(r.stdout)["passages"], list)
        assert "\x1b" not in r.stdout
    else:
        assert r.exit_code == 1, r.output
        assert_one_line_error(r.stderr)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.binary(max_size=300))
def test_q_fuzz_any_bytes_on_stdin(cli_env, loaded, data):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli_module, "_load", lambda index_dir, index_name: loaded)
        r = CliRunner().invoke(cli, ["ask", "-", "--json"], env=cli_env, input=data)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code in (0, 1)
    if r.exit_code == 0:
        json.loads(r.stdout)
    else:
        assert_one_line_error(r.stderr)
