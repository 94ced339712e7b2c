"""The index folder: missing, damaged, stale, from another kzqa, unreadable, read-only; builds
killed at any point, failing on a full disk, running two at once: nothing lost or half written.

Part of the fault suite (tests/faults/; its conventions are in tests/faults/conftest.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from faulthelpers import edit_manifest_db, encoder_file, link_index, sql
from qa.index.format import FORMAT_VERSION
from qa.index.read import read_manifest
from qa.index.naming import resolve_location
from faulthelpers import AMNESTY_Q, ask_small, assert_one_line_error, copy_small, edit_manifest, files_of, kzqa, run, snapshot


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


def _garble_pages(db: Path, pages: list[int], seed: int = 20) -> None:
    """Random bytes over whole SQLite pages (1-based), the file's size kept."""
    import sqlite3

    conn = sqlite3.connect(db)
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    raw = bytearray(db.read_bytes())
    rnd = random.Random(seed)
    for page in pages:
        raw[(page - 1) * size : page * size] = bytes(rnd.randrange(256) for _ in range(size))
    _replace_bytes(db, bytes(raw))


def _quick_check(db: Path) -> list:
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    finally:
        conn.close()


@pytest.mark.parametrize("how", ["ask", "index", "index --rebuild"])
def test_i_sqlite_page_damage_is_rebuilt_in_place(small, tmp_path, how):
    """Item 16 of issue 20: random bytes over pages 3-4 (the report's and the chunks' tables) made
    the automatic rebuild and `kzqa index --rebuild` both fail "database disk image is malformed"
    until the file was deleted by hand. The build writes a damaged file's replacement beside it
    and renames it into place: nothing else is left, and the index checks clean."""
    c = copy_small(small, tmp_path / "root")
    files = files_of(c["root"])
    _garble_pages(c["db"], [3, 4])
    assert _quick_check(c["db"]) != ["ok"]
    rows = {row["name"]: row for row in json.loads(run(["list", "--json"], c["env"]).stdout)}
    assert rows["rur"]["status"] == "damaged" and "malformed" in rows["rur"]["problem"]
    if how == "ask":
        obj, said = ask_small(c, expect_rebuild=True)
        assert "malformed" in said and "4,217" in obj["answer"]["text"]
    else:
        r = run(["index", str(small["src"]), "--name", "rur", *how.split()[1:]], c["env"])
        assert r.exit_code == 0 and "built index 'rur'" in r.stdout, r.output
    assert _quick_check(c["db"]) == ["ok"]
    assert files_of(c["root"]) == files  # no temporary file, no journal
    rows = {row["name"]: row["status"] for row in json.loads(run(["list", "--json"], c["env"]).stdout)}
    assert rows == {"kazakhstan-2011": "ok", "rur": "ok"}
    obj, _ = ask_small(c, expect_rebuild=False)
    assert "4,217" in obj["answer"]["text"]


def test_i_a_build_killed_while_replacing_a_damaged_index_leaves_it_and_is_tidied(small, tmp_path):
    """The replacement of a damaged index is written beside it: kill -9 that build while it
    writes, and the damaged file is as it was; the next build removes what the killed one left,
    says so, and replaces the index."""
    c = copy_small(small, tmp_path / "root")
    files = files_of(c["root"])
    _garble_pages(c["db"], [3, 4])
    damaged = c["db"].read_bytes()
    log = tmp_path / "killed.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "qa.front.cli", "index", str(small["src"]), "--name", "rur", "--rebuild"],
            stdout=subprocess.DEVNULL, stderr=err, env={**c["env"], "KZQA_TEST_PAUSE_AT": "write"},
        )
        try:
            _wait_for(log, "test pause at write", proc=proc)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    assert c["db"].read_bytes() == damaged
    assert [p.name for p in c["root"].glob(".rur.sqlite.*.tmp")], files_of(c["root"])
    r = run(["index", str(small["src"]), "--name", "rur"], c["env"])
    assert r.exit_code == 0 and "built index 'rur'" in r.stdout, r.output
    assert "removed what earlier runs left: 1 unfinished replacement of a damaged index" in r.stderr
    assert files_of(c["root"]) == files and _quick_check(c["db"]) == ["ok"]


