"""Stage 4: turn the linked site into files - HTML pages, sitemap, robots.txt.

Templates receive typed, read-only view objects built here, never a shared mutable dict, so a
template cannot depend on something another page happened to set. Record text reaches HTML
only through Jinja's autoescape or the locked-down Markdown renderer.
"""

from __future__ import annotations

import inspect
import json
import pickle
import re
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import partial
from json.encoder import encode_basestring
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from jinja2 import (
    BytecodeCache,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    select_autoescape,
)
from jinja2.bccache import Bucket
from markupsafe import Markup, escape

try:  # the C escaper inside markupsafe.escape (markupsafe 3), returning a plain str
    from markupsafe import _escape_inner as _escape_text
except ImportError:  # an older markupsafe: the same escaping, through its public function
    def _escape_text(text: str) -> str:
        return str(escape(text))

from .cache import digest
from .link import Hub, HubKind, Redirect, Site, page_file
from .lookup import RecordTokens, build_index
from .markdown import as_markup, render_block, render_inline, render_item, render_many
from .model import Record
from .validate import Entry

if TYPE_CHECKING:
    from .cache import Cache

STATIC_DIR = "static"
"""The templates' subfolder copied to the site as it is."""


@dataclass(frozen=True)
class Link:
    text: str
    href: str
    count: int | None = None


class Page(NamedTuple):
    """What every page's <head> and header need."""

    title: str
    description: str
    canonical: str
    breadcrumbs: tuple[Link, ...] = ()
    noindex: bool = False
    og_type: str = "website"
    jsonld: Markup | None = None


@dataclass(frozen=True)
class SiteView:
    title: str
    description: str
    language: str
    home: str
    search: str
    static: str
    feed: str


@dataclass(frozen=True)
class Section:
    id: str
    title: str


# Every section of an error page, in page order: the table of contents lists those shown.
SECTIONS = (
    Section("what-it-looks-like", "What it looks like"),
    Section("meaning", "What this error means"),
    Section("why", "Why this happens"),
    Section("causes", "Common causes"),
    Section("quick-fixes", "Quick fixes"),
    Section("checks", "Platform/tool-specific checks"),
    Section("steps", "Step-by-step troubleshooting"),
    Section("prevention", "How to prevent it"),
    Section("sources", "Sources checked"),
    Section("evidence", "Evidence note"),
    Section("faq", "FAQ"),
    Section("related", "Related errors"),
)


class Check(NamedTuple):
    tool: str
    html: Markup


class Source(NamedTuple):
    title: str
    url: str
    kind: str
    checked: str | None


class Faq(NamedTuple):
    id: str
    question: str
    answer: Markup


