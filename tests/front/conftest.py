"""Fixtures of the serve tests: an index root with the shipped report and a chapter without
printed pages (tests/fixtures/eritrea-2011.txt, the web page's text), built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from faulthelpers import link_index
from qa.index.write import build_index

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="session")
def two_report_root(index_dir, tmp_path_factory) -> Path:
    """kazakhstan-2011 (printed pages) and eritrea-2011 (none) in one root."""
    root = tmp_path_factory.mktemp("kz-er-root")
    link_index(index_dir, root)
    assert build_index(FIXTURES / "eritrea-2011.txt", root, "eritrea-2011").built
    return root
