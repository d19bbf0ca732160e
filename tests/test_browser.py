"""The reader's page in a real browser (Debian chromium via playwright).

Every page type is loaded from a built fixture site served on 127.0.0.1, at phone and desktop
sizes, in light and dark colour schemes: nothing scrolls sideways, axe-core finds no
violation, the console stays clean and no request leaves localhost. The copy button, the
keyboard path, the table of contents, print styles and the weight budget are checked on the
error page. Screenshots go to test-artifacts/screenshots/ for people (and CI) to look at.
"""

from __future__ import annotations

import html.parser
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import yaml
from axe_playwright_python.sync_playwright import Axe
from conftest import BROWSER_SITE, REPO, ServedSite
from playwright.sync_api import Browser, Page, Request, Response, Route, expect

PAGES = {
    "home": "/",
    "error": "/acme-cloud/deploy-token-expired/",
    "platform-hub": "/acme-cloud/",
    "category-hub": "/category/requests-and-configuration/",
    "tag-hub": "/tag/http-429/",
    "search": "/search/",
    "404": "/404.html",
}
VIEWPORTS = {"phone": (375, 812), "desktop": (1280, 800)}
SIZES = {**VIEWPORTS, "narrowest": (320, 640)}
SCHEMES = ("light", "dark")
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
ERROR_RECORD = BROWSER_SITE / "acme-cloud" / "deploy-token-expired.yaml"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PAGE_BUDGET = 60 * 1024
AXE = Axe()


@dataclass
class Visit:
    """A page opened in a fresh context, with everything that went wrong while it loaded."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [*self.console_errors, *self.page_errors, *self.failed,
                *(f"request to another host: {u}" for u in self.external)]


def _page_path(site: ServedSite, name: str) -> str:
    """The page's path, which the build must have written."""
    path = PAGES[name]
    rel = path.strip("/")
    written = site.root / rel if rel.endswith(".html") else site.root / rel / "index.html"
    assert written.is_file(), f"the build wrote no {written}"
    return path


@contextmanager
def visit(browser: Browser, site: ServedSite, path: str, viewport: str = "phone",
          scheme: str = "light", **context_options: object) -> Iterator[Visit]:
    """Open `path` in a new context; requests to any host but localhost are blocked and noted."""
    width, height = SIZES[viewport]
    context = browser.new_context(viewport={"width": width, "height": height},
                                  color_scheme=scheme, **context_options)  # type: ignore[arg-type]
    page = context.new_page()
    result = Visit(page)

    def route(route: Route, request: Request) -> None:
        if urlsplit(request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            result.external.append(request.url)
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and result.console_errors.append(m.text))
    page.on("pageerror", lambda e: result.page_errors.append(str(e)))
    page.on("requestfailed", lambda r: result.failed.append(f"failed: {r.url}"))
    try:
        response = page.goto(site.url(path), wait_until="networkidle")
        assert response is not None and response.status == 200, path
        yield result
    finally:
        context.close()


def _luminance(css_color: str) -> float:
    """Relative luminance of an `rgb(r, g, b)` colour, 0 (black) to 1 (white)."""
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css_color)[:3])
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _signature() -> str:
    return yaml.safe_load(ERROR_RECORD.read_text(encoding="utf-8"))["signature"]