class RecordPart(NamedTuple):
    """What an error page shows of its own record, its Markdown rendered to HTML (as plain
    text): all of the page but the site's links. Made where the record is read (a worker),
    and kept, sent and cached pickled in place of the `Record`: plain strings and tuples
    pickle and unpickle in C, where a Record's eight pydantic models go through Python
    code each way (7% of the readers' time, 8-10% of the renderers'; a cold build's CPU
    time fell by about 5% without them)."""

    title: str
    summary: str
    platform: str
    category: str
    tags: tuple[str, ...]
    """Each tag once, in the record's order."""
    signature: str
    quick_fix: str
    updated: str
    http_status: int | None
    examples: tuple[str, ...]
    meaning: str
    why: str
    causes: tuple[str, ...]
    quick_fixes: tuple[str, ...]
    checks: tuple[tuple[str, str], ...]
    """(tool, check) of each platform check."""
    steps: tuple[str, ...]
    prevention: tuple[str, ...]
    sources: tuple[tuple[str, str, str, str | None], ...]
    """(title, url, kind, checked) of each source."""
    evidence: str
    affected_tools: tuple[str, ...]
    faq: tuple[tuple[str, str], ...]
    """(question, answer) of each entry."""

    @classmethod
    def of(cls, rec: Record) -> RecordPart:
        ((quick_fix,), (meaning, why, evidence), causes, quick_fixes, checked, steps, prevention,
         answers) = ([str(html) for html in group] for group in render_many([
            (render_inline, [rec.quick_fix]),
            (render_block, [rec.meaning, rec.why, rec.evidence.note]),
            (render_item, rec.causes),
            (render_item, rec.quick_fixes),
            (render_item, [c.check for c in rec.platform_checks]),
            (render_item, rec.steps),
            (render_item, rec.prevention),
            (render_block, [f.a for f in rec.faq]),
        ]))
        return cls(
            rec.title, rec.summary, rec.platform, rec.category, tuple(dict.fromkeys(rec.tags)),
            rec.signature, quick_fix, rec.updated.isoformat(), rec.http_status,
            tuple(rec.examples), meaning, why, tuple(causes), tuple(quick_fixes),
            tuple((c.tool, html) for c, html in zip(rec.platform_checks, checked, strict=True)),
            tuple(steps), tuple(prevention),
            tuple((s.title, s.url, s.kind, s.checked.isoformat() if s.checked else None)
                  for s in rec.sources),
            evidence, tuple(rec.evidence.affected_tools),
            tuple((f.q, answer) for f, answer in zip(rec.faq, answers, strict=True)))

    def pickled(self) -> bytes:
        return pickle.dumps(tuple(self), protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def of_entry(cls, entry: Entry) -> RecordPart:
        """The part an entry carries (`Entry.pickled`, as `pickled` made it)."""
        return cls._make(pickle.loads(entry.pickled))


class ErrorView(NamedTuple):
    """One record, ready to print: Markdown rendered, links resolved, empty parts dropped.

    The views made for every error page (this one, `Page`, `Check`, `Source`, `Faq`) are
    named tuples: as immutable as frozen dataclasses, and a frozen dataclass sets each field
    through object.__setattr__ (an error page's rendering took 7% more instructions)."""

    title: str
    summary: str
    platform: Link
    category: Link
    signature: str
    quick_fix: Markup
    updated: str
    http_status: int | None
    tags: tuple[Link, ...]
    examples: tuple[str, ...]
    meaning: Markup
    why: Markup
    causes: tuple[Markup, ...]
    quick_fixes: tuple[Markup, ...]
    checks: tuple[Check, ...]
    steps: tuple[Markup, ...]
    prevention: tuple[Markup, ...]
    sources: tuple[Source, ...]
    evidence: Markup
    affected_tools: tuple[str, ...]
    faq: tuple[Faq, ...]
    related: tuple[Link, ...]
    toc: tuple[Section, ...] = ()


@dataclass(frozen=True)
class Group:
    heading: Link
    items: tuple[Link, ...]


@dataclass(frozen=True)
class ListingView:
    """A home or hub page: a heading, a description and groups of links."""

    heading: str
    description: str
    total: int
    groups: tuple[Group, ...]
    browse: tuple[Group, ...] = ()


@dataclass(frozen=True)
class RedirectView:
    target: str
    title: str


@dataclass(frozen=True)
class FeedItem:
    title: str
    url: str
    summary: str
    updated: str
    category: str


@dataclass(frozen=True)
class SitemapUrl:
    loc: str
    lastmod: str | None


_SCRIPT_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                   ("\u2029", "\\u2029"))


def _script_escaped(text: str) -> str:
    """JSON text made safe inside <script>: no `<`, `>`, `&` or line separators left."""
    for char, code in _SCRIPT_ESCAPES:
        if char in text:  # a memchr, cheaper than a replace that finds nothing
            text = text.replace(char, code)
    return text


def script_json(data: object) -> Markup:
    """JSON for a <script> element: `<`, `>` and `&` escaped so no text can end the element."""
    return Markup(_script_escaped(
        json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))))


_json_text: Callable[[str], str] = encode_basestring
"""A text as JSON, as json.dumps(..., ensure_ascii=False) writes it inside anything (the
json module's own function for that, in C)."""


