"""Fault and bad-input suite: every case ends in a normal answer or a clear one-line error with a
non-zero exit status, never a traceback, and never a lost or half-written index.

Cases run through the real CLI: click's CliRunner, or a subprocess where a real process matters
(kill -9, two builds at once, raw bytes on stdin or in argv, file permissions). Permission cases
run the child without the capabilities that let root ignore file modes, so they are real under
root (CI) too. Index faults use a small index (a fictional report, tests/fakereport.py) so that
rebuilds and killed builds cost seconds, not minutes.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakereport import ruritania
from faulthelpers import drop_dac as _drop
from faulthelpers import copy_root, edit_manifest_db, encoder_file, link_index, permissions_bind_children, sql, tree_digest
from qa.front import cli as cli_module
from qa.front.batch import parse_batch_bytes
from qa.front.cli import cli
from qa.index.format import FORMAT_VERSION
from qa.index.write import build_index
from qa.index.read import read_manifest
from qa.index.naming import resolve_location

AMNESTY_Q = "how many prisoners were released in the amnesty"


# ---------------------------------------------------------------- helpers

def run(args, env, input=None):
    return CliRunner().invoke(cli, args, env=env, input=input, catch_exceptions=False)


def kzqa(args, env, input: bytes | None = None, timeout=300, drop_dac=False, argv_bytes=None):
    """Run kzqa in a child process; returns CompletedProcess with bytes stdout/stderr."""
    argv = [sys.executable, "-m", "qa.front.cli", *args]
    if argv_bytes is not None:
        argv = [os.fsencode(sys.executable), b"-m", b"qa.front.cli", *argv_bytes]
    return subprocess.run(
        argv, input=input, capture_output=True, env=env, timeout=timeout,
        preexec_fn=_drop if drop_dac else None,
    )


def assert_one_line_error(stderr: str | bytes, *parts: str) -> str:
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("kzqa: error: ")]
    assert len(errors) == 1, stderr
    for part in parts:
        assert part in errors[0], (part, errors[0])
    return errors[0]


def assert_usage_error(result, *parts):
    assert result.exit_code == 2, result.output
    assert "Usage:" in result.stderr and "Error:" in result.stderr
    assert "Traceback" not in result.output
    for part in parts:
        assert part in result.stderr


@pytest.fixture(scope="module")
def permissions_are_real(tmp_path_factory):
    """File modes bind a child process: true for a normal user, and for root once the child drops
    CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH (prctl). Skip only if neither is possible."""
    why_not = permissions_bind_children(tmp_path_factory.mktemp("perm"))
    if why_not:
        pytest.skip(why_not)


@pytest.fixture(scope="module")
def small(index_dir, tmp_path_factory):
    """A small index 'rur' of the fictional report, built once (its ONNX export is reused from the
    shipped report's index next to it)."""
    root = tmp_path_factory.mktemp("small-root")
    files = tmp_path_factory.mktemp("small-files")
    link_index(index_dir, root, "kazakhstan-2011")
    src = files / "ruritania.txt"
    src.write_text(ruritania(scale=0.3).as_text(), encoding="utf-8")  # ~100 texts to embed: a quick build
    result = build_index(src, root, "rur")
    assert result.built
    return {"root": root, "src": src}


def copy_small(small, dst_root: Path, own_source: bool = False) -> dict:
    """A private copy of the small index a test may damage: the index databases copied, the
    90 MB encoder hard-linked (tests replace it, never write through it), the manifest
    optionally pointed at a private copy of the source text."""
    copy_root(small["root"], dst_root)
    source = small["src"]
    if own_source:
        source = dst_root.parent / f"{dst_root.name}-ruritania.txt"
        shutil.copy2(small["src"], source)
        edit_manifest_db(dst_root / "rur.sqlite", lambda m: m["corpus"].update(source=str(source.resolve())))
    env = {**os.environ, "KZQA_INDEX_DIR": str(dst_root), "NO_COLOR": "1"}
    env.pop("KZQA_TEST_PAUSE_AT", None)
    return {"root": dst_root, "db": dst_root / "rur.sqlite", "src": source, "env": env}


def snapshot(c) -> dict[str, str]:
    """Every file of the root with its content hash, but the encoder verification record (which
    a reader may update)."""
    return {k: v for k, v in tree_digest(c["root"]).items() if not k.endswith("verified.sqlite")}


def files_of(root: Path) -> list[str]:
    """Every path under the root but the encoder verification record (which a reader may write)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.name != "verified.sqlite")


def edit_manifest(c, edit) -> None:
    edit_manifest_db(c["db"], edit)


def ask_small(c, expect_rebuild=None):
    r = run(["ask", AMNESTY_Q, "--index", "rur", "--json"], c["env"])
    assert r.exit_code == 0, r.output
    assert "Traceback" not in r.output
    if expect_rebuild is not None:
        assert ("rebuilding" in r.stderr) == expect_rebuild, r.stderr
    return json.loads(r.stdout), r.stderr


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


@pytest.fixture(scope="module")
def loaded(index_dir):
    from qa.search.pipeline import Index
    from qa.index.open import open_index

    return Index(open_index(index_dir, notify=None, auto_build=False))


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


# ================================================================ options

USAGE_CASES = [
    (["ask", "torture", "-k", "0"], ["Invalid value for '-k'", "0 is not in the range"]),
    (["ask", "torture", "-k", "-3"], ["Invalid value for '-k'"]),
    (["ask", "torture", "-k", "1001"], ["Invalid value for '-k'"]),
    (["ask", "torture", "-k", str(10**30)], ["Invalid value for '-k'"]),
    (["ask", "torture", "-k", "three"], ["'three' is not a valid integer"]),
    (["ask", "torture", "--mode", "magic"], ["Invalid value for '--mode'", "'magic' is not one of"]),
    (["ask", "torture", "--json", "--format", "markdown"], ["--json conflicts with --format markdown"]),
    (["ask", "torture", "--format", "yaml"], ["Invalid value for '--format'"]),
    (["ask"], ["Missing argument 'QUESTION'"]),
    (["ask", "torture", "--bogus"], ["No such option '--bogus'"]),
    (["batch", "q.txt", "-k", "0"], ["Invalid value for '-k'"]),
    (["batch", "q.txt", "--mode", "magic"], ["Invalid value for '--mode'"]),
    (["index", "--name", "a", "--index", "b"], ["--name and --index name different indexes"]),
    (["eval", "--mode", "bm25", "--all-modes"], ["--mode and --all-modes conflict"]),
    (["eval", "-k", "0"], ["Invalid value for '-k'"]),
    (["list", "--bogus"], ["No such option '--bogus'"]),
    (["nosuchcommand"], ["No such command 'nosuchcommand'"]),
]


@pytest.mark.parametrize("args, parts", USAGE_CASES, ids=[" ".join(a) or "none" for a, _ in USAGE_CASES])
def test_o_usage_errors(cli_env, args, parts):
    assert_usage_error(run(args, cli_env), *parts)


def test_o_huge_k_within_the_limit_returns_every_passage(cli_env, index):
    r = run(["ask", "torture", "-k", "1000", "--json"], cli_env)
    assert r.exit_code == 0
    assert len(json.loads(r.stdout)["passages"]) == len(index.chunks)


@pytest.mark.parametrize("name", ["../etc", ".hidden", "a/b", "x y", "-rf", "-", "x" * 300, "café"])
def test_o_bad_index_name(cli_env, tmp_path, name):
    r = run(["ask", "torture", "--index", name], cli_env)
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, "invalid index name")
    f = tmp_path / "r.txt"
    f.write_text(ruritania(scale=0.1).as_text())
    r = run(["index", str(f), f"--name={name}"], {**cli_env, "KZQA_INDEX_DIR": str(tmp_path / "root")})
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, "invalid index name")
    assert not (tmp_path / "root").exists()


def test_o_index_dir_of_an_unknown_user(cli_env):
    for args in (["ask", "torture"], ["list"], ["index"]):
        r = run([*args, "--index-dir", "~nosuchuser4711/x"], cli_env)
        assert r.exit_code == 1, r.output
        assert_one_line_error(r.stderr, "cannot find the home folder", "~nosuchuser4711/x")


# ================================================================ report files for `kzqa index FILE`

def _file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _pdf_without_text(path: Path) -> Path:
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    c.rect(100, 100, 200, 200, fill=1)  # a picture, no text (like a scan)
    c.showPage()
    c.save()
    return path


def _encrypted_pdf(path: Path) -> Path:
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), encrypt=pdfencrypt.StandardEncryption("secret", ownerPassword="owner"))
    c.drawString(72, 720, "Section 1. Respect for the Integrity of the Person")
    c.showPage()
    c.save()
    return path


@pytest.mark.parametrize(
    "make, parts",
    [
        (lambda p: p / "missing.txt", ["no such file"]),
        (lambda p: p, ["is a folder"]),
        (lambda p: _file(p / "empty.txt", b""), ["the file is empty"]),
        (lambda p: _file(p / "blank.txt", b"\n \n\t\n"), ["the file is empty"]),
        (lambda p: _file(p / "bin.dat", bytes(range(256)) * 8), ["looks like a binary file"]),
        (lambda p: _file(p / "latin1.txt", "Section 1. Café société".encode("latin-1")), ["not UTF-8 text", "offset 14"]),
        (lambda p: _file(p / "digits.txt", b"123 456 ... --- 789\n"), ["has no words"]),
        (lambda p: _file(p / "broken.pdf", b"%PDF-1.4\n" + bytes(range(256)) * 20), ["cannot read this PDF"]),
        (lambda p: _file(p / "truncated.pdf", b"%PDF-1.7\n"), ["cannot read this PDF"]),
        (lambda p: _pdf_without_text(p / "scan.pdf"), ["no extractable text"]),
        (lambda p: _encrypted_pdf(p / "locked.pdf"), ["the PDF is encrypted"]),
        (lambda p: Path("/dev/null"), ["not a regular file"]),
    ],
    ids=["missing", "folder", "empty", "blank", "binary", "latin-1", "no-words", "broken-pdf", "truncated-pdf",
         "scanned-pdf", "encrypted-pdf", "device"],
)
def test_s_unusable_report_files(tmp_path, make, parts):
    root = tmp_path / "root"
    env = {"KZQA_INDEX_DIR": str(root), "NO_COLOR": "1"}
    target = make(tmp_path)
    r = run(["index", str(target), "--name", "other"], env)
    assert r.exit_code == 1, r.output
    assert r.stdout == ""
    assert_one_line_error(r.stderr, *parts)
    assert not root.exists() or not list(root.iterdir())  # nothing made


# ================================================================ the index folder

def test_i_unknown_index_name(cli_env):
    r = run(["ask", "torture", "--index", "nowhere"], cli_env)
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, "no index named 'nowhere'", "kazakhstan-2011", "kzqa index FILE --name nowhere")


def test_i_missing_index_root_for_a_named_index(tmp_path):
    env = {"KZQA_INDEX_DIR": str(tmp_path / "does" / "not" / "exist"), "NO_COLOR": "1"}
    r = run(["ask", "torture", "--index", "chad"], env)
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, "no index named 'chad'")
    assert not (tmp_path / "does").exists()
    r = run(["list"], env)
    assert r.exit_code == 0 and "no indexes in" in r.stderr


def test_i_missing_default_index_is_built_on_first_use_and_a_kill_leaves_nothing_served(tmp_path):
    """The default needs nothing configured: a missing index is built on first use. Kill that
    build: no build is ever read; `kzqa list` says so; the next ask builds it."""
    root = tmp_path / "fresh-root"
    env = {**os.environ, "KZQA_INDEX_DIR": str(root), "NO_COLOR": "1", "KZQA_TEST_PAUSE_AT": "lock"}
    log = tmp_path / "stderr.txt"
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "qa.front.cli", "ask", "torture"], stderr=err, stdout=subprocess.DEVNULL, env=env)
    try:
        _wait_for(log, "test pause at lock")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    said = log.read_text()
    assert "building the index in" in said and "(first use)" in said
    assert read_manifest(resolve_location(root)) is None
    env.pop("KZQA_TEST_PAUSE_AT")
    r = run(["list", "--json"], env)
    assert r.exit_code == 0
    (row,) = json.loads(r.stdout)
    assert row["name"] == "kazakhstan-2011" and row["status"] == "incomplete"


# ---------------------------------------------------------------- damage

def _replace_bytes(path: Path, data: bytes) -> None:
    """Put new bytes at path without writing through a hard link."""
    path.unlink()
    path.write_bytes(data)


def _same_size_change(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    for i in range(len(raw) // 2, len(raw) // 2 + 64):
        raw[i] ^= 0x5A
    _replace_bytes(path, bytes(raw))


DAMAGE = {
    "changed chunk row": "chunk 3 does not match its checksum",
    "changed report row": "the report does not match its checksum",
    "changed vectors, same size": "the sentences vectors do not match their checksum",
    "missing sentence vectors": "has no sentences vectors",
    "truncated database": "is unreadable",
    "encoder changed, same size": "query encoder file",
    "zero-byte encoder": "does not match its checksum",
    "missing encoder": "is missing",
}


def damage_index(c, damage):
    db = c["db"]
    if damage == "changed chunk row":
        sql(db, "UPDATE chunks SET json = replace(json, 'the', 'teh') WHERE pos = 3")
    elif damage == "changed report row":
        sql(db, "UPDATE report SET json = replace(json, 'prisoners', 'prisonerz')")
    elif damage == "changed vectors, same size":
        data = bytearray(sql(db, "SELECT data FROM vectors WHERE kind = 'sentences'")[0][0])
        data[100] ^= 0x01
        sql(db, "UPDATE vectors SET data = ? WHERE kind = 'sentences'", bytes(data))
    elif damage == "missing sentence vectors":
        sql(db, "DELETE FROM vectors WHERE kind = 'sentences'")
    elif damage == "truncated database":
        raw = db.read_bytes()
        db.write_bytes(raw[: len(raw) // 3])
    elif damage == "encoder changed, same size":
        _same_size_change(encoder_file(c["root"]))
    elif damage == "zero-byte encoder":
        _replace_bytes(encoder_file(c["root"]), b"")
    elif damage == "missing encoder":
        encoder_file(c["root"]).unlink()


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_i_damaged_index_is_detected_and_reported(small, tmp_path, damage):
    c = copy_small(small, tmp_path / "root")
    damage_index(c, damage)
    r = run(["list", "--json"], c["env"])
    assert r.exit_code == 0
    rur = next(row for row in json.loads(r.stdout) if row["name"] == "rur")
    assert rur["status"] == "damaged" and DAMAGE[damage] in rur["problem"], rur["problem"]


@pytest.mark.parametrize("damage", ["changed chunk row", "changed vectors, same size", "encoder changed, same size"])
def test_i_damaged_index_is_rebuilt_and_said_so(small, tmp_path, damage):
    c = copy_small(small, tmp_path / "root")
    damage_index(c, damage)
    obj, said = ask_small(c, expect_rebuild=True)
    assert DAMAGE[damage] in said and said.strip().splitlines()[0].endswith("; rebuilding")
    assert obj["answer"]["found"] and "4,217" in obj["answer"]["text"]
    r = run(["list", "--json"], c["env"])
    assert {row["name"]: row["status"] for row in json.loads(r.stdout)} == {"kazakhstan-2011": "ok", "rur": "ok"}


def test_i_damaged_encoder_is_not_copied_forward_into_a_new_index(small, tmp_path):
    """Item 2: a new index in a root whose encoder file is damaged gets a fresh export, and the
    damaged file is gone (it never verifies, so it is never reused)."""
    c = copy_small(small, tmp_path / "root")
    damaged = encoder_file(c["root"])
    _same_size_change(damaged)
    r = run(["index", str(small["src"]), "--name", "rur2"], c["env"])
    assert r.exit_code == 0, r.output
    good = encoder_file(c["root"])
    assert good.name == damaged.name and store_sha(good) == good.stem  # re-exported: the same bytes as before the damage
    rows = {row["name"]: row["status"] for row in json.loads(run(["list", "--json"], c["env"]).stdout)}
    assert rows == {"kazakhstan-2011": "ok", "rur": "ok", "rur2": "ok"}


def store_sha(path: Path) -> str:
    from qa.index.format import sha256_file

    return sha256_file(path)


def test_i_damaged_index_whose_report_is_gone_is_left_as_it_was(small, tmp_path):
    c = copy_small(small, tmp_path / "root", own_source=True)
    damage_index(c, "changed chunk row")
    c["src"].unlink()
    before = snapshot(c)
    r = run(["ask", AMNESTY_Q, "--index", "rur"], c["env"])
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, "chunk 3 does not match its checksum", "is gone, so it cannot be rebuilt")
    assert snapshot(c) == before
    rows = json.loads(run(["list", "--json"], c["env"]).stdout)
    rur = next(row for row in rows if row["name"] == "rur")
    assert rur["status"] == "damaged" and "chunk 3" in rur["problem"]


@pytest.mark.parametrize("content", ["", "{", "\x00\xff\xfe", "[]", '{"format_version": 2}',
                                     '{"format_version": 2, "corpus": {}, "model": {}, "chunking": {"max_words": "x"}}'],
                         ids=["empty", "truncated", "garbage", "array", "incomplete", "wrong-types"])
def test_i_broken_manifest_of_a_named_index(small, tmp_path, content):
    c = copy_small(small, tmp_path / "root")
    sql(c["db"], "UPDATE manifest SET json = ?", content)
    before = snapshot(c)
    r = run(["ask", AMNESTY_Q, "--index", "rur"], c["env"])
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, "manifest", "kzqa index FILE --name rur --rebuild")
    assert snapshot(c) == before
    r = run(["list", "--json"], c["env"])
    assert next(row for row in json.loads(r.stdout) if row["name"] == "rur")["status"] == "damaged"
    if content == "":  # and the way out it names works
        r = run(["index", str(small["src"]), "--name", "rur", "--rebuild"], c["env"])
        assert r.exit_code == 0 and "built index 'rur'" in r.stdout
        ask_small(c, expect_rebuild=False)


@pytest.mark.parametrize(
    "edit, newer",
    [
        (lambda m: m.update(created_at=5), False),
        (lambda m: m["corpus"].update(title=7), False),
        (lambda m: m.update(counts=[1, 2]), False),
        (lambda m: m.update(created_at=5, corpus={"title": 7}, format_version=FORMAT_VERSION + 1), True),
    ],
    ids=["created_at-number", "title-number", "counts-list", "newer-format-odd-fields"],
)
def test_i_list_shows_an_odd_manifest_and_lists_the_rest(small, tmp_path, edit, newer):
    """Item 17: one manifest with a field of an unexpected type is one row marked damaged (or
    newer), not the end of `kzqa list`."""
    c = copy_small(small, tmp_path / "root")
    edit_manifest(c, edit)
    if newer:
        sql(c["db"], f"PRAGMA user_version = {FORMAT_VERSION + 1}")
    for args in (["list"], ["list", "--json"]):
        r = run(args, c["env"])
        assert r.exit_code == 0, r.output
        assert "kazakhstan-2011" in r.stdout and "rur" in r.stdout
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert rows["kazakhstan-2011"]["status"] == "ok"
    assert rows["rur"]["status"] == ("newer" if newer else "damaged")


@pytest.mark.parametrize(
    "edit, reason",
    [
        (lambda m: m.update(format_version=FORMAT_VERSION - 1), f"index format {FORMAT_VERSION - 1}"),
        (lambda m: m["model"].update(name="another/model", weights_size=1), "embedding model changed"),
        (lambda m: m.update(package_version="0.0.1"), "built by kzqa 0.0.1"),
    ],
    ids=["older-format", "other-model", "older-kzqa"],
)
def test_i_manifest_from_another_version_or_model_is_stale(small, tmp_path, edit, reason):
    c = copy_small(small, tmp_path / "root")
    edit_manifest(c, edit)
    r = run(["list", "--json"], c["env"])
    rur = next(row for row in json.loads(r.stdout) if row["name"] == "rur")
    assert rur["status"] == "stale" and reason in rur["problem"]


def test_i_upgraded_kzqa_rebuilds_an_old_index_on_first_use(small, tmp_path):
    c = copy_small(small, tmp_path / "root")
    edit_manifest(c, lambda m: m.update(format_version=FORMAT_VERSION - 1, package_version="0.0.1"))
    reason = f"index format {FORMAT_VERSION - 1} (this kzqa uses {FORMAT_VERSION}); built by kzqa 0.0.1"
    obj, said = ask_small(c, expect_rebuild=True)
    assert f"index is out of date: {reason}" in said
    assert "4,217" in obj["answer"]["text"]
    ask_small(c, expect_rebuild=False)  # and it stays rebuilt


def test_i_index_of_kzqa_0_1_0_is_rebuilt_in_the_new_format_and_its_folder_removed(small, tmp_path):
    c = copy_small(small, tmp_path / "root")
    c["db"].unlink()
    old = c["root"] / "rur"
    (old / "data-20260101T000000-abcd1234").mkdir(parents=True)
    (old / "data-20260101T000000-abcd1234" / "encoder.onnx").write_bytes(b"x" * 1000)
    (old / "manifest.json").write_text(json.dumps({"format_version": 1, "corpus": {"source": str(small["src"])}, "chunking": {"max_words": 120, "max_tokens": 256}}))
    rows = {row["name"]: row for row in json.loads(run(["list", "--json"], c["env"]).stdout)}
    assert rows["rur"]["status"] == "stale" and "index format 1" in rows["rur"]["problem"]
    obj, said = ask_small(c, expect_rebuild=True)
    assert f"index format 1 (this kzqa uses {FORMAT_VERSION})" in said and "4,217" in obj["answer"]["text"]
    assert not old.exists() and c["db"].exists()


def test_i_manifest_from_a_newer_kzqa_is_never_overwritten_unasked(small, tmp_path):
    c = copy_small(small, tmp_path / "root")
    edit_manifest(c, lambda m: m.update(format_version=FORMAT_VERSION + 1))
    sql(c["db"], f"PRAGMA user_version = {FORMAT_VERSION + 1}")
    before = snapshot(c)
    r = run(["ask", AMNESTY_Q, "--index", "rur"], c["env"])
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, "built by a newer kzqa", "--rebuild")
    r = run(["index", str(small["src"]), "--name", "rur"], c["env"])
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, "built by a newer kzqa")
    assert snapshot(c) == before
    rows = json.loads(run(["list", "--json"], c["env"]).stdout)
    assert next(row for row in rows if row["name"] == "rur")["status"] == "newer"


def test_i_corpus_hash_that_no_longer_matches_rebuilds_from_the_new_text(small, tmp_path):
    c = copy_small(small, tmp_path / "root", own_source=True)
    c["src"].write_text(c["src"].read_text().replace("4,217 prisoners", "5,309 prisoners"))
    rows = json.loads(run(["list", "--json"], c["env"]).stdout)
    rur = next(row for row in rows if row["name"] == "rur")
    assert rur["status"] == "stale" and "report text changed" in rur["problem"]
    obj, said = ask_small(c, expect_rebuild=True)
    assert "report text changed (" in said
    assert "5,309" in obj["answer"]["text"]


def test_i_source_changed_during_a_build_leaves_the_index_stale_not_falsely_fresh(small, tmp_path):
    """Item 1: the manifest hashes the bytes that were parsed. Change the file while the build
    embeds: the finished index is stale, and the next ask rebuilds it from the new text."""
    c = copy_small(small, tmp_path / "root", own_source=True)
    c["db"].unlink()
    log = tmp_path / "build.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "qa.front.cli", "index", str(c["src"]), "--name", "rur", "--rebuild"],
            stdout=subprocess.DEVNULL, stderr=err, env={**c["env"], "KZQA_TEST_PAUSE_AT": "embed:4"},
        )
        _wait_for(log, "test pause at embed", proc=proc)
        c["src"].write_text(c["src"].read_text().replace("4,217 prisoners", "5,309 prisoners"))
        assert proc.wait(timeout=300) == 0, log.read_text()
    rows = json.loads(run(["list", "--json"], c["env"]).stdout)
    rur = next(row for row in rows if row["name"] == "rur")
    assert rur["status"] == "stale" and "report text changed" in rur["problem"]
    r = run(["index", str(c["src"]), "--name", "rur"], c["env"])
    assert "is up to date" not in r.stdout and "built index 'rur'" in r.stdout
    obj, _ = ask_small(c, expect_rebuild=False)
    assert "5,309" in obj["answer"]["text"]


@pytest.mark.parametrize("how", ["emptied", "binary-starting-with-ff-fe"])
def test_i_unusable_source_of_an_intact_index_serves_the_old_index_and_says_it_is_stale(small, tmp_path, how):
    """Item 5: a report file that was emptied, or replaced by binary that starts like UTF-16,
    is never indexed; the intact index goes on answering, saying why it is out of date."""
    c = copy_small(small, tmp_path / "root", own_source=True)
    c["src"].write_bytes(b"" if how == "emptied" else b"\xff\xfe" + random.Random(5).randbytes(20000))
    before = snapshot(c)
    obj, said = ask_small(c, expect_rebuild=True)
    assert "4,217" in obj["answer"]["text"]
    assert "report text changed" in said and "answering from the index as it is" in said
    assert ("the file is empty" if how == "emptied" else "looks like a binary file") in said
    assert snapshot(c) == before
    r = run(["index", str(c["src"]), "--name", "rur", "--rebuild"], c["env"])
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, "the file is empty" if how == "emptied" else "looks like a binary file")
    assert snapshot(c) == before


def test_i_shipped_index_with_a_stale_corpus_hash_is_listed_as_stale(index_dir, tmp_path):
    root = tmp_path / "root"
    link_index(index_dir, root, "kazakhstan-2011")
    edit_manifest_db(root / "kazakhstan-2011.sqlite", lambda m: m["corpus"].update(sha256="0" * 64))
    r = run(["list"], {"KZQA_INDEX_DIR": str(root), "NO_COLOR": "1"})
    assert r.exit_code == 0
    assert "stale: report text changed (kazakhstan-2011-human-rights-report.txt)" in r.stdout


@pytest.mark.parametrize("where", ["index file", "index root"])
def test_i_index_path_that_is_not_what_it_should_be(small, tmp_path, where):
    if where == "index file":
        root = tmp_path / "root"
        root.mkdir()
        (root / "rur.sqlite").mkdir()
        env, expected = {"KZQA_INDEX_DIR": str(root), "NO_COLOR": "1"}, "is a folder, not an index file"
    else:
        root = tmp_path / "root-file"
        root.write_text("I am a file")
        env, expected = {"KZQA_INDEX_DIR": str(root), "NO_COLOR": "1"}, "is a file, not a folder"
    for args in (["ask", "torture", "--index", "rur"], ["index", str(small["src"]), "--name", "rur"], ["list"]):
        r = run(args, env)
        if args == ["list"] and where == "index file":
            assert r.exit_code == 0 and "damaged" in r.stdout
            continue
        assert r.exit_code == 1, (args, r.output)
        assert_one_line_error(r.stderr, expected)
    if where == "index file":
        assert (root / "rur.sqlite").is_dir() and not list((root / "rur.sqlite").iterdir())
    else:
        assert root.read_text() == "I am a file"


def test_i_unreadable_index_file(small, tmp_path, permissions_are_real):
    c = copy_small(small, tmp_path / "root")
    before = snapshot(c)
    c["db"].chmod(0)
    try:
        r = kzqa(["ask", AMNESTY_Q, "--index", "rur"], c["env"], drop_dac=True)
        assert r.returncode == 1, r.stderr
        assert_one_line_error(r.stderr, "rur.sqlite is unreadable (Permission denied)")
        r = kzqa(["list"], c["env"], drop_dac=True)
        assert r.returncode == 0 and b"damaged: index file" in r.stdout and b"unreadable (Permission denied)" in r.stdout
    finally:
        c["db"].chmod(0o644)
    assert snapshot(c) == before
    ask_small(c, expect_rebuild=False)  # all still there


def test_i_read_only_index_is_served_and_checked(small, tmp_path, permissions_are_real):
    c = copy_small(small, tmp_path / "root")
    folders = [c["root"], *(p for p in c["root"].rglob("*") if p.is_dir())]
    for folder in folders:
        folder.chmod(0o555)
    try:
        r = kzqa(["ask", AMNESTY_Q, "--index", "rur", "--json"], c["env"], drop_dac=True)
        assert r.returncode == 0, r.stderr
        assert "4,217" in json.loads(r.stdout)["answer"]["text"]
        r = kzqa(["index", str(small["src"]), "--name", "rur"], c["env"], drop_dac=True)
        assert r.returncode == 0 and b"is up to date" in r.stdout, r.stderr
        r = kzqa(["index", str(small["src"]), "--name", "rur", "--rebuild"], c["env"], drop_dac=True)
        assert r.returncode == 1
        assert_one_line_error(r.stderr, "cannot write", "rur")
    finally:
        for folder in folders:
            folder.chmod(0o755)
    assert sorted(p.name for p in c["root"].iterdir()) == ["kazakhstan-2011.sqlite", "models", "rur.sqlite"]


# ---------------------------------------------------------------- killed, failed and concurrent builds

def _wait_for(log: Path, text: str, timeout: float = 240.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended before {text!r}: {log.read_text(errors='replace')}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {text!r}: {log.read_text(errors='replace')}")


# lock: the write lock held, nothing written; embed: mid-embedding; export: the encoder about to
# be reused; write: the new rows half written; commit: every row written, not committed. Plus one
# kill at a random (seeded) moment of the build.
KILL_STAGES = ["lock", "embed", "export", "write", "commit"]
RANDOM_KILLS = [random.Random(2011).uniform(0.5, 6.0)]


def test_i_build_killed_at_any_point_loses_nothing(small, tmp_path):
    """kill -9 a rebuild at each stage (and at a random moment): the index it was replacing is
    served as before (or, had the build finished, the complete new one), and nothing else is
    left: no journal once the index is next read, no temporary file, no lock file."""
    runs = []
    for label in KILL_STAGES + [f"random-{i}" for i in range(len(RANDOM_KILLS))]:
        c = copy_small(small, tmp_path / label)
        c["label"] = label
        c["before_db"] = c["db"].read_bytes()
        c["before_files"] = files_of(c["root"])
        env = dict(c["env"])
        if not label.startswith("random"):
            env["KZQA_TEST_PAUSE_AT"] = label
        c["log"] = tmp_path / f"{label}.log"
        with open(c["log"], "wb") as err:
            c["proc"] = subprocess.Popen(
                [sys.executable, "-m", "qa.front.cli", "index", str(small["src"]), "--name", "rur", "--rebuild"],
                stdout=subprocess.DEVNULL, stderr=err, env=env,
            )
        c["started"] = time.monotonic()
        runs.append(c)
    try:
        for c in runs:
            if c["label"].startswith("random"):
                delay = RANDOM_KILLS[int(c["label"].split("-")[1])]
                time.sleep(max(0.0, c["started"] + delay - time.monotonic()))
            else:
                _wait_for(c["log"], f"test pause at {c['label']}", proc=c["proc"])
            c["proc"].send_signal(signal.SIGKILL)
            c["proc"].wait()
    finally:
        for c in runs:
            with contextlib.suppress(ProcessLookupError):
                c["proc"].kill()
            c["proc"].wait()
    for c in runs:
        label = c["label"]
        obj, said = ask_small(c, expect_rebuild=False)
        assert "4,217" in obj["answer"]["text"], label
        if not label.startswith("random"):  # the index it was replacing, byte for byte
            assert c["db"].read_bytes() == c["before_db"], label
        r = run(["index", str(small["src"]), "--name", "rur"], c["env"])
        assert r.exit_code == 0 and "is up to date" in r.stdout, (label, r.output)
        assert "waiting" not in r.stderr  # a dead build holds no lock
        if label in ("write", "commit"):  # SQLite ignores the journal such a build leaves; the next build removes it
            assert "removed what earlier runs left: the journal of a build killed while writing" in r.stderr, (label, r.stderr)
        files = files_of(c["root"])
        assert files == c["before_files"], (label, files)


def test_i_interrupted_first_build_leaves_nothing_and_a_killed_one_says_so(small, tmp_path):
    """Item 4: Ctrl-C (or SIGTERM) during the first build of a name removes the file it made;
    after kill -9 the name is listed as incomplete and asking it says so, without the
    contradiction "no index named 'x' (indexed: x)"."""
    c = copy_small(small, tmp_path / "root")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        log = tmp_path / f"{sig}.log"
        with open(log, "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "qa.front.cli", "index", str(small["src"]), "--name", "l5b"],
                stdout=subprocess.DEVNULL, stderr=err, env={**c["env"], "KZQA_TEST_PAUSE_AT": "embed"},
            )
            _wait_for(log, "test pause at embed", proc=proc)
            proc.send_signal(sig)
            code = proc.wait(timeout=60)
        if sig != signal.SIGKILL:
            assert code == 130 and "kzqa: interrupted" in log.read_text(), log.read_text()
            assert "Traceback" not in log.read_text()
            assert sorted(p.name for p in c["root"].iterdir()) == ["kazakhstan-2011.sqlite", "models", "rur.sqlite"], sig
            r = run(["ask", "torture", "--index", "l5b"], c["env"])
            error = assert_one_line_error(r.stderr, "no index named 'l5b'")
            assert "(indexed: kazakhstan-2011, rur)" in error
    rows = {row["name"]: row["status"] for row in json.loads(run(["list", "--json"], c["env"]).stdout)}
    assert rows["l5b"] == "incomplete"
    r = run(["ask", "torture", "--index", "l5b"], c["env"])
    assert_one_line_error(r.stderr, "index 'l5b'", "has no finished build", "kzqa index FILE --name l5b")
    r = run(["index", str(small["src"]), "--name", "l5b"], c["env"])
    assert r.exit_code == 0 and "built index 'l5b'" in r.stdout


def _limit_file_size(limit: int):
    def preexec():
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


def test_i_disk_full_while_writing_leaves_the_old_index_and_nothing_else(small, tmp_path):
    """Item 4: a write that fails for want of space (a file-size limit stands in for a full disk)
    is one line; the index it was replacing is served as before and nothing is left behind, so
    the next ask does not build again."""
    c = copy_small(small, tmp_path / "root", own_source=True)
    c["src"].write_text(c["src"].read_text() + "\n\nA new paragraph at the end of the report, added so that the rebuild has rows to write.\n" * 40)
    before_db = c["db"].read_bytes()
    before_files = files_of(c["root"])
    r = subprocess.run(
        [sys.executable, "-m", "qa.front.cli", "index", str(c["src"]), "--name", "rur", "--rebuild"],
        capture_output=True, env=c["env"], preexec_fn=_limit_file_size(len(before_db)), timeout=300,
    )
    assert r.returncode == 1, r.stderr
    assert_one_line_error(r.stderr, "cannot write index 'rur'")
    assert c["db"].read_bytes() == before_db
    assert files_of(c["root"]) == before_files
    rows = {row["name"]: row for row in json.loads(run(["list", "--json"], c["env"]).stdout)}
    assert rows["rur"]["status"] == "stale"  # the text changed; the index is intact


def test_i_dangling_symlink_is_never_followed(small, tmp_path):
    c = copy_small(small, tmp_path / "root")
    elsewhere = tmp_path / "elsewhere" / "target.sqlite"
    (c["root"] / "evil.sqlite").symlink_to(elsewhere)
    r = run(["index", str(small["src"]), "--name", "evil"], c["env"])
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, "symbolic link to nothing")
    assert not elsewhere.parent.exists()


def test_i_two_builds_at_once_the_second_waits_and_does_not_build_again(small, tmp_path):
    c = copy_small(small, tmp_path / "root")
    before = read_manifest(resolve_location(c["root"], "rur")).build_id
    cmd = [sys.executable, "-m", "qa.front.cli", "index", str(small["src"]), "--name", "rur", "--rebuild"]
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    with open(log_a, "wb") as ea, open(log_b, "wb") as eb:
        a = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=ea, env={**c["env"], "KZQA_TEST_PAUSE_AT": "lock:3"})
        _wait_for(log_a, "test pause at lock", proc=a)
        b = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=eb, env=c["env"])
        out_a, _ = a.communicate(timeout=300)
        out_b, _ = b.communicate(timeout=300)
    assert a.returncode == 0 and b.returncode == 0, (log_a.read_text(), log_b.read_text())
    assert b"built index 'rur'" in out_a
    assert "another kzqa process is building index 'rur'; waiting for it" in log_b.read_text()
    assert b"was just built by another kzqa process" in out_b
    after = read_manifest(resolve_location(c["root"], "rur"))
    assert after.build_id != before
    ask_small(c, expect_rebuild=False)


def test_i_loaded_index_keeps_its_fast_encoder_through_rebuilds(small, tmp_path):
    """Item 3: a library Index loaded before other processes rebuild its index (twice) and even
    remove the encoder file still answers with the ONNX encoder it loaded, at once."""
    from qa.search.pipeline import Index
    from qa.index.open import open_index

    c = copy_small(small, tmp_path / "root")
    index = Index(open_index(c["root"], "rur", auto_build=False, notify=None))
    for _ in range(2):
        r = kzqa(["index", str(small["src"]), "--name", "rur", "--rebuild"], c["env"])
        assert r.returncode == 0, r.stderr
    encoder_file(c["root"]).unlink()
    started = time.monotonic()
    answer = index.ask(AMNESTY_Q, mode="dense")
    assert time.monotonic() - started < 3.0
    assert index.encoder.encoder.name == "onnxruntime"
    assert "4,217" in answer.text


def test_i_ask_records_nothing_outside_the_index_folder(small, tmp_path):
    """Item 14: onnxruntime's telemetry is off: a dense ask writes nothing under the cache or
    home folders (onnxruntime.db was 2.4 MB), and an unwritable cache folder prints nothing."""
    c = copy_small(small, tmp_path / "root")
    home, cache = tmp_path / "home", tmp_path / "cache"
    home.mkdir()
    cache.mkdir()
    env = {**c["env"], "HOME": str(home), "XDG_CACHE_HOME": str(cache)}
    for mode in ("dense", "hybrid", "rerank"):
        r = kzqa(["ask", AMNESTY_Q, "--index", "rur", "--mode", mode], env)
        assert r.returncode == 0 and r.stderr == b"", r.stderr
    assert list(home.rglob("*")) == [] and list(cache.rglob("*")) == []
    cache.chmod(0o555)
    try:
        r = kzqa(["ask", AMNESTY_Q, "--index", "rur"], env, drop_dac=True)
    finally:
        cache.chmod(0o755)
    assert r.returncode == 0 and r.stderr == b"", r.stderr


# ================================================================ work that must end (items 6, 7, 8)

def _shared_content_pdf(path: Path, pages: int = 200, stream_bytes: int = 5_000_000) -> Path:
    """A small PDF whose pages all draw with one large content stream (~48 kB compressed)."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    w = PdfWriter()
    op = b"BT /F1 12 Tf 72 720 Td (word) Tj ET\n"
    content = DecodedStreamObject()
    content.set_data(op * (stream_bytes // len(op)))
    ref = w._add_object(content.flate_encode())
    font = w._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"), NameObject("/BaseFont"): NameObject("/Helvetica"),
    }))
    for _ in range(pages):
        page = w.add_blank_page(612, 792)
        page[NameObject("/Contents")] = ref
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    with open(path, "wb") as f:
        w.write(f)
    return path


