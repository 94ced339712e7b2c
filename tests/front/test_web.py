"""The web page of `kzqa serve` in a real browser: Debian's Chromium (/usr/bin/chromium; `.ci/run`
installs it) driven by Playwright, against a real server on a loopback port. The answer and its
highlighted sentence, a citation click showing the subsection, the outline panel, permalinks, the
three outcomes, a `<script>` in a question shown as text, the page without JavaScript and at phone
width, and nothing loaded from anywhere but kzqa. Takes the README's screenshot (docs/serve.png is
rewritten when it is missing or KZQA_UPDATE_SCREENSHOT=1)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest

from served import Served

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "serve.png"
CHROMIUM = os.environ.get("KZQA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
QUESTION = "how many prisoners were released"
SENTENCE = ("January 1 amendments to the criminal code lowered penalties for some categories of crimes, "
            "resulting in the release of 8,390 prisoners.")
PASSAGE = "1.c/prison-and-detention-center-conditions/4"


@pytest.fixture(scope="module")
def server(index_dir):
    with Served(index_dir) as served:
        yield served


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert shutil.which(CHROMIUM) or Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing: apt-get install chromium (see .ci/run)"
    with sync_playwright() as pw:
        # a fresh temporary profile for each launch (Playwright's default)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=server.url)
    page = context.new_page()
    page.set_default_timeout(30_000)
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: problems.append(str(e)))
    # a page may be an error on purpose (404 for an unknown reference); what it loads may not
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.request.resource_type != "document" else None)
    page.on("console", lambda m: problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    yield page
    context.close()
    assert all(url.startswith(server.url) for url in requests), [u for u in requests if not u.startswith(server.url)]
    assert problems == []


def ask_url(question: str) -> str:
    return "/?q=" + quote(question)


def test_answer_with_its_sentence_highlighted(page, server):
    page.goto(ask_url(QUESTION))
    assert page.locator(".short-text").inner_text() == "8,390 prisoners"
    assert page.locator(".short .page").inner_text() == "(p. 5)"
    assert page.locator(".sentence").inner_text() == f"“{SENTENCE}”"
    first = page.locator(".passage").first
    assert first.locator(".cite a").inner_text() == (
        "[1] §1.c Torture and Other Cruel, Inhuman, or Degrading Treatment or Punishment › Prison and Detention Center Conditions — p. 5")
    assert first.locator(".pid").inner_text() == PASSAGE
    assert first.locator("mark").inner_text() == SENTENCE  # the answering sentence, marked in its passage
    assert page.locator(".passage").count() == 3
    assert page.title() == f"{QUESTION} — kzqa — Kazakhstan"
    if not SCREENSHOT.exists() or os.environ.get("KZQA_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))


def test_asking_from_the_box_gives_a_permalink(page, server):
    page.goto("/")
    assert page.locator(".intro").is_visible()
    page.fill("#q", "who won the presidential election")
    page.press("#q", "Enter")
    page.wait_for_selector(".answer")
    assert "q=who+won+the+presidential+election" in page.url
    assert page.locator(".short-text").inner_text() == "President Nazarbayev"
    permalink = page.locator("a.permalink").get_attribute("href")
    assert permalink == "/?q=who+won+the+presidential+election"
    page.goto(permalink)  # the permalink shows the same answer, server-rendered
    assert page.locator(".short-text").inner_text() == "President Nazarbayev"


def test_citation_click_shows_the_subsection_with_the_passage_marked(page, server):
    page.goto(ask_url(QUESTION))
    page.locator(".passage .cite a").first.click()
    reader = page.locator("#reader")
    reader.locator(".excerpt").wait_for()
    assert reader.is_visible()
    head = reader.locator(".excerpt header").inner_text()
    assert "c. Torture and Other Cruel, Inhuman, or Degrading Treatment or Punishment" in head
    assert "Prison and Detention Center Conditions" in head
    assert f"passage {PASSAGE} (p. 5) marked" in reader.locator(".meta").inner_text()
    marked = reader.locator("#passage")
    assert marked.is_visible() and "in-passage" in marked.get_attribute("class")
    assert any(SENTENCE in t for t in reader.locator(".in-passage mark").all_inner_texts())
    assert reader.locator("p:not(.in-passage)").count() > 1  # the rest of the subsection, not marked
    assert reader.locator(".pagebreak").filter(has_text="p. 5").count() == 1
    page.locator("#reader button.close").click()
    assert not reader.is_visible()
    assert page.url.endswith(ask_url(QUESTION))  # the answer stays where it was


def test_outline_panel_opens_a_section(page, server):
    page.goto(ask_url(QUESTION))
    toc = page.locator("aside.toc")
    assert toc.is_visible()
    assert toc.locator("li.lvl1").first.inner_text().startswith("Executive Summary")
    toc.get_by_role("link", name="Internet Freedom").click()
    reader = page.locator("#reader")
    reader.locator(".excerpt").wait_for()
    assert reader.locator(".crumb").last.inner_text() == "Internet Freedom"
    assert reader.locator(".meta").inner_text().startswith("§2.a · p")


@pytest.mark.parametrize("question, level, says", [
    (QUESTION, "answer", "Answer:"),
    ("what languages are spoken", "unsure", "The report may not answer this; the closest it comes:"),
    ("what is the capital of France", "none", "The report does not appear to answer this. The nearest passages ("),
])
def test_the_three_outcomes(page, server, question, level, says):
    from qa.front.render import how_sure

    api = httpx.get(server.url + "api/ask", params={"q": question}, timeout=60).json()
    assert api["answer"]["level"] == level
    page.goto(ask_url(question))
    answer = page.locator(f"section.answer.level-{level}")
    assert says in answer.inner_text()
    if level != "none":
        assert api["answer"]["sentence"] in answer.locator(".sentence").inner_text()
    assert answer.locator(".passage").count() == len(api["passages"])
    # how sure kzqa is, in words and as a percentage, as the CLI says it
    said = how_sure(level, api["answer"]["confidence"]).replace(" %", "\xa0%")  # the page keeps "48 %" on one line
    if level == "none":
        assert f"The report does not appear to answer this. The nearest passages ({said}):" in answer.inner_text()
    else:
        assert answer.locator(".sure").inner_text() == f"— {said}"
    # an answer's sentence is highlighted; the nearest sentences of "unsure" and "none" are not
    # highlighted like it: they are underlined, with no answer colour behind them
    marks = answer.locator(".passage mark")
    assert marks.count() >= 1
    backgrounds = {m.evaluate("e => getComputedStyle(e).backgroundColor") for m in marks.all()}
    nearest = answer.locator(".passage mark.nearest").count()
    if level == "answer":
        assert nearest == 0 and backgrounds == {"rgb(255, 229, 138)"}
    else:
        assert nearest == marks.count() and backgrounds == {"rgba(0, 0, 0, 0)"}
        assert {m.evaluate("e => getComputedStyle(e).textDecorationLine") for m in marks.all()} == {"underline"}


def test_script_in_a_question_is_shown_as_text(page, server):
    question = '<script>window.__kzqa_pwned = 1</script><img src=x onerror="window.__kzqa_pwned = 2"> prisoners released'
    page.goto(ask_url(question))
    assert page.evaluate("typeof window.__kzqa_pwned") == "undefined"
    assert page.locator("#q").input_value() == question
    assert page.title().startswith("<script>window.__kzqa_pwned = 1</script>")
    assert page.locator("main script, main img").count() == 0
    assert [s.get_attribute("src") for s in page.locator("script").all()] == ["/static/kzqa.js"]
    # and the same question through the reader's excerpt route
    page.goto("/show/" + quote("<script>alert(1)</script>"))
    assert "nothing matches '<script>alert(1)</script>'" in page.locator(".error").inner_text()
    assert page.locator("main script").count() == 0


def test_readable_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False, base_url=server.url)
    page = context.new_page()
    try:
        page.goto(ask_url(QUESTION))
        assert page.locator(".short-text").inner_text() == "8,390 prisoners"
        assert page.locator(".passage mark").first.inner_text() == SENTENCE
        page.locator(".passage .cite a").first.click()  # a plain link: the subsection as a page
        page.wait_for_url("**/show/**")
        url = urlsplit(page.url)
        assert (url.path, url.fragment) == (f"/show/{PASSAGE}", "passage")
        # the folder may hold other reports (other tests index into it): the link then names its report
        assert parse_qs(url.query).get("report", ["kazakhstan-2011"]) == ["kazakhstan-2011"]
        assert page.locator("main .excerpt #passage").is_visible()
        assert "Prison and Detention Center Conditions" in page.locator("main .excerpt header").inner_text()
        page.goto("/show/p5")
        assert page.locator("main .excerpt .crumb").inner_text() == "Page 5"
    finally:
        context.close()


def test_cards_show_whole_section_names(page, server):
    """A card has room: no heading is cut short ('Torture and Other Cruel, Inhu...'), and none
    runs out of its card either (it wraps)."""
    page.goto(ask_url(QUESTION))
    for cite in page.locator(".passage .cite a").all():
        assert "..." not in cite.inner_text()
    for card in page.locator(".passage").all():
        assert card.evaluate("e => e.scrollWidth <= e.clientWidth")


LONG_QUESTION = "how many prisoners were released from prison after the amnesty law was signed in December 2011"


def test_phone_width_shows_the_whole_question(browser, server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, base_url=server.url)
    page = context.new_page()
    try:
        page.goto(ask_url(LONG_QUESTION))
        box = page.locator("#q")
        assert box.input_value() == LONG_QUESTION
        # the whole question is in view: nothing scrolled off to the side or below
        assert box.evaluate("e => e.scrollWidth <= e.clientWidth && e.scrollHeight <= e.clientHeight + 1")
        bounds = box.bounding_box()
        assert bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= 390
        page.fill("#q", QUESTION)
        page.press("#q", "Enter")  # Enter still asks
        page.wait_for_url(lambda url: "q=how+many+prisoners+were+released" in url)
        assert page.locator(".short-text").inner_text() == "8,390 prisoners"
    finally:
        context.close()


def test_phone_width(browser, server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, base_url=server.url)
    page = context.new_page()
    try:
        page.goto(ask_url(QUESTION))
        assert page.locator(".short-text").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
        assert page.locator(".toc-panel").get_attribute("open") is None  # the outline starts folded
        box = page.locator("#q").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        page.locator(".passage .cite a").first.tap()
        page.locator("#reader .excerpt").wait_for()
        reader = page.locator("#reader").bounding_box()
        assert reader["width"] <= 390
    finally:
        context.close()
