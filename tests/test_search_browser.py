"""The /search/ page in real chromium answers exactly as generator/lookup.py does.

The lookalike fixture site is built with the repository's templates and served on 127.0.0.1.
The browser runs templates/static/search.js on the index the build wrote: for every labelled
query its tokens and its ranked matches (slugs and scores, to the last bit) must equal
Python's, the page's first result must be the record Python ranks first, and unrelated errors
must show "no confident match". The header search box leads to the same answers.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from conftest import REPO, build_site, guarded_page, serve
from helpers import typed_first_hit
from playwright.sync_api import Browser, Page

from generator.build import Project, gather
from generator.lookup import build_index, normalise, search

LOOKUP_SITE = REPO / "tests" / "fixtures" / "lookup-site" / "content"
QUERIES = yaml.safe_load((REPO / "tests" / "lookup_queries.yaml").read_text(encoding="utf-8"))
LABELLED = [q["text"] for q in QUERIES["queries"]]
UNRELATED = list(QUERIES["unrelated"])
RECORD_TEXTS = [
    text
    for path in sorted(LOOKUP_SITE.glob("*/*.yaml"))
    for record in [yaml.safe_load(path.read_text(encoding="utf-8"))]
    for text in (record["signature"], *record.get("also_seen_as", []),
                 *record.get("examples", []))
]


@dataclass(frozen=True)
class Site:
    root: Path
    base_url: str
    index: dict

    def url(self, path: str) -> str:
        return self.base_url + path.lstrip("/")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = build_site(LOOKUP_SITE, tmp_path_factory.mktemp("lookup") / "site")
    index = json.loads((root / "search" / "index.json").read_text(encoding="utf-8"))
    with serve(root) as base_url:
        yield Site(root, base_url, index)


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    """A fresh page; any console error, page error or request off localhost fails the test."""
    with guarded_page(browser, site.base_url) as page:
        yield page


def _open_search(page: Page, site: Site, query: str = "") -> None:
    page.goto(site.url("/search/") + (f"?q={quote(query)}" if query else ""))
    page.wait_for_function("() => window.fixdexLookup && window.fixdexLookup.index")
    assert page.evaluate("fixdexLookup.index.then(ix => ix.records.length)") == len(
        site.index["records"])


def _browser_search(page: Page, queries: list[str]) -> list[list[dict]]:
    return page.evaluate(
        "async qs => { const ix = await fixdexLookup.index;"
        " return qs.map(q => fixdexLookup.search(ix, q)); }", queries)


def _python_search(site: Site, query: str) -> list[dict]:
    return [{"slug": m.slug, "title": m.title, "signature": m.signature, "url": m.url,
             "score": m.score} for m in search(site.index, query)]


def test_the_build_ships_the_index_and_the_page(site: Site) -> None:
    html = (site.root / "search" / "index.html").read_text(encoding="utf-8")
    assert 'data-index="/search/index.json"' in html and "search.js" in html
    assert (site.root / "static" / "search.js").stat().st_size < 6000
    linked = gather(Project(content=LOOKUP_SITE)).site
    assert linked is not None
    assert site.index == build_index(linked.entries, "/")
    assert len(site.index["records"]) == len(list(LOOKUP_SITE.glob("*/*.yaml")))


def test_browser_and_python_normalise_alike(page: Page, site: Site) -> None:
    _open_search(page, site)
    # Random pastes built from the pieces the rules react to, and from characters whose case
    # rules differ between Unicode versions (Kelvin sign, dotted I, sharp s, emoji).
    pieces = [*"aZq09_-./\\:\"' \n\t{}[]()*@$%+~,=xX", "\\u0041", "\\u00e9", "\\n", "\\\\t",
              "\u212a", "\u0130", "\u00df", "\U0001f642", "req_", "sk-", "org-", "0x", "404",
              "1000", "3.89", "12:34:56", "2024-01-02T", "Mar ", "Fri, ", "line ", "/usr/lib",
              ".py", ".js:", "C:\\", "request_id=", "trace-id: ", "User not found", "quota",
              "a3f9c2", "c0ffee", "abc1234", "v1beta", "gpt-4o", "e5f60718"]
    rng = random.Random(4)
    fuzz = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 40))) for _ in range(400)]
    texts = [*LABELLED, *UNRELATED, *fuzz, *RECORD_TEXTS]
    got = page.evaluate("async ts => { const ix = await fixdexLookup.index;"
                        " return ts.map(t => fixdexLookup.normalise(ix, t)); }", texts)
    assert got == [normalise(t) for t in texts]


def test_browser_ranks_exactly_like_python(page: Page, site: Site) -> None:
    _open_search(page, site)
    # Besides the labelled pastes: every record text, and random runs of their words, which
    # land on every side of the thresholds.
    rng = random.Random(7)
    words = [w for text in RECORD_TEXTS for w in text.split()]
    runs = [" ".join(rng.sample(words, rng.randint(1, 9))) for _ in range(300)]
    queries = [*LABELLED, *UNRELATED, *RECORD_TEXTS, *runs, "401", "api key", "quota"]
    got = _browser_search(page, queries)
    assert got == [_python_search(site, q) for q in queries]
    assert all(got[len(LABELLED) + i] == [] for i in range(len(UNRELATED)))


def test_typing_each_query_shows_pythonstyped_first_hit(page: Page, site: Site) -> None:
    _open_search(page, site)
    for query in LABELLED:
        expected = search(site.index, query)
        assert expected, query
        assert typed_first_hit(page, query) == expected[0].url, query
    for query in UNRELATED:
        assert typed_first_hit(page, query) is None, query


def test_results_show_title_signature_and_score(page: Page, site: Site) -> None:
    _open_search(page, site)
    query = "Error code: 429 - {'error': {'code': 'insufficient_quota'}}"
    typed_first_hit(page, query)
    item = page.locator("#lookup-results li").first
    best = search(site.index, query)[0]
    assert item.locator("a").inner_text() == best.title
    assert item.locator("code").inner_text() == best.signature
    assert item.locator(".score").inner_text().strip() == f"score {best.score:.2f}"
    assert page.locator("#lookup-results").get_attribute("aria-live") == "polite"


def test_header_search_on_an_error_page_reaches_the_record(page: Page, site: Site) -> None:
    page.goto(site.url("/openai-api/rate-limit-reached/"))
    query = "[2026-04-02 12:30:01] 401 No auth credentials found (request id: 9f8e7d6c5b4a)"
    page.fill("#top-q", query)
    page.press("#top-q", "Enter")
    page.wait_for_url("**/search/?q=*")
    page.wait_for_function("q => document.getElementById('lookup-results').dataset.q === q",
                           arg=query)
    assert page.locator("#lookup-q").input_value() == query
    link = page.locator("#lookup-results li a").first
    assert link.get_attribute("href") == "/openrouter/no-auth-credentials-found/"
    link.click()
    page.wait_for_url("**/openrouter/no-auth-credentials-found/")


def test_the_home_page_box_leads_to_the_results(page: Page, site: Site) -> None:
    page.goto(site.url("/"))
    query = '{"error":{"message":"This request requires more credits, or fewer max_tokens.",\n'
    page.fill("#home-q", query + '"code":402}}')
    page.click(".hero button[type=submit]")
    page.wait_for_url("**/search/?q=*")
    page.wait_for_function("() => document.getElementById('lookup-results').children.length")
    assert page.locator("#lookup-results li a").first.get_attribute("href") == (
        "/openrouter/insufficient-credits/")


def test_a_query_in_the_address_finds_the_record_and_submitting_keeps_it(page: Page,
                                                                         site: Site) -> None:
    _open_search(page, site, "API key not valid. Please pass a valid API key.")
    page.wait_for_function("() => document.getElementById('lookup-results').children.length")
    assert page.locator("#lookup-results li a").first.get_attribute("href") == (
        "/google-gemini-api/api-key-not-valid/")
    page.fill("#lookup-q", "Segmentation fault (core dumped)")
    page.click("#lookup button[type=submit]")
    page.wait_for_function("q => document.getElementById('lookup-results').dataset.q === q",
                           arg="Segmentation fault (core dumped)")
    assert page.locator("#lookup-none").is_visible()
    assert "q=Segmentation%20fault" in page.url


def test_an_index_that_cannot_load_says_so(browser: Browser, site: Site) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.route("**/search/index.json", lambda route: route.fulfill(status=404, body=""))
        page.goto(site.url("/search/?q=User%20not%20found"))
        page.wait_for_selector("#lookup-failed", state="visible")
        assert page.locator("#lookup-results li").count() == 0
        assert page.locator("#lookup-failed a").get_attribute("href") == "/"
    finally:
        context.close()
