"""Shared fixtures: the real report, and the real index built once per test session in a
temporary folder (real model, real files on disk)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qa.search.pipeline import Index
from qa.document import Report
from qa.ingest.parse import load_report
from qa.index.write import build_index
from qa.index.open import open_index

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def report() -> Report:
    return load_report()


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("kzqa-index")
    build_index(index_dir=root)
    return root


@pytest.fixture(scope="session")
def index(index_dir) -> Index:
    return Index(open_index(index_dir, notify=None, auto_build=False))


@pytest.fixture()
def cli_env(index_dir, monkeypatch):
    """Environment for CLI runs: the session index, no colour."""
    monkeypatch.setenv("KZQA_INDEX_DIR", str(index_dir))
    monkeypatch.setenv("NO_COLOR", "1")
    return {**os.environ, "KZQA_INDEX_DIR": str(index_dir), "NO_COLOR": "1"}
