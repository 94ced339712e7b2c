"""`kzqa mcp` through the `mcp` SDK's own stdio client: the server is started as an assistant
would start it (`kzqa mcp` as a child process speaking JSON-RPC on stdin/stdout), its tools are
listed and called, and each result is the JSON the CLI prints for the same request."""

from __future__ import annotations

import json
import os
import sys

import anyio
import pytest
from click.testing import CliRunner
from mcp import ClientSession, StdioServerParameters, stdio_client

from qa.front.cli import cli

QUESTION = "how many prisoners were released"
PASSAGE = "1.c/prison-and-detention-center-conditions/4"


def cli_json(args, env):
    r = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def session_calls(env: dict, calls: list[tuple[str, dict]]):
    """Start `kzqa mcp`, initialise, list the tools, make the calls; return (init, tools, results)."""

    async def main():
        params = StdioServerParameters(command=sys.executable, args=["-m", "qa", "mcp"], env=env)
        with anyio.fail_after(300), open(os.devnull, "w") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write):
                async with ClientSession(read, write) as session:
                    init = await session.initialize()
                    tools = (await session.list_tools()).tools
                    results = [await session.call_tool(name, args) for name, args in calls]
                    return init, tools, results

    return anyio.run(main)


@pytest.fixture(scope="module")
def conversation(index_dir):
    env = {**os.environ, "KZQA_INDEX_DIR": str(index_dir), "NO_COLOR": "1"}
    calls = [
        ("ask", {"question": QUESTION}),
        ("ask", {"question": "who won the presidential election", "k": 1}),
        ("show", {"ref": PASSAGE}),
        ("toc", {"depth": 2}),
        ("list_reports", {}),
        ("ask", {"question": "   "}),
        ("show", {"ref": "internet fredom"}),
        ("ask", {"question": QUESTION, "report": "chad-2011"}),
        ("ask", {"question": QUESTION, "k": 0}),
    ]
    init, tools, results = session_calls(env, calls)
    return init, {t.name: t for t in tools}, results


def payload(result) -> dict:
    assert not result.is_error, result.content[0].text
    text = json.loads(result.content[0].text)
    assert result.structured_content == text  # the same JSON, structured and as text
    return text


def test_server_identifies_itself_with_instructions(conversation):
    init, _, _ = conversation
    assert init.server_info.name == "kzqa"
    assert "cite" in init.instructions.lower() and "ask" in init.instructions


def test_lists_four_read_only_tools(conversation):
    _, tools, _ = conversation
    assert set(tools) == {"ask", "show", "toc", "list_reports"}
    assert set(tools["ask"].input_schema["properties"]) == {"question", "k", "report"}
    assert tools["ask"].input_schema["required"] == ["question"]
    assert set(tools["show"].input_schema["properties"]) == {"ref", "report"}
    assert "report" in tools["toc"].input_schema["properties"]
    assert all(t.annotations.read_only_hint and not t.annotations.destructive_hint for t in tools.values())
    assert all(t.description for t in tools.values())


def test_ask_returns_the_json_of_kzqa_ask(conversation, cli_env):
    _, _, results = conversation
    first = payload(results[0])
    assert first == cli_json(["ask", QUESTION, "--json"], cli_env)
    assert first["answer"]["text"] == "8,390 prisoners" and first["answer"]["page"] == 5
    assert first["passages"][0]["headings"][-1] == "Prison and Detention Center Conditions"
    assert payload(results[1]) == cli_json(["ask", "who won the presidential election", "--json", "-k", "1"], cli_env)


def test_show_toc_and_list_reports(conversation, cli_env):
    _, _, results = conversation
    assert payload(results[2]) == cli_json(["show", PASSAGE, "--format", "json"], cli_env)
    assert payload(results[3]) == cli_json(["toc", "--format", "json", "--depth", "2"], cli_env)
    (report,) = payload(results[4])["reports"]
    assert report["name"] == "kazakhstan-2011" and report["default"] and report["state"] == "ready" and report["pages"] == 37


def test_errors_are_error_results_with_the_cli_message(conversation):
    _, _, results = conversation
    messages = [r.content[0].text for r in results[5:]]
    assert all(r.is_error for r in results[5:])
    assert messages[0] == "the question is empty"
    assert messages[1].startswith("nothing matches 'internet fredom'; did you mean: 2.a/internet-freedom")
    assert messages[2] == "no report named 'chad-2011' is served here; served: kazakhstan-2011"
    assert messages[3] == "k must be a whole number from 1 to 100 (got 0)"