@pytest.mark.parametrize("stream_bytes", [5_000_000, 400_000], ids=["one-5MB-stream", "one-400kB-stream"])
def test_w_pdf_whose_pages_share_a_huge_content_stream_fails_fast(tmp_path, stream_bytes):
    """Item 7: 200 pages drawing with one shared content stream ran `kzqa index` past 500 s."""
    pdf = _shared_content_pdf(tmp_path / "evil.pdf", stream_bytes=stream_bytes)
    assert pdf.stat().st_size < 200_000
    env = {**os.environ, "KZQA_INDEX_DIR": str(tmp_path / "root"), "NO_COLOR": "1"}
    started = time.monotonic()
    r = kzqa(["index", str(pdf), "--name", "evil"], env, timeout=120)
    assert time.monotonic() - started < 60
    assert r.returncode == 1
    assert_one_line_error(r.stderr, "drawing instructions", "it is not a text report")
    assert not (tmp_path / "root" / "evil.sqlite").exists()


def test_w_one_line_document_of_6000_words_is_cut_and_asked_quickly(small, tmp_path):
    """Item 6 (the build half): a "sentence" of thousands of words (a one-line document) is cut
    at build time into pieces of at most 100 words, so that no later stage works on one huge
    sentence."""
    c = copy_small(small, tmp_path / "root")
    rng = random.Random(6)
    words = [rng.choice(["court", "prison", "police", "law", "press", "vote", "union", "labor", "women", "child"]) for _ in range(6000)]
    words[4321] = "7,777"
    doc = tmp_path / "one-line.txt"
    doc.write_text(" ".join(words) + "\n")
    r = run(["index", str(doc), "--name", "oneline"], c["env"])
    assert r.exit_code == 0, r.output
    from qa.search.pipeline import Index
    from qa.index.open import open_index

    index = Index(open_index(c["root"], "oneline", auto_build=False, notify=None))
    assert max(len(s.text.split()) for s in index.sentences) <= 100
    assert " ".join(s.text for s in index.sentences) == " ".join(words)
    started = time.monotonic()
    r = run(["ask", "how many courts", "--index", "oneline", "--json"], c["env"])
    assert r.exit_code == 0 and time.monotonic() - started < 10


