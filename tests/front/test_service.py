"""The application layer (qa/front/service.py) that the CLI, the shell, `kzqa serve` and `kzqa mcp`
share: its pieces tested on their own, with the real index where they answer."""

from __future__ import annotations

import pytest

from qa.errors import KzqaError
from qa.front.batch import parse_batch_bytes
from qa.front.service import NotReady, answered, batch_row


def test_one_batch_loop_turns_each_failure_into_its_row(index):
    items = parse_batch_bytes(b'how many prisoners were released\n{bad json\n   ?!\nboom\n')

    def ask(question):
        if question == "boom":
            raise RuntimeError("a fault\nover two lines")
        if question == "?!":
            raise KzqaError("the question has no words to search for")
        return index.ask(question, k=1)

    rows = [batch_row(*row) for row in answered(items, ask, internal_errors=True)]
    assert [r["id"] for r in rows] == [1, 2, 3, 4]
    assert rows[0]["answer"]["found"] and rows[0]["passages"][0]["rank"] == 1
    assert rows[1] == {"id": 2, "line": 2, "error": rows[1]["error"]} and rows[1]["error"].startswith("line 2: malformed JSON")
    assert rows[2] == {"id": 3, "line": 3, "error": "line 3: the question has no words to search for"}
    assert rows[3] == {"id": 4, "line": 4, "error": "line 4: internal error: RuntimeError: a fault over two lines"}

    # a server lets an internal error end the request (a 500) and a loading report too (a 503)
    with pytest.raises(RuntimeError):
        list(answered(items, ask))
    with pytest.raises(NotReady):
        list(answered(items[:1], lambda q: (_ for _ in ()).throw(NotReady("loading")), passes=(NotReady,)))


def test_kzqa_list_prints_the_rows_of_kzqa_list_json(cli_env, index_dir):
    """The table is laid out from the JSON rows (qa/front/render.index_table), nothing else."""
    import json

    from click.testing import CliRunner

    from qa.front.cli import cli
    from qa.front.render import index_table
    from qa.front.service import listing

    root, rows = listing(index_dir)
    as_json = CliRunner().invoke(cli, ["list", "--json"], env=cli_env, catch_exceptions=False)
    assert json.loads(as_json.stdout) == rows and "kazakhstan-2011" in [r["name"] for r in rows]
    table = CliRunner().invoke(cli, ["list"], env=cli_env, catch_exceptions=False).stdout
    assert table == index_table(rows, root)
    header, *lines = table.splitlines()
    assert header.split() == ["NAME", "REPORT", "LAYOUT", "PAGES", "PASSAGES", "MODEL", "BUILT", "STATUS"]
    shipped = next(line for line in lines if line.startswith("kazakhstan-2011*"))
    assert " Kazakhstan 2011 " in shipped and " pdf-text " in shipped and shipped.endswith("  ok")
    assert table.endswith(f"\n\n{len(rows)} index(es) in {root}; * = the default\n")
