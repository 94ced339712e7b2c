"""Batch question files and streams that are empty, malformed, binary, hostile, huge or in
another encoding: every good line answered, every bad one an error row or a one-line error.

Part of the fault suite (tests/faults/; its conventions are in tests/faults/conftest.py).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.front import cli as cli_module
from qa.front.batch import parse_batch_bytes
from qa.front.cli import cli
from faulthelpers import assert_one_line_error, run


# ================================================================ batch files

def batch(cli_env, tmp_path, content: bytes, *args):
    f = tmp_path / "questions.txt"
    f.write_bytes(content)
    r = run(["batch", str(f), *args], cli_env)
    assert "Traceback" not in r.output
    rows = [json.loads(line) for line in r.stdout.splitlines()] if r.stdout.strip() else []
    return r, rows


@pytest.mark.parametrize("content", [b"", b"\n\n  \n\t\n", b"\xef\xbb\xbf"], ids=["empty", "blank-lines-only", "bom-only"])
def test_b_empty_file_is_an_error(cli_env, tmp_path, content):
    r, rows = batch(cli_env, tmp_path, content)
    assert r.exit_code == 1 and rows == []
    assert_one_line_error(r.stderr, "has no questions")


def test_b_empty_stdin_is_an_error(cli_env):
    r = run(["batch", "-"], cli_env, input="")
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, "standard input has no questions")


def test_b_blank_lines_are_skipped_but_counted(cli_env, tmp_path):
    r, rows = batch(cli_env, tmp_path, b"\n   \ntorture\n\n\nminimum wage\n\n")
    assert r.exit_code == 0, r.output
    assert [row["id"] for row in rows] == [3, 6]
    assert [row["question"] for row in rows] == ["torture", "minimum wage"]


def test_b_malformed_json_line_is_reported_by_line_and_the_rest_answered(cli_env, tmp_path):
    content = b'{"id": "a", "question": "torture"}\n{"id": "b", "question": \n{"id": "c", "question": "minimum wage"}\n'
    r, rows = batch(cli_env, tmp_path, content)
    assert r.exit_code == 1
    assert [row["id"] for row in rows] == ["a", 2, "c"]
    assert rows[1] == {"id": 2, "line": 2, "error": rows[1]["error"]} and rows[1]["error"].startswith("line 2: malformed JSON")
    assert "passages" in rows[0] and "passages" in rows[2]
    assert "kzqa: warning: line 2: malformed JSON" in r.stderr


@pytest.mark.parametrize(
    "line, said",
    [
        (b'{"bad json', "Unterminated string starting at column 2"),
        (b'{"question": "a\x01"}', "Invalid control character at column 16"),
        (b'{"question": }', "Expecting value at column 14"),
        (b'{"question": "a" "id": 1}', "Expecting ',' delimiter at column 18"),
        (b'{"question": "torture"} x', "Extra data at column 25"),
    ],
    ids=["unterminated", "control-character", "no-value", "no-comma", "extra-data"],
)
def test_b_malformed_json_says_where_once(line, said):
    """Item 7 of issue 20: json's messages that end in "at" came out "starting at at column 2"."""
    (item,) = parse_batch_bytes(line + b"\n")
    assert item.error == f"line 1: malformed JSON ({said})"
    assert " at at " not in item.error


def test_b_duplicate_ids_are_answered_with_a_warning(cli_env, tmp_path):
    content = b'{"id": "q", "question": "torture"}\n{"id": "q", "question": "minimum wage"}\n{"id": 3, "question": "hazing"}\ntrafficking\n'
    r, rows = batch(cli_env, tmp_path, content)
    assert r.exit_code == 0
    assert [row["id"] for row in rows] == ["q", "q", 3, 4]
    assert "kzqa: warning: id 'q' appears more than once" in r.stderr
    assert "id 3 appears more than once" not in r.stderr  # 3 given once; line 4's id is 4


