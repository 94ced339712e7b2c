"""`kzqa serve`: the HTTP API through httpx against a real server (the CLI command, uvicorn on a
free loopback port), compared with what the CLI prints for the same request; its errors, caps and
safe defaults; 503 while an index is built; and a bounded load of 200 concurrent asks."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from fakereport import ruritania
from faulthelpers import link_index
from qa.front.cli import cli
from served import Served

REPO = Path(__file__).resolve().parents[2]

PASSAGE = "1.c/prison-and-detention-center-conditions/4"
QUESTION = "how many prisoners were released"


@pytest.fixture(scope="module")
def server(index_dir):
    with Served(index_dir) as served:
        yield served


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def cli_json(args, env):
    r = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def cli_error(args, env) -> str:
    r = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert r.exit_code == 1
    return r.stderr.strip().removeprefix("kzqa: error: ")


# --- the same JSON as the CLI -----------------------------------------------------------------------


def test_serves_on_loopback_and_says_where(server):
    assert server.url.startswith("http://127.0.0.1:")
    assert "warning" not in server.stderr
    assert "kzqa: serving kazakhstan-2011 at " + server.url in server.stderr


def test_healthz_and_reports(http, cli_env):
    r = http.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "reports": {"kazakhstan-2011": "ready"}}
    (row,) = http.get("/api/reports").json()
    listed = next(i for i in cli_json(["list", "--json"], cli_env) if i["name"] == "kazakhstan-2011")
    assert row["name"] == "kazakhstan-2011" and row["default"] is True and row["state"] == "ready"
    assert (row["title"], row["pages"], row["passages"], row["status"]) == (listed["title"], listed["pages"], listed["chunks"], listed["status"])


@pytest.mark.parametrize("k, mode", [(3, "hybrid"), (5, "bm25"), (1, "rerank")])
def test_ask_is_the_json_of_kzqa_ask(http, cli_env, k, mode):
    r = http.get("/api/ask", params={"q": QUESTION, "k": k, "mode": mode})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == cli_json(["ask", QUESTION, "--json", "-k", str(k), "--mode", mode], cli_env)


def test_ask_answer_and_citation(http):
    d = http.get("/api/ask", params={"q": QUESTION}).json()
    assert d["answer"]["level"] == "answer" and d["answer"]["text"] == "8,390 prisoners" and d["answer"]["page"] == 5
    assert d["answer"]["passage_id"] == PASSAGE
    assert any(p["id"] == PASSAGE and p["sentence"] == d["answer"]["sentence"] for p in d["passages"])


def test_ask_reports_a_spelling_correction(http, cli_env):
    q = "how many prisonrs were releesed"
    d = http.get("/api/ask", params={"q": q}).json()
    assert d == cli_json(["ask", q, "--json"], cli_env)
    assert d["query"]["corrected"]


def test_show_and_toc_are_the_json_of_the_cli(http, cli_env):
    for ref in (PASSAGE, "1.c", "Internet Freedom", "p5"):
        r = http.get(f"/api/show/{ref}")
        assert r.status_code == 200, (ref, r.text)
        assert r.json() == cli_json(["show", ref, "--format", "json"], cli_env), ref
    assert http.get("/api/toc").json() == cli_json(["toc", "--format", "json"], cli_env)
    assert http.get("/api/toc", params={"depth": 1}).json() == cli_json(["toc", "--format", "json", "--depth", "1"], cli_env)


def test_batch_rows_are_those_of_kzqa_batch(http, cli_env, tmp_path):
    text = f'{QUESTION}\n\n{{"id": "q2", "question": "who won the presidential election"}}\n{{"question": ""}}\n{{bad json\n'
    path = tmp_path / "questions.txt"
    path.write_text(text, encoding="utf-8")
    r = CliRunner().invoke(cli, ["batch", str(path), "-k", "2"], env=cli_env, catch_exceptions=False)
    assert r.exit_code == 1  # rows with errors
    expected = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row.get("error") for row in expected][2:] == ["line 4: the question is empty", expected[3]["error"]]

    as_text = http.post("/api/batch", params={"k": 2}, content=text.encode(), headers={"content-type": "text/plain"})
    assert as_text.status_code == 200 and as_text.json() == expected
    assert as_text.headers["x-kzqa-errors"] == "2"
    jsonl = http.post("/api/batch", params={"k": 2, "format": "jsonl"}, content=text.encode())
    assert jsonl.headers["content-type"].startswith("application/x-ndjson")
    assert jsonl.text == r.stdout  # byte for byte what `kzqa batch` writes

    as_list = http.post("/api/batch", params={"k": 2}, json=[QUESTION, {"id": "q2", "question": "who won the presidential election"}, 7])
    rows = as_list.json()
    assert rows[0] == {"id": 1} | cli_json(["ask", QUESTION, "--json", "-k", "2"], cli_env)
    assert rows[1] == expected[1]
    assert rows[2] == {"id": 3, "line": 3, "error": 'line 3: has a "question" that is not text'}


# --- errors: the CLI's one-line messages, with status codes -----------------------------------------


def error_of(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"error", "status"} and body["status"] == status
    assert "\n" not in body["error"] and "Traceback" not in body["error"]
    return body["error"]


def test_bad_input_is_400_with_the_cli_message(http, cli_env):
    assert error_of(http.get("/api/ask", params={"q": "   "}), 400) == cli_error(["ask", "   "], cli_env)
    assert error_of(http.get("/api/ask", params={"q": "?!"}), 400) == cli_error(["ask", "?!"], cli_env)
    assert error_of(http.get("/api/ask", params={"q": QUESTION, "mode": "bmx"}), 400) == "unknown mode 'bmx'; choose from bm25, dense, hybrid, rerank"
    assert "k must be a whole number from 1 to 100" in error_of(http.get("/api/ask", params={"q": QUESTION, "k": 0}), 400)
    assert error_of(http.get("/api/ask", params={"q": QUESTION, "k": "many"}), 400).startswith("k: ")
    assert error_of(http.get("/api/ask"), 400).startswith("q: ")
    assert error_of(http.get("/api/toc", params={"depth": 7}), 400) == "depth must be 1, 2, 3 or 4 (got 7)"
    assert error_of(http.post("/api/batch", json={"question": QUESTION}), 400).startswith("give a JSON list")
    assert error_of(http.post("/api/batch", content=b""), 400) == "the request body has no questions (it is empty)"
    assert "looks like a binary file" in error_of(http.post("/api/batch", content=b"%PDF-1.4\x00\x01"), 400)
    assert error_of(http.post("/api/batch", content=b"[1,", headers={"content-type": "application/json"}), 400).startswith(
        "the request body is not valid JSON")


def test_hostile_json_bodies_are_400_not_500(http, server):
    """Every JSON body goes through one bounded decoder (qa/settings.py): too deep, a number too
    long, a string that is not text (a lone surrogate, in a question or an id) are a one-line 400,
    never a 500 with a traceback in the log (issue 20, item 14)."""
    cases = {
        b"[" * 5000 + b"]" * 5000: "the request body is not valid JSON (nested more than 32 deep)",
        b"[" + b"7" * 5000 + b"]": "the request body is not valid JSON (a number of 5000 characters; the limit is 100)",
        b'[{"question": "prisoners", "id": ' + b"9" * 5000 + b"}]": "the request body is not valid JSON (a number of 5000 characters; the limit is 100)",
        b'["prisoners \\ud800 released"]': "the request body is not valid text (a lone surrogate in a string)",
        b'[{"question": "prisoners", "id": "\\udc00"}]': "the request body is not valid text (a lone surrogate in a string)",
        b'[NaN]': "the request body is not valid JSON (NaN is not JSON)",
        b'["unterminated': "the request body is not valid JSON (Unterminated string starting at line 1 column 2)",
    }
    for body, message in cases.items():
        r = http.post("/api/batch", content=body, headers={"content-type": "application/json"})
        assert error_of(r, 400) == message, body[:40]
    assert "Traceback" not in server.stderr and "internal error" not in server.stderr


def test_content_type_is_case_insensitive_and_utf16_is_read(http, cli_env, tmp_path):
    """`APPLICATION/JSON` is JSON (media types are case-insensitive), and a UTF-16 body (by its
    byte-order mark, or as its charset says) is read as `kzqa batch` reads a UTF-16 file (item 20)."""
    as_json = http.post("/api/batch", params={"k": 1}, content=b'["prisoners released"]', headers={"content-type": "APPLICATION/JSON"})
    assert as_json.status_code == 200 and as_json.json()[0]["question"] == "prisoners released"
    assert http.post("/api/batch", params={"k": 1}, content=b'["prisoners released"]',
                     headers={"content-type": "Application/Json; Charset=UTF-8"}).json() == as_json.json()
    text = f"{QUESTION}\n{{\"id\": \"q2\", \"question\": \"who won the presidential election\"}}\n"
    path = tmp_path / "questions-utf16.txt"
    path.write_bytes(text.encode("utf-16"))  # with its byte-order mark
    r = CliRunner().invoke(cli, ["batch", str(path), "-k", "1"], env=cli_env, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    expected = [json.loads(line) for line in r.stdout.splitlines()]
    for content_type in ("text/plain", "text/plain; charset=utf-16"):
        got = http.post("/api/batch", params={"k": 1}, content=text.encode("utf-16"), headers={"content-type": content_type})
        assert got.status_code == 200 and got.json() == expected, content_type
    as_list = json.dumps([QUESTION, {"id": "q2", "question": "who won the presidential election"}])
    for body, content_type in ((as_list.encode("utf-16"), "application/json"),
                               (as_list.encode("utf-16-le"), "application/json; charset=UTF-16LE")):
        got = http.post("/api/batch", params={"k": 1}, content=body, headers={"content-type": content_type})
        assert got.status_code == 200, got.text
        assert got.json()[1] == expected[1] and got.json()[0] == {"id": 1} | {k: v for k, v in expected[0].items() if k != "id"}


def test_unknown_reference_or_report_is_404(http, cli_env):
    assert error_of(http.get("/api/show/internet fredom"), 404) == cli_error(["show", "internet fredom"], cli_env)
    assert error_of(http.get("/api/show/p99"), 404) == cli_error(["show", "p99"], cli_env)
    message = "no report named 'chad-2011' is served here; served: kazakhstan-2011"
    assert error_of(http.get("/api/ask", params={"q": QUESTION, "report": "chad-2011"}), 404) == message
    assert error_of(http.get("/api/toc", params={"report": "chad-2011"}), 404) == message
    assert error_of(http.get("/no/such/page"), 404) == "no such page: /no/such/page"


def test_too_large_is_413(http):
    assert error_of(http.get("/api/ask", params={"q": "prisoners " * 300}), 413) == (
        "the question is too long (3000 characters; the limit is 2000)")
    many = [QUESTION] * 101
    assert error_of(http.post("/api/batch", json=many), 413) == "too many questions (101; the limit is 100 a request)"
    lines = ("\n".join([QUESTION] * 101)).encode()
    assert error_of(http.post("/api/batch", content=lines), 413) == "too many questions (101; the limit is 100 a request)"
    big = b"prisoners\n" * 30_000  # 300 kB
    assert error_of(http.post("/api/batch", content=big), 413).startswith("the request body is too large")
    chunked = (b"prisoners\n" * 10_000 for _ in range(3))  # no Content-Length: counted as it arrives
    assert error_of(http.post("/api/batch", content=chunked), 413) == "the request body is too large (over 262144 bytes)"


# --- safe defaults ---------------------------------------------------------------------------------


def test_no_file_is_read_by_a_path_from_a_request(http):
    for path in ("/static/../qa/front/server.py", "/static/%2e%2e%2fserver.py", "/static/..%2F..%2Fpyproject.toml",
                 "/docs-assets/..%2Fcore.py", "/static/kzqa.css/../../../README.md"):
        assert error_of(http.get(path), 404).startswith("no such "), path
    # references are looked up in the loaded report, never on disk
    error_of(http.get("/api/show/..%2F..%2F..%2Fetc%2Fpasswd"), 404)
    error_of(http.get("/api/show//etc/passwd"), 404)
    assert http.get("/static/kzqa.css").status_code == 200


def test_loopback_server_refuses_other_host_names(http):
    """A server on 127.0.0.1 answers only requests addressed to a loopback name (DNS rebinding)."""
    assert error_of(http.get("/healthz", headers={"host": "attacker.example"}), 400).startswith("this server answers only")
    assert error_of(http.get("/healthz", headers={"host": "127.0.0.1.attacker.example"}), 400).startswith("this server")
    for host in ("localhost:1234", "LOCALHOST", "127.0.0.1", "[::1]:8000", "127.0.0.9:80"):
        assert http.get("/healthz", headers={"host": host}).status_code == 200, host


def raw_request(url: str, payload: bytes, wait: float = 30.0) -> tuple[float, bytes]:
    """Send bytes on a fresh connection; (seconds until the server closed it, what it sent)."""
    import socket
    from urllib.parse import urlsplit

    where = urlsplit(url)
    with socket.create_connection((where.hostname, where.port), timeout=wait) as sock:
        sock.sendall(payload)
        start, got = time.monotonic(), b""
        while chunk := sock.recv(65536):
            got += chunk
        return time.monotonic() - start, got


def json_error_of(raw: bytes, status: int) -> str:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), raw[:200]
    assert b"content-type: application/json" in head.lower(), head
    d = json.loads(body)
    assert set(d) == {"error", "status"} and d["status"] == status
    return d["error"]


def test_slow_requests_are_answered_408_and_closed(server, http):
    """A request whose line and headers, or whose body, do not arrive within READ_TIMEOUT_S is
    answered 408 and its connection closed (slowloris), while other requests go on (item 19)."""
    from concurrent.futures import ThreadPoolExecutor

    from qa.front.server import READ_TIMEOUT_S

    slow = {
        "headers": b"GET /healthz HTTP/1.1\r\nHost: local",
        "body": b"POST /api/batch HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nprisoners",
        "nothing": b"",
    }
    with ThreadPoolExecutor(len(slow)) as pool:
        futures = {name: pool.submit(raw_request, server.url, payload, READ_TIMEOUT_S + 20) for name, payload in slow.items()}
        time.sleep(1)
        assert http.get("/healthz").status_code == 200  # the server goes on meanwhile
        results = {name: f.result() for name, f in futures.items()}
    for name, (took, _) in results.items():
        assert READ_TIMEOUT_S - 1 <= took <= READ_TIMEOUT_S + 5, (name, took)
    assert json_error_of(results["headers"][1], 408) == f"the request did not arrive within {READ_TIMEOUT_S:g} s"
    assert json_error_of(results["body"][1], 408) == f"the request body did not arrive within {READ_TIMEOUT_S:g} s"
    assert results["nothing"][1] == b""  # an idle connection is closed, with nothing to answer
    assert "Traceback" not in server.stderr


def test_the_servers_own_errors_are_kzqa_json(server):
    """What uvicorn would answer in plain text (a malformed request) and the host guard's refusal
    are kzqa's JSON error, like every other (item 26)."""
    _, raw = raw_request(server.url, b"GET / HTTP/1.1\r\nHost: localhost\r\nNo colon here\r\n\r\n")
    assert json_error_of(raw, 400) == "the request is not valid HTTP/1.1"
    _, raw = raw_request(server.url, b"GET /healthz HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n")
    assert "answers only requests to this machine" in json_error_of(raw, 400)


