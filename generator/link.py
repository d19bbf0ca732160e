"""Stage 3: connect the records into a site - addresses, hub pages, related links, redirects.

Everything here is computed once from the validated entries in linear time (dictionaries keyed
by slug), so that rendering is a pure function of a record and this graph.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from urllib.parse import urlsplit

from .errors import Problem
from .model import SiteConfig, slugify
from .validate import Entry
from .validate import located_problem as _located

name_slug = lru_cache(maxsize=4096)(slugify)
"""`slugify` for the names of platforms, categories and tags: a few dozen names, looked up
tens of thousands of times in a build."""

RESERVED_TOP_LEVEL = frozenset({"category", "tag", "search", "static", "api", "404.html", "index.html",
                                "sitemap.xml", "robots.txt", "feed.xml"})


def page_file(path: str) -> str:
    """The file that answers a site path: `/a/b/` -> `a/b/index.html`, `/a.html` -> `a.html`."""
    rel = path.strip("/")
    if not rel:
        return "index.html"
    return rel if rel.endswith(".html") else f"{rel}/index.html"


class HubKind(StrEnum):
    PLATFORM = "platform"
    CATEGORY = "category"
    TAG = "tag"


@dataclass(frozen=True)
class Hub:
    """A page that lists records sharing a platform, a category or a tag."""

    kind: HubKind
    name: str
    slug: str
    description: str
    entries: tuple[Entry, ...]

    @property
    def url_path(self) -> str:
        if self.kind is HubKind.PLATFORM:
            return f"/{self.slug}/"
        return f"/{self.kind.value}/{self.slug}/"


@dataclass(frozen=True)
class Redirect:
    """An old address (from `aliases`) that now points at a record."""

    path: str
    target: Entry

    @property
    def file_path(self) -> str:
        """Where the redirect page is written, relative to the output folder."""
        return page_file(self.path)


@dataclass(frozen=True)
class Site:
    """The linked site: every page that will exist, and how they point at each other."""

    config: SiteConfig
    entries: tuple[Entry, ...]
    platforms: tuple[Hub, ...]
    categories: tuple[Hub, ...]
    tags: tuple[Hub, ...]
    related: dict[str, tuple[Entry, ...]]
    redirects: tuple[Redirect, ...]
    hub_of: dict[tuple[HubKind, str], Hub]

    @property
    def base_path(self) -> str:
        """The path part of `base_url` (`/` or `/docs/`): every internal link starts with it."""
        return urlsplit(self.config.base_url).path or "/"

    def href(self, path: str) -> str:
        """A site path (`/openrouter/x/`) as a link that works under `base_url`."""
        return self.base_path + path.lstrip("/")

    def absolute(self, path: str) -> str:
        return self.config.base_url + path.lstrip("/")

    def hub(self, kind: HubKind, name: str) -> Hub:
        return self.hub_of[(kind, name_slug(name))]


def _sort_key(entry: Entry) -> tuple[str, str]:
    return (entry.head.title.casefold(), entry.slug)


def _hubs(kind: HubKind, groups: dict[str, list[Entry]], names: dict[str, str],
          descriptions: dict[str, str]) -> tuple[Hub, ...]:
    """The hubs of one kind, by name; each group is already in `_sort_key` order."""
    hubs = [Hub(kind, names[slug], slug, descriptions.get(slug, ""), tuple(items))
            for slug, items in groups.items()]
    return tuple(sorted(hubs, key=lambda h: (h.name.casefold(), h.slug)))


def link(config: SiteConfig, entries: Iterable[Entry]) -> tuple[Site, list[Problem]]:
    """Build the site graph; report addresses that would collide with generated pages."""
    ordered = tuple(sorted(entries, key=lambda e: (e.platform_slug, e.slug)))
    by_slug = {e.slug: e for e in ordered}
    problems: list[Problem] = []

    # A hub's name is the spelling of its first record in address order.
    names: dict[HubKind, dict[str, str]] = {kind: {} for kind in HubKind}
    for entry in ordered:
        rec = entry.head
        names[HubKind.PLATFORM].setdefault(entry.platform_slug, rec.platform)
        names[HubKind.CATEGORY].setdefault(name_slug(rec.category), rec.category)
        for tag in rec.tags:
            names[HubKind.TAG].setdefault(name_slug(tag), tag)
        if entry.platform_slug in RESERVED_TOP_LEVEL:
            problems.append(Problem(entry.display, 0, 0, "platform",
                                    f"the folder name '{entry.platform_slug}' is reserved for"
                                    " the site's own pages; choose another platform slug"))
    # Hubs list their records by title: grouped in that order, each group is sorted once.
    platform_groups: dict[str, list[Entry]] = defaultdict(list)
    category_groups: dict[str, list[Entry]] = defaultdict(list)
    tag_groups: dict[str, list[Entry]] = defaultdict(list)
    for entry in sorted(ordered, key=_sort_key):
        rec = entry.head
        platform_groups[entry.platform_slug].append(entry)
        category_groups[name_slug(rec.category)].append(entry)
        for tag in dict.fromkeys(name_slug(t) for t in rec.tags):
            tag_groups[tag].append(entry)

    category_descriptions = {name_slug(c.name): c.description for c in config.categories}
    platforms = _hubs(HubKind.PLATFORM, platform_groups, names[HubKind.PLATFORM], {})
    categories = _hubs(HubKind.CATEGORY, category_groups, names[HubKind.CATEGORY],
                       category_descriptions)
    tags = _hubs(HubKind.TAG, tag_groups, names[HubKind.TAG], {})
    hub_of = {(h.kind, h.slug): h for h in (*platforms, *categories, *tags)}

    related = {
        e.slug: tuple(by_slug[s] for s in dict.fromkeys(e.head.related) if s in by_slug)
        for e in ordered
    }

    candidates = sorted((Redirect(alias, entry) for entry in ordered for alias in entry.head.aliases),
                        key=lambda r: r.path)
    redirects = _redirects(candidates, ordered, hub_of, problems) if candidates else []
    site = Site(config, ordered, platforms, categories, tags, related, tuple(redirects), hub_of)
    return site, problems


def _redirects(candidates: list[Redirect], ordered: tuple[Entry, ...],
               hub_of: dict[tuple[HubKind, str], Hub], problems: list[Problem]) -> list[Redirect]:
    """The redirect pages to write, in path order; a problem for each alias that cannot have
    one. (Skipped, with every file and folder name of the site it compares against, for a
    site without aliases.)"""
    # Redirect pages may not replace, or be nested under, any file the site writes. Compared
    # without case: on a case-insensitive disk `/Tag/x/` would land in `tag/x/`.
    generated = {h.url_path for h in hub_of.values()} | {"/search/", "/"}
    addresses = {e.url_path.lower() for e in ordered}
    pages = {page_file(path).lower() for path in (*generated, *addresses)}
    redirect_files: dict[str, Redirect] = {}
    for candidate in candidates:
        redirect_files.setdefault(candidate.file_path.lower(), candidate)
    files = pages | redirect_files.keys()
    folders = {f.rsplit("/", i)[0] for f in files for i in range(1, f.count("/") + 1)}
    redirects = []
    for redirect in candidates:
        alias, entry, target = redirect.path, redirect.target, redirect.file_path.lower()
        if alias.lower() in addresses:
            continue  # another record's address: check_entries reports it
        first = redirect_files[target]
        parents = (target.rsplit("/", i)[0] for i in range(1, target.count("/") + 1))
        if (target in pages or target in folders or any(p in files for p in parents)
                or alias.strip("/").split("/")[0].lower() in RESERVED_TOP_LEVEL):
            problems.append(_located(entry, ("aliases", entry.head.aliases.index(alias)),
                                     f"the alias {alias} would overwrite a page the site"
                                     " generates"))
        elif first is not redirect:
            if first.path.lower() != alias.lower():  # the same alias twice: check_entries reports it
                problems.append(_located(entry, ("aliases", entry.head.aliases.index(alias)),
                                         f"the alias {alias} is the same page as {first.path}"
                                         f" (of {first.target.display})"))
        else:
            redirects.append(redirect)
    return redirects
