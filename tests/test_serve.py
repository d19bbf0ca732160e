"""`fixdex serve` for real: a server on a free port, real file changes, new content served."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import make_project
from playwright.sync_api import expect

RECORD = "content/example-api/rate-limited.yaml"
PAGE = "example-api/rate-limited/"


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def _until(check: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    project = make_project(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "generator", "serve", "--port", "0"],
                            cwd=project, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("serving http://127.0.0.1:"), line
        yield project, line.split()[1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_serves_rebuilds_on_change_and_shows_errors(server: tuple[Path, str]) -> None:
    project, url = server
    status, body = _get(url + PAGE)
    assert status == 200 and "Example API answers 429 Too Many Requests</h1>" in body
    assert '<script src="/__fixdex/reload.js"></script>' in body
    version = _get(url + "__fixdex/version")[1]

    _edit(project / RECORD, "answers 429 Too Many Requests", "answers 429 after an edit")
    _until(lambda: "answers 429 after an edit</h1>" in _get(url + PAGE)[1])
    assert _get(url + "__fixdex/version")[1] != version

    _edit(project / RECORD, "category: Rate limits", "category: Rate limitz")
    _until(lambda: _get(url + PAGE)[0] == 500)
    status, body = _get(url + PAGE)
    assert ("content/example-api/rate-limited.yaml:4:11: category: unknown category "
            "&#x27;Rate limitz&#x27; (did you mean &#x27;Rate limits&#x27;?)") in body

    _edit(project / RECORD, "category: Rate limitz", "category: Rate limits")
    _until(lambda: _get(url + PAGE)[0] == 200)
    assert _get(url + "nope/")[0] == 404


def test_open_page_reloads_by_itself(server: tuple[Path, str], browser) -> None:  # type: ignore[no-untyped-def]
    project, url = server
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url + PAGE)
    assert page.locator("h1").inner_text() == "Example API answers 429 Too Many Requests"
    time.sleep(0.8)  # let the reload script read the first version
    _edit(project / RECORD, "answers 429 Too Many Requests", "answers 429, reloaded")
    expect(page.locator("h1")).to_have_text("Example API answers 429, reloaded", timeout=15000)
    assert errors == []
    page.close()