class ScriptJson:
    """`script_json(build(**values))` for a `build` that puts each value (a text or a list of
    texts) somewhere in a structure of fixed shape, at a fraction of the cost.

    json.dumps takes ~20 us for an error page's JSON-LD, mostly setting up its encoder and
    walking the structure. The structure's JSON is made once here with a marker for each
    value, so a call only encodes the values and joins them with the JSON around them; with
    sorted keys, where each value goes does not depend on the values.
    """

    _MARKER = re.compile(r'"\\u0000(\w+)\\u0000"')  # a value's marker, as JSON writes it

    def __init__(self, build: Callable[..., object]) -> None:
        names = inspect.signature(build).parameters
        text = json.dumps(build(**{name: f"\x00{name}\x00" for name in names}),
                          ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        self._parts = self._MARKER.split(text)  # JSON, value name, JSON, …, JSON
        self._names = self._parts[1::2]

    def __call__(self, **values: str | Sequence[str]) -> Markup:
        parts = self._parts.copy()
        parts[1::2] = [_json_text(value) if isinstance(value, str)
                       else "[" + ",".join(map(_json_text, value)) + "]"
                       for value in map(values.__getitem__, self._names)]
        return Markup(_script_escaped("".join(parts)))


def _error_jsonld(title: str, summary: str, updated: str, url: str, platform: str, category: str,
                  keywords: Sequence[str], publisher: str, platform_url: str) -> object:
    """An error page's structured data (schema.org), given its texts: see `ERROR_JSONLD`."""
    return [
        {
            "@context": "https://schema.org",
            "@type": "TechArticle",
            "headline": title,
            "description": summary,
            "dateModified": updated,
            "url": url,
            "mainEntityOfPage": url,
            "about": platform,
            "articleSection": category,
            "keywords": keywords,
            "publisher": {"@type": "Organization", "name": publisher},
        },
        {
            "@context": "https://schema.org",
            "@type": "BreadcrumbList",
            "itemListElement": [
                {"@type": "ListItem", "position": i + 1, "name": name, "item": item}
                for i, (name, item) in enumerate([(platform, platform_url), (title, url)])
            ],
        },
    ]


ERROR_JSONLD = ScriptJson(_error_jsonld)


def indented_json(key: str, records: list[dict[str, str]]) -> str:
    """`json.dumps({key: records}, ensure_ascii=False, indent=1, sort_keys=True)` for records
    whose values are all text, several times faster: given `indent`, json encodes with its
    pure-Python encoder. Here each text goes through the C string encoder, and each set of
    keys becomes one format string (10,000 records share one), so a record costs one call."""
    if not records:
        return json.dumps({key: []}, ensure_ascii=False, indent=1)
    text = _json_text
    layouts: dict[tuple[str, ...], tuple[str, tuple[str, ...]]] = {}
    items = []
    for record in records:
        names = tuple(record)
        layout = layouts.get(names)
        if layout is None:
            order = tuple(sorted(names))
            lines = ",\n".join(f"   {text(k)}: ".replace("{", "{{").replace("}", "}}") + "{}"
                               for k in order)
            layout = layouts[names] = ("  {{\n" + lines + "\n  }}" if order else "  {{}}", order)
        form, order = layout
        items.append(form.format(*map(text, map(record.__getitem__, order))))
    return f"{{\n {text(key)}: [\n" + ",\n".join(items) + "\n ]\n}"


def _escape(value: object) -> str:
    """`str(markupsafe.escape(value))`, which is what a page's text ends up as, but about five
    times cheaper: markupsafe wraps every result in `Markup`, whose constructor is Python code
    (most of the escaping's cost, with a hundred values per error page)."""
    if type(value) is str:
        return _escape_text(value)
    if type(value) is Markup:  # the rendered Markdown: its __html__ would return it as is
        return value
    html = getattr(value, "__html__", None)
    if html is not None:
        return cast(str, html())
    return _escape_text(str(value))


class _Template(Template):
    """A template whose `{{ value }}` outputs go through `_escape`.

    Jinja compiles `{{ value }}` to `escape(value)`, `escape` being a global of the template's
    module; an output only ever joins the page's text, so a plain `str` does as well as the
    `Markup` markupsafe returns (a `{% set %}` block or macro wraps its whole text in `Markup`
    itself). Should Jinja ever name it otherwise, pages are escaped by markupsafe as before.
    """

    @classmethod
    def _from_namespace(cls, environment: Environment, namespace: MutableMapping[str, Any],
                        globals: MutableMapping[str, Any]) -> Template:
        if "escape" in namespace:
            namespace["escape"] = _escape
        return super()._from_namespace(environment, namespace, globals)


class _Environment(Environment):
    """A Jinja environment whose templates escape with `_escape` and keep their globals in a
    plain dict.

    Jinja gives each template a ChainMap over the environment's globals, so that globals set
    later still show. Every render builds its context from them, and every `import` compares
    them with the importing template's; ChainMap does that in Python code, about a tenth of
    an error page's rendering. The renderer sets all its globals before loading a template
    (as Jinja advises anyway), so a copy is the same.
    """

    template_class = _Template

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._loaded: dict[str, Template] = {}

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}

    def get_template(self, name: str | Template, parent: str | None = None,
                     globals: MutableMapping[str, Any] | None = None) -> Template:
        """A template, from a plain dict once loaded. Every page asks for three (its own,
        the one it extends, the one it imports), and Jinja's cache of loaded templates takes
        a lock and reorders a queue on each hit: 2-3% of a render worker's time. (The
        renderer turns auto_reload off: a loaded template is never reloaded.)"""
        if globals is not None or not isinstance(name, str):
            return super().get_template(name, parent, globals)
        if parent is not None:
            name = self.join_path(name, parent)
        template = self._loaded.get(name)
        if template is None:
            template = self._loaded[name] = super().get_template(name)
        return template


