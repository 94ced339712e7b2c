"""Command-line options and index names that are wrong: a usage error or a one-line error.

Part of the fault suite (tests/faults/; its conventions are in tests/faults/conftest.py).
"""

from __future__ import annotations

import json

import pytest

from fakereport import ruritania
from faulthelpers import assert_one_line_error, assert_usage_error, run


# ================================================================ options

USAGE_CASES = [
    (["ask", "torture", "-k", "0"], ["Invalid value for '-k'", "0 is not in the range"]),
    (["ask", "torture", "-k", "-3"], ["Invalid value for '-k'"]),
    (["ask", "torture", "-k", "1001"], ["Invalid value for '-k'"]),
    (["ask", "torture", "-k", str(10**30)], ["Invalid value for '-k'"]),
    (["ask", "torture", "-k", "three"], ["'three' is not a valid integer"]),
    (["ask", "torture", "--mode", "magic"], ["Invalid value for '--mode'", "'magic' is not one of"]),
    (["ask", "torture", "--json", "--format", "markdown"], ["--json conflicts with --format markdown"]),
    (["ask", "torture", "--format", "yaml"], ["Invalid value for '--format'"]),
    (["ask"], ["Missing argument 'QUESTION'"]),
    (["ask", "torture", "--bogus"], ["No such option '--bogus'"]),
    (["batch", "q.txt", "-k", "0"], ["Invalid value for '-k'"]),
    (["batch", "q.txt", "--mode", "magic"], ["Invalid value for '--mode'"]),
    (["index", "--name", "a", "--index", "b"], ["--name and --index name different indexes"]),
    (["eval", "--mode", "bm25", "--all-modes"], ["--mode and --all-modes conflict"]),
    (["eval", "-k", "0"], ["Invalid value for '-k'"]),
    (["list", "--bogus"], ["No such option '--bogus'"]),
    (["nosuchcommand"], ["No such command 'nosuchcommand'"]),
]


@pytest.mark.parametrize("args, parts", USAGE_CASES, ids=[" ".join(a) or "none" for a, _ in USAGE_CASES])
def test_o_usage_errors(cli_env, args, parts):
    assert_usage_error(run(args, cli_env), *parts)


def test_o_huge_k_within_the_limit_returns_every_passage(cli_env, index):
    r = run(["ask", "torture", "-k", "1000", "--json"], cli_env)
    assert r.exit_code == 0
    assert len(json.loads(r.stdout)["passages"]) == len(index.chunks)


@pytest.mark.parametrize("name", ["../etc", ".hidden", "a/b", "x y", "-rf", "-", "x" * 300, "café"])
def test_o_bad_index_name(cli_env, tmp_path, name):
    r = run(["ask", "torture", "--index", name], cli_env)
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, "invalid index name")
    f = tmp_path / "r.txt"
    f.write_text(ruritania(scale=0.1).as_text())
    r = run(["index", str(f), f"--name={name}"], {**cli_env, "KZQA_INDEX_DIR": str(tmp_path / "root")})
    assert r.exit_code == 1
    assert_one_line_error(r.stderr, "invalid index name")
    assert not (tmp_path / "root").exists()


def test_o_index_dir_of_an_unknown_user(cli_env):
    for args in (["ask", "torture"], ["list"], ["index"]):
        r = run([*args, "--index-dir", "~nosuchuser4711/x"], cli_env)
        assert r.exit_code == 1, r.output
        assert_one_line_error(r.stderr, "cannot find the home folder", "~nosuchuser4711/x")
