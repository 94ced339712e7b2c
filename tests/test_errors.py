"""The library's errors say what is wrong and, as data, what would mend it (qa/errors.py's Fix);
only the front ends name a kzqa command (qa/front/hints.py), each action worded once."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from qa.errors import Fix, KzqaError
from qa.front.hints import explain, words

PACKAGE = Path(__file__).resolve().parent.parent / "qa"
# a command ("run: kzqa index"), not the noun ("a kzqa index"), or an option
COMMAND = re.compile(r"(?<!\ba )\bkzqa (ask|index|list|show|toc|batch|eval|serve|mcp|shell)\b|(?<![\w-])--[a-z][a-z-]+")


def _texts(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_library_errors_name_no_command():
    """Every error the library makes (a call of a class named ...Error, IndexDamaged, ...) and
    every problem it lists (`.problem = ...`), read from the source: no `kzqa CMD`, no --option."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "front" in path.relative_to(PACKAGE).parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            texts = []
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name.endswith(("Error", "Damaged", "Incomplete")):
                    texts = _texts(node)
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, (ast.Attribute, ast.Tuple)) and "problem" in ast.unparse(t) for t in node.targets
            ):
                texts = _texts(node.value)
            found += [f"{path.relative_to(PACKAGE)}:{node.lineno}: {t!r}" for t in texts if COMMAND.search(t)]
    assert not found, "\n".join(found)


def test_each_fix_is_worded_as_the_command_that_takes_it():
    assert words(Fix.BUILD, "kazakhstan-2011") == "; build it with: kzqa index"
    assert words(Fix.BUILD, "chad") == "; build it with: kzqa index FILE --name chad"
    assert words(Fix.BUILD) == "; build them with: kzqa index FILE-OR-FOLDER"
    assert words(Fix.REBUILD, "chad") == "; rebuild it with: kzqa index FILE --name chad --rebuild"
    assert words(Fix.REBUILD) == "; rebuild the index with: kzqa index --rebuild"
    assert words(Fix.UPGRADE, "chad") == "; upgrade kzqa, or replace it with: kzqa index FILE --name chad --rebuild"
    assert words(Fix.UPGRADE, "chad", building=True) == "; upgrade kzqa, or give --rebuild to replace it"
    assert words(None) == ""
    assert all(words(fix, "chad").strip() for fix in Fix)  # every action has its words


def test_an_unknown_index_says_what_to_build(tmp_path):
    from qa.index.open import open_index

    with pytest.raises(KzqaError) as caught:
        open_index(tmp_path, name="chad", notify=None)
    assert (caught.value.fix, caught.value.index) == (Fix.BUILD, "chad")
    assert str(caught.value) == f"no index named 'chad' in {tmp_path}"
    assert explain(caught.value) == f"no index named 'chad' in {tmp_path}; build it with: kzqa index FILE --name chad"


def test_reports_built_with_other_settings_name_the_older_to_rebuild():
    from qa.index.corpus import merge

    def member(name, created, dim):
        data = {"name": name, "created_at": created, "encoder": {"dim": dim}, "lexical": {}, "model": {}}
        return SimpleNamespace(manifest=SimpleNamespace(data=data))

    with pytest.raises(KzqaError) as caught:
        merge([member("new", "2026-02-01T00:00:00+00:00", 384), member("old", "2025-01-01T00:00:00+00:00", 768)])
    assert (caught.value.fix, caught.value.index) == (Fix.REBUILD, "old")
    assert explain(caught.value) == (
        "indexes 'new' and 'old' were built with different encoder settings ('old' is the older); "
        "rebuild it with: kzqa index FILE --name old --rebuild"
    )


def test_an_encoder_export_that_cannot_start_says_to_rebuild(tmp_path):
    from qa.represent.dense import _start_onnx

    broken = tmp_path / "encoder.onnx"
    broken.write_bytes(b"not an onnx model")
    with pytest.raises(KzqaError) as caught:
        _start_onnx(broken)
    assert caught.value.fix is Fix.REBUILD
    message = explain(caught.value)
    assert message.startswith("the fast query encoder cannot start (")
    assert message.endswith("; KZQA_QUERY_ENCODER=sentence-transformers answers without it; rebuild the index with: kzqa index --rebuild")