@pytest.mark.parametrize("host", ["::1", "127.0.0.2"])
def test_any_loopback_address_serves_what_it_prints(index_dir, host):
    """`--host ::1` or `--host 127.0.0.2`: the URL kzqa prints answers (it was 400 "Invalid host
    header"), and other host names are still refused (item 22)."""
    with Served(index_dir, "--host", host) as served:
        assert served.url.startswith(f"http://{'[' + host + ']' if ':' in host else host}:")
        assert "warning" not in served.stderr
        r = httpx.get(served.url + "healthz", timeout=30)
        assert r.status_code == 200 and r.json()["status"] == "ok"
        assert httpx.get(served.url + "api/ask", params={"q": QUESTION}, timeout=60).json()["answer"]["text"] == "8,390 prisoners"
        assert error_of(httpx.get(served.url + "healthz", headers={"host": "rebind.example"}, timeout=30), 400).startswith(
            "this server answers only requests to this machine")


def test_security_headers(http):
    r = http.get("/", params={"q": QUESTION})
    assert r.headers["content-security-policy"].startswith("default-src 'none'; script-src 'self'")
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    assert http.get("/api/ask", params={"q": QUESTION}).headers["x-content-type-options"] == "nosniff"


def test_openapi_docs_are_served_by_kzqa(http):
    r = http.get("/docs")
    assert r.status_code == 200
    assert not re.search(r"(src|href)=['\"]https?://", r.text), "the docs page loads nothing from the internet"
    for asset in re.findall(r"(?:src|href)=['\"](/docs-assets/[^'\"]+)", r.text):
        assert http.get(asset).status_code == 200, asset
    paths = http.get("/openapi.json").json()["paths"]
    assert {"/api/ask", "/api/batch", "/api/show/{ref}", "/api/toc", "/api/reports", "/healthz"} <= set(paths)


