"""Model files kept once per index root: the ONNX export of the query encoder.

Layout: `<root>/models/<model key>/<sha256>.onnx`. A file is named by the sha256 of its bytes, so
it says itself what it must contain: a file whose bytes do not hash to its name is damaged, is
never used and never reused, and is replaced by a fresh export. Every index of the root built
with the same model names the same file (the export is deterministic); nothing is copied into
an index, and no build ever deletes a file that verifies, so an index loaded by a long-running
process keeps its encoder however often others rebuild.

Hashing 90 MB costs ~0.2 s, too much for every cold `kzqa ask`: after a full check, the file's
identity and times (device, inode, size, mtime, ctime) are recorded in `<root>/models/verified.sqlite`.
A later check that finds the same identity and times trusts the recorded hash (any write to the
file changes its mtime and ctime); anything else hashes the file again. Where the root cannot be
written, nothing is recorded and every check hashes.

Exports are written to a temporary file in the same folder and renamed into place; a temporary
file is removed on every failure path, and at the start of the next export if a kill -9 left it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

from ..errors import IndexDamaged, KzqaError
from .format import SHA_RE
from .naming import fsync_folder, refuse_links

MODELS_DIR = "models"
STAMPS_DB = "verified.sqlite"
TMP_RE = re.compile(r"^\.(?P<sha>[0-9a-f]{1,64})\.(?P<pid>\d+)\.[0-9a-f]+\.tmp$")
STALE_TMP_SECONDS = 3600.0


def model_key(fingerprint: dict) -> str:
    """The folder for one model version: readable name and a hash of its fingerprint."""
    name = str(fingerprint.get("name", "model")).rsplit("/", 1)[-1].lower()
    name = re.sub(r"[^a-z0-9.-]+", "-", name).strip("-.") or "model"
    digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:12]
    return f"{name}-{digest}"


def models_root(root: Path) -> Path:
    return root / MODELS_DIR


def encoder_path(root: Path, key: str, sha256: str) -> Path:
    return models_root(root) / key / f"{sha256}.onnx"


def sha256_fd(fd: int) -> str:
    h = hashlib.sha256()
    offset = 0
    while True:
        block = os.pread(fd, 1 << 22, offset)
        if not block:
            return h.hexdigest()
        h.update(block)
        offset += len(block)


def _stamp(st: os.stat_result) -> tuple:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _stamps(root: Path, write: bool) -> sqlite3.Connection | None:
    """The verification record, or None where it cannot be used: unwritable, or a symbolic link
    (never written through, nor trusted: it could vouch for a file it never saw)."""
    path = models_root(root) / STAMPS_DB
    try:
        refuse_links(root, path)
        refuse_links(root, path.with_name(STAMPS_DB + "-journal"))
    except KzqaError:
        return None
    try:
        if write:
            conn = sqlite3.connect(path, timeout=5.0, isolation_level=None)
            conn.execute(
                "CREATE TABLE IF NOT EXISTS stamps (file TEXT PRIMARY KEY, sha256 TEXT NOT NULL, dev INTEGER, ino INTEGER,"
                " size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER)"
            )
            return conn
        if not path.is_file():
            return None
        from urllib.parse import quote

        return sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=5.0, isolation_level=None)
    except (sqlite3.Error, OSError):
        return None


def _recorded(root: Path, file: str) -> tuple | None:
    conn = _stamps(root, write=False)
    if conn is None:
        return None
    try:
        row = conn.execute("SELECT sha256, dev, ino, size, mtime_ns, ctime_ns FROM stamps WHERE file = ?", (file,)).fetchone()
    except sqlite3.Error:
        row = None
    finally:
        conn.close()
    return None if row is None else (row[0], tuple(row[1:]))


def _record(root: Path, file: str, sha256: str, stamp: tuple) -> None:
    conn = _stamps(root, write=True)
    if conn is None:
        return
    with contextlib.suppress(sqlite3.Error):
        conn.execute("INSERT OR REPLACE INTO stamps VALUES (?, ?, ?, ?, ?, ?, ?)", (file, sha256, *stamp))
    conn.close()


@dataclass
class EncoderFile:
    """A verified encoder file, held open: the open descriptor keeps these very bytes readable
    even if the file is later replaced or removed."""

    path: Path
    sha256: str
    fd: int

    def __post_init__(self) -> None:
        self._closer = weakref.finalize(self, _close_quietly, self.fd)

    def close(self) -> None:
        self._closer()

    @property
    def fd_path(self) -> str | None:
        """A path that opens the held file (Linux /proc), or None."""
        p = f"/proc/self/fd/{self.fd}"
        return p if os.path.exists(p) else None

    def read_bytes(self) -> bytes:
        size = os.fstat(self.fd).st_size
        return os.pread(self.fd, size, 0)


def _close_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def open_encoder(root: Path, key: str, sha256: str) -> EncoderFile:
    """Open and verify the encoder file an index names; IndexDamaged if it is missing, unreadable
    or its bytes do not hash to its name."""
    path = encoder_path(root, key, sha256)
    shown = f"{MODELS_DIR}/{key}/{sha256[:12]}….onnx"
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise IndexDamaged(f"query encoder file {shown} is missing") from None
    except OSError as exc:
        raise IndexDamaged(f"query encoder file {shown} is unreadable ({exc.strerror or exc})") from None
    try:
        stamp = _stamp(os.fstat(fd))
        file = f"{key}/{sha256}.onnx"
        known = _recorded(root, file)
        if known is None or known != (sha256, stamp):
            try:
                digest = sha256_fd(fd)
            except OSError as exc:
                raise IndexDamaged(f"query encoder file {shown} is unreadable ({exc.strerror or exc})") from None
            if digest != sha256:
                raise IndexDamaged(f"query encoder file {shown} does not match its checksum")
            _record(root, file, sha256, stamp)
    except BaseException:
        os.close(fd)
        raise
    return EncoderFile(path, sha256, fd)


def check_encoder(root: Path, key: str, sha256: str) -> None:
    """open_encoder without keeping the file open."""
    open_encoder(root, key, sha256).close()


def remove_stale_temporaries(root: Path) -> list[str]:
    """Remove temporary export files that a killed build left: those of processes that are gone,
    or older than an hour. Returns what it removed."""
    removed = []
    base = models_root(root)
    if base.is_symlink():
        return removed  # removing is writing: never through a link
    with contextlib.suppress(OSError):
        for folder in base.iterdir():
            if not folder.is_dir() or folder.is_symlink():
                continue
            for tmp in folder.iterdir():
                m = TMP_RE.match(tmp.name)
                if not m:
                    continue
                with contextlib.suppress(OSError):
                    if not _alive(int(m["pid"])) or time.time() - tmp.stat().st_mtime > STALE_TMP_SECONDS:
                        tmp.unlink()
                        removed.append(tmp.name)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def ensure_encoder(root: Path, key: str, export) -> str:
    """The sha256 of a verified encoder file for model `key` under `root`: one that is already
    there and verifies, else a fresh export (`export(path)` writes the ONNX file at path), hashed
    and renamed into place. Files that do not verify are removed."""
    folder = models_root(root) / key
    if not folder.is_dir():
        refuse_links(root, folder)  # every write below is checked the same way first
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise KzqaError(f"cannot write index folder {root}: {exc.strerror or exc}") from None
    remove_stale_temporaries(root)
    with contextlib.suppress(OSError):
        for existing in sorted(folder.glob("*.onnx")):
            sha = existing.stem
            if not SHA_RE.match(sha):
                continue
            try:
                check_encoder(root, key, sha)
                return sha  # reading through a link is no harm; writing through one is
            except IndexDamaged:
                refuse_links(root, existing)
                with contextlib.suppress(OSError):
                    existing.unlink()  # damaged: never reused; the export below replaces it
    refuse_links(root, folder)
    tmp = folder / f".{os.urandom(4).hex()}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        export(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            sha = sha256_fd(fd)
            os.fsync(fd)
        finally:
            os.close(fd)
        final = folder / f"{sha}.onnx"
        os.replace(tmp, final)
        fsync_folder(folder)
        _record(root, f"{key}/{sha}.onnx", sha, _stamp(final.stat()))  # after the rename, which sets ctime
        return sha
    except OSError as exc:
        raise KzqaError(f"cannot write index folder {root}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()