@pytest.mark.parametrize(
    "line, error",
    [
        (b'{"id": "x"}', 'line 2: has no "question"'),
        (b'{"question": 42}', 'line 2: has a "question" that is not text'),
        (b'{"question": null}', 'line 2: has no "question"'),
        (b'{"question": ""}', "line 2: the question is empty"),
        (b'{"question": "?!"}', "line 2: the question has no words"),
        (b'{"question": "' + b"x" * 20_000 + b'"}', "line 2: the question is too long"),
        (b"[1, 2]}", None),  # not JSON-looking: asked as written
        (b"{}", 'line 2: has no "question"'),
        (b'{"question": "torture"} trailing', "line 2: malformed JSON"),
        (b"caf\xe9 workers", "line 2: not UTF-8 text"),
    ],
    ids=["no-question", "question-number", "question-null", "question-empty", "question-punctuation", "question-huge",
         "array", "empty-object", "trailing-garbage", "bad-utf8"],
)
def test_b_bad_lines(cli_env, tmp_path, line, error):
    r, rows = batch(cli_env, tmp_path, b"torture\n" + line + b"\nhazing\n")
    assert [row.get("id") for row in rows] == [1, rows[1]["id"], 3]
    assert "passages" in rows[0] and "passages" in rows[2]
    if error is None:
        assert r.exit_code == 0 and "passages" in rows[1]
    else:
        assert r.exit_code == 1
        assert rows[1]["error"].startswith(error) and rows[1]["line"] == 2
        assert f"kzqa: warning: {rows[1]['error']}" in r.stderr


def test_b_null_and_odd_ids(cli_env, tmp_path):
    content = b'{"id": null, "question": "torture"}\n{"id": [1, 2], "question": "hazing"}\n{"id": true, "question": "wage"}\n'
    r, rows = batch(cli_env, tmp_path, content)
    assert r.exit_code == 0
    assert [row["id"] for row in rows] == [1, "[1, 2]", "true"]


def test_b_binary_file_is_an_error(cli_env, tmp_path):
    r, rows = batch(cli_env, tmp_path, b"torture\n\x00\x01\x02\x00binary\n")
    assert r.exit_code == 1 and rows == []
    assert_one_line_error(r.stderr, "looks like a binary file")


@pytest.mark.parametrize("what", ["missing", "folder"])
def test_b_missing_file_or_folder(cli_env, tmp_path, what):
    path = tmp_path / "nope.txt"
    if what == "folder":
        path.mkdir()
    r = run(["batch", str(path)], cli_env)
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, str(path))


def test_b_unwritable_output_is_an_error_and_nothing_half_written(cli_env, tmp_path):
    q = tmp_path / "q.txt"
    q.write_text("torture\n")
    r = run(["batch", str(q), "-o", str(tmp_path / "no" / "such" / "dir" / "out.jsonl")], cli_env)
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, "cannot write")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.binary(max_size=40),
    st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.builds(lambda q, i: json.dumps({"id": i, "question": q}).encode(), st.text(max_size=20), st.one_of(st.none(), st.integers(), st.text(max_size=5))),
    st.sampled_from([b"{", b"{}", b'{"question": 1}', b"[]", b"\xff", b"", b"  ", b"\r"]),
), max_size=12))
def test_b_fuzz_parser_gives_one_item_per_non_blank_line(lines):
    data = b"\n".join(line.replace(b"\n", b" ") for line in lines)
    items = parse_batch_bytes(data)
    raw_lines = [_without_leading_boms(raw) for raw in data.splitlines()]
    expected = [n for n, raw in enumerate(raw_lines, 1) if raw.decode("utf-8", "replace").strip() or _bad_utf8(raw)]
    assert [i.line for i in items] == expected
    for item in items:
        assert (item.question is None) != (item.error is None)
        assert isinstance(item.id, (str, int))
        if item.error:
            assert item.error.startswith(f"line {item.line}: ")


def _without_leading_boms(raw: bytes) -> bytes:
    while raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    return raw


def _bad_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
        return False
    except UnicodeDecodeError:
        return True


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.binary(max_size=200) | st.lists(st.text(max_size=30), max_size=5).map(lambda xs: "\n".join(xs).encode("utf-8", "surrogatepass")))
def test_b_fuzz_any_stdin_never_crashes(cli_env, loaded, data):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli_module, "_load", lambda index_dir, index_name: loaded)
        r = CliRunner().invoke(cli, ["batch", "-"], env=cli_env, input=data)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code in (0, 1) and "Traceback" not in r.output
    for line in r.stdout.splitlines():
        row = json.loads(line)
        assert "passages" in row or ("error" in row and "line" in row)
    if r.exit_code == 1 and not r.stdout:
        assert_one_line_error(r.stderr)