# --- the command ---------------------------------------------------------------------------------


def run_kzqa(args, env, timeout=60):
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True, env=env, timeout=timeout)


def test_port_in_use_is_a_one_line_error(server, cli_env):
    port = server.url.rsplit(":", 1)[1].strip("/")
    r = run_kzqa(["serve", "--port", port], cli_env)
    assert r.returncode == 1
    assert r.stderr == f"kzqa: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_unknown_report_is_a_one_line_error(cli_env):
    for command in ("serve", "mcp"):
        r = run_kzqa([command, "--report", "chad-2011"], cli_env)
        assert r.returncode == 1, command
        assert r.stderr.startswith("kzqa: error: no index named 'chad-2011' in ") and r.stderr.count("\n") == 1
        assert r.stdout == ""


def test_without_the_extra_it_says_what_to_install(cli_env):
    code = "import sys; sys.modules['fastapi'] = None\nfrom qa.front.cli import main\nsys.argv = ['kzqa', 'serve']\nmain()"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=cli_env, timeout=60)
    assert r.returncode == 1
    assert r.stderr == "kzqa: error: this command needs the serve extra (fastapi is missing): pip install 'kzqa[serve]'\n"


def test_ask_does_not_import_the_serve_extra(cli_env):
    probe = ("from qa.front.cli import cli\ntry:\n    cli(['ask', 'how many prisoners were released', '--json'])\nexcept SystemExit:\n    pass\n"
             "import sys, json; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & "
             "{'fastapi', 'starlette', 'uvicorn', 'mcp', 'jinja2', 'httpx', 'anyio'})))")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=cli_env, timeout=120)
    assert r.stdout.strip().splitlines()[-1] == "[]"


