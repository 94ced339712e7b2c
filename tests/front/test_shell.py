"""The interactive session, for real: `kzqa` in a pseudo-terminal (pexpect), plus its commands
through the Shell object and the non-terminal paths."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time

import pexpect
import pytest

from qa.front.shell import Shell, ShellError, history_path

SGR = re.compile(r"\x1b\[[0-9;]*m")  # colour codes (readline's own \x1b[?2004h is not one)
PROMPT = "kzqa> "


@pytest.fixture()
def pty_env(cli_env, tmp_path):
    """cli_env for a terminal: a real TERM, and a history file inside tmp_path."""
    return {**cli_env, "TERM": "xterm", "XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path)}


def spawn(env, *args):
    child = pexpect.spawn(
        sys.executable, ["-m", "qa.front.cli", *args], env=env, encoding="utf-8", timeout=20, dimensions=(50, 200)
    )
    child.logfile_read = io.StringIO()
    return child


def finish(child) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def test_no_arguments_on_a_terminal_is_a_session(pty_env, tmp_path):
    child = spawn(pty_env)  # `kzqa` with no arguments
    child.expect("Ask a question, or :help")
    child.expect_exact(PROMPT)
    child.sendline("how many prisoners were released")
    child.expect_exact("Answer: 8,390 prisoners")
    child.expect_exact("(1.c/prison-and-detention-center-conditions/4)")
    child.expect_exact(PROMPT)

    child.sendline(":k 1")
    child.expect_exact("k = 1")
    child.sendline(":mode bm25")
    child.expect_exact("mode = bm25")
    child.sendline("hazing")
    child.expect_exact("[1] §1.c")
    child.expect_exact(PROMPT)
    assert "[2]" not in child.before  # :k 1 took effect

    child.sendline(":show 1.c/prison-and-detention-center-conditions/4")
    child.expect_exact("§1.c · pp. 4–5 · passage 1.c/prison-and-detention-center-conditions/4 (p. 5) marked ┃")
    child.expect_exact("┃ The government took steps to decrease the total number of prisoners.")
    child.expect_exact(PROMPT)

    child.sendline(":json")
    child.expect_exact("format = json")
    child.sendline("who won the presidential election")
    child.expect_exact('"found": true')
    child.expect_exact('"mode": "bm25"')
    child.expect_exact(PROMPT)

    # bad commands: one line on stderr, and the session goes on
    child.sendline(":bogus")
    child.expect_exact("kzqa: error: unknown command ':bogus'; :help lists the commands")
    child.sendline(":k many")
    child.expect_exact("kzqa: error: :k needs a whole number from 1 to 1000 (got 'many')")
    child.sendline(":show p99")
    child.expect_exact("kzqa: error: there is no page 99; the report has pages 1–37")
    child.sendline(":help")
    child.expect_exact(":show REF")
    child.expect_exact(PROMPT)

    child.sendeof()  # Ctrl-D leaves, with status 0
    assert finish(child) == 0
    transcript = child.logfile_read.getvalue()
    assert "Traceback" not in transcript
    assert not SGR.search(transcript)  # NO_COLOR is set in cli_env
    history = (tmp_path / "cache" / "kzqa" / "shell-history").read_text()
    assert "how many prisoners were released" in history and ":mode bm25" in history


def test_colour_on_a_terminal_without_no_color(pty_env):
    env = {k: v for k, v in pty_env.items() if k != "NO_COLOR"}
    child = spawn(env, "shell")
    child.expect_exact(PROMPT)
    child.sendline("how many prisoners were released")
    child.expect_exact("8,390 prisoners")
    child.expect_exact(PROMPT)
    child.sendline(":quit")
    assert finish(child) == 0
    transcript = child.logfile_read.getvalue()
    assert "\x1b[1;33m8,390 prisoners\x1b[0m" in transcript  # the short answer, bold yellow
    assert SGR.search(transcript)


def test_ctrl_c_drops_the_line_and_cancels_a_question(pty_env):
    child = spawn(pty_env, "shell")
    child.expect_exact(PROMPT)
    # Ctrl-C while typing: the line is dropped, a new prompt comes
    child.send("half a question")
    child.expect_exact("half a question")
    time.sleep(0.3)  # as a person would: CPython's readline can miss a signal sent with a keystroke
    child.sendintr()
    child.expect_exact(PROMPT)
    assert child.isalive()

    # Ctrl-C while an answer is on its way: every passage of the report is ~110 kB of text, more
    # than the terminal holds unread, so the session is still busy with it when Ctrl-C comes
    child.sendline(":k 1000")
    child.expect_exact("k = 1000")
    child.expect_exact(PROMPT)
    child.sendline("prison conditions")
    time.sleep(1.5)
    child.sendintr()
    child.expect_exact("kzqa: cancelled")
    child.expect_exact(PROMPT)
    assert "[163]" not in child.logfile_read.getvalue()  # the last passage never came

    # ... and the session still answers
    child.sendline(":k 1")
    child.expect_exact(PROMPT)
    child.sendline("how many prisoners were released")
    child.expect_exact("Answer: 8,390 prisoners")
    child.expect_exact(PROMPT)
    child.sendeof()
    assert finish(child) == 0


def test_no_arguments_off_a_terminal_prints_help(cli_env):
    out = subprocess.run([sys.executable, "-m", "qa.front.cli"], stdin=subprocess.DEVNULL, capture_output=True, text=True, env=cli_env, timeout=60)
    assert out.returncode == 0
    assert out.stdout.startswith("Usage: kzqa")
    assert "kzqa show 1.c/prison-and-detention-center-conditions/4" in out.stdout
    assert "_KZQA_COMPLETE=bash_source kzqa" in out.stdout


def test_shell_reads_questions_from_a_pipe(cli_env):
    lines = "how many prisoners were released\n:format markdown\n:nope\nwho won the presidential election\n"
    out = subprocess.run(
        [sys.executable, "-m", "qa.front.cli", "shell", "-k", "1"], input=lines, capture_output=True, text=True, env=cli_env, timeout=60
    )
    assert out.returncode == 1  # a line was an error (item 19 of issue 13)
    assert PROMPT not in out.stdout  # no prompts or banner when nobody is typing
    assert out.stdout.startswith("── how many prisoners were released\nAnswer: 8,390 prisoners")
    assert "\n\nformat = markdown\n" in out.stdout  # a blank line after each answer
    assert "**Q:** who won the presidential election" in out.stdout
    assert out.stderr == "kzqa: error: unknown command ':nope'; :help lists the commands\n"


def test_piped_shell_separates_answers_and_fails_after_an_error(cli_env):
    """Item 19: `printf 'q1\\nq2\\n' | kzqa shell` says which question each answer is for, with a
    blank line between; JSON stays one object a line; an error makes the exit status 1."""
    out = subprocess.run(
        [sys.executable, "-m", "qa.front.cli", "shell", "-k", "1"], input="torture\nhazing\n", capture_output=True, text=True, env=cli_env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.split("\n\n── ")
    assert first.startswith("── torture\nAnswer") or first.startswith("── torture\nThe report")
    assert second.startswith("hazing\n")
    out = subprocess.run(
        [sys.executable, "-m", "qa.front.cli", "shell", "--format", "json"], input="torture\n:mode zz\nhazing\n",
        capture_output=True, text=True, env=cli_env, timeout=60,
    )
    assert out.returncode == 1
    assert [json.loads(line)["question"] for line in out.stdout.splitlines()] == ["torture", "hazing"]
    assert out.stderr == "kzqa: error: unknown mode 'zz'; choose from bm25, dense, hybrid, rerank\n"


# --- the commands, through the Shell object -------------------------------------------------------


def make_shell(index, **kw):
    out, err = io.StringIO(), io.StringIO()
    return Shell(index, stdout=out, stderr=err, interactive=False, **kw), out, err


def test_settings_commands(index):
    shell, out, _ = make_shell(index)
    assert shell.handle(":k 7") and shell.k == 7
    assert shell.handle(":mode RERANK") and shell.mode == "rerank"
    assert shell.handle(":format markdown") and shell.fmt == "markdown"
    assert shell.handle(":json") and shell.fmt == "json"
    assert shell.handle(":json") and shell.fmt == "markdown"  # :json goes back to where it was
    assert shell.handle(":k") and out.getvalue().endswith("k = 7\n")
    for bad in (":k 0", ":k 1001", ":k x", ":mode magic", ":format html", ":json on", ":show", ":what"):
        with pytest.raises(ShellError):
            shell.handle(bad)
    assert (shell.k, shell.mode, shell.fmt) == (7, "rerank", "markdown")  # bad commands change nothing
    assert shell.handle(":q") is False and shell.handle(":quit") is False and shell.handle("exit") is False
    assert shell.handle("   ") is True


def test_help_lists_every_command_in_one_column(index):
    """Item 10 of issue 20: the :report line's description started a column left of the others."""
    from qa.front.shell import COMMANDS

    shell, out, _ = make_shell(index)
    shell.handle(":help")
    rows = [line for line in out.getvalue().splitlines() if line.startswith("  :")]
    assert [row.split()[0] for row in rows] == list(COMMANDS)
    starts = {len(row) - len(row[2:].split("  ", 1)[1].lstrip()) for row in rows}
    assert len(starts) == 1, rows
    assert "(now kazakhstan-2011)" in out.getvalue() and "{" not in out.getvalue()


def test_questions_use_the_settings(index):
    shell, out, _ = make_shell(index, k=2, fmt="json")
    shell.handle("how many prisoners were released")
    import json

    obj = json.loads(out.getvalue())
    assert len(obj["passages"]) == 2 and obj["mode"] == "hybrid"
    assert "8,390" in obj["answer"]["text"]


def test_tab_completion(index):
    shell, _, _ = make_shell(index)
    assert shell.completions(":s", ":s") == [":show "]
    assert shell.completions(":mode b", "b") == ["bm25"]
    assert shell.completions(":format ", "") == ["text", "json", "markdown"]
    assert "1.c/prison-and-detention-center-conditions" in shell.completions(":show 1.c", "1.c")
    assert shell.completions("how", "how") == []


def test_history_path_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert history_path() == tmp_path / "kzqa" / "shell-history"


def test_unwritable_history_is_ignored(index, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    shell, _, _ = make_shell(index, history_file=blocker / "sub" / "shell-history")
    import readline

    shell._readline = readline
    shell._save_history()  # must not raise
    assert not (blocker / "sub").exists()
