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


# --- item 24: the prefixed passage ids a several-report answer cites --------------------------------


JOURNALISTS = "how many journalists were in prison"


def cli_json(args, root):
    import json
    import os

    from click.testing import CliRunner

    from qa.front.cli import cli

    r = CliRunner().invoke(cli, args, env={**os.environ, "KZQA_INDEX_DIR": str(root), "NO_COLOR": "1"}, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_show_takes_the_ids_a_several_report_answer_cites(http, two_report_root):
    both = http.get("/api/ask", params={"q": JOURNALISTS, "k": 3, "report": ["kazakhstan-2011", "eritrea-2011"]}).json()
    ids = [p["id"] for p in both["passages"]] + [a["passage_id"] for a in both["answer"]["alternatives"]]
    assert {i.split(":")[0] for i in ids} == {"kazakhstan-2011", "eritrea-2011"}
    for pid in ids:
        r = http.get(f"/api/show/{pid}")
        assert r.status_code == 200, (pid, r.text)
        assert r.json() == cli_json(["show", pid, "--format", "json"], two_report_root), pid
        assert http.get(f"/api/show/{pid}", params={"report": pid.split(":")[0]}).json() == r.json()
        page = http.get(f"/show/{pid}")
        assert page.status_code == 200 and 'id="passage"' in page.text, pid
    # a prefix that names another report than report= is an error, not a silent choice
    r = http.get("/api/show/eritrea-2011:1.b/1", params={"report": "kazakhstan-2011"})
    assert r.status_code == 400 and r.json()["error"] == "the reference 'eritrea-2011:1.b/1' is in report 'eritrea-2011', not 'kazakhstan-2011'"


# --- item 4: all reports at once -------------------------------------------------------------------


def test_report_all_asks_every_served_report(http, two_report_root):
    everything = http.get("/api/ask", params={"q": JOURNALISTS, "k": 2, "report": "all"})
    assert everything.status_code == 200, everything.text
    d = everything.json()
    assert d == cli_json(["ask", JOURNALISTS, "--json", "-k", "2", "--report", "kazakhstan-2011", "--report", "eritrea-2011"], two_report_root)
    assert d["reports"] == ["kazakhstan-2011", "eritrea-2011"]
    assert {p["report"] for p in d["passages"]} == {"kazakhstan-2011", "eritrea-2011"}
    rows = http.post("/api/batch", params={"report": "all", "k": 2}, json=[JOURNALISTS]).json()
    assert rows == [{"id": 1} | d]
    # one report is needed where a report's own text is shown
    assert http.get("/api/toc", params={"report": "all"}).status_code == 400
    r = http.get("/api/show/1.b", params={"report": "all"})
    assert r.status_code == 400 and "put the report's name before the reference" in r.json()["error"]


def test_the_page_offers_all_reports(http):
    home = http.get("/").text
    assert '<option value="all">all reports</option>' in home
    page = http.get("/", params={"q": JOURNALISTS, "report": "all"})
    assert page.status_code == 200
    assert '<option value="all" selected>all reports</option>' in page.text
    assert "Kazakhstan 2011 §2.a" in page.text and "Eritrea 2011 §1.b Disappearance" in page.text
    links = re.findall(r'href="(/show/[^"#]+)', page.text)
    assert len(links) >= 2
    for link in links:  # every citation opens, in its own report
        assert http.get(link.replace("&amp;", "&")).status_code == 200, link
    permalink = re.search(r'class="permalink" href="([^"]+)"', page.text).group(1)
    assert "report=all" in permalink


# --- item 11: memory is bounded, whatever combinations of reports are asked --------------------------


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def test_the_same_reports_in_another_order_are_one_union(http, server):
    """A union is kept by its set of reports: asking [a, b] then [b, a] makes one, not two (each
    used to hold its own ~100 MB encoder session, never freed)."""
    pair = ["kazakhstan-2011", "eritrea-2011"]
    first = http.get("/api/ask", params={"q": JOURNALISTS, "report": pair}).json()
    before = rss_mb(server.proc.pid)
    for i in range(6):
        order = pair[::-1] if i % 2 == 0 else pair
        d = http.get("/api/ask", params={"q": JOURNALISTS, "report": order}).json()
        assert d == first  # one union, one answer, whatever the order asked
    assert rss_mb(server.proc.pid) - before < 40


def test_unions_are_bounded_and_share_one_encoder_session(two_report_root, tmp_path, monkeypatch):
    from fakereport import ruritania
    from faulthelpers import copy_root
    from qa.front import service
    from qa.index.write import build_index

    root = tmp_path / "root"
    copy_root(two_report_root, root)
    src = tmp_path / "ruritania-2011.txt"
    src.write_text(ruritania(scale=0.3).as_text(), encoding="utf-8")
    assert build_index(src, root, "ruritania-2011").built
    monkeypatch.setattr(service, "MAX_UNIONS", 2)
    names = ["kazakhstan-2011", "eritrea-2011", "ruritania-2011"]
    library = service.Library(names, root, notify=lambda msg: None)
    library.start()
    assert library.wait(600)
    a, b, c = names
    combinations = [[a, b], [b, a], [a, c], [c, b], [a, b, c], [b, c, a]]
    for combination in combinations:
        d = service.answer(library, QUESTION, 1, "hybrid", combination)
        assert d["reports"] == [n for n in names if n in combination]  # in the order served
        assert len(library._unions) <= 2
    indexes = [library.searching(c) for c in combinations] + [library.index(n) for n in names]
    assert len({id(i.encoder.encoder) for i in indexes}) == 1  # one encoder session for them all
