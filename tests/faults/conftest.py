"""Fault and bad-input suite: every case ends in a normal answer or a clear one-line error with a
non-zero exit status, never a traceback, and never a lost or half-written index.

Cases run through the real CLI: click's CliRunner, or a subprocess where a real process matters
(kill -9, two builds at once, raw bytes on stdin or in argv, file permissions). Permission cases
run the child without the capabilities that let root ignore file modes, so they are real under
root (CI) too. Index faults use a small index (a fictional report, tests/fakereport.py) so that
rebuilds and killed builds cost seconds, not minutes.
"""

from __future__ import annotations

import pytest

from fakereport import ruritania
from faulthelpers import link_index, permissions_bind_children
from qa.index.write import build_index


@pytest.fixture(scope="session")
def permissions_are_real(tmp_path_factory):
    """File modes bind a child process: true for a normal user, and for root once the child drops
    CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH (prctl). Skip only if neither is possible."""
    why_not = permissions_bind_children(tmp_path_factory.mktemp("perm"))
    if why_not:
        pytest.skip(why_not)


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
def loaded(index_dir):
    from qa.search.pipeline import Index
    from qa.index.open import open_index

    return Index(open_index(index_dir, notify=None, auto_build=False))
