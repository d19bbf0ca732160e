"""The one Markdown renderer every record field goes through.

Records come from strangers' pull requests, so the renderer is locked down: raw HTML is
escaped, links and images may only use http, https, mailto or a relative URL, and links to
other hosts carry `rel="nofollow noopener noreferrer"`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.renderer import RendererHTML

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
    """markdown-it, set up once, and imported only here: a rebuild whose pages all take the
    fast path never loads it (50 ms of every start otherwise)."""
    from markdown_it import MarkdownIt

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

# **strong** at the start of a line, after a space or "(", or right after a code span. The
# look-behind comes after the literal "**" (it checks the character before it) so that the regex
# engine can jump from one "**" to the next instead of trying a look-behind at every position.
# "`" stands for a code span (see _fast_inline): a strong run neither crosses one nor needs a
# space next to one, exactly as if the text on each side of the span were matched on its own.
_STRONG = re.compile(
    r"\*\*(?<![^ (\n`]\*\*)([A-Za-z0-9](?:[^*\n`]*[A-Za-z0-9])?)\*\*(?=$|[ .,;:)?!`])", re.M)
# How a line of a paragraph may start in the fast path (not a list item, heading, quote, …).
# The second pattern finds any later line that starts otherwise; it begins with a literal "\n"
# so the regex engine jumps from line to line (a "^" pattern would be tried at every character),
# and an empty line (a paragraph break) passes.
_LINE_START = r"[A-Za-z(\"'`]|\*\*[A-Za-z0-9]|\d(?!\d{0,8}[.)](?: |$))"
_FIRST_LINE_OK = re.compile(_LINE_START, re.M)
_BAD_LINE_START = re.compile(rf"\n(?!\n|{_LINE_START})", re.M)
# A paragraph that ends in white space other than a plain space (a no-break space, U+3000,
# a form feed, …): markdown-it strips it, as Python's str.strip() does. The literal "\n\n"
# comes first so that the regex engine jumps from one paragraph break to the next.
_SPACE_BEFORE_BREAK = re.compile(r"\n\n(?<=\s\n\n)")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _unsafe_plain(text: str) -> bool:
    """Whether text outside code spans has a character that is markup or needs escaping there
    (besides "`" and "*": a "*" that is not part of a **strong** run makes _fast_inline decline,
    and so does "***", which no strong run can take apart).

    One substring test per character: each is a memchr, several times cheaper than a regex
    character class, which the regex engine tests character by character.
    """
    return ("_" in text or "[" in text or "]" in text or "!" in text or "<" in text
            or ">" in text or "&" in text or "\\" in text or "~" in text or "|" in text)


def _odd_spacing(text: str) -> bool:
    """Tabs, carriage returns, a space next to a line break, or two spaces in a row (callers
    have refused a space at either end).

    Plain substring tests: a multi-line regex for the same thing costs more than the rest of
    the fast path. Most text is one line, where a search for "\n" (a memchr) saves two.
    """
    return ("\t" in text or "\r" in text or "  " in text
            or ("\n" in text and ("\n " in text or " \n" in text)))


def _fast_inline(text: str) -> str | None:
    """Inline HTML for text using only code spans and **strong**, else None (text that starts
    or ends with white space is refused by the callers).

    Splitting on backticks gives text, code, text, …, text exactly when every backtick pairs
    with the next one and there is no "``" (an empty part between two parts); an unpaired
    backtick leaves an even number of parts. The text parts are then checked and marked up in
    one piece, joined by "`" (which no text part contains), so the regexes run once per field
    rather than once per part; &, < and > are refused there, so only '"' is left to escape
    outside code.
    """
    if _odd_spacing(text) or "\x00" in text:  # markdown-it turns NUL into U+FFFD
        return None
    parts = text.split("`")
    if len(parts) == 1:
        html = text
    elif not len(parts) % 2 or "" in parts[1:-1]:
        return None
    else:
        for code in parts[1::2]:
            if "\n" in code or code[0] == " " or code[-1] == " ":
                return None
        html = "`".join(parts[::2])
    if _unsafe_plain(html):
        return None
    html = html.replace('"', "&quot;")
    if "*" in html:
        bits = _STRONG.split(html)  # text, strong, text, …: cheaper than sub with a callback
        bits[1::2] = [f"<strong>{bit}</strong>" for bit in bits[1::2]]
        html = "".join(bits)
        if "*" in html:
            return None
    if len(parts) == 1:
        return html
    # Each "`" left in html stands for the next code span: put the spans back in its place.
    parts[::2] = html.split("`")
    codes = _escape("`".join(parts[1::2])).replace("`", "</code>`<code>")
    parts[1::2] = f"<code>{codes}</code>".split("`")
    return "".join(parts)


def _block_ready(text: str) -> bool:
    """Whether text is plain paragraphs as far as lines go (its inline text is _fast_inline's)."""
    return not ("\n\n\n" in text or text != text.strip() or not _FIRST_LINE_OK.match(text)
                or _BAD_LINE_START.search(text) or _SPACE_BEFORE_BREAK.search(text))


def _block_html(inline: str) -> str:
    """The paragraphs of a block, from its inline HTML."""
    return "<p>" + inline.replace("\n\n", "</p>\n<p>") + "</p>"


def _inline_ready(text: str) -> bool:
    """Whether text is one paragraph without white space at either end."""
    return text == text.strip() and not ("\n" in text and "\n\n" in text)


def fast_block(text: str) -> str | None:
    """Block HTML for plain paragraphs, or None when markdown-it must decide.

    The paragraphs are rendered as one inline text: nothing inline crosses a line break
    (code spans with one are refused), so each blank line becomes a paragraph break.
    """
    if not _block_ready(text):
        return None
    inline = _fast_inline(text)
    return _block_html(inline) if inline is not None else None


def fast_inline(text: str) -> str | None:
    """Inline HTML for simple one-paragraph text, or None when markdown-it must decide."""
    return _fast_inline(text) if _inline_ready(text) else None


# `Markup(text)` for a str, without Markup's constructor, which is Python code that also looks
# for `__html__` on the text: a C-level call, a fifth of the cost, twenty times a page.
as_markup: Callable[[str], Markup] = partial(str.__new__, Markup)


def render_block(text: str) -> Markup:
    """Markdown to HTML, block level (paragraphs, lists, code)."""
    fast = fast_block(text)
    return as_markup(fast if fast is not None else _renderer().render(text).strip())


def render_inline(text: str) -> Markup:
    """Markdown to HTML without the wrapping paragraph, for list items and table cells."""
    fast = fast_inline(text)
    if fast is not None:
        return as_markup(fast)
    md = _renderer()
    return as_markup(md.renderer.render(md.parseInline(text), md.options, {}).strip())


def _item_is_block(text: str) -> bool:
    """Whether a list item is more than one paragraph (or has a list in it)."""
    return "\n" in text and ("\n\n" in text.strip() or "\n-" in text)


def render_item(text: str) -> Markup:
    """A list item: inline when it is a single paragraph, block Markdown otherwise."""
    return render_block(text) if _item_is_block(text) else render_inline(text)


Render = Callable[[str], Markup]

# What joins the fields of render_many for the fast path: a line break on each side, which
# every check and regex of _fast_inline treats exactly as the start or end of a text (no
# code span, strong run, space or line start crosses one), around a character none of the
# checks allows nor any field contains (render_many makes sure).
_JOIN = "\n\x01\n"


def render_many(groups: Sequence[tuple[Render, Sequence[str]]]) -> list[tuple[Markup, ...]]:
    """Each group's texts rendered by its function (render_block, render_inline or
    render_item): the same HTML as calling it on each text, at a fraction of the cost.

    A page has twenty or so short fields, and the fast path's cost is mostly a fixed amount
    per call (each substring test, split and regex is a call), so the fields it may take
    are checked and marked up joined into one text by _JOIN, then split apart. When that
    text declines, each field is rendered on its own, exactly as before.
    """
    out = [[as_markup("")] * len(texts) for _, texts in groups]
    fast: list[tuple[int, int, bool]] = []  # (group, index, whether a block) of each joined text
    joined: list[str] = []
    for g, (render, texts) in enumerate(groups):
        for i, text in enumerate(texts):
            block = render is render_block or (render is render_item and _item_is_block(text))
            if text and "\x01" not in text and (_block_ready(text) if block
                                                 else _inline_ready(text)):
                fast.append((g, i, block))
                joined.append(text)
            else:
                out[g][i] = render(text)
    html = _fast_inline(_JOIN.join(joined)) if joined else None
    if html is None:
        for g, i, _ in fast:
            out[g][i] = groups[g][0](groups[g][1][i])
    else:
        for (g, i, block), piece in zip(fast, html.split(_JOIN), strict=True):
            out[g][i] = as_markup(_block_html(piece) if block else piece)
    return [tuple(parts) for parts in out]
