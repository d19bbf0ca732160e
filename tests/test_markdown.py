"""The Markdown renderer: safe output, and a fast path that always agrees with markdown-it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.markdown import (
    _renderer,
    fast_block,
    fast_inline,
    is_safe_url,
    render_block,
    render_inline,
    render_item,
    render_many,
)

REPO = Path(__file__).resolve().parent.parent
ALPHABET = "ab Z09 *`_\n\"'.,:;()-#>&<[]!\\~|=+\t1."
TOKENS = ["**", "`", "*", " ", "\n", "\n\n", "1. ", "- ", "# ", "word", "Word", "(x)", "\"q\"",
          "2026", "a**b**c", "`c <d>`", "**bold**", "&amp;", "[l](https://x)", "  ", "***"]
texts = st.one_of(
    st.text(alphabet=ALPHABET, max_size=40),
    st.lists(st.sampled_from(TOKENS), max_size=12).map("".join),
)


def _slow_inline(text: str) -> str:
    md = _renderer()
    return md.renderer.render(md.parseInline(text), md.options, {}).strip()


def _slow_block(text: str) -> str:
    return _renderer().render(text).strip()


@settings(max_examples=2000, deadline=None)
@given(texts)
def test_fast_inline_declines_or_matches_markdown_it(text: str) -> None:
    fast = fast_inline(text)
    if fast is not None:
        assert fast == _slow_inline(text)


@settings(max_examples=2000, deadline=None)
@given(texts)
def test_fast_block_declines_or_matches_markdown_it(text: str) -> None:
    fast = fast_block(text)
    if fast is not None:
        assert fast == _slow_block(text)


# Code spans next to **strong** and paragraph breaks: the fast path checks and marks up the text
# around code spans, and all paragraphs of a block, in one piece.
MIXES = st.lists(st.sampled_from(["`a_b`", "`**c**`", "**d**", "`", "**", "\n\n", "\n", " ", "(",
                                  ").", "Word", "1. ", "2)", "\"q\"", "`<&>`", "x"]),
                 max_size=14).map("".join)


@settings(max_examples=3000, deadline=None)
@given(MIXES)
def test_fast_paths_agree_on_code_strong_and_paragraph_mixes(text: str) -> None:
    if (fast := fast_inline(text)) is not None:
        assert fast == _slow_inline(text)
    if (fast := fast_block(text)) is not None:
        assert fast == _slow_block(text)


# Characters markdown-it treats specially that the fast path must notice: NUL (which becomes
# U+FFFD) and white space other than a plain space (stripped at a paragraph's end).
EXOTIC = "ab Z09 *`\n\".,()\x00\x0b\x0c\x1c\x1f\x85\xa0\u2028\u2029\u3000\ufeff\u200b\x7f"
EXOTIC_TEXTS = st.one_of(
    st.text(alphabet=EXOTIC, max_size=30),
    st.lists(st.sampled_from(["**", "`", " ", "\n", "\n\n", "word", "**bold**", "`c`", *EXOTIC]),
             max_size=14).map("".join),
)


@settings(max_examples=3000, deadline=None)
@given(EXOTIC_TEXTS)
def test_fast_paths_agree_on_control_and_unicode_space_characters(text: str) -> None:
    if (fast := fast_inline(text)) is not None:
        assert fast == _slow_inline(text)
    if (fast := fast_block(text)) is not None:
        assert fast == _slow_block(text)


@pytest.mark.parametrize("text", ["a\x00b", "`a\x00b`", "a\xa0\n\nb", "a\u3000\n\nb", "a\x0c\n\nb"])
def test_fast_path_declines_what_markdown_it_rewrites(text: str) -> None:
    assert fast_block(text) is None
    assert render_block(text) == _slow_block(text)


# render_many joins the fields it may render fast: fields the fast path takes (so that the joined
# text is often taken too), mixed with ones it declines, a field containing the joining
# character, and code spans or strong runs that would cross from one field to the next.
FIELD_PARTS = ["Word", " ", "`a_b`", "**d**", "(", ").", "\"q\"", "`<&>`", "x", "\n", "\n\n", "1. ",
               "- ", "`", "**", "\x01", "*", " `c` ", "\n-", "\u3000", "` x`"]
PLAIN_FIELDS = st.lists(st.sampled_from(FIELD_PARTS[:12]), min_size=1, max_size=8).map(
    lambda parts: "".join(parts).strip())
FIELDS = st.one_of(PLAIN_FIELDS, PLAIN_FIELDS,
                   st.lists(st.sampled_from(FIELD_PARTS), max_size=8).map("".join))
GROUPS = st.lists(st.tuples(st.sampled_from([render_block, render_inline, render_item]),
                            st.lists(FIELDS, max_size=4)), max_size=6)


@settings(max_examples=3000, deadline=None)
@given(GROUPS)
def test_render_many_is_each_text_rendered_alone(groups: list) -> None:  # type: ignore[type-arg]
    assert render_many(groups) == [tuple(map(render, texts)) for render, texts in groups]


def _content_texts() -> list[str]:
    out: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            out.append(value.strip())
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    for path in sorted((REPO / "content").glob("*/*.yaml")):
        walk(yaml.safe_load(path.read_text()))
    return out


def test_fast_path_agrees_on_every_shipped_text_and_is_used() -> None:
    texts = _content_texts()
    used = 0
    for text in texts:
        if (fast := fast_block(text)) is not None:
            assert fast == _slow_block(text), text
            used += 1
        if (fast := fast_inline(text)) is not None:
            assert fast == _slow_inline(text), text
    assert used > len(texts) // 4
    for render in (render_block, render_inline, render_item):
        assert render_many([(render, texts)]) == [tuple(map(render, texts))]


@pytest.mark.parametrize("url, safe", [
    ("https://example.com", True), ("http://x", True), ("mailto:a@b.c", True),
    ("/relative/path", True), ("#anchor", True), ("javascript:alert(1)", False),
    ("JaVaScRiPt:alert(1)", False), ("java\tscript:alert(1)", False),
    (" javascript:alert(1)", False), ("data:text/html,x", False), ("vbscript:x", False),
    ("//evil.example/x", False), ("file:///etc/passwd", False),
])
def test_link_schemes(url: str, safe: bool) -> None:
    assert is_safe_url(url) is safe


def test_unsafe_markdown_is_neutralised() -> None:
    html = str(render_block(
        "<script>alert(1)</script>\n\n[x](javascript:alert(1)) ![i](data:image/png;base64,AA)"
        " <https://ok.example/> [e](https://e.example) <img src=x onerror=alert(1)>"))
    assert "<script" not in html and "<img" not in html and "onerror=" not in html.replace(
        "onerror=alert", "")
    assert 'href="javascript:' not in html and "data:image" not in html.split("![i]")[0]
    assert '<a href="https://e.example" rel="nofollow noopener noreferrer">e</a>' in html
    assert '<a href="https://ok.example/" rel="nofollow noopener noreferrer">' in html
