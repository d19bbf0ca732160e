"""The redirect guard: every address search engines know must still lead somewhere.

`fixdex check --previous-sitemap FILE` compares the sitemap that was last published with the
site about to be built. A page that would vanish without an `aliases` entry pointing to its new
place is an error, so renaming a record file never turns a search result into a 404.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

from .errors import Problem, Suggestions, display_path
from .link import Site

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def published_paths(site: Site) -> set[str]:
    """Every path the new site answers with a page or a redirect (relative to base_url)."""
    paths = {"/", "/search/", *(e.url_path for e in site.entries), *(r.path for r in site.redirects)}
    paths.update(h.url_path for h in (*site.platforms, *site.categories, *site.tags))
    return paths


def _line_col(text: str, needle: str) -> tuple[int, int]:
    index = text.find(needle)
    if index < 0:
        return 0, 0
    return text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)


def vanished_pages(site: Site, sitemap: Path) -> list[Problem]:
    """A located problem for each URL of the old sitemap that the new site no longer has."""
    shown = display_path(sitemap)
    try:
        text = sitemap.read_text(encoding="utf-8")
        root = ET.fromstring(text)
    except (OSError, UnicodeDecodeError) as err:
        return [Problem(shown, 0, 0, "", f"cannot read the previous sitemap: {err}")]
    except ET.ParseError as err:
        line, col = err.position
        return [Problem(shown, line, col + 1, "", f"not a valid sitemap: {err.msg}")]
    base_path = site.base_path
    have = published_paths(site)
    slugs = {e.slug: e for e in site.entries}
    suggest = Suggestions(slugs)
    problems = []
    for loc in root.iter(f"{SITEMAP_NS}loc"):
        url = (loc.text or "").strip()
        path = urlsplit(url).path
        if not path.startswith(base_path):
            continue
        path = "/" + path[len(base_path):]
        if not path.endswith("/") and not path.endswith(".html"):
            path += "/"
        if path in have:
            continue
        old_slug = path.rstrip("/").rsplit("/", 1)[-1]
        hint = suggest(old_slug)
        if hint:
            target = slugs[hint.split("'")[1]]
            hint = f" (moved to {target.url_path}? add it to {target.display})"
        problems.append(Problem(
            shown, *_line_col(text, url), "",
            f"{url} was published and would disappear; add \"{path}\" to the aliases of the"
            f" record that replaces it{hint}",
        ))
    return problems
