"""Helpers for tests that need real processes and real file permissions."""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, PR_CAPBSET_DROP = 1, 2, 3, 24
NO_CAPS_EXIT = 97


def drop_dac() -> None:
    """preexec_fn: make file modes bind the child even under root, by dropping the capabilities
    that let root ignore them (the child keeps uid 0, so it can still run the root-owned Python)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            os._exit(NO_CAPS_EXIT)


def permissions_bind_children(scratch: Path) -> str | None:
    """None if a child started with drop_dac cannot read a mode-000 file; else why not."""
    probe = scratch / "perm-probe"
    probe.write_text("x")
    probe.chmod(0)
    try:
        r = subprocess.run([sys.executable, "-c", f"open({str(probe)!r}).read()"], capture_output=True, preexec_fn=drop_dac)
    finally:
        probe.chmod(0o600)
    if r.returncode == NO_CAPS_EXIT:
        return "running as root and cannot drop CAP_DAC_OVERRIDE (prctl PR_CAPBSET_DROP refused)"
    if r.returncode == 0:
        return "file modes do not bind this process (unknown privilege)"
    return None


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under folder with its content hash (what 'nothing lost' compares)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def link_index(src_root: Path, dst_root: Path, name: str = "kazakhstan-2011") -> None:
    """An index in another root: its database copied (1-2 MB), the encoder files hard-linked."""
    copy_root(src_root, dst_root, names={name})


def edit_manifest_db(db: Path, edit) -> None:
    """Change an index's manifest row in place (what a damaged or foreign index looks like)."""
    import json
    import sqlite3

    conn = sqlite3.connect(db, isolation_level=None)
    try:
        m = json.loads(conn.execute("SELECT json FROM manifest WHERE id = 1").fetchone()[0])
        edit(m)
        conn.execute("UPDATE manifest SET json = ? WHERE id = 1", (json.dumps(m),))
    finally:
        conn.close()


def sql(db: Path, statement: str, *params):
    """Run one statement on an index database (to damage it on purpose); returns the rows."""
    import sqlite3

    conn = sqlite3.connect(db, isolation_level=None)
    try:
        return conn.execute(statement, params).fetchall()
    finally:
        conn.close()


def copy_root(src_root: Path, dst_root: Path, names=None) -> None:
    """A private copy of an index root: the index databases copied (a test may damage them), the
    90 MB encoder files hard-linked (tests replace them, never write through them)."""
    dst_root.mkdir(parents=True, exist_ok=True)
    for path in sorted(src_root.glob("*.sqlite")):
        if names is None or path.name[: -len(".sqlite")] in names:
            shutil.copy2(path, dst_root / path.name)
    for path in (src_root / "models").rglob("*.onnx"):
        target = dst_root / path.relative_to(src_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            os.link(path, target)


def encoder_file(root: Path) -> Path:
    (path,) = sorted((root / "models").rglob("*.onnx"))
    return path