def test_other_host_is_announced_and_ctrl_c_stops_cleanly(index_dir):
    with Served(index_dir, "--host", "0.0.0.0") as served:
        assert "kzqa: warning: listening on 0.0.0.0:" in served.stderr and "reachable from other machines" in served.stderr
        local = served.url.replace("0.0.0.0", "127.0.0.1")
        assert httpx.get(local + "healthz", headers={"host": "kzqa.example"}, timeout=30).status_code == 200
    assert served.proc.returncode == 0
    assert served.lines[-1] == "kzqa: stopped" and "Traceback" not in served.stderr


def test_503_while_the_index_is_built(tmp_path):
    """An empty index folder: the server starts at once, builds in the background (held at the
    build lock by the store's test hook), and says 503 with Retry-After until it is ready."""
    with Served(tmp_path / "empty", env={"KZQA_TEST_PAUSE_AT": "lock:120"}, ready=False) as served:
        with httpx.Client(base_url=served.url, timeout=30) as http:
            for _ in range(100):
                health = http.get("/healthz")
                if health.json()["reports"]["kazakhstan-2011"] == "building":
                    break
                time.sleep(0.1)
            assert health.status_code == 503 and health.json()["status"] == "loading"
            r = http.get("/api/ask", params={"q": QUESTION})
            assert error_of(r, 503) == "report 'kazakhstan-2011' is being indexed (first use); try again in a few seconds"
            assert r.headers["retry-after"] == "5"
            error_of(http.get("/api/toc"), 503)
            error_of(http.post("/api/batch", json=[QUESTION]), 503)
            page = http.get("/", params={"q": QUESTION})
            assert page.status_code == 503 and "being indexed" in page.text and 'http-equiv="refresh"' in page.text
            assert http.get("/api/reports").json()[0]["state"] == "building"
            assert "building the index" in served.stderr


