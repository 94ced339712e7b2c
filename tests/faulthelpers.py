"""Helpers for tests that need real processes and real file permissions."""

from __future__ import annotations

import ctypes
import hashlib
import os
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
    """Hard-link an index into another root (for tests that only read it, or that replace files
    rather than write through them)."""
    for path in (src_root / name).rglob("*"):
        target = dst_root / name / path.relative_to(src_root / name)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)
