"""`fixdex new`: a complete record to fill in, so a maintainer starts from the contract.

Every part the contract requires is present with a `TODO:` placeholder that says what belongs
there; the model refuses placeholders, so an unfilled scaffold fails `fixdex check` with one
message per part and can never be published by accident.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from .errors import did_you_mean
from .model import PLACEHOLDER, slugify

NOISE_WORDS = frozenset({
    "a", "an", "the", "is", "of", "to", "and", "or", "for", "in", "on", "with", "message",
    "code", "error", "errors", "type", "status", "param", "null", "none", "true", "false",
})
MAX_SLUG_WORDS = 6


class ScaffoldError(Exception):
    """The scaffold cannot be written as asked (a usage problem)."""


def slug_for(signature: str, taken: set[str]) -> str:
    """A short, readable, unused slug from the words of a signature."""
    words = [w for w in re.findall(r"[a-z0-9]+", signature.lower()) if w not in NOISE_WORDS]
    slug = "-".join(list(dict.fromkeys(words))[:MAX_SLUG_WORDS]) or "error"
    candidate, n = slug, 2
    while candidate in taken:
        candidate, n = f"{slug}-{n}", n + 1
    return candidate


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _todo(hint: str) -> str:
    return _q(f"{PLACEHOLDER}: {hint}")


def scaffold_text(platform: str, signature: str, category: str | None,
                  categories: tuple[str, ...], today: dt.date) -> str:
    category_line = _q(category) if category else _todo("one of " + ", ".join(categories))
    return f"""\
# yaml-language-server: $schema=../record.schema.json
# A new fixdex record. Replace every TODO; `fixdex check` lists the ones left.
# The contract: CONTRIBUTING.md. Keep it specific: say what is true of this error alone.

# 10-60 characters: the error and the platform, as a reader would search for it.
title: {_todo("a title of 10 to 60 characters")}
# Plain text, at most 160 characters: shown under the title and in search snippets.
summary: {_todo("one sentence: what happens and why")}
platform: {_q(platform)}
category: {category_line}
# Lowercase words; each gets a hub page (e.g. http-401, api-key, the client tool).
tags: []
# Exactly as the error prints; unique across records.
signature: {_q(signature)}
# Other printed forms of the same failure (used by search and lookup).
also_seen_as: []
# Raw log excerpts as users pasted them in the sources; each must look up to this record.
examples: []
# http_status: 401
updated: {today.isoformat()}
# One or two sentences: the fix most readers need.
quick_fix: {_todo("the fix most readers need, in one or two sentences")}
# Markdown from here on; no raw HTML.
meaning: {_todo("what the error means, in plain words")}
why: {_todo("why it happens: the mechanism behind it, from the sources")}
causes:
  - {_todo("a common cause")}
quick_fixes:
  - {_todo("the first thing to try")}
# Checks for a particular tool or client: - tool: Cline / check: "Open Settings > ..."
platform_checks: []
steps:
  - {_todo("the first troubleshooting step")}
prevention: []
# At least two; kind is one of issue, pull-request, discussion, forum, chat, docs, blog,
# status-page; checked is the date you read it. Never cite a URL you have not opened.
sources:
  - title: {_todo("the source's own title")}
    url: {_todo("the address of the thread or page")}
    kind: issue
    checked: {today.isoformat()}
evidence:
  note: {_todo("what the sources show, in your own words")}
  affected_tools: []
faq:
  - q: {_todo("a question readers ask about this error")}
    a: {_todo("its answer")}
# Slugs of records a reader would want next (e.g. the 402 next to a 401).
related: []
# Old addresses of this page, e.g. /{slugify(platform)}/old-slug/, if it ever moves.
aliases: []
"""


def existing_platform_name(folder: Path) -> str | None:
    """The spelling already used in a platform folder, so a new record matches it."""
    for path in sorted(folder.glob("*.yaml")):
        match = re.search(r"^platform:\s*[\"']?(.+?)[\"']?\s*$", path.read_text(errors="replace"),
                          re.M)
        if match:
            return match.group(1)
    return None


def write_scaffold(content: Path, platform: str, signature: str, category: str | None,
                   categories: tuple[str, ...], today: dt.date | None = None) -> Path:
    """Write the scaffold and return its path; refuse to overwrite anything."""
    platform, signature = platform.strip(), signature.strip()
    platform_slug = slugify(platform)
    if not platform_slug:
        raise ScaffoldError(f"the platform {platform!r} has no letters or digits")
    if not signature:
        raise ScaffoldError("the signature is empty: give the error exactly as it prints")
    if len(signature) > 500:
        raise ScaffoldError("the signature is over 500 characters: give the error's first line")
    if category is not None and category not in categories:
        hint = did_you_mean(category, categories) or " (one of: " + ", ".join(categories) + ")"
        raise ScaffoldError(f"unknown category {category!r}{hint}")
    folder = content / platform_slug
    if folder.is_dir():
        platform = existing_platform_name(folder) or platform
    taken = {p.stem for p in content.glob("*/*.yaml")}
    path = folder / f"{slug_for(signature, taken)}.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    text = scaffold_text(platform, signature, category, categories, today or dt.date.today())
    with path.open("x", encoding="utf-8") as handle:
        handle.write(text)
    return path
