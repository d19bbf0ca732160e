"""Rendered pages, parsed as HTML: every part present, in the contract's order, escaped."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from helpers import make_project, soup
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.build import Project, build
from generator.render import ERROR_JSONLD, _error_jsonld, indented_json, script_json

RECORD = "openrouter/expired-key-user-not-found"
SECTION_ORDER = [
    "What it looks like", "What this error means", "Why this happens", "Common causes",
    "Quick fixes", "Platform/tool-specific checks", "Step-by-step troubleshooting",
    "How to prevent it", "Sources checked", "Evidence note", "FAQ", "Related errors",
]


def _build(project: Path) -> Path:
    result = build(Project(project / "content", project / "templates", project / "site"))
    assert result.ok, "\n".join(map(str, result.problems))
    return project / "site"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(make_project(tmp_path_factory.mktemp("render")))


def _headings(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.get_text(" ", strip=True).removesuffix(" #")
            for h in page.select("article .body h2")]


def test_error_page_has_every_part_in_contract_order(site: Path) -> None:
    page = soup(site / RECORD / "index.html")
    crumbs = [a.get_text() for a in page.select("nav.crumbs a")]
    assert crumbs == ["OpenRouter", "Authentication and API keys"]
    assert page.h1.get_text() == 'OpenRouter expired API key returns 401 "User not found"'
    assert page.select_one("p.summary").get_text().startswith("An expired OpenRouter key")
    facts = [dt.get_text() for dt in page.select("dl.facts dt")]
    assert facts == ["Category", "HTTP status", "Error signature", "Quick fix", "Updated"]
    assert page.select_one("code.signature").get_text() == (
        '{"message": "User not found.", "code": 401}')
    assert page.select_one("dl.facts time")["datetime"] == "2026-11-01"
    assert _headings(page) == SECTION_ORDER
    # document order: breadcrumb, title, summary, facts, then the sections
    article = page.select_one("article")
    order = [el.name for el in article.find_all(["nav", "h1", "p", "dl"], recursive=False)]
    assert order[:4] == ["nav", "h1", "p", "dl"]
    toc = [a.get_text() for a in page.select("nav.toc a")]
    assert toc == SECTION_ORDER


def test_lists_are_numbered_where_the_contract_says(site: Path) -> None:
    page = soup(site / RECORD / "index.html")
    for section_id, tag in (("quick-fixes", "ol"), ("steps", "ol"), ("causes", "ul")):
        section = page.find("h2", id=section_id).parent
        assert section.find(tag) is not None, section_id


def test_empty_optional_sections_are_left_out(site: Path) -> None:
    page = soup(site / "example-api/rate-limited/index.html")
    headings = _headings(page)
    for absent in ("What it looks like", "Platform/tool-specific checks", "How to prevent it"):
        assert absent not in headings
    assert headings == [h for h in SECTION_ORDER if h in headings]
    for h2 in page.select("article .body h2"):
        assert h2.find_next_sibling() is not None, f"empty heading {h2}"


def test_markdown_is_rendered_and_text_escaped(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    record = project / "content" / "example-api" / "rate-limited.yaml"
    text = record.read_text()
    text = text.replace('meaning: "Too many requests arrived in one minute."',
                        "meaning: \"Too *many* <script>alert(1)</script> [x](javascript:alert(1))"
                        " [ok](https://example.com/a) <b onclick=x>bold</b>\"")
    text = text.replace('title: "Example API answers 429 Too Many Requests"',
                        'title: "Example API answers 429 </title><script>alert(1)</script>"')
    record.write_text(text)
    site = _build(project)
    raw = (site / "example-api/rate-limited/index.html").read_text()
    page = soup(site / "example-api/rate-limited/index.html")
    scripts = [s for s in page.find_all("script") if s.get("type") != "application/ld+json"]
    assert scripts and all(s.get("src") and not s.string for s in scripts)
    assert "<script>alert" not in raw and "<b onclick" not in raw
    meaning = page.find("h2", id="meaning").parent
    assert meaning.find("em").get_text() == "many"
    links = meaning.find("p").find_all("a")
    assert [a["href"] for a in links] == ["https://example.com/a"]
    assert links[0]["rel"] == ["nofollow", "noopener", "noreferrer"]
    assert "&lt;script&gt;" in raw
    assert page.title.get_text().startswith("Example API answers 429 </title><script>")


def test_home_lists_every_error_grouped_by_platform_with_counts(site: Path) -> None:
    page = soup(site / "index.html")
    groups = {g.h2.a.get_text(): (g.h2.select_one(".count").get_text(),
                                  [a["href"] for a in g.select("li a")])
              for g in page.select("section.group")}
    assert groups == {
        "Example API": ("(1)", ["/example-api/rate-limited/"]),
        "OpenRouter": ("(1)", [f"/{RECORD}/"]),
    }


def test_hub_pages_for_platform_category_and_tag(site: Path) -> None:
    for path, heading in (("openrouter", "OpenRouter"),
                          ("category/rate-limits", "Rate limits"),
                          ("tag/http-401", "Tag: http-401")):
        page = soup(site / path / "index.html")
        assert page.h1.get_text() == heading
        assert page.select("section.group li a"), path
    assert not (site / "category/authentication-and-api-keys-x").exists()


def test_head_has_canonical_description_and_structured_data(site: Path) -> None:
    page = soup(site / RECORD / "index.html")
    canonical = f"https://errors.example.com/{RECORD}/"
    assert page.find("link", rel="canonical")["href"] == canonical
    assert page.find("meta", attrs={"name": "description"})["content"].startswith("An expired")
    assert page.find("meta", property="og:url")["content"] == canonical
    data = json.loads(page.find("script", type="application/ld+json").string)
    assert [d["@type"] for d in data] == ["TechArticle", "BreadcrumbList"]
    assert data[0]["dateModified"] == "2026-11-01"


def test_json_ld_cannot_close_its_script_element(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    record = project / "content" / "example-api" / "rate-limited.yaml"
    record.write_text(record.read_text().replace(
        'summary: "The Example API refuses requests beyond the per-minute limit."',
        'summary: "</script><script>alert(1)</script> & more"'))
    site = _build(project)
    raw = (site / "example-api/rate-limited/index.html").read_text()
    block = raw.split('<script type="application/ld+json">')[1].split("</script>")[0]
    assert "<" not in block and ">" not in block and "&" not in block.replace("&quot;", "")
    assert json.loads(block)[0]["description"] == "</script><script>alert(1)</script> & more"


def test_sitemap_robots_404_feed_and_api(site: Path) -> None:
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    urls = {u.find("s:loc", ns).text: u.find("s:lastmod", ns).text
            for u in ET.parse(site / "sitemap.xml").getroot()}
    assert urls[f"https://errors.example.com/{RECORD}/"] == "2026-11-01"
    assert urls["https://errors.example.com/example-api/rate-limited/"] == "2026-10-01"
    assert urls["https://errors.example.com/openrouter/"] == "2026-11-01"
    assert "https://errors.example.com/openrouter/user-not-found/" not in urls  # a redirect
    assert "Sitemap: https://errors.example.com/sitemap.xml" in (site / "robots.txt").read_text()
    assert soup(site / "404.html").find("meta", attrs={"name": "robots"})["content"] == "noindex"
    atom = "{http://www.w3.org/2005/Atom}"
    entries = ET.parse(site / "feed.xml").getroot().findall(f"{atom}entry")
    assert [e.find(f"{atom}updated").text for e in entries] == [
        "2026-11-01T00:00:00Z", "2026-10-01T00:00:00Z"]
    errors = json.loads((site / "api/errors.json").read_text())["errors"]
    assert {e["slug"] for e in errors} == {"expired-key-user-not-found", "rate-limited"}
    assert set(errors[0]) == {"slug", "title", "signature", "platform", "category", "url",
                              "updated"}


def test_alias_becomes_a_redirect_page(site: Path) -> None:
    page = soup(site / "openrouter/user-not-found/index.html")
    assert page.find("meta", attrs={"http-equiv": "refresh"})["content"] == (
        f"0; url=/{RECORD}/")
    assert page.find("link", rel="canonical")["href"] == f"https://errors.example.com/{RECORD}/"
    assert page.find("a")["href"] == f"/{RECORD}/"


def test_base_url_with_a_path_prefixes_every_internal_link(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    site_yaml = project / "content" / "site.yaml"
    site_yaml.write_text(site_yaml.read_text().replace(
        "https://errors.example.com/", "https://example.github.io/kb/"))
    site = _build(project)
    page = soup(site / RECORD / "index.html")
    internal = [a["href"] for a in page.find_all("a", href=True)
                if not a["href"].startswith(("http", "#"))]
    assert internal and all(h.startswith("/kb/") for h in internal)
    assert page.find("link", rel="stylesheet")["href"] == "/kb/static/style.css"


def test_static_assets_are_copied_verbatim(site: Path) -> None:
    templates = Path(__file__).resolve().parent.parent / "templates" / "static"
    for asset in templates.rglob("*"):
        if asset.is_file():
            assert (site / "static" / asset.relative_to(templates)).read_bytes() == asset.read_bytes()



@settings(max_examples=500, deadline=None)
@given(st.text(max_size=8), st.lists(st.dictionaries(st.text(max_size=6), st.text(max_size=12),
                                                     max_size=4), max_size=4))
def test_indented_json_is_json_dumps_with_indent(key: str, records: list[dict[str, str]]) -> None:
    expected = json.dumps({key: records}, ensure_ascii=False, indent=1, sort_keys=True)
    assert indented_json(key, records) == expected


JSON_TEXTS = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["</script>", "<!--", "a & b", "\u2028\u2029", '"\\', "\x00\x1f"])


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({name: JSON_TEXTS for name in (
    "title", "summary", "updated", "url", "platform", "category", "publisher", "platform_url")}),
    st.lists(JSON_TEXTS, max_size=4))
def test_error_jsonld_is_script_json_of_the_structure(values: dict[str, str],
                                                      keywords: list[str]) -> None:
    assert ERROR_JSONLD(**values, keywords=keywords) == script_json(
        _error_jsonld(**values, keywords=keywords))


def test_a_record_part_survives_pickling_and_keeps_html_apart_from_text(tmp_path: Path) -> None:
    """Pages are rendered from the `RecordPart` the reading worker made (pickled, as it is sent
    and cached), not from the record: it must come back equal, its Markdown as HTML text that
    the page marks safe, and its plain fields still text that the page escapes."""
    import pickle

    from generator.render import RecordPart
    from generator.validate import ValidationContext, load_site, validate_record

    project = make_project(tmp_path)
    config = load_site(project / "content" / "site.yaml", "content/site.yaml")
    entry = validate_record(project / "content" / f"{RECORD}.yaml", f"content/{RECORD}.yaml",
                            ValidationContext(categories=config.category_names))
    part = RecordPart.of(entry.record)
    assert "<code>" in part.meaning + "".join(part.causes + part.quick_fixes + part.steps)
    assert all(type(text) is str for text in (part.quick_fix, part.meaning, *part.causes))
    back = RecordPart.of_entry(type(entry)(entry.head, entry.slug, entry.platform_slug,
                                           entry.file, entry.display, part.pickled()))
    assert back == part and type(back) is RecordPart
    moved = pickle.loads(pickle.dumps(entry))  # another process gets the entry, not the record
    with pytest.raises(LookupError):
        _ = moved.record
