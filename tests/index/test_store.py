"""The index store: round trip, staleness, damage, interrupted builds, locking."""

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from faulthelpers import copy_root, edit_manifest_db, encoder_file, sql
from qa.index import format as store_format, listing, write as build
from qa.index.chunking import ChunkingParams
from qa.errors import Fix, KzqaError
from qa.index.write import build_index
from qa.index.open import open_index
from qa.index.read import read_manifest
from qa.index.naming import resolve_location


@pytest.fixture()
def index_copy(index_dir, tmp_path):
    """A private copy of the session index that a test may damage."""
    dst = tmp_path / "idx"
    copy_root(index_dir, dst)
    return dst


def test_round_trip(index_dir, index):
    stored = open_index(index_dir, auto_build=False, notify=None)
    assert [c.id for c in stored.chunks] == [c.id for c in index.chunks]
    assert stored.vectors.shape == (len(stored.chunks), 384)
    assert np.allclose(np.linalg.norm(stored.vectors, axis=1), 1.0, atol=1e-4)
    m = stored.manifest.data
    assert m["format_version"] == store_format.FORMAT_VERSION
    assert m["model"]["name"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert m["corpus"]["page_count"] == 37 and len(m["corpus"]["sha256"]) == 64
    assert m["chunking"] == ChunkingParams().as_dict()
    assert m["package_version"]


def test_fresh_index_is_not_rebuilt(index_dir):
    before = read_manifest(resolve_location(index_dir)).data
    result = build_index(index_dir=index_dir)
    assert not result.built
    assert read_manifest(resolve_location(index_dir)).data == before


@pytest.mark.parametrize(
    "edit, reason",
    [
        (lambda m: m.update(format_version=0), "index format 0"),
        (lambda m: m["corpus"].update(sha256="0" * 64), "report text changed"),
        (lambda m: m["model"].update(name="another/model"), "embedding model changed"),
        (lambda m: m.update(package_version="0.0.0"), "built by kzqa 0.0.0"),
        (lambda m: m["chunking"].update(max_words=7), "chunking parameters changed"),
    ],
)
def test_stale_index_is_detected(index_copy, edit, reason):
    loc = resolve_location(index_copy)
    edit_manifest_db(loc.path, edit)
    with pytest.raises(KzqaError, match="out of date") as info:
        open_index(index_copy, auto_build=False, notify=None)
    assert reason in str(info.value)


def _flip_middle(path):
    """Same-size damage: a byte in the middle of the file changed (a file replaced, not written
    through, since the encoder is hard-linked from the session index)."""
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x55
    path.unlink()
    path.write_bytes(bytes(raw))


DAMAGE = {
    "zero-byte database": "is unreadable",
    "garbage database": "is unreadable",
    "changed chunk row": "chunk 3 does not match its checksum",
    "changed vectors, same size": "the chunks vectors do not match their checksum",
    "missing report row": "has no report",
    "encoder changed, same size": "does not match its checksum",
    "encoder missing": "query encoder file",
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_index_is_detected(index_copy, damage):
    loc = resolve_location(index_copy)
    if damage == "zero-byte database":
        loc.path.write_bytes(b"")
    elif damage == "garbage database":
        loc.path.write_bytes(b"\x00\xff not a database" * 100)
    elif damage == "changed chunk row":
        sql(loc.path, "UPDATE chunks SET json = replace(json, 'the', 'teh') WHERE pos = 3")
    elif damage == "changed vectors, same size":
        data = sql(loc.path, "SELECT data FROM vectors WHERE kind = 'chunks'")[0][0]
        sql(loc.path, "UPDATE vectors SET data = ? WHERE kind = 'chunks'", bytes(reversed(data)))
    elif damage == "missing report row":
        sql(loc.path, "DELETE FROM report")
    elif damage == "encoder changed, same size":
        _flip_middle(encoder_file(index_copy))
    elif damage == "encoder missing":
        encoder_file(index_copy).unlink()
    with pytest.raises(KzqaError) as info:
        open_index(index_copy, auto_build=False, notify=None)
    if damage != "zero-byte database":  # an empty file is a first build that never finished
        assert DAMAGE[damage] in str(info.value)
    assert listing.list_indexes(index_copy)[0].status in ("damaged", "incomplete")


def test_damaged_index_is_rebuilt_and_says_so(index_copy):
    loc = resolve_location(index_copy)
    sql(loc.path, "UPDATE chunks SET json = replace(json, 'the', 'teh') WHERE pos = 3")
    said, steps = [], []
    stored = open_index(index_copy, notify=said.append, progress=lambda step, done, total: steps.append((step, total)))
    assert said and "rebuilding" in said[0] and "chunk 3" in said[0]
    assert len(stored.chunks) > 100
    # only the damaged chunk's texts are embedded again: the rest come from the intact rows
    assert 0 < max(total for step, total in steps if step == "embed") <= 12
    # the rebuilt index verifies
    open_index(index_copy, auto_build=False, notify=None)


def test_damaged_encoder_is_never_reused_and_a_rebuild_replaces_it(index_copy):
    """Item 2 of issue 13: same-size damage to the encoder is found by its checksum; a rebuild
    exports a fresh one rather than copying the damage forward, and the index is ok again."""
    _flip_middle(encoder_file(index_copy))
    assert listing.list_indexes(index_copy)[0].status == "damaged"
    said = []
    stored = open_index(index_copy, notify=said.append)
    assert "does not match its checksum; rebuilding" in said[0]
    assert listing.list_indexes(index_copy)[0].status == "ok"
    assert store_format.sha256_file(encoder_file(index_copy)) == stored.manifest["encoder"]["sha256"]


def test_index_path_that_is_a_folder(tmp_path):
    (tmp_path / "kazakhstan-2011.sqlite").mkdir()
    with pytest.raises(KzqaError, match="is a folder, not an index file"):
        open_index(tmp_path, notify=None)


def test_someone_elses_sqlite_file_is_never_written(tmp_path):
    theirs = tmp_path / "kazakhstan-2011.sqlite"
    sql(theirs, "CREATE TABLE notes (text TEXT)")
    before = theirs.read_bytes()
    with pytest.raises(KzqaError, match="kzqa did not write"):
        open_index(tmp_path, notify=None)
    assert theirs.read_bytes() == before


def test_missing_index_without_auto_build(tmp_path):
    with pytest.raises(KzqaError, match="no index 'kazakhstan-2011' in ") as caught:
        open_index(tmp_path / "nowhere", auto_build=False, notify=None)
    assert (caught.value.fix, caught.value.index) == (Fix.BUILD, "kazakhstan-2011")  # the CLI words it


def test_unknown_named_index(tmp_path):
    with pytest.raises(KzqaError, match="no index named 'chad'"):
        open_index(tmp_path, name="chad", notify=None)


def test_bad_index_name(tmp_path):
    with pytest.raises(KzqaError, match="invalid index name"):
        resolve_location(tmp_path, "../escape")


def test_second_builder_waits_for_the_lock_then_gives_up(index_copy):
    loc = resolve_location(index_copy)
    said = []
    with build._writer(loc, None):
        with pytest.raises(KzqaError, match="locked by another build"):
            with build._writer(loc, said.append, timeout=0.5):
                pass
    assert said and "waiting" in said[0]


def test_lock_is_released_for_the_next_builder(index_copy):
    loc = resolve_location(index_copy)
    order = []

    def holder():
        with build._writer(loc, None):
            order.append("first in")
            time.sleep(0.5)
            order.append("first out")

    t = threading.Thread(target=holder)
    t.start()
    time.sleep(0.2)
    with build._writer(loc, None, timeout=10):
        order.append("second in")
    t.join()
    assert order == ["first in", "first out", "second in"]


def test_a_reader_is_not_stopped_by_a_build_in_progress(index_copy):
    """A server can go on reading an index while another process rebuilds it."""
    loc = resolve_location(index_copy)
    with build._writer(loc, None):
        started = time.monotonic()
        stored = open_index(index_copy, auto_build=False, notify=None)
        assert time.monotonic() - started < 5 and len(stored.chunks) > 100


BUILD_SCRIPT = "import sys; from qa.index.write import build_index; build_index(index_dir=sys.argv[1], rebuild=True)"


@pytest.mark.parametrize("stage", ["write", "commit"])
def test_build_killed_mid_way_leaves_the_old_index_usable(index_copy, tmp_path, stage):
    loc = resolve_location(index_copy)
    before = read_manifest(loc).data
    log = tmp_path / "err.txt"
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-c", BUILD_SCRIPT, str(index_copy)], stderr=err,
                                env={**os.environ, "KZQA_TEST_PAUSE_AT": stage})
    deadline = time.time() + 120
    while time.time() < deadline and f"test pause at {stage}" not in log.read_text():
        time.sleep(0.05)
    assert f"test pause at {stage}" in log.read_text(), log.read_text()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert read_manifest(loc).data == before
    stored = open_index(index_copy, auto_build=False, notify=None)
    assert len(stored.chunks) == before["counts"]["chunks"]
    result = build_index(index_dir=index_copy)  # up to date; and what the killed build left is gone
    assert not result.built and result.cleaned == ["the journal of a build killed while writing"]
    assert sorted(p.name for p in index_copy.iterdir()) == ["kazakhstan-2011.sqlite", "models"]


def test_read_only_index_folder_still_serves(index_copy, tmp_path):
    """Real under root too: the reader runs in a child without the capabilities that let root
    ignore file modes (tests/faulthelpers.py)."""
    from faulthelpers import drop_dac, permissions_bind_children

    why_not = permissions_bind_children(tmp_path)
    if why_not:
        pytest.skip(why_not)
    folders = [index_copy, *(p for p in index_copy.rglob("*") if p.is_dir())]
    for folder in folders:
        os.chmod(folder, 0o555)
    code = (
        "import sys; from qa.index.open import open_index; "
        "s = open_index(sys.argv[1], auto_build=False, notify=None); print(len(s.chunks))"
    )
    try:
        r = subprocess.run([sys.executable, "-c", code, str(index_copy)], capture_output=True, text=True, preexec_fn=drop_dac)
        probe = subprocess.run([sys.executable, "-c", f"open({str(index_copy / 'x')!r}, 'w')"], capture_output=True, preexec_fn=drop_dac)
    finally:
        for folder in folders:
            os.chmod(folder, 0o755)
    assert probe.returncode != 0 and b"PermissionError" in probe.stderr  # the folder really was read-only
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) > 100


def test_unwritable_root_gives_a_clear_error(tmp_path):  # noqa: D103
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(KzqaError, match="cannot write index folder"):
        build_index(index_dir=blocker / "sub")


def test_rebuild_reuses_embeddings_of_unchanged_text(index_copy, index):
    """A rebuild with the same model embeds nothing again (no model load) and gets the same vectors."""
    said = []
    result = build_index(index_dir=index_copy, rebuild=True, progress=lambda step, d, n: said.append(step))
    assert result.built and "load model" not in said
    stored = open_index(index_copy, auto_build=False, notify=None)
    assert np.array_equal(stored.vectors, index.stored.vectors)
    assert np.array_equal(stored.sentence_vectors, index.stored.sentence_vectors)
