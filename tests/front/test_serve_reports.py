"""`kzqa serve` over several reports, one of them without printed pages (eritrea-2011, from the
web page's text): what the page and the API show for such a report, the prefixed passage ids a
several-report answer cites, and "all reports". A real server, httpx (and the CLI to compare)."""

from __future__ import annotations

import re

import httpx
import pytest

from served import Served

QUESTION = "how many prisoners were released"


@pytest.fixture(scope="module")
def server(two_report_root):
    with Served(two_report_root, "--report", "kazakhstan-2011", "--report", "eritrea-2011") as served:
        yield served


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


# --- item 1: no printed pages, no "None" ------------------------------------------------------------


def test_a_report_without_pages_shows_no_page_numbers(http):
    home = http.get("/", params={"report": "eritrea-2011"})
    assert home.status_code == 200 and "Disappearance" in home.text
    assert "None" not in visible_text(home.text)
    assert 'class="pg"' not in home.text  # no page column at all in its Contents
    kz = http.get("/").text
    assert re.search(r'<span class="pg">\d+</span>', kz)  # the shipped report's pages still shown
    for ref in ("1.b", "1.c", "1.c/prison-and-detention-center-conditions/1"):
        page = http.get(f"/show/{ref}", params={"report": "eritrea-2011"})
        assert page.status_code == 200, ref
        text = visible_text(page.text)
        assert "None" not in text and "()" not in text and "pagebreak" not in page.text, ref
        meta = re.search(r'<p class="meta">([^<]*)</p>', page.text).group(1)
        assert not meta.endswith(" · ") and " ·  · " not in meta, meta
    marked = re.search(r'<p class="meta">([^<]*)</p>', http.get(
        "/show/1.c/prison-and-detention-center-conditions/1", params={"report": "eritrea-2011"}).text).group(1)
    assert marked == "§1.c · passage 1.c/prison-and-detention-center-conditions/1 marked"


def test_an_answer_from_a_report_without_pages_says_its_section(http):
    q = "how many prisons and detention centers are there in the country"
    d = http.get("/api/ask", params={"q": q, "report": "eritrea-2011"}).json()
    assert d["answer"]["page"] is None and d["answer"]["passage_id"].startswith("1.c/")
    page = http.get("/", params={"q": q, "report": "eritrea-2011"}).text
    text = visible_text(page)
    assert "None" not in text and "p. " not in text
    assert re.search(r'<span class="page">\(§1\.c\)</span>', page)  # where the answer is, as `kzqa ask` says it