class Shows(Enum):
    """How much of each record a file other than an error page shows, so which of the
    record's digests (each computed with the record) goes into the file's key."""

    HEAD = "head"
    """Anything in its `Head` (`build.shown_digest`)."""
    ROW = "row"
    """A row of a listing (`row_digest`)."""
    INDEX = "index"
    """What the search index holds (`lookup.index_digest`)."""


def row_digest(entry: Entry) -> bytes:
    """Digest of what the home page, the 404 page and the hubs show of a record: a link made
    of its address and title, in a group named by its platform or category (their views,
    built by `_entry_link` and `_groups_for`, hold nothing else of it). A new date or summary
    leaves those pages as they were."""
    head = entry.head
    return digest(entry.url_path, head.title, head.platform, head.category)


class Inputs(NamedTuple):
    """What a file other than an error page depends on: a text of its own (hub names, an
    address) and the records it shows (see `Renderer.site_jobs`)."""

    text: str
    entries: Sequence[Entry]
    shows: Shows = Shows.HEAD
    """How much of each of those records it shows."""


class CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates, kept in the cache: compiling the site's templates costs
    about 80 ms of every build (and of every render worker that needs one the main process
    did not compile), loading them a few. Jinja checks each against its template's source.
    (Here, not in cache.py: the no-op check imports that, and must not wait for jinja2.)"""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self.cache.template_code(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.cache.save_template_code(bucket.key, bucket.bytecode_to_string())


class Renderer:
    """Renders every output file of a linked site from the templates folder."""

    def __init__(self, site: Site, templates: Path,
                 lookup_tokens: Mapping[str, RecordTokens] | None = None,
                 compiled: BytecodeCache | None = None) -> None:
        self.site = site
        self.lookup_tokens = lookup_tokens
        # auto_reload off: a renderer lives for one build, and checking every template file's
        # modification time on each page costs more than some of the pages' own work.
        self.env = _Environment(
            loader=FileSystemLoader(str(templates)),
            auto_reload=False,
            autoescape=select_autoescape(["html", "xml"], default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            bytecode_cache=compiled,
        )
        config = site.config
        self.view = SiteView(
            title=config.title,
            description=config.description,
            language=config.language,
            home=site.href("/"),
            search=site.href("/search/"),
            static=site.href("/static/"),
            feed=site.href("/feed.xml"),
        )
        # Links to hubs and entries are the same immutable objects on every page that shows
        # them, so each is made once (many thousands of pages share a few hundred hub links).
        self._hub_links: dict[tuple[HubKind, str], Link] = {}
        self._entry_links: dict[str, Link] = {}
        self._tocs: dict[tuple[Section, ...], Markup] = {}
        self.env.globals["toc"] = self._toc  # before any template loads (see _Environment)

    def _toc(self, sections: tuple[Section, ...]) -> Markup:
        """An error page's table of contents (the `toc` macro in headings.html): the same for
        every page with the same sections, so each is rendered once."""
        html = self._tocs.get(sections)
        if html is None:
            module = self.env.get_template("headings.html").module
            html = self._tocs[sections] = cast(Markup, module.toc(sections))
        return html

    def compile(self) -> None:
        """Compile every template (`.html`, `.xml`) outside `static/` now, so that the forked
        render workers inherit them compiled instead of each compiling its own."""
        for name in self.env.list_templates(extensions=("html", "xml")):
            if not name.startswith(f"{STATIC_DIR}/"):
                self.env.get_template(name)

    # -- helpers -------------------------------------------------------------------------

    def _link(self, text: str, path: str, count: int | None = None) -> Link:
        return Link(text, self.site.href(path), count)

    def _hub_link(self, kind: HubKind, name: str) -> Link:
        link = self._hub_links.get((kind, name))
        if link is None:
            hub = self.site.hub(kind, name)
            link = self._hub_links[(kind, name)] = self._link(hub.name, hub.url_path,
                                                              len(hub.entries))
        return link

    def _entry_link(self, entry: Entry) -> Link:
        link = self._entry_links.get(entry.url_path)
        if link is None:
            link = self._entry_links[entry.url_path] = self._link(entry.head.title,
                                                                  entry.url_path)
        return link

    def _render(self, template: str, **context: object) -> str:
        return self.env.get_template(template).render(site=self.view, **context)

    # -- pages ---------------------------------------------------------------------------

    def error_view(self, entry: Entry, part: RecordPart) -> ErrorView:
        html = as_markup
        examples = part.examples
        causes, quick_fixes, steps, prevention = (tuple(map(html, texts)) for texts in (
            part.causes, part.quick_fixes, part.steps, part.prevention))
        checks = tuple(Check(tool, html(check)) for tool, check in part.checks)
        sources = tuple(Source(*source) for source in part.sources)
        faq = tuple(Faq(f"faq-{i + 1}", question, html(answer))
                    for i, (question, answer) in enumerate(part.faq))
        related = tuple(map(self._entry_link, self.site.related[entry.slug]))
        shown = (examples, True, True, causes, quick_fixes, checks, steps, prevention, sources,
                 True, faq, related)  # whether each of SECTIONS has content, in that order
        return ErrorView(
            title=part.title,
            summary=part.summary,
            platform=self._hub_link(HubKind.PLATFORM, part.platform),
            category=self._hub_link(HubKind.CATEGORY, part.category),
            signature=part.signature,
            quick_fix=html(part.quick_fix),
            updated=part.updated,
            http_status=part.http_status,
            tags=tuple(self._hub_link(HubKind.TAG, t) for t in part.tags),
            examples=examples,
            meaning=html(part.meaning),
            why=html(part.why),
            causes=causes,
            quick_fixes=quick_fixes,
            checks=checks,
            steps=steps,
            prevention=prevention,
            sources=sources,
            evidence=html(part.evidence),
            affected_tools=part.affected_tools,
            faq=faq,
            related=related,
            toc=tuple(section for section, content in zip(SECTIONS, shown, strict=True)
                      if content),
        )

    def error_page(self, entry: Entry) -> str:
        part = RecordPart.of_entry(entry)
        view = self.error_view(entry, part)
        canonical = self.site.absolute(entry.url_path)
        crumbs = (view.platform, view.category)
        jsonld = ERROR_JSONLD(
            title=part.title, summary=part.summary, updated=part.updated, url=canonical,
            platform=part.platform, category=part.category, keywords=list(part.tags),
            publisher=self.site.config.title,
            platform_url=self.site.absolute(f"/{entry.platform_slug}/"))
        page = Page(
            title=f"{part.title} | {self.site.config.title}",
            description=part.summary,
            canonical=canonical,
            breadcrumbs=crumbs,
            og_type="article",
            jsonld=jsonld,
        )
        return self._render("error.html", page=page, error=view)

    def _groups_by_platform(self) -> tuple[Group, ...]:
        return tuple(
            Group(self._link(h.name, h.url_path, len(h.entries)),
                  tuple(self._entry_link(e) for e in h.entries))
            for h in self.site.platforms
        )

    def home_page(self) -> str:
        site = self.site
        browse = (
            Group(Link("Categories", ""), tuple(self._link(h.name, h.url_path, len(h.entries))
                                              for h in site.categories)),
            Group(Link("Tags", ""), tuple(self._link(h.name, h.url_path, len(h.entries))
                                        for h in site.tags)),
        )
        listing = ListingView(
            heading=site.config.title,
            description=site.config.description,
            total=len(site.entries),
            groups=self._groups_by_platform(),
            browse=tuple(g for g in browse if g.items),
        )
        page = Page(site.config.title, site.config.description, site.absolute("/"))
        return self._render("home.html", page=page, listing=listing)

    def hub_page(self, hub: Hub) -> str:
        noun = {HubKind.PLATFORM: "Platform", HubKind.CATEGORY: "Category", HubKind.TAG: "Tag"}
        count = len(hub.entries)
        description = hub.description or (
            f"{count} error{'s' if count != 1 else ''} filed under {hub.name}, each with its"
            " signature, causes and fixes."
        )
        if hub.kind is HubKind.PLATFORM:
            groups = self._groups_for(hub, lambda e: (HubKind.CATEGORY, e.head.category))
        else:
            groups = self._groups_for(hub, lambda e: (HubKind.PLATFORM, e.head.platform))
        listing = ListingView(
            heading=f"{noun[hub.kind]}: {hub.name}" if hub.kind is HubKind.TAG else hub.name,
            description=description,
            total=count,
            groups=groups,
        )
        page = Page(
            title=f"{hub.name} errors | {self.site.config.title}",
            description=description,
            canonical=self.site.absolute(hub.url_path),
            breadcrumbs=(Link(noun[hub.kind], ""),),
        )
        return self._render("hub.html", page=page, listing=listing, kind=hub.kind.value)

    def _groups_for(self, hub: Hub, key) -> tuple[Group, ...]:  # type: ignore[no-untyped-def]
        grouped: dict[tuple[HubKind, str], list[Entry]] = {}
        for entry in hub.entries:
            grouped.setdefault(key(entry), []).append(entry)
        groups = []
        for kind, name in sorted(grouped, key=lambda k: k[1].casefold()):
            items = grouped[(kind, name)]
            groups.append(Group(self._link(name, self.site.hub(kind, name).url_path, len(items)),
                                tuple(self._entry_link(e) for e in items)))
        return tuple(groups)

    def redirect_page(self, redirect: Redirect) -> str:
        target = redirect.target
        page = Page(
            title=f"Moved: {target.head.title}",
            description=target.head.summary,
            canonical=self.site.absolute(target.url_path),
            noindex=True,
        )
        view = RedirectView(self.site.href(target.url_path), target.head.title)
        return self._render("redirect.html", page=page, redirect=view)

    def not_found_page(self) -> str:
        page = Page(f"Page not found | {self.site.config.title}",
                    "This page does not exist.", self.site.absolute("/404.html"), noindex=True)
        return self._render("404.html", page=page, listing=ListingView(
            "Page not found", "", len(self.site.entries), self._groups_by_platform()))

    def sitemap(self) -> str:
        site = self.site
        latest = max((e.head.updated for e in site.entries), default=None)
        urls = [SitemapUrl(site.absolute("/"), latest.isoformat() if latest else None)]
        for hub in (*site.platforms, *site.categories, *site.tags):
            urls.append(SitemapUrl(site.absolute(hub.url_path),
                                   max(e.head.updated for e in hub.entries).isoformat()))
        for entry in site.entries:
            urls.append(SitemapUrl(site.absolute(entry.url_path), entry.head.updated.isoformat()))
        urls.sort(key=lambda u: u.loc)
        return self._render("sitemap.xml", urls=urls)

    def feed(self, limit: int = 20) -> str:
        """Atom feed of the most recently updated records (ties broken by address)."""
        site = self.site
        recent = sorted(site.entries, key=lambda e: (-e.head.updated.toordinal(), e.url_path))
        items = [FeedItem(e.head.title, site.absolute(e.url_path), e.head.summary,
                          f"{e.head.updated.isoformat()}T00:00:00Z", e.head.platform)
                 for e in recent[:limit]]
        updated = items[0].updated if items else "1970-01-01T00:00:00Z"
        return self._render("feed.xml", feed_url=site.absolute("/feed.xml"),
                            home_url=site.absolute("/"), updated=updated, items=items)

    def errors_json(self) -> str:
        """`api/errors.json`: every error for tools, one object each, in address order."""
        site = self.site
        errors = [
            {"slug": e.slug, "title": e.head.title, "signature": e.head.signature,
             "platform": e.head.platform, "category": e.head.category,
             "url": site.absolute(e.url_path), "updated": e.head.updated.isoformat()}
            for e in site.entries
        ]
        return indented_json("errors", errors) + "\n"

    def search_page(self) -> str:
        description = ("Paste an error message, log line or stack trace and find the page that"
                       " explains it.")
        page = Page(f"Search errors | {self.site.config.title}", description,
                    self.site.absolute("/search/"))
        return self._render("search.html", page=page)

    def search_index(self) -> str:
        """`search/index.json`: the one index both `fixdex lookup` and the browser search use."""
        index = build_index(self.site.entries, self.site.base_path, self.lookup_tokens)
        return json.dumps(index, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    def robots(self) -> str:
        return f"User-agent: *\nAllow: /\n\nSitemap: {self.site.absolute('/sitemap.xml')}\n"

    # -- everything ----------------------------------------------------------------------

    def site_jobs(self) -> list[tuple[str, Inputs, Callable[[], str]]]:
        """Every output file except the error pages: (file, what it depends on, how to make it).

        What a file depends on, besides the templates and settings (which the build adds), is
        a text and the records it shows: the build keys each record by everything other pages
        may show of it, so a listing is rendered again only when one of its records changed
        in a way some listing could show, or the text changed.
        """
        site = self.site
        every = site.entries
        hubs = repr([(h.kind.value, h.name, h.slug, h.description, len(h.entries))
                     for h in (*site.platforms, *site.categories, *site.tags)])
        # The slowest first (the search index: about 0.2 s at 10,000 records), so that the
        # build's workers can share out the rest while one makes it.
        jobs: list[tuple[str, Inputs, Callable[[], str]]] = [
            ("search/index.json", Inputs("", every, Shows.INDEX), self.search_index),
            ("index.html", Inputs(hubs, every, Shows.ROW), self.home_page),
            ("sitemap.xml", Inputs(hubs, every), self.sitemap),
            ("api/errors.json", Inputs("", every), self.errors_json),
            ("404.html", Inputs("", every, Shows.ROW), self.not_found_page),
            ("feed.xml", Inputs("", every), self.feed),
            ("robots.txt", Inputs("", ()), self.robots),
            ("search/index.html", Inputs("", ()), self.search_page),
        ]
        for hub in (*site.platforms, *site.categories, *site.tags):
            jobs.append((page_file(hub.url_path),
                         Inputs(repr((hub.kind.value, hub.name, hub.description)), hub.entries,
                                Shows.ROW),
                         partial(self.hub_page, hub)))
        for redirect in site.redirects:
            jobs.append((redirect.file_path, Inputs(redirect.path, (redirect.target,)),
                         partial(self.redirect_page, redirect)))
        return jobs