# --- several reports ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_roots(index_dir, tmp_path_factory):
    """An index root with the shipped report and a second one (the tests' Ruritania chapter)."""
    root = tmp_path_factory.mktemp("served-reports")
    link_index(index_dir, root)
    txt = tmp_path_factory.mktemp("served-files") / "ruritania-2011.txt"
    txt.write_text(ruritania().as_text(), encoding="utf-8")
    r = CliRunner().invoke(cli, ["index", str(txt)], env={"KZQA_INDEX_DIR": str(root), "NO_COLOR": "1"}, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return root


def test_several_reports_each_loaded_once_the_first_the_default(two_roots):
    env = {"KZQA_INDEX_DIR": str(two_roots), "NO_COLOR": "1"}
    with Served(two_roots, "--report", "ruritania-2011", "--report", "kazakhstan-2011") as served, \
            httpx.Client(base_url=served.url, timeout=60) as http:
        assert "kzqa: serving ruritania-2011, kazakhstan-2011 at" in served.stderr
        rows = http.get("/api/reports").json()
        assert [(r["name"], r["default"], r["state"]) for r in rows] == [
            ("ruritania-2011", True, "ready"), ("kazakhstan-2011", False, "ready")]
        q = "how many prisoners did the amnesty release"
        default = http.get("/api/ask", params={"q": q}).json()
        assert default == cli_json(["ask", q, "--json", "--report", "ruritania-2011"], env)
        assert default["answer"]["text"] == "4,217 prisoners"
        other = http.get("/api/ask", params={"q": QUESTION, "report": "kazakhstan-2011"}).json()
        assert other["answer"]["text"] == "8,390 prisoners"
        assert http.get("/api/toc").json()["title"] == "RURITANIA"
        assert http.get("/api/toc", params={"report": "kazakhstan-2011"}).json()["title"] == "KAZAKHSTAN"
        assert http.get(f"/api/show/{PASSAGE}", params={"report": "kazakhstan-2011"}).json()["passage"]["id"] == PASSAGE
        error_of(http.get(f"/api/show/{PASSAGE}"), 404)  # not a passage of the default report
        # several reports searched as one: the CLI's cross-report answer, each passage naming its report
        both = http.get("/api/ask", params={"q": q, "report": ["ruritania-2011", "kazakhstan-2011"]}).json()
        assert both == cli_json(["ask", q, "--json", "--report", "ruritania-2011", "--report", "kazakhstan-2011"], env)
        assert {p["report"] for p in both["passages"]} <= {"ruritania-2011", "kazakhstan-2011"}
        assert all(p["id"].split(":")[0] == p["report"] for p in both["passages"])
        page = http.get("/", params={"q": QUESTION, "report": "kazakhstan-2011"}).text
        assert '<option value="kazakhstan-2011" selected>' in page and "8,390 prisoners" in page
        assert f'href="/show/{PASSAGE}?report=kazakhstan-2011#passage"' in page
        shown = http.get(f"/show/{PASSAGE}", params={"report": "kazakhstan-2011"})
        assert shown.status_code == 200 and 'id="passage"' in shown.text


# --- load ------------------------------------------------------------------------------------------


def load_module():
    spec = importlib.util.spec_from_file_location("bench_serve", REPO / "benchmarks" / "bench_serve.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_200_concurrent_asks(server, http, capsys):
    bench = load_module()
    expected = {q: http.get("/api/ask", params={"q": q, "k": 3}).json() for q in bench.QUESTIONS}
    result = asyncio.run(bench.run_load(server.url, total=200, concurrency=200))
    assert result["errors"] == []
    assert sum(len(v) for v in result["answers"].values()) == 200
    for q, answers in result["answers"].items():
        assert all(a == expected[q] for a in answers), q  # concurrency changes no answer
    s = bench.summary(result)
    with capsys.disabled():
        print(f"\n  load: 200 concurrent asks: p50 {s['p50_ms']:.0f} ms, p95 {s['p95_ms']:.0f} ms, {s['rps']:.0f} requests/s")
    assert http.get("/healthz").status_code == 200


def test_readme_serve_examples_are_what_the_server_says(server, http):
    """The console examples in README's "kzqa serve and kzqa mcp" section, against this server."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## kzqa serve and kzqa mcp", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("\n```", 1)[0] for b in section.split("```console\n")[1:]]
    serving = next(line for b in blocks for line in b.splitlines() if line.startswith("kzqa: serving"))
    assert serving.replace("http://127.0.0.1:8000/", server.url) in server.lines
    checked = 0
    for block in blocks:
        lines = block.splitlines()
        for command, output in zip(lines, lines[1:]):
            m = re.fullmatch(r"\$ curl -s '(http://127\.0\.0\.1:8000/\S+)'", command)
            if m:
                r = http.get(m.group(1).replace("http://127.0.0.1:8000/", server.url))
                assert r.text == output, command
                checked += 1
    assert checked >= 3
