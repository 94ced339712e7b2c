"""The index folder: round trip, staleness, damage, interrupted builds, locking."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from qa import store
from qa.chunking import ChunkingParams
from qa.errors import KzqaError
from qa.store import build_index, open_index, read_manifest, resolve_location


@pytest.fixture()
def index_copy(index_dir, tmp_path):
    """A private copy of the session index that a test may damage."""
    dst = tmp_path / "idx"
    shutil.copytree(index_dir, dst)
    return dst


def test_round_trip(index_dir, index):
    stored = open_index(index_dir, auto_build=False, notify=None)
    assert [c.id for c in stored.chunks] == [c.id for c in index.chunks]
    assert stored.vectors.shape == (len(stored.chunks), 384)
    assert np.allclose(np.linalg.norm(stored.vectors, axis=1), 1.0, atol=1e-4)
    m = stored.manifest.data
    assert m["format_version"] == store.FORMAT_VERSION
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
    m = json.loads(loc.manifest_path.read_text())
    edit(m)
    loc.manifest_path.write_text(json.dumps(m))
    with pytest.raises(KzqaError, match="out of date") as info:
        open_index(index_copy, auto_build=False, notify=None)
    assert reason in str(info.value)


@pytest.mark.parametrize("damage", ["zero-byte chunks", "truncated vectors", "garbage manifest", "missing data", "flipped byte"])
def test_damaged_index_is_detected(index_copy, damage):
    loc = resolve_location(index_copy)
    m = read_manifest(loc)
    data = loc.folder / m.data_dir
    if damage == "zero-byte chunks":
        (data / "chunks.json").write_bytes(b"")
    elif damage == "truncated vectors":
        raw = (data / "vectors.npy").read_bytes()
        (data / "vectors.npy").write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage manifest":
        loc.manifest_path.write_bytes(b"\x00\xff not json")
    elif damage == "missing data":
        shutil.rmtree(data)
    elif damage == "flipped byte":
        raw = bytearray((data / "chunks.json").read_bytes())
        raw[100] = ord("X") if raw[100] != ord("X") else ord("Y")
        (data / "chunks.json").write_bytes(bytes(raw))
    with pytest.raises(KzqaError):
        open_index(index_copy, auto_build=False, notify=None)


def test_damaged_index_is_rebuilt_and_says_so(index_copy):
    loc = resolve_location(index_copy)
    m = read_manifest(loc)
    (loc.folder / m.data_dir / "chunks.json").write_bytes(b"")
    said = []
    stored = open_index(index_copy, notify=said.append)
    assert said and "rebuilding" in said[0] and "chunks.json" in said[0]
    assert len(stored.chunks) > 100
    # the rebuilt index verifies
    open_index(index_copy, auto_build=False, notify=None)


def test_index_path_that_is_a_file(tmp_path):
    (tmp_path / "kazakhstan-2011").write_text("not a folder")
    with pytest.raises(KzqaError, match="not a folder"):
        open_index(tmp_path, notify=None)


def test_missing_index_without_auto_build(tmp_path):
    with pytest.raises(KzqaError, match="kzqa index"):
        open_index(tmp_path / "nowhere", auto_build=False, notify=None)


def test_unknown_named_index(tmp_path):
    with pytest.raises(KzqaError, match="no index named 'chad'"):
        open_index(tmp_path, name="chad", notify=None)


def test_bad_index_name(tmp_path):
    with pytest.raises(KzqaError, match="invalid index name"):
        resolve_location(tmp_path, "../escape")


def test_second_builder_waits_for_the_lock_then_gives_up(index_copy, monkeypatch):
    loc = resolve_location(index_copy)
    said = []
    with store.build_lock(loc):
        with pytest.raises(KzqaError, match="locked by another build"):
            with store.build_lock(loc, timeout=0.5, notify=said.append):
                pass
    assert said and "waiting" in said[0]


def test_lock_is_released_for_the_next_builder(index_copy):
    loc = resolve_location(index_copy)
    order = []

    def holder():
        with store.build_lock(loc):
            order.append("first in")
            time.sleep(0.5)
            order.append("first out")

    t = threading.Thread(target=holder)
    t.start()
    time.sleep(0.1)
    with store.build_lock(loc, timeout=10):
        order.append("second in")
    t.join()
    assert order == ["first in", "first out", "second in"]


BUILD_SCRIPT = "import sys; from qa.store import build_index; build_index(index_dir=sys.argv[1], rebuild=True)"


def test_build_killed_mid_way_leaves_the_old_index_usable(index_copy):
    loc = resolve_location(index_copy)
    before = read_manifest(loc).data
    proc = subprocess.Popen([sys.executable, "-c", BUILD_SCRIPT, str(index_copy)], stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    # kill it once it has started writing its new data folder
    while time.time() < deadline and not list(loc.folder.glob("data-*.partial")):
        time.sleep(0.05)
    assert list(loc.folder.glob("data-*.partial")), "build never started writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert read_manifest(loc).data == before
    stored = open_index(index_copy, auto_build=False, notify=None)
    assert len(stored.chunks) == before["counts"]["chunks"]


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
        "import sys; from qa.store import open_index; "
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


def test_unwritable_root_gives_a_clear_error(tmp_path):
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
