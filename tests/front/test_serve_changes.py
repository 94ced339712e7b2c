"""`kzqa serve` while its index files change on disk: a rebuilt index is answered from once it is
rebuilt, a moved one is reported failed (and loaded again when it comes back), and a report that
cannot be loaded says so once, as a server error, instead of "try again in 5 s" for ever. A real
server (devtools/served.py), httpx, and the real `kzqa index`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from faulthelpers import copy_root
from served import Served

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
Q = "how many journalists were in prison"


def wait_until(probe, timeout=180.0, every=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not so after {timeout} s")


def kzqa(args, root):
    env = {**os.environ, "KZQA_INDEX_DIR": str(root), "NO_COLOR": "1"}
    r = subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture()
def changing(two_report_root, tmp_path):
    root = tmp_path / "root"
    copy_root(two_report_root, root)
    with Served(root, "--report", "kazakhstan-2011", "--report", "eritrea-2011") as served, \
            httpx.Client(base_url=served.url, timeout=60) as http:
        yield root, served, http


def short_answer(http):
    return http.get("/api/ask", params={"q": Q, "report": "eritrea-2011", "k": 1}).json()["answer"]["text"]


def test_a_rebuilt_or_moved_index_is_noticed(changing, tmp_path):
    root, served, http = changing
    assert short_answer(http) == "Approximately 30 journalists"
    # the report changes and its index is rebuilt by another process: answers follow it
    edited = tmp_path / "eritrea-2011.txt"
    edited.write_text((FIXTURES / "eritrea-2011.txt").read_text(encoding="utf-8").replace(
        "Approximately 30 journalists", "Approximately 45 journalists"), encoding="utf-8")
    kzqa(["index", str(edited), "--name", "eritrea-2011", "--rebuild"], root)
    wait_until(lambda: http.get("/healthz").status_code == 200 and short_answer(http) == "Approximately 45 journalists")
    assert "index 'eritrea-2011' changed on disk; loading it again" in served.stderr
    # moved away: not "ok" any more, and no answer from the build that is gone
    db = root / "eritrea-2011.sqlite"
    db.rename(root / "elsewhere.bak")
    health = wait_until(lambda: (h := http.get("/healthz")).json()["reports"]["eritrea-2011"] == "failed" and h)
    assert health.status_code == 503 and health.json()["status"] == "failed"
    row = next(r for r in http.get("/api/reports").json() if r["name"] == "eritrea-2011")
    assert row["state"] == "failed" and "no index named 'eritrea-2011' in the index folder" in row["error"]
    r = http.get("/api/ask", params={"q": Q, "report": "eritrea-2011"})
    assert r.status_code == 500 and "no index named 'eritrea-2011'" in r.json()["error"]
    for said in (r.text, http.get("/api/reports").text, http.get("/", params={"q": Q, "report": "eritrea-2011"}).text):
        assert str(root) not in said and os.path.realpath(root) not in said  # no path of this machine (item 26)
    assert http.get("/api/ask", params={"q": Q}).status_code == 200  # the other report is untouched
    # back again: served again
    (root / "elsewhere.bak").rename(db)
    wait_until(lambda: http.get("/healthz").status_code == 200)
    assert short_answer(http) == "Approximately 45 journalists"


def test_a_report_that_failed_says_so_without_retry(changing):
    """A report that cannot be loaded is a server error (500) with its reason: no Retry-After,
    and its page does not refresh itself for ever (503 + Retry-After is for a report loading)."""
    root, served, http = changing
    (root / "eritrea-2011.sqlite").write_bytes(b"this is not an index" * 100)  # damaged, no report to rebuild from
    wait_until(lambda: http.get("/healthz").json()["reports"]["eritrea-2011"] == "failed")
    r = http.get("/api/ask", params={"q": Q, "report": "eritrea-2011"})
    assert r.status_code == 500 and "retry-after" not in r.headers
    body = r.json()
    assert body["status"] == 500 and body["error"].startswith("report 'eritrea-2011' could not be loaded: ")
    assert body["error"].endswith("(it is loaded again when its index changes)")
    page = http.get("/", params={"q": Q, "report": "eritrea-2011"})
    assert page.status_code == 500 and 'http-equiv="refresh"' not in page.text and "could not be loaded" in page.text
    assert http.get("/healthz").headers.get("retry-after") is None
