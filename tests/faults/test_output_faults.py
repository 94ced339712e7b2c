"""Output that must stay safe: output files replaced atomically or written through (FIFOs,
symlinks, long names), terminal escapes in a document never reaching the terminal.

Part of the fault suite (tests/faults/; its conventions are in tests/faults/conftest.py).
"""

from __future__ import annotations

import json
import os


from fakereport import ruritania
from faulthelpers import AMNESTY_Q, copy_small, kzqa, run


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
