"""The one Markdown renderer every record field goes through.

Records come from strangers' pull requests, so the renderer is locked down: raw HTML is
escaped, links and images may only use http, https, mailto or a relative URL, and links to
other hosts carry `rel="nofollow noopener noreferrer"`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markupsafe import Markup

_SCHEME_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
EXTERNAL_REL = "nofollow noopener noreferrer"


def is_safe_url(url: str) -> bool:
    """True for http(s), mailto and relative URLs; false for javascript:, data:, vbscript: ….

    Control characters and white space are removed first, as browsers do before they read the
    scheme (`java\\tscript:` is `javascript:` to a browser).
    """
    cleaned = re.sub(r"[\x00-\x20\x7f]+", "", url)
    match = _SCHEME_RE.match(cleaned)
    if match is None:
        return not cleaned.startswith("//") and not cleaned.startswith("\\")
    return match.group(1).lower() in ALLOWED_SCHEMES


def _is_external(url: str) -> bool:
    return bool(_SCHEME_RE.match(url)) or url.startswith("//")


@lru_cache(maxsize=1)
def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.validateLink = is_safe_url  # type: ignore[method-assign]
    md.disable("image")

    def link_open(self: RendererHTML, tokens: list, idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        if _is_external(str(token.attrGet("href") or "")):
            token.attrSet("rel", EXTERNAL_REL)
        return self.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


def render_block(text: str) -> Markup:
    """Markdown to HTML, block level (paragraphs, lists, code)."""
    return Markup(_renderer().render(text).strip())


def render_inline(text: str) -> Markup:
    """Markdown to HTML without the wrapping paragraph, for list items and table cells."""
    md = _renderer()
    return Markup(md.renderer.render(md.parseInline(text), md.options, {}).strip())


def render_item(text: str) -> Markup:
    """A list item: inline when it is a single paragraph, block Markdown otherwise."""
    return render_inline(text) if "\n\n" not in text.strip() and "\n-" not in text else render_block(text)