# ================================================================ batch input (items 9, 10)

@pytest.mark.parametrize(
    "line, error",
    [
        (b'{"id": ' + b"7" * 5000 + b', "question": "torture"}', "line 2: malformed JSON"),
        (b'{"question": ' + b"[" * 200_000 + b"]" * 200_000 + b"}", "line 2: malformed JSON (nested too deeply)"),
        (b'{"question": "prisoners \\ud800"}', "line 2: the question is not valid text (a lone surrogate"),
        (b'{"id": "\\udc80", "question": "prisoners \\ud800"}', "line 2: the question is not valid text"),
    ],
    ids=["5000-digit-id", "nested-200000", "lone-surrogate", "surrogate-id-and-question"],
)
@pytest.mark.parametrize("mode", ["hybrid", "bm25"])
def test_b_hostile_json_lines_get_their_error_rows(cli_env, tmp_path, line, error, mode):
    """Item 9: each of these aborted the whole batch (exit 3) and lost every answer."""
    r, rows = batch(cli_env, tmp_path, b"torture\n" + line + b"\nhazing\n", "--mode", mode)
    assert r.exit_code == 1
    assert [row["line"] if "error" in row else row["id"] for row in rows] == [1, 2, 3]
    assert "passages" in rows[0] and "passages" in rows[2]
    assert rows[1]["error"].startswith(error), rows[1]["error"]


def test_b_library_rejects_a_lone_surrogate_with_a_kzqa_error(index):
    from qa.errors import KzqaError

    for mode in ("hybrid", "bm25"):
        with pytest.raises(KzqaError, match="not valid text"):
            index.ask("\ud800 x", mode=mode)


def test_b_output_file_is_complete_or_untouched_and_no_temporary_is_left(cli_env, tmp_path):
    q = tmp_path / "q.txt"
    q.write_bytes(b"torture\n" + b'{"question": ' + b"[" * 200_000 + b"}\n" + b"hazing\n")
    out = tmp_path / "answers.jsonl"
    out.write_text("old answers\n")
    r = run(["batch", str(q), "-o", str(out)], cli_env)
    assert r.exit_code == 1
    assert [json.loads(line).get("line", json.loads(line)["id"]) for line in out.read_text().splitlines()] == [1, 2, 3]
    assert "wrote 2 answers and 1 error row to" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.jsonl", "q.txt"]
    # interrupted half-way: the old file stays as it was, the temporary file goes
    out.write_text("old answers\n")
    q.write_text("how many prisoners were released\n" * 2000)
    proc = subprocess.Popen([sys.executable, "-m", "qa.front.cli", "batch", str(q), "-o", str(out)], stderr=subprocess.PIPE, env=cli_env)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".kzqa-*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and b"kzqa: interrupted" in err and b"Traceback" not in err
    assert out.read_text() == "old answers\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.jsonl", "q.txt"]


def test_b_byte_order_mark_in_the_middle_of_a_stream(cli_env, tmp_path):
    """Item 10: `cat a.jsonl bom.jsonl | kzqa batch -`: the second file's line keeps its id."""
    data = b'{"id": "a", "question": "torture"}\n' + b'\xef\xbb\xbf{"id": "b", "question": "hazing"}\n'
    r = run(["batch", "-"], cli_env, input=data)
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["id"] for row in rows] == ["a", "b"] and rows[1]["question"] == "hazing"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_b_utf16_batch_file_is_read(cli_env, tmp_path, codec):
    text = '{"id": "a", "question": "torture"}\nminimum wage\n'
    data = text.encode(codec) if codec == "utf-16" else b"\xfe\xff" + text.encode(codec)
    r, rows = batch(cli_env, tmp_path, data)
    assert r.exit_code == 0, r.output
    assert [row["id"] for row in rows] == ["a", 2] and rows[1]["question"] == "minimum wage"