def test_i_damage_on_a_page_no_row_lives_on_is_found(small, tmp_path):
    """Item 16 of issue 20: damage on a page the reader never reads (here the vectors table's
    key index) left `kzqa list` saying ok though PRAGMA quick_check failed. The check is SQLite's
    own as well as the rows' checksums; `kzqa index` then rebuilds it."""
    c = copy_small(small, tmp_path / "root")
    (page,) = sql(c["db"], "SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_vectors_1'")[0]
    _garble_pages(c["db"], [page])
    assert _quick_check(c["db"]) != ["ok"]
    rows = {row["name"]: row for row in json.loads(run(["list", "--json"], c["env"]).stdout)}
    assert rows["rur"]["status"] == "damaged", rows["rur"]
    r = run(["index", str(small["src"]), "--name", "rur"], c["env"])
    assert r.exit_code == 0 and "built index 'rur'" in r.stdout, r.output
    assert _quick_check(c["db"]) == ["ok"]
    rows = {row["name"]: row["status"] for row in json.loads(run(["list", "--json"], c["env"]).stdout)}
    assert rows["rur"] == "ok"


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


def test_i_another_index_copied_under_a_name_is_never_served_as_it(small, tmp_path):
    """Item 12 of issue 20: `cp idx/rur.sqlite idx/kazakhstan-2011.sqlite` answered from rur, and
    `kzqa list` showed it as kazakhstan-2011, ok. The file's name must be the name recorded in it:
    list says damaged and why, ask is a one-line error (the file is neither served nor replaced:
    it may be the only copy of the index it holds), `kzqa index` replaces it only with --rebuild."""
    import shutil

    c = copy_small(small, tmp_path / "root")
    shutil.copy2(c["db"], c["root"] / "kazakhstan-2011.sqlite")
    shutil.copy2(c["db"], c["root"] / "other.sqlite")
    rows = {row["name"]: row for row in json.loads(run(["list", "--json"], c["env"]).stdout)}
    assert rows["rur"]["status"] == "ok"
    for name in ("kazakhstan-2011", "other"):
        assert rows[name]["status"] == "damaged", rows[name]
        assert f"holds the index 'rur', not '{name}'" in rows[name]["problem"]
    assert "damaged: index file" in run(["list"], c["env"]).stdout
    before = snapshot(c)
    for name, hint in (("kazakhstan-2011", "kzqa index --rebuild"), ("other", "kzqa index FILE --name other --rebuild")):
        r = run(["ask", AMNESTY_Q, "--index", name], c["env"])
        assert r.exit_code == 1 and r.stdout == ""
        assert_one_line_error(r.stderr, "holds the index 'rur'", hint)
    r = run(["ask", AMNESTY_Q, "--all"], c["env"])
    assert r.exit_code == 0 and r.stdout.startswith("Answer: 4,217 prisoners"), r.output  # --all: the readable ones
    r = run(["index", str(small["src"]), "--name", "other"], c["env"])
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, "holds the index 'rur', not 'other'", "--rebuild")
    assert snapshot(c) == before
    r = run(["index", str(small["src"]), "--name", "other", "--rebuild"], c["env"])
    assert r.exit_code == 0 and "built index 'other'" in r.stdout, r.output
    assert read_manifest(resolve_location(c["root"], "other"))["name"] == "other"


def test_i_list_explains_the_star_only_when_a_row_has_it(small, tmp_path):
    """Item 6 of issue 20: the legend "* = the default" was printed under a table with no star."""
    c = copy_small(small, tmp_path / "root")
    r = run(["list"], c["env"])
    assert "kazakhstan-2011*" in r.stdout and r.stdout.rstrip().endswith("; * = the default")
    (c["root"] / "kazakhstan-2011.sqlite").unlink()
    r = run(["list"], c["env"])
    assert r.exit_code == 0 and "rur" in r.stdout
    assert "*" not in r.stdout
    assert r.stdout.rstrip().endswith(f"1 index(es) in {c['root']}")


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
    rows = {row["name"]: row for row in json.loads(run(["list", "--json"], c["env"]).stdout)}
    assert rows["l5b"]["status"] == "incomplete"
    # the command that finishes it names the index (`kzqa index` alone would build the shipped one)
    assert rows["l5b"]["problem"] == "no finished build (its first build was interrupted); build it with: kzqa index FILE --name l5b"
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