def test_readme_client_configuration_starts_kzqa_mcp():
    """README's MCP client snippet is valid JSON that starts `kzqa mcp`."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## kzqa serve and kzqa mcp", 1)[1].split("\n## ", 1)[0]
    (snippet,) = [b.split("\n```", 1)[0] for b in section.split("```json\n")[1:]]
    server = json.loads(snippet)["mcpServers"]["kzqa"]
    assert server["command"].endswith("/bin/kzqa") and server["args"] == ["mcp"]


def test_all_reports_and_their_prefixed_ids(two_report_root):
    """`ask` with report "all" searches every served report (as the API's report=all), and `show`
    takes the prefixed ids such an answer cites (issue 20, items 4 and 24)."""
    env = {**os.environ, "KZQA_INDEX_DIR": str(two_report_root), "NO_COLOR": "1"}
    q = "how many journalists were in prison"

    async def main():
        params = StdioServerParameters(command=sys.executable, args=["-m", "qa", "mcp", "--report", "kazakhstan-2011",
                                                                     "--report", "eritrea-2011"], env=env)
        with anyio.fail_after(300), open(os.devnull, "w") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    everything = payload(await session.call_tool("ask", {"question": q, "k": 2, "report": "all"}))
                    shown = [payload(await session.call_tool("show", {"ref": p["id"]})) for p in everything["passages"]]
                    return everything, shown

    everything, shown = anyio.run(main)
    assert everything == cli_json(["ask", q, "--json", "-k", "2", "--report", "kazakhstan-2011", "--report", "eritrea-2011"], env)
    assert {p["report"] for p in everything["passages"]} == {"kazakhstan-2011", "eritrea-2011"}
    for p, excerpt in zip(everything["passages"], shown):
        assert excerpt == cli_json(["show", p["id"], "--format", "json"], env)


def raw_session(env: dict, lines: list[str], replies: int, timeout: float = 300) -> list[dict]:
    """`kzqa mcp` spoken to line by line, as a client that sends what the SDK's client never
    would; stdin stays open until every reply has come (none may be missing)."""
    import subprocess
    import threading

    proc = subprocess.Popen([sys.executable, "-m", "qa", "mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env, text=True)
    out: list[dict] = []
    reader = threading.Thread(target=lambda: out.extend(json.loads(proc.stdout.readline()) for _ in range(replies)), daemon=True)
    reader.start()
    try:
        proc.stdin.write("".join(line + "\n" for line in lines))
        proc.stdin.flush()
        reader.join(timeout)
        assert not reader.is_alive(), f"{len(out)} of {replies} replies: {out}"
    finally:
        proc.stdin.close()
        proc.wait(30)
    assert proc.returncode == 0
    return out


INIT = json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}})
INITIALIZED = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"})


def test_every_malformed_message_gets_a_json_rpc_error(index_dir):
    """JSON-RPC 2.0: what cannot be parsed is answered with -32700, what is not a valid request
    with -32600 (id null when it cannot be read), a string that is not text with -32602; the
    server goes on answering (issue 20, item 17)."""
    env = {**os.environ, "KZQA_INDEX_DIR": str(index_dir), "NO_COLOR": "1"}
    call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "ask", "arguments": {"question": "\\ud800"}}}
    bad = [
        ('{"bad json', -32700, None),
        ("", -32700, None),
        ("[1, 2]", -32600, None),
        ('{"jsonrpc": "2.0", "id": null, "method": "ping"}', -32600, None),
        ('{"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"}', -32600, None),
        ('{"jsonrpc": "1.0", "id": 5, "method": "ping"}', -32600, 5),
        ("[" * 20_000 + "]" * 20_000, -32700, None),
        ('{"jsonrpc": "2.0", "id": ' + "9" * 5000 + ', "method": "ping"}', -32700, None),
        (json.dumps(call).replace("\\\\ud800", "\\ud800"), -32602, 7),
        ('{"jsonrpc": "2.0", "id": 13, "method": "tools/call", "params": "x"}', -32600, 13),
        ('"just a string"', -32600, None),
    ]
    ping = '{"jsonrpc": "2.0", "id": 99, "method": "ping"}'
    replies = raw_session(env, [INIT, INITIALIZED] + [line for line, _, _ in bad] + [ping], len(bad) + 2)
    assert replies[0]["id"] == 0 and "result" in replies[0]
    for (line, code, ident), reply in zip(bad, replies[1:]):
        assert reply["jsonrpc"] == "2.0" and reply["id"] == ident, (line[:40], reply)
        assert reply["error"]["code"] == code and "\n" not in reply["error"]["message"], (line[:40], reply)
    assert replies[-1] == {"jsonrpc": "2.0", "id": 99, "result": {}}  # and it still answers


def test_arguments_of_the_wrong_type_get_the_cli_message(index_dir):
    """`k: true` is not 1, a string is not a whole number, a missing question is named: one
    line each, no pydantic text or links (item 26)."""
    env = {**os.environ, "KZQA_INDEX_DIR": str(index_dir), "NO_COLOR": "1"}
    calls = [{"question": QUESTION, "k": True}, {"question": QUESTION, "k": "x"}, {}, {"question": 5},
             {"question": QUESTION, "report": 5}, {"question": QUESTION, "k": 2.5}]
    lines = [json.dumps({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": "ask", "arguments": a}})
             for i, a in enumerate(calls, 1)]
    replies = {r["id"]: r for r in raw_session(env, [INIT, INITIALIZED] + lines, len(calls) + 1)}
    said = [replies[i]["result"]["content"][0]["text"] for i in range(1, len(calls) + 1)]
    assert all(replies[i]["result"]["isError"] for i in range(1, len(calls) + 1))
    assert said == [
        "k must be a whole number from 1 to 100 (got True)",
        "k must be a whole number from 1 to 100 (got 'x')",
        "question is missing",
        "the question must be text",
        'report must be a report\'s name, a list of names, or "all"',
        "k must be a whole number from 1 to 100 (got 2.5)",
    ]
    assert not any("pydantic" in s or "http" in s for s in said)
