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


# -- the fast path ----------------------------------------------------------------------------
# Most record text is plain sentences with `code` and **bold**. markdown-it-py parses such text
# correctly but slowly (most of a cold build's time), so text that provably uses nothing else is
# rendered directly; anything else falls back to markdown-it. tests/test_markdown.py checks with
# hypothesis that the fast path either declines or returns exactly markdown-it's output.

_UNSAFE_TEXT = re.compile(r"[\\<>&\[\]!_~|`]|\*\*\*")
# **strong** at the start of a line or after a space or "(". The look-behind comes after the
# literal "**" (it checks the character before it) so that the regex engine can jump from one
# "**" to the next instead of trying a look-behind at every position.
_STRONG = re.compile(r"\*\*(?<![^ (\n]\*\*)([A-Za-z0-9](?:[^*\n]*[A-Za-z0-9])?)\*\*(?=$|[ .,;:)?!])",
                     re.M)
_LINE_START_OK = re.compile(r"^(?:[A-Za-z(\"'`]|\*\*[A-Za-z0-9]|\d(?!\d{0,8}[.)](?: |$)))")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _odd_spacing(text: str) -> bool:
    """Tabs, carriage returns, a space at either end of a line, or two spaces in a row.

    Plain substring tests: a multi-line regex for the same thing costs more than the rest of
    the fast path.
    """
    return ("\t" in text or "\r" in text or "  " in text or "\n " in text or " \n" in text
            or text.startswith(" ") or text.endswith(" "))


def _fast_inline(text: str) -> str | None:
    """Inline HTML for text using only code spans and **strong**, else None.

    Without "``", splitting on backticks gives text, code, text, …, text exactly when every
    backtick pairs with the next one; an unpaired backtick would be left in text, which
    _fast_plain refuses, so an even number of backticks or a code part with a line break in it
    declines at once.
    """
    if _odd_spacing(text) or "``" in text:
        return None
    if "`" not in text:
        return _fast_plain(text)
    parts = text.split("`")
    if len(parts) % 2 == 0:
        return None
    out: list[str] = []
    for i, part in enumerate(parts):
        if i % 2:
            if "\n" in part or part[0] == " " or part[-1] == " ":
                return None
            out += ("<code>", _escape(part), "</code>")
        else:
            plain = _fast_plain(part)
            if plain is None:
                return None
            out.append(plain)
    return "".join(out)


def _fast_plain(text: str) -> str | None:
    """HTML for text outside code spans: only **strong** is markup; None for anything else.

    After the unsafe-character check only '"' is left to escape (&, < and > were refused).
    """
    if _UNSAFE_TEXT.search(text):
        return None
    html = text.replace('"', "&quot;")
    if "*" not in html:
        return html
    parts = _STRONG.split(html)  # text, strong, text, …: cheaper than sub with a callback
    for i in range(1, len(parts), 2):
        parts[i] = f"<strong>{parts[i]}</strong>"
    html = "".join(parts)
    return None if "*" in html else html


def fast_block(text: str) -> str | None:
    """Block HTML for plain paragraphs, or None when markdown-it must decide."""
    if "\n\n\n" in text or text != text.strip():
        return None
    paragraphs = []
    for paragraph in text.split("\n\n"):
        if "\n" in paragraph:
            if not all(_LINE_START_OK.match(line) for line in paragraph.split("\n")):
                return None
        elif not _LINE_START_OK.match(paragraph):
            return None
        inline = _fast_inline(paragraph)
        if inline is None:
            return None
        paragraphs.append(f"<p>{inline}</p>")
    return "\n".join(paragraphs)


def fast_inline(text: str) -> str | None:
    """Inline HTML for simple one-paragraph text, or None when markdown-it must decide."""
    if text != text.strip() or "\n\n" in text:
        return None
    return _fast_inline(text)


def render_block(text: str) -> Markup:
    """Markdown to HTML, block level (paragraphs, lists, code)."""
    fast = fast_block(text)
    return Markup(fast if fast is not None else _renderer().render(text).strip())


def render_inline(text: str) -> Markup:
    """Markdown to HTML without the wrapping paragraph, for list items and table cells."""
    fast = fast_inline(text)
    if fast is not None:
        return Markup(fast)
    md = _renderer()
    return Markup(md.renderer.render(md.parseInline(text), md.options, {}).strip())


def render_item(text: str) -> Markup:
    """A list item: inline when it is a single paragraph, block Markdown otherwise."""
    return render_inline(text) if "\n\n" not in text.strip() and "\n-" not in text else render_block(text)
