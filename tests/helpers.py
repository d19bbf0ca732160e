"""Shared helpers for the tests: run the real CLI, copy fixture sites, parse built pages."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bs4 import BeautifulSoup

if TYPE_CHECKING:
    from playwright.sync_api import Page

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
TEMPLATES = REPO / "templates"
VALID_SITE = FIXTURES / "valid-site" / "content"


@dataclass
class Run:
    code: int
    out: str
    err: str


def fixdex(*args: str | Path, cwd: Path | None = None, stdin: str | None = None) -> Run:
    """Run `python -m generator` as a user would, in a separate process."""
    proc = subprocess.run(
        [sys.executable, "-m", "generator", *map(str, args)],
        cwd=cwd or REPO, capture_output=True, text=True, input=stdin, timeout=300,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def make_project(tmp: Path, content: Path = VALID_SITE) -> Path:
    """A copy of a fixture site in `tmp` (content/ and templates/), ready to edit and build."""
    shutil.copytree(content, tmp / "content")
    shutil.copytree(TEMPLATES, tmp / "templates")
    return tmp


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def tree(root: Path) -> dict[str, bytes]:
    """Every file below `root` with its bytes, keyed by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def typed_first_hit(page: Page, query: str) -> str | None:
    """Type `query` into the /search/ page's textarea; the first result's link, None for none."""
    box = page.locator("#lookup-q")
    box.fill(query)
    page.wait_for_function("q => document.getElementById('lookup-results').dataset.q === q",
                           arg=box.input_value())
    links = page.locator("#lookup-results li a")
    if links.count() == 0:
        assert page.locator("#lookup-none").is_visible()
        return None
    assert page.locator("#lookup-none").is_hidden()
    return links.first.get_attribute("href")
