"""Fixtures shared by the browser tests: one Debian chromium per session, a built site on http.

Browser tests drive the system chromium (never a downloaded one) through playwright's sync API,
and load pages from a real HTTP server on 127.0.0.1 so that the pages behave as they do when
published: absolute `/static/` links resolve, the CSP meta tag applies, and the clipboard API
is available (127.0.0.1 is a secure context).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Request, Route

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BROWSER_SITE = REPO / "tests" / "fixtures" / "browser-site" / "content"


@dataclass(frozen=True)
class ServedSite:
    """A built site and the address it is served at."""

    root: Path
    base_url: str

    def url(self, path: str) -> str:
        return self.base_url + path.lstrip("/")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site folder without writing every request to stderr."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve `root` on a free port of 127.0.0.1 in a thread; yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def build_site(content: Path, out: Path) -> Path:
    """Build `content` with the repository's templates into `out`, failing on any error."""
    from generator.build import Project, build

    result = build(Project(content=content, templates=REPO / "templates", out=out))
    assert result.ok, [str(p) for p in result.problems]
    return out


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """The system chromium, headless, shared by every browser test of the session."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def served_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedSite]:
    """The browser fixture site, built once to a temporary folder and served over http."""
    root = build_site(BROWSER_SITE, tmp_path_factory.mktemp("browser") / "site")
    with serve(root) as base_url:
        yield ServedSite(root, base_url)


@contextlib.contextmanager
def guarded_page(browser: Browser, base_url: str) -> Iterator[Page]:
    """A fresh page on which any console error, page error or request to a URL outside
    `base_url` (aborted) fails the test when the page is closed."""
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []

    def local_only(route: Route, request: Request) -> None:
        if request.url.startswith(base_url):
            route.continue_()
        else:
            problems.append(f"request to another host: {request.url}")
            route.abort()

    page.route("**/*", local_only)
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    yield page
    context.close()
    assert problems == []
