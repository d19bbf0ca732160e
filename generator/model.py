"""The record contract (`record-format.md`) as Pydantic models.

The models check what one file can check on its own: types, required fields, lengths, dates,
categories. Checks that need several records (unique signatures, related slugs) live in
`validate.py`. Every field carries a description because the JSON Schema published for
editors is generated from these models.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from .errors import did_you_mean

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ALIAS_SEGMENT_RE = re.compile(r"^[A-Za-z0-9._~-]+$")
SAFE_URL_SCHEMES = ("http", "https")
_HTTP_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://([^/?#\s]+)[^\s]*$")

PLACEHOLDER = "TODO"
"""How `fixdex new` marks a part still to write; a record holding one cannot be published."""


def _filled(value: str) -> str:
    if value.startswith(PLACEHOLDER):
        hint = value[len(PLACEHOLDER):].lstrip(": ").splitlines()[0] if value[4:].strip() else ""
        raise ValueError(f"not filled in yet ({hint})" if hint else "not filled in yet")
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1),
                 AfterValidator(_filled)]
"""Any non-blank text; surrounding white space is dropped; scaffold placeholders refused."""

Markdown = Text
"""Markdown text: rendered with raw HTML off and only safe link schemes."""

def _slug(value: str) -> str:
    if not SLUG_RE.match(value):
        raise ValueError(f"'{value}' is not a slug (lowercase letters, digits and hyphens)")
    return value


def _tag(value: str) -> str:
    if not slugify(value):
        raise ValueError(f"tag '{value}' has no letters or digits to make a URL from")
    return value


def normalise_alias(alias: str) -> str:
    """Check an old URL path is a plain path inside the site and return it as `/a/b/`."""
    if "://" in alias or alias.startswith("//") or ":" in alias.split("/", 1)[0]:
        raise ValueError(f"alias '{alias}' must be a path on this site, not a URL")
    if not alias.startswith("/"):
        raise ValueError(f"alias '{alias}' must start with '/'")
    segments = [s for s in alias.split("/") if s]
    if not segments:
        raise ValueError("alias '/' would replace the home page")
    for segment in segments:
        if segment in (".", "..") or not ALIAS_SEGMENT_RE.match(segment):
            raise ValueError(
                f"alias '{alias}' has an unsafe part '{segment}'"
                " (use letters, digits, '.', '_', '~' and '-'; no '..')"
            )
        if segment.startswith("."):
            raise ValueError(f"alias '{alias}' has a hidden part '{segment}' (a part may not"
                             " start with '.')")
    if segments[-1].endswith(".html"):
        return "/" + "/".join(segments)
    return "/" + "/".join(segments) + "/"


Alias = Annotated[Text, AfterValidator(normalise_alias)]


Slug = Annotated[Text, AfterValidator(_slug)]
Tag = Annotated[Text, StringConstraints(max_length=60), AfterValidator(_tag)]

SourceKind = Literal[
    "issue", "pull-request", "discussion", "forum", "chat", "docs", "blog", "status-page"
]


@dataclass(frozen=True)
class ValidationContext:
    """What a record is validated against: the site's categories and today's date.

    `today` is injectable so that tests do not depend on the clock.
    """

    categories: tuple[str, ...] = ()
    today: dt.date = field(default_factory=dt.date.today)


def _context(info: ValidationInfo) -> ValidationContext:
    ctx = info.context
    return ctx if isinstance(ctx, ValidationContext) else ValidationContext()


def _not_in_future(value: dt.date, info: ValidationInfo) -> dt.date:
    today = _context(info).today
    if value > today:
        raise ValueError(f"{value.isoformat()} is in the future (today is {today.isoformat()})")
    return value


@functools.lru_cache(maxsize=65536)  # the same few platform, category and tag names, often
def slugify(text: str) -> str:
    """`Google Gemini API` -> `google-gemini-api`: the URL form of a platform, tag or category."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class Strict(BaseModel):
    """Base for every record part: unknown keys are errors, never silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PlatformCheck(Strict):
    tool: Text = Field(description="The tool, client or SDK the check applies to (e.g. Cline).")
    check: Markdown = Field(description="What to look at in that tool (Markdown).")


class Source(Strict):
    title: Text = Field(max_length=300, description="The source's own title.")
    url: Text = Field(max_length=2000, description="Where the source is: an http(s) URL.")
    kind: SourceKind = Field(description="What sort of source it is.")
    checked: dt.date | None = Field(
        default=None, description="The date (YYYY-MM-DD) the source was last read."
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        match = _HTTP_URL.match(value)
        if not match or match.group(1).lower() not in SAFE_URL_SCHEMES:
            raise ValueError("must be an absolute http:// or https:// URL without spaces")
        return value

    @field_validator("checked")
    @classmethod
    def _checked_not_in_future(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        return None if value is None else _not_in_future(value, info)


class Evidence(Strict):
    note: Markdown = Field(description="What the sources show, in our own words (Markdown).")
    affected_tools: list[Text] = Field(
        default_factory=list, description="Tools and clients the sources name as affected."
    )


class FaqEntry(Strict):
    q: Text = Field(max_length=300, description="The question, as a reader would ask it.")
    a: Markdown = Field(description="The answer (Markdown).")


class Record(Strict):
    """One error: the contract between maintainers and the generator."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"title": "fixdex error record"},
    )

    title: Text = Field(min_length=10, max_length=120, description="The page's H1 and <title>.")
    summary: Text = Field(
        max_length=200, description="Plain text under the title; the meta description."
    )
    platform: Text = Field(
        max_length=60,
        description="The platform; its slug must equal the record's folder under content/.",
    )
    category: Text = Field(description="One of the categories listed in content/site.yaml.")
    tags: list[Tag] = Field(default_factory=list, description="Tags; each gets a hub page.")
    signature: Text = Field(
        max_length=500,
        description="The error exactly as it prints; unique across records.",
    )
    also_seen_as: list[Annotated[Text, StringConstraints(max_length=500)]] = Field(
        default_factory=list, description="Other forms of the same failure, for search and lookup."
    )
    examples: list[Annotated[Text, StringConstraints(max_length=5000)]] = Field(
        default_factory=list,
        description="Raw log excerpts as a user would paste them; each must look up to this record.",
    )
    http_status: int | None = Field(
        default=None, ge=100, le=599, strict=True, description="The HTTP status, if any."
    )
    updated: dt.date = Field(description="When the record was last revised (YYYY-MM-DD).")
    quick_fix: Text = Field(max_length=400, description="One or two sentences: the likely fix.")
    meaning: Markdown = Field(description="What this error means (Markdown).")
    why: Markdown = Field(description="Why this happens (Markdown).")
    causes: list[Markdown] = Field(min_length=1, description="Common causes (Markdown each).")
    quick_fixes: list[Markdown] = Field(min_length=1, description="Quick fixes, in order.")
    platform_checks: list[PlatformCheck] = Field(
        default_factory=list, description="Checks specific to a tool or client."
    )
    steps: list[Markdown] = Field(min_length=1, description="Step-by-step troubleshooting.")
    prevention: list[Markdown] = Field(default_factory=list, description="How to prevent it.")
    sources: list[Source] = Field(min_length=1, description="Sources checked.")
    evidence: Evidence = Field(description="The evidence note and the affected tools.")
    faq: list[FaqEntry] = Field(min_length=1, description="Questions and answers.")
    related: list[Slug] = Field(
        default_factory=list, description="Slugs of related records; each must exist."
    )
    aliases: list[Alias] = Field(
        default_factory=list,
        description="Old URL paths (e.g. /openrouter/old-slug/) that redirect to this page.",
    )

    @field_validator("title", "summary", "quick_fix", "platform")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value:
            raise ValueError("must be a single line")
        return value

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str, info: ValidationInfo) -> str:
        categories = _context(info).categories
        if categories and value not in categories:
            hint = did_you_mean(value, categories)
            if not hint:
                hint = " (one of: " + ", ".join(f"'{c}'" for c in categories) + ")"
            raise ValueError(f"unknown category '{value}'{hint}")
        return value

    @field_validator("updated")
    @classmethod
    def _updated_not_in_future(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        return _not_in_future(value, info)

class Category(Strict):
    name: Text = Field(description="The category's name, as records spell it.")
    description: Text = Field(description="One sentence shown on the category's hub page.")


class SiteConfig(Strict):
    """`content/site.yaml`: the site's own settings."""

    title: Text = Field(max_length=80, description="The site's name.")
    base_url: Text = Field(description="Where the site is published, e.g. https://errors.example.com/")
    description: Text = Field(max_length=200, description="The home page's meta description.")
    categories: list[Category] = Field(min_length=1, description="The categories records use.")
    language: Text = Field(default="en", description="The pages' language (BCP 47).")

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+(/[^\s]*)?$", value):
            raise ValueError("must be an absolute http:// or https:// URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("categories")
    @classmethod
    def _unique_categories(cls, value: list[Category]) -> list[Category]:
        seen: set[str] = set()
        for cat in value:
            slug = slugify(cat.name)
            if slug in seen:
                raise ValueError(f"category '{cat.name}' is listed twice")
            seen.add(slug)
        return value

    @property
    def category_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.categories)


def record_json_schema(categories: tuple[str, ...] = ()) -> dict:
    """The JSON Schema editors use to complete and check records as they are typed."""
    schema = Record.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["description"] = (
        "One error record of a fixdex knowledge base: content/<platform-slug>/<slug>.yaml"
    )
    if categories:
        schema["properties"]["category"]["enum"] = list(categories)
    return schema