# -- every page type, both sizes, both schemes ---------------------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("name", list(PAGES))
def test_page_fits_passes_axe_and_stays_clean(browser: Browser, served_site: ServedSite,
                                              name: str, viewport: str, scheme: str) -> None:
    path = _page_path(served_site, name)
    with visit(browser, served_site, path, viewport, scheme) as v:
        page = v.page
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{viewport}-{scheme}.png"),
                        full_page=True)

        widths = page.evaluate("[document.documentElement.scrollWidth,"
                               " document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"{name} scrolls sideways: {widths}"
        # Long code must wrap inside its box, not hide behind a scrollbar.
        wide_blocks = page.evaluate(
            "[...document.querySelectorAll('pre')]"
            ".filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.textContent.slice(0, 60))")
        assert wide_blocks == []

        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        if scheme == "dark":
            assert _luminance(background) < 0.05, background
        else:
            assert _luminance(background) > 0.9, background

        results = AXE.run(page)
        assert results.violations_count == 0, results.generate_report()
        assert v.problems == []


@pytest.mark.parametrize("name", list(PAGES))
def test_nothing_scrolls_sideways_at_320px(browser: Browser, served_site: ServedSite,
                                          name: str) -> None:
    path = _page_path(served_site, name)
    with visit(browser, served_site, path, "narrowest", "dark") as v:
        overflowing = v.page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > innerWidth + 0.5)
            .map(e => e.tagName + '.' + e.className)""")
        assert overflowing == []
        assert v.page.evaluate("document.documentElement.scrollWidth"
                               " <= document.documentElement.clientWidth")
        assert v.problems == []


# -- the error page ------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_copy_button_puts_the_exact_signature_on_the_clipboard(
        browser: Browser, served_site: ServedSite, viewport: str) -> None:
    with visit(browser, served_site, PAGES["error"], viewport,
               permissions=["clipboard-read", "clipboard-write"]) as v:
        page = v.page
        button = page.locator("dl.facts pre button.copy")
        assert button.get_attribute("aria-label") == "Copy error signature"
        button.click()
        expect(page.locator("#copy-status")).to_have_text(re.compile("^Copied"))
        assert page.evaluate("navigator.clipboard.readText()") == _signature()
        assert button.inner_text() == "Copied"
        assert page.locator("#copy-status").get_attribute("aria-live") == "polite"
        # The button sits inside the <pre>; its label must not leak into the copied text.
        assert "Copy" not in page.evaluate("navigator.clipboard.readText()")
        assert v.problems == []


def test_every_code_block_has_a_working_copy_button(browser: Browser,
                                                    served_site: ServedSite) -> None:
    with visit(browser, served_site, PAGES["error"],
               permissions=["clipboard-read", "clipboard-write"]) as v:
        page = v.page
        blocks = page.locator("main pre")
        assert blocks.count() >= 4
        assert page.locator("main pre button.copy").count() == blocks.count()
        for i in range(blocks.count()):
            block = blocks.nth(i)
            button = block.locator("button.copy")
            button.click()
            expect(button).to_have_text("Copied")
            expected = block.locator("code").text_content()
            assert page.evaluate("navigator.clipboard.readText()") == expected
        # one of them is the fenced shell block from the record's Markdown, copied verbatim
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.startswith("acme tokens inspect --token")
        assert v.problems == []


def _focus_info(page: Page) -> dict[str, object]:
    return page.evaluate("""() => {
        const el = document.activeElement, s = getComputedStyle(el), r = el.getBoundingClientRect();
        return {tag: el.tagName.toLowerCase(), id: el.id, cls: el.className,
                label: el.getAttribute('aria-label') || '', text: el.textContent.trim(),
                outline: s.outlineStyle, width: parseFloat(s.outlineWidth),
                visible: r.width > 0 && r.height > 0 && r.bottom > 0 &&
                         r.top < innerHeight && s.opacity !== '0'};
    }""")


def test_keyboard_alone_reaches_skip_link_search_and_copy_with_visible_focus(
        browser: Browser, served_site: ServedSite) -> None:
    with visit(browser, served_site, PAGES["error"], "desktop",
               permissions=["clipboard-read", "clipboard-write"]) as v:
        page = v.page
        page.keyboard.press("Tab")
        first = _focus_info(page)
        assert first["cls"] == "skip" and first["visible"], first
        assert first["outline"] != "none" and first["width"] >= 2, first

        seen = []
        for _ in range(12):
            info = _focus_info(page)
            seen.append(info)
            assert info["outline"] != "none" and info["width"] >= 2, info
            assert info["visible"], info
            if info["label"] == "Copy error signature":
                break
            page.keyboard.press("Tab")
        assert any(i["id"] == "top-q" for i in seen), seen
        assert seen[-1]["label"] == "Copy error signature", seen

        page.keyboard.press("Enter")
        expect(page.locator("dl.facts button.copy")).to_have_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == _signature()

        # The skip link takes keyboard users past the header, to the content.
        page.goto(served_site.url(PAGES["error"]))
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        assert page.evaluate("location.hash") == "#main"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('main') !== null")
        assert v.problems == []


def test_heading_anchors_link_to_their_sections_and_show_on_focus(
        browser: Browser, served_site: ServedSite) -> None:
    with visit(browser, served_site, PAGES["error"], "desktop") as v:
        page = v.page
        pairs = page.evaluate("[...document.querySelectorAll('.body h2, .body h3')]"
                              ".map(h => [h.id, h.querySelector('a.anchor')?.getAttribute('href')])")
        assert len(pairs) >= 10
        assert all(href == f"#{hid}" and hid for hid, href in pairs), pairs
        anchor = page.locator("#causes a.anchor")
        assert anchor.evaluate("a => getComputedStyle(a).opacity") == "0"
        anchor.focus()
        assert anchor.evaluate("a => getComputedStyle(a).opacity") == "1"
        anchor.click()
        assert page.evaluate("location.hash") == "#causes"
        assert v.problems == []


def test_table_of_contents_sits_beside_the_text_on_wide_screens(
        browser: Browser, served_site: ServedSite) -> None:
    with visit(browser, served_site, PAGES["error"], "desktop") as v:
        page = v.page
        toc = page.locator("nav.toc").bounding_box()
        body = page.locator(".body").bounding_box()
        title = page.locator("h1").bounding_box()
        assert toc and body and title
        assert toc["x"] >= body["x"] + body["width"], (toc, body)
        assert toc["y"] < title["y"] + title["height"], "the contents start level with the title"
        # it stays on screen while the reader scrolls down the page
        page.locator("#faq").scroll_into_view_if_needed()
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        top = page.locator("nav.toc").evaluate("n => n.getBoundingClientRect().top")
        assert 0 <= top < VIEWPORTS["desktop"][1]
    with visit(browser, served_site, PAGES["error"], "phone") as v:
        page = v.page
        toc = page.locator("nav.toc").bounding_box()
        body = page.locator(".body").bounding_box()
        facts = page.locator("dl.facts").bounding_box()
        assert toc and body and facts
        assert facts["y"] + facts["height"] <= toc["y"], "the fact box comes first on a phone"
        assert toc["y"] + toc["height"] <= body["y"]
        assert toc["x"] + toc["width"] <= VIEWPORTS["phone"][0]


def test_fact_box_shows_signature_and_quick_fix_on_the_first_phone_screen(
        browser: Browser, served_site: ServedSite) -> None:
    with visit(browser, served_site, PAGES["error"], "phone") as v:
        page = v.page
        signature = page.locator("code.signature").bounding_box()
        assert signature and signature["y"] < VIEWPORTS["phone"][1]
        crumbs = page.locator("nav.crumbs a").all_inner_texts()
        assert crumbs == ["Acme Cloud", "Authentication and API keys"]


def test_print_drops_navigation_and_buttons(browser: Browser, served_site: ServedSite) -> None:
    with visit(browser, served_site, PAGES["error"], "desktop") as v:
        page = v.page
        page.emulate_media(media="print", color_scheme="dark")
        hidden = page.evaluate("""['header.top', 'nav.toc', 'button.copy', 'a.anchor',
            'footer.bottom'].map(s => getComputedStyle(document.querySelector(s)).display)""")
        assert hidden == ["none"] * 5
        assert page.locator("code.signature").is_visible()
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert _luminance(background) > 0.9, "print is black on white whatever the scheme"


def test_page_reads_whole_without_javascript(browser: Browser, served_site: ServedSite) -> None:
    with visit(browser, served_site, PAGES["error"], "phone", java_script_enabled=False) as v:
        page = v.page
        assert page.locator("code.signature").text_content() == _signature()
        assert page.locator("button.copy").count() == 0
        assert page.evaluate("document.documentElement.scrollWidth"
                             " <= document.documentElement.clientWidth")


@pytest.mark.parametrize("slug", ["acme-cloud/deploy-token-expired", "acme-cloud/project-not-found",
                                  "widget-api/invalid-json-body", "widget-api/rate-limit-exceeded"])
def test_error_page_weight_budget_and_no_other_hosts(browser: Browser, served_site: ServedSite,
                                                     slug: str) -> None:
    responses: list[Response] = []
    with visit(browser, served_site, "/", "phone") as v:
        page = v.page
        page.on("response", lambda r: responses.append(r))
        page.goto(served_site.url(f"/{slug}/"), wait_until="networkidle")
        sizes = {r.url: len(r.body()) for r in responses}
        paths = {urlsplit(u).path for u in sizes}
        assert {f"/{slug}/", "/static/style.css", "/static/site.js"} <= paths, paths
        total = sum(sizes.values())
        assert total < PAGE_BUDGET, f"{slug}: {total} bytes over {len(sizes)} requests"
        assert v.external == []
        assert v.problems == []


# -- home and hubs -------------------------------------------------------------------------


def test_home_opens_on_the_search_box(browser: Browser, served_site: ServedSite) -> None:
    with visit(browser, served_site, PAGES["home"], "phone") as v:
        page = v.page
        assert page.locator("input[type=search], textarea").count() == 1, "one search box"
        box = page.locator("#home-q")
        rect = box.bounding_box()
        assert rect and rect["y"] + rect["height"] <= VIEWPORTS["phone"][1] / 2
        assert page.locator("h1 label[for=home-q]").count() == 1
        labels = []
        for _ in range(4):
            page.keyboard.press("Tab")
            labels.append(_focus_info(page))
            if labels[-1]["id"] == "home-q":
                break
        assert labels[0]["cls"] == "skip"
        assert labels[-1]["id"] == "home-q", labels
        form_action = page.locator("form[role=search]").get_attribute("action")
        assert form_action == "/search/"


def test_hubs_show_counts_that_match_their_lists(browser: Browser,
                                                 served_site: ServedSite) -> None:
    for name in ("home", "platform-hub", "category-hub", "tag-hub"):
        with visit(browser, served_site, PAGES[name], "desktop") as v:
            groups = v.page.evaluate("""[...document.querySelectorAll('section.group')].map(g =>
                [g.querySelector('h2 .count').textContent, g.querySelectorAll('li').length])""")
            assert groups, name
            assert all(count == f"({n})" for count, n in groups), (name, groups)
            if name != "home":
                crumbs = v.page.locator("nav.crumbs a").all_inner_texts()
                assert crumbs == ["Home"], (name, crumbs)


# -- the built HTML itself -----------------------------------------------------------------


class _InlineFinder(html.parser.HTMLParser):
    """Collects what the pages' CSP would block: inline scripts, styles and event handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        for attr, _ in attrs:
            if attr == "style" or attr.startswith("on"):
                self.found.append(f"<{tag} {attr}=...>")
        if tag == "style":
            self.found.append("<style>")
        if tag == "script":
            self._script = named
        for attr in ("src", "href"):
            value = named.get(attr) or ""
            is_resource = tag in ("script", "img", "iframe") or (
                tag == "link" and named.get("rel") in ("stylesheet", "icon", "preload"))
            if is_resource and attr in named and re.match(r"^(https?:)?//", value):
                self.found.append(f"third-party resource {value}")

    def handle_data(self, data: str) -> None:
        if self._script is not None and data.strip():
            kind = self._script.get("type") or ""
            if kind != "application/ld+json":
                self.found.append(f"inline script: {data[:40]!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None


def test_no_inline_script_style_handler_or_third_party_resource(served_site: ServedSite) -> None:
    pages = sorted(served_site.root.rglob("*.html"))
    assert len(pages) >= 10
    for page in pages:
        finder = _InlineFinder()
        finder.feed(page.read_text(encoding="utf-8"))
        assert finder.found == [], page.relative_to(served_site.root)


def test_static_assets_are_small(served_site: ServedSite) -> None:
    static = served_site.root / "static"
    sizes = {p.name: p.stat().st_size for p in static.iterdir()}
    assert sizes["style.css"] + sizes["site.js"] < 20 * 1024, sizes
    assert sizes["favicon.svg"] < 1024, sizes

