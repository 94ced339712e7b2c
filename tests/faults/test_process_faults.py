"""The process itself: closed or full standard streams, Ctrl-C at any moment of start-up, a
reader that goes away, bad eval sets: one line and a non-zero status, never a traceback.

Part of the fault suite (tests/faults/; its conventions are in tests/faults/conftest.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from faulthelpers import assert_one_line_error, run


# ================================================================ clean errors (items 15, 16)

def _closed(fd: int):
    return lambda: os.close(fd)


def test_e_no_arguments_with_stdin_closed_prints_help(cli_env):
    r = subprocess.run([sys.executable, "-m", "qa"], capture_output=True, env=cli_env, preexec_fn=_closed(0), timeout=60)
    assert r.returncode == 0 and r.stdout.startswith(b"Usage: kzqa") and r.stderr == b""


def test_e_no_arguments_on_a_terminal_with_stdout_closed(cli_env):
    import pexpect

    child = pexpect.spawn("bash", ["-c", f"exec {sys.executable} -m qa >&-"], env=cli_env, timeout=60)
    child.expect(pexpect.EOF)
    child.close()
    out = child.before.decode()
    assert child.exitstatus == 1, out
    assert "Traceback" not in out
    assert out.strip() == "kzqa: error: cannot write the results: standard output is closed"


@pytest.mark.parametrize("args", [["ask", "how many prisoners were released", "--json"], ["ask", "how many prisoners were released"],
                                  ["batch", "QFILE"], ["list"], ["toc"], ["show", "p5"]],
                         ids=["ask-json", "ask-text", "batch", "list", "toc", "show"])
def test_e_closed_stdout_is_an_error_not_a_silent_success(cli_env, tmp_path, args):
    """Item 16: with standard output closed these exited 0 having written nothing (or 3)."""
    q = tmp_path / "q.txt"
    q.write_text("torture\n")
    args = [str(q) if a == "QFILE" else a for a in args]
    r = subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, env=cli_env, preexec_fn=_closed(1), timeout=120)
    assert r.returncode == 1
    assert_one_line_error(r.stderr, "standard output is closed")


@pytest.mark.parametrize("args", [["ask", "how many prisoners were released"], ["ask", "torture", "--json"], ["batch", "QFILE"], ["list"]],
                         ids=["ask-text", "ask-json", "batch", "list"])
def test_e_full_disk_on_stdout_is_one_line(cli_env, tmp_path, args):
    q = tmp_path / "q.txt"
    q.write_text("torture\n")
    args = [str(q) if a == "QFILE" else a for a in args]
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "qa", *args], stdout=full, stderr=subprocess.PIPE, env=cli_env, timeout=120)
    assert r.returncode == 1
    assert_one_line_error(r.stderr, "cannot write to standard output: No space left on device")


@pytest.mark.parametrize("args", [["ask", "-"], ["batch", "-"]])
def test_e_closed_stdin_for_dash_is_one_line(cli_env, args):
    r = subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, env=cli_env, preexec_fn=_closed(0), timeout=60)
    assert r.returncode == 1
    assert_one_line_error(r.stderr, "cannot read standard input")


def test_e_ctrl_c_at_any_moment_of_start_up_is_one_line(cli_env):
    """Item 15: Ctrl-C while the CLI's modules load (the first ~60 ms) printed a traceback. The
    `kzqa` command's guard is in place before any of them loads (KZQA_TEST_PAUSE_AT=start
    marks that moment; Python's own start-up before it is outside kzqa's reach)."""
    for delay in (0.0, 0.01, 0.03, 0.06, 0.1, 0.2, 0.4):
        log_env = {**cli_env, "KZQA_TEST_PAUSE_AT": "start:0.05"}
        proc = subprocess.Popen([sys.executable, "-m", "qa", "ask", "how many prisoners were released"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=log_env)
        line = proc.stderr.readline()
        assert line == b"kzqa: test pause at start\n"
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        err = line + proc.stderr.read()
        proc.wait(timeout=60)
        assert b"Traceback" not in err and b"KeyboardInterrupt" not in err, (delay, err)
        if proc.returncode == -signal.SIGINT:  # after the answer, while Python shut down: silent
            continue
        if proc.returncode != 0:
            assert proc.returncode == 130 and err.endswith(b"kzqa: interrupted\n"), (delay, proc.returncode, err)


def test_e_ctrl_c_while_the_fast_encoder_starts_is_an_interruption(cli_env):
    """Item 3: Ctrl-C during the onnxruntime import was swallowed and the ask silently took the
    5-second sentence-transformers path. Now it is `kzqa: interrupted` (or the answer, if it
    came first), never the slow path."""
    for delay in (0.25, 0.35, 0.45, 0.55):
        proc = subprocess.Popen([sys.executable, "-m", "qa", "ask", "how many prisoners were released"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=cli_env)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert b"sentence-transformers" not in err and b"Traceback" not in err, (delay, err)
        assert proc.returncode in (0, 130, -signal.SIGINT), (delay, proc.returncode, err)


def test_e_reader_that_goes_away_ends_the_run_quietly(cli_env, tmp_path):
    """`kzqa batch q.txt | head -1`: a closed pipe is not an error worth a message."""
    q = tmp_path / "q.txt"
    q.write_text("torture\n" * 300)
    proc = subprocess.Popen([sys.executable, "-m", "qa", "batch", str(q)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env)
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0 and err == b"", err


# ---------------------------------------------------------------- issue 13 item 11: kzqa eval's input

@pytest.mark.parametrize(
    "content, message",
    [
        (b'{"id": "q1", "question": "how many prisoners were released", "answer": "8,390", "evidence": "x"}\n\xff\xfe\x00bad\n', "not UTF-8 text"),
        ('{"id": "q 1", "question": "how many prisoners were released", "answer": "8,390", "evidence": "x"}\n'.encode(), "without spaces"),
        (b"", "the eval set is empty"),
        (b"\n\n", "the eval set is empty"),
        ('{"id": "q1", "question": "a"}\n{"id": "q1", "question": "b"}\n'.encode(), "duplicate item id"),
        # issue 20 item 23: a field of the wrong type was an internal error (exit 3)
        (b'{"id": "q1", "question": "how many", "answer": [8390, {"x": 1}], "evidence": "x"}\n', '"answer" must be text or a list of texts; it holds 8390'),
        (b'{"id": "q1", "question": "how many", "answer": "8,390", "split": {"a": 1}}\n', '"split" must be text; it is {"a": 1}'),
        (b'{"id": "q1", "question": "how many", "evidence": [["nested"]]}\n', '"evidence" must be text or a list of texts'),
        (b'{"id": "q1", "question": "how many", "section": 1}\n', '"section" must be text or a list of texts; it holds 1'),
        (b'{"id": "q1", "question": "how many", "type": ["numeric"]}\n', '"type" must be text'),
        (b'{"id": "q1", "question": "how many", "style": 3}\n', '"style" must be text'),
        (b'{"id": {"a": 1}, "question": "how many"}\n', '"id" must be text or a whole number'),
        (b'{"id": "q1", "question": ["how many"]}\n', '"question" must be text'),
        (b'["q1", "how many"]\n', "not a JSON object"),
        (b'{"question": "how many"}\n', 'no "id"'),
    ],
)
def test_e_bad_eval_sets_are_one_line_errors(cli_env, tmp_path, content, message):
    """Issue 13 item 11: a non-UTF-8 questions file or an id with a space was an internal error,
    and an empty questions file printed an all-zero table and exited 0."""
    path = tmp_path / "questions.jsonl"
    path.write_bytes(content)
    r = run(["eval", "--questions", str(path)], cli_env)
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, message)