def test_i_no_build_writes_through_a_link_to_another_index_or_outside(small, tmp_path):
    """Item 13 of issue 20: `ln -s rur.sqlite foo.sqlite; kzqa index F --name foo --rebuild`
    overwrote rur, and an index linked to a file outside the folder was rebuilt there. Every write
    under the folder refuses a link (qa/index/naming.refuse_links); reading through one still works."""
    c = copy_small(small, tmp_path / "root")
    (c["root"] / "foo.sqlite").symlink_to("rur.sqlite")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "rur.sqlite").write_bytes(c["db"].read_bytes())
    other = copy_small(small, tmp_path / "other")
    other["db"].unlink()
    other["db"].symlink_to(outside / "rur.sqlite")
    before, before_outside = snapshot(c), (outside / "rur.sqlite").read_bytes()
    for env, name, extra in ((c["env"], "foo", []), (c["env"], "foo", ["--rebuild"]), (other["env"], "rur", ["--rebuild"])):
        r = run(["index", str(small["src"]), "--name", name, *extra], env)
        assert r.exit_code == 1 and r.stdout == "", (name, extra, r.output)
        assert_one_line_error(r.stderr, f"{name}.sqlite is a symbolic link; kzqa never writes through a link")
    r = run(["index", str(small["src"]), "--name", "rur"], other["env"])
    assert r.exit_code == 0 and "is up to date" in r.stdout  # nothing to write: read through the link
    assert snapshot(c) == before and (outside / "rur.sqlite").read_bytes() == before_outside
    obj, _ = ask_small(other, expect_rebuild=False)  # served through the link, read only
    assert "4,217" in obj["answer"]["text"]
    assert (outside / "rur.sqlite").read_bytes() == before_outside and not list(outside.glob("*-journal"))


def test_i_the_verification_record_and_encoder_folder_are_never_written_through_a_link(small, tmp_path):
    """Item 13 of issue 20: models/verified.sqlite linked to a file outside was written there;
    nor may an encoder export land in a folder the link points to."""
    c = copy_small(small, tmp_path / "root")
    stamps = c["root"] / "models" / "verified.sqlite"
    with contextlib.suppress(FileNotFoundError):
        stamps.unlink()
    precious = tmp_path / "precious.sqlite"
    precious.write_bytes(b"")
    stamps.symlink_to(precious)
    obj, _ = ask_small(c, expect_rebuild=False)
    assert "4,217" in obj["answer"]["text"]
    assert precious.read_bytes() == b""  # nothing recorded through the link (the check hashed instead)
    key_folder = encoder_file(c["root"]).parent
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for f in key_folder.iterdir():
        f.unlink()
    key_folder.rmdir()
    key_folder.symlink_to(elsewhere)  # an empty folder: a build would export into it
    r = run(["index", str(small["src"]), "--name", "rur", "--rebuild"], c["env"])
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, f"{key_folder} is a symbolic link; kzqa never writes through a link")
    assert list(elsewhere.iterdir()) == []


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


def test_i_a_build_waiting_for_a_live_one_does_not_call_its_journal_left_over(small, tmp_path):
    """Item 27 of issue 20: a build that waited for one writing its rows said "removed what
    earlier runs left: the journal of a build killed while writing"; nothing had been killed."""
    c = copy_small(small, tmp_path / "root")
    cmd = [sys.executable, "-m", "qa.front.cli", "index", str(small["src"]), "--name", "rur", "--rebuild"]
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    with open(log_a, "wb") as ea, open(log_b, "wb") as eb:
        a = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=ea, env={**c["env"], "KZQA_TEST_PAUSE_AT": "write:4"})
        _wait_for(log_a, "test pause at write", proc=a)
        assert (c["root"] / "rur.sqlite-journal").exists()  # the live build's
        b = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=eb, env=c["env"])
        a.communicate(timeout=300)
        out_b, _ = b.communicate(timeout=300)
    assert a.returncode == 0 and b.returncode == 0, (log_a.read_text(), log_b.read_text())
    said = log_b.read_text()
    assert "waiting for it" in said and "removed what earlier runs left" not in said, said
    assert "removed what earlier runs left" not in log_a.read_text()
    assert b"was just built by another kzqa process" in out_b


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
