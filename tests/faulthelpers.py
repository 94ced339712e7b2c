"""Helpers for tests that need real processes and real file permissions."""

from __future__ import annotations

import ctypes
import hashlib
import json
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


# ---------------------------------------------------------------- the fault suite's CLI helpers (tests/faults/)

AMNESTY_Q = "how many prisoners were released in the amnesty"


def run(args, env, input=None):
    """kzqa through click's CliRunner, in this process."""
    from click.testing import CliRunner

    from qa.front.cli import cli

    return CliRunner().invoke(cli, args, env=env, input=input, catch_exceptions=False)


_drop_capabilities = drop_dac  # kzqa()'s drop_dac flag shadows the function's name


def kzqa(args, env, input: bytes | None = None, timeout=300, drop_dac=False, argv_bytes=None):
    """Run kzqa in a child process; returns CompletedProcess with bytes stdout/stderr."""
    argv = [sys.executable, "-m", "qa.front.cli", *args]
    if argv_bytes is not None:
        argv = [os.fsencode(sys.executable), b"-m", b"qa.front.cli", *argv_bytes]
    return subprocess.run(
        argv, input=input, capture_output=True, env=env, timeout=timeout,
        preexec_fn=_drop_capabilities if drop_dac else None,
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