def test_w_batch_rows_are_written_as_they_are_answered(cli_env, tmp_path):
    """Item 8: the first answers reach standard output while later ones are still being worked
    out (nothing is held until the end)."""
    q = tmp_path / "many.txt"
    q.write_text("how many prisoners were released\n" * 600)
    proc = subprocess.Popen([sys.executable, "-m", "qa.front.cli", "batch", str(q), "--mode", "rerank"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=cli_env)
    try:
        first = json.loads(proc.stdout.readline())
        assert first["id"] == 1 and proc.poll() is None  # still answering the rest
    finally:
        proc.kill()
        proc.wait()


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


# ================================================================ output safety (items 12, 13)

def test_o_output_to_a_fifo_is_written_not_replaced(cli_env, tmp_path):
    q = tmp_path / "q.txt"
    q.write_text("torture\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = []
    reader = __import__("threading").Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    r = kzqa(["batch", str(q), "-o", str(fifo)], cli_env)
    reader.join(timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(got[0])["question"] == "torture"
    assert __import__("stat").S_ISFIFO(os.lstat(fifo).st_mode)


def test_o_output_through_a_symlink_keeps_the_link_and_modes_are_kept(cli_env, tmp_path):
    q = tmp_path / "q.txt"
    q.write_text("torture\n")
    target = tmp_path / "real.jsonl"
    target.write_text("old\n")
    target.chmod(0o644)
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    r = run(["batch", str(q), "-o", str(link)], cli_env)
    assert r.exit_code == 0, r.output
    assert link.is_symlink() and json.loads(target.read_text())["question"] == "torture"
    assert (target.stat().st_mode & 0o777) == 0o644
    new = tmp_path / "new.jsonl"
    old_umask = os.umask(0o022)
    try:
        r = kzqa(["batch", str(q), "-o", str(new)], cli_env)
    finally:
        os.umask(old_umask)
    assert r.returncode == 0 and (new.stat().st_mode & 0o777) == 0o644


def test_o_output_with_a_250_character_name(cli_env, tmp_path):
    q = tmp_path / "q.txt"
    q.write_text("torture\n")
    out = tmp_path / ("a" * 244 + ".jsonl")
    r = run(["batch", str(q), "-o", str(out)], cli_env)
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["question"] == "torture"


ESCAPES = "\x1b]0;owned\x07\x1b[2J\x9b2J\x1bP1;2|x\x1b\\\x90dcs\x9c"


def test_o_terminal_escapes_in_a_document_never_reach_the_terminal(small, tmp_path):
    """Item 13: escapes in an indexed document are removed when it is parsed; output is cleaned
    again when it is rendered."""
    c = copy_small(small, tmp_path / "root")
    doc = tmp_path / "evil.txt"
    text = ruritania(scale=0.1).as_text().replace("4,217 prisoners", f"4,217 {ESCAPES}prisoners")
    doc.write_text(text)
    assert run(["index", str(doc), "--name", "evil"], c["env"]).exit_code == 0
    outputs = []
    for args in (["ask", AMNESTY_Q, "--index", "evil"], ["ask", AMNESTY_Q, "--index", "evil", "--format", "markdown"],
                 ["ask", AMNESTY_Q, "--index", "evil", "--json"], ["show", "1.c", "--index", "evil"],
                 ["show", "p1", "--index", "evil", "--format", "markdown"], ["toc", "--index", "evil"]):
        r = run(args, c["env"])
        assert r.exit_code == 0, r.output
        outputs.append(r.stdout)
    for out in outputs:
        assert not any(ch in out for ch in "\x1b\x07\x9b\x90\x9c"), repr(out[:200])
    assert "4,217 prisoners" in outputs[0]


def test_o_render_removes_escapes_from_older_indexes(index):
    """What an index built before the parser cleaned text may hold is removed at render time."""
    from qa.front.render import answer_markdown, answer_text

    answer = index.ask("how many prisoners were released")
    answer.passages[0].text = "evil " + ESCAPES + answer.passages[0].text
    answer.sentence = ESCAPES + (answer.sentence or "")
    for out in (answer_text(answer, color=False), answer_text(answer, color=True), answer_markdown(answer)):
        assert not any(ch in out for ch in "\x07\x9b\x90\x9c") and "\x1b]" not in out and "\x1b[2J" not in out


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
