"""Hostile records: nothing runs on the build machine, nothing runs in a reader's browser,
nothing is written outside the output folder.

Records arrive as pull requests from strangers. tests/fixtures/hostile-site/ is valid content
whose every text field is an attack (script and markup, `javascript:`/`data:` links in every
spelling, `</script>` for the JSON-LD block, template syntax): it must build, and every page
must come out as inert text - checked on the HTML with BeautifulSoup and again in real
Chromium, where no dialog may open and the console must stay clean. The YAML reader is
attacked directly (tags, aliases, size, encoding, nesting, links out of content/), and
hostile tags, aliases and file names must either be refused with a located problem or land
inside the output folder.
"""

from __future__ import annotations

import json
import pickle
import re
import shutil
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from bs4 import BeautifulSoup
from conftest import build_site, serve
from helpers import FIXTURES, TEMPLATES, VALID_SITE, fixdex, make_project, tree

from generator.build import Project, build, gather
from generator.errors import ContentErrors, Problem, errors_only
from generator.load import MAX_DEPTH, MAX_FILE_BYTES, read_document

HOSTILE_SITE = FIXTURES / "hostile-site" / "content"
SITE_HOST = "errors.example.com"
SAFE_SCHEMES = {"http", "https", "mailto"}
EXTERNAL_REL = {"nofollow", "noopener", "noreferrer"}
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "poster", "data", "srcset", "xlink:href",
                  "background", "ping", "cite", "manifest")
RECORD = "openrouter/expired-key-user-not-found.yaml"
LOCK_FILE = ".site.lock"
"""The only file a build keeps beside its output folder: the lock two builds share."""


# -- the hostile site, built once ------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_site(HOSTILE_SITE, tmp_path_factory.mktemp("hostile") / "site")


def _pages(root: Path) -> list[Path]:
    return sorted(root.rglob("*.html"))


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _scheme(url: str) -> str | None:
    """The scheme a browser reads from a URL (it drops control characters and white space
    first, so `java\\tscript:` counts as `javascript:`); None for a relative URL."""
    cleaned = re.sub(r"[\x00-\x20\x7f]+", "", url)
    match = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):", cleaned)
    return match.group(1).lower() if match else None


def _urls(tag) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    for name in URL_ATTRIBUTES:
        value = tag.get(name)
        if value is None:
            continue
        if name == "srcset":
            for part in str(value).split(","):
                yield name, part.strip().split(" ")[0]
        else:
            yield name, str(value)
    if tag.name == "meta" and str(tag.get("http-equiv", "")).lower() == "refresh":
        content = str(tag.get("content", ""))
        match = re.search(r"url\s*=\s*(.*)$", content, re.I)
        if match:
            yield "refresh", match.group(1).strip().strip("'\"")


def _page_problems(path: Path, root: Path, base_path: str = "/") -> list[str]:
    """Everything on one built page that could run, load or link something it should not."""
    rel = path.relative_to(root).as_posix()
    page = _soup(path)
    problems: list[str] = []
    for script in page.find_all("script"):
        src = script.get("src")
        if script.get("type") == "application/ld+json" and src is None:
            raw = script.string or ""
            if "<" in raw or ">" in raw:
                problems.append(f"{rel}: raw < or > inside the JSON-LD block")
            try:
                json.loads(raw)
            except ValueError as err:
                problems.append(f"{rel}: the JSON-LD block does not parse: {err}")
        elif src is None or not str(src).startswith(base_path + "static/") or script.string:
            problems.append(f"{rel}: a script that is not one of the site's own files: {script}")
    for tag in page.find_all(True):
        for attr in tag.attrs:
            if attr.lower().startswith("on"):
                problems.append(f"{rel}: event handler attribute {attr} on <{tag.name}>")
        if "style" in tag.attrs:
            problems.append(f"{rel}: inline style on <{tag.name}>")
        for name, url in _urls(tag):
            scheme = _scheme(url)
            if scheme is not None and scheme not in SAFE_SCHEMES:
                problems.append(f"{rel}: {name}={url!r} on <{tag.name}> uses {scheme}:")
            if scheme is None and re.sub(r"[\x00-\x20\x7f]+", "", url).startswith(("//", "\\", "/\\")):
                problems.append(f"{rel}: {name}={url!r} on <{tag.name}> leaves the site")
        if tag.name == "a" and _scheme(str(tag.get("href", ""))) in ("http", "https"):
            host = urlsplit(str(tag["href"])).hostname
            rel_values = set(tag.get("rel") or [])
            if host != SITE_HOST and not rel_values >= EXTERNAL_REL:
                problems.append(f"{rel}: external link {tag['href']} without rel={EXTERNAL_REL}")
    for name in ("style", "iframe", "object", "embed", "img", "svg", "math", "base", "frame",
                 "frameset", "applet", "details", "template", "audio", "video", "marquee"):
        for tag in page.find_all(name):
            problems.append(f"{rel}: a <{name}> element made it into the page: {str(tag)[:80]}")
    for form in page.find_all("form"):
        if form.get("action") != base_path + "search/":
            problems.append(f"{rel}: a form that is not the site's search: {str(form)[:80]}")
    csp = page.find("meta", attrs={"http-equiv": "Content-Security-Policy"})
    if csp is None or "script-src 'self'" not in str(csp.get("content", "")):
        problems.append(f"{rel}: no Content-Security-Policy meta tag with script-src 'self'")
    return problems


def test_hostile_site_is_valid_content_and_builds(hostile_site: Path) -> None:
    result = gather(Project(HOSTILE_SITE, TEMPLATES, hostile_site))
    assert result.ok and not result.problems, [str(p) for p in result.problems]
    assert result.site is not None and len(result.site.entries) == 3
    assert len(_pages(hostile_site)) >= 20


def test_no_page_can_run_load_or_link_anything_unsafe(hostile_site: Path) -> None:
    problems = [p for page in _pages(hostile_site) for p in _page_problems(page, hostile_site)]
    assert problems == []


def test_payloads_come_out_as_the_text_that_was_written(hostile_site: Path) -> None:
    page = _soup(hostile_site / "script-alert-1-script-evil-cloud" / "script-in-everything"
                 / "index.html")
    text = page.get_text()
    for payload in ("<script>alert(1)</script> {{ 7*7 }} token rejected",
                    '"><svg onload=alert(1)>', "<img src=x onerror=alert(1)>",
                    "{% raw %}raw{% endraw %}", "<div onmouseover=\"alert(1)\">",
                    "[js](javascript:alert(1))", "<javascript:alert(1)>"):
        assert payload in text, payload
    h1 = page.find("h1")
    assert h1 is not None and h1.get_text() == "<script>alert(1)</script> {{ 7*7 }} token rejected"


def test_template_syntax_is_never_evaluated(hostile_site: Path) -> None:
    for path in [*_pages(hostile_site), hostile_site / "feed.xml", hostile_site / "sitemap.xml",
                 hostile_site / "api" / "errors.json"]:
        raw = path.read_text(encoding="utf-8")
        text = _soup(path).get_text() if path.suffix == ".html" else raw
        assert "49" not in raw, path
        assert "{{" not in text or "{{ 7*7 }}" in text, path
    home = _soup(hostile_site / "index.html").get_text()
    assert "{{ 7*7 }} KB" in home
    template = _soup(hostile_site / "7-7-templ-api" / "template-in-everything" / "index.html")
    assert "{{ ''.__class__.__mro__ }}" in template.get_text()
    assert "{% include '/etc/passwd' %}" in template.get_text()
    assert "root:" not in template.get_text()


def test_json_ld_carries_the_payloads_as_escaped_data(hostile_site: Path) -> None:
    path = hostile_site / "script-alert-1-script-evil-cloud" / "script-in-everything" / "index.html"
    blocks = _soup(path).find_all("script", attrs={"type": "application/ld+json"})
    assert len(blocks) == 1
    raw = blocks[0].string or ""
    assert "</script" not in raw.lower() and "<!--" not in raw
    data = json.loads(raw)
    article = data[0] if isinstance(data, list) else data
    assert article["headline"] == "<script>alert(1)</script> {{ 7*7 }} token rejected"
    assert "</script><script>alert(1)</script>" in article["description"]
    widget = hostile_site / "svg-onload-alert-1-widget" / "svg-in-everything" / "index.html"
    widget_raw = _soup(widget).find("script", attrs={"type": "application/ld+json"}).string
    assert "\u2028" not in widget_raw and "\u2029" not in widget_raw


def test_feeds_and_data_files_stay_well_formed(hostile_site: Path) -> None:
    feed = ET.parse(hostile_site / "feed.xml").getroot()
    titles = [e.text or "" for e in feed.iter("{http://www.w3.org/2005/Atom}title")]
    assert "<script>alert(1)</script> {{ 7*7 }} token rejected" in titles
    ET.parse(hostile_site / "sitemap.xml")
    errors = json.loads((hostile_site / "api" / "errors.json").read_text(encoding="utf-8"))
    assert {e["slug"] for e in errors["errors"]} == {
        "script-in-everything", "svg-in-everything", "template-in-everything"}


def test_hostile_site_settings_cannot_break_out_either(tmp_path: Path) -> None:
    """site.yaml comes through pull requests too: a base_url and language built to break out
    of attributes and the JSON-LD block must stay inert as well."""
    content = tmp_path / "content"
    shutil.copytree(HOSTILE_SITE, content)
    site = yaml.safe_load((content / "site.yaml").read_text(encoding="utf-8"))
    site["base_url"] = 'https://errors.example.com/x"><script>alert(1)</script>/'
    site["language"] = 'en"><script>alert(1)</script>'
    (content / "site.yaml").write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    root = build_site(content, tmp_path / "site")
    base_path = urlsplit(site["base_url"]).path
    problems = [p for page in _pages(root) for p in _page_problems(page, root, base_path)]
    assert problems == []
    ET.parse(root / "sitemap.xml")
    ET.parse(root / "feed.xml")


BROWSER_CHECK = """() => {
  const found = [];
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.getAttributeNames()) {
      if (attr.toLowerCase().startsWith("on")) found.push(`${attr} on <${el.localName}>`);
    }
    for (const prop of ["href", "src", "action"]) {
      const value = el[prop];
      if (typeof value === "string" && value) {
        const scheme = new URL(value, location.href).protocol;
        if (!["http:", "https:", "mailto:"].includes(scheme)) found.push(`${prop}=${value}`);
      }
    }
  }
  for (const s of document.scripts) {
    if (s.type !== "application/ld+json" && (!s.src || s.text.trim())) found.push("inline script");
  }
  return found;
}"""
"""What the browser itself parsed: handlers, script-bearing URLs, inline scripts."""


def test_every_page_in_chromium_opens_no_dialog_and_logs_no_error(
        browser, hostile_site: Path) -> None:  # type: ignore[no-untyped-def]
    """Real parsing, real CSP: load every page, and look payloads up on the search page (which
    puts record titles into the page with script); any alert() that ran would open a dialog."""
    from playwright.sync_api import expect

    dialogs: list[str] = []
    errors: list[str] = []
    context = browser.new_context()
    context.route(re.compile(r"^(?!http://127\.0\.0\.1:)"), lambda route: route.abort())
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(f"{page.url}: {d.message}"), d.dismiss()))
    page.on("console", lambda m: m.type == "error" and errors.append(f"{page.url}: {m.text}"))
    page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
    found: list[str] = []
    visited = 0
    try:
        with serve(hostile_site) as base_url:
            for path in _pages(hostile_site):
                rel = path.relative_to(hostile_site).as_posix()
                url = base_url + (rel[: -len("index.html")] if rel.endswith("index.html") else rel)
                page.goto(url, wait_until="load")
                if 'http-equiv="refresh"' in path.read_text(encoding="utf-8"):
                    page.wait_for_url(lambda u, old=url: u != old)  # a redirect moves on at once
                    page.wait_for_load_state("load")
                found.extend(f"{rel}: {p}" for p in page.evaluate(BROWSER_CHECK))
                visited += 1
            page.goto(base_url + "search/", wait_until="load")
            box = page.locator("#lookup-q")
            for query, title in (
                ("EVILCLOUD_TOKEN </script><script>alert(1)</script> <img src=x onerror=alert(1)>",
                 "<script>alert(1)</script> {{ 7*7 }} token rejected"),
                ("WIDGET_LIMIT ' onmouseover='alert(1) \"><svg onload=alert(1)>",
                 "\"><svg onload=alert(1)> ' onmouseover='alert(1) widget fails"),
            ):
                box.fill(query)  # the lookup must show the title as text
                expect(page.locator("#lookup-results li a").first).to_have_text(title)
                found.extend(f"search: {p}" for p in page.evaluate(BROWSER_CHECK))
    finally:
        context.close()
    assert visited == len(_pages(hostile_site))
    assert dialogs == []
    assert errors == []
    assert found == []


# -- YAML hardening ----------------------------------------------------------------------------


def _read(tmp_path: Path, data: str | bytes, name: str = "record.yaml") -> list[Problem]:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    try:
        read_document(path, name)
    except ContentErrors as err:
        return err.problems
    return []


@pytest.mark.parametrize("text", [
    "title: !!python/object/apply:os.system ['touch {marker}']\n",
    "title: !!python/object/new:subprocess.Popen [['touch', '{marker}']]\n",
    "title: !!python/name:os.system\n",
    "title: !<tag:yaml.org,2002:python/object/apply:os.system> ['touch {marker}']\n",
    "%TAG !py! tag:yaml.org,2002:python/\n---\ntitle: !py!object/apply:os.system ['touch {marker}']\n",
    "title: !custom value\n",
    "title: !!binary aGVsbG8=\n",
    "title: !!set {a, b}\n",
    "title: !!omap [a: 1]\n",
])
def test_tags_are_refused_and_nothing_runs(tmp_path: Path, text: str) -> None:
    marker = tmp_path / "ran"
    problems = _read(tmp_path, text.replace("{marker}", str(marker)))
    assert len(problems) == 1
    problem = problems[0]
    assert problem.file == "record.yaml" and problem.line >= 1
    assert "is not allowed" in problem.message
    assert not marker.exists()


def test_python_tag_in_a_record_fails_the_cli_build_and_runs_nothing(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    marker = tmp_path / "ran"
    path = project / "content" / RECORD
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("platform: OpenRouter",
                                 f"platform: !!python/object/apply:os.system ['touch {marker}']"),
                    encoding="utf-8")
    run = fixdex("build", cwd=project)
    assert run.code == 1 and "Traceback" not in run.err
    assert f"content/{RECORD}:4:11: the tag '!!python/object/apply:os.system' is not allowed" in run.err
    assert not marker.exists() and not (project / "site").exists()


def test_billion_laughs_fails_fast_with_a_clear_message(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    start = time.perf_counter()
    problems = _read(tmp_path, "\n".join(lines) + "\n")
    elapsed = time.perf_counter() - start
    assert elapsed < 5
    assert [(p.line, p.message) for p in problems] == [
        (5, "anchors and aliases expand to more than 20,000 values; write the record out plainly")]


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    problems = _read(tmp_path, "a: &x [1, *x]\n")
    assert problems and problems[0].line == 1
    assert "could not find" in problems[0].message or "refers to the value" in problems[0].message


def test_record_size_is_limited_with_a_clear_message(tmp_path: Path) -> None:
    text = "title: x\nmeaning: |\n" + "  " + "a" * (MAX_FILE_BYTES) + "\n"
    problems = _read(tmp_path, text)
    assert [p.message for p in problems] == [
        f"the file is {len(text.encode()):,} bytes; a record may be at most {MAX_FILE_BYTES:,}"]


def test_non_utf8_is_refused_with_its_byte_offset(tmp_path: Path) -> None:
    problems = _read(tmp_path, b"title: ok\nsummary: caf\xe9 au lait\n")
    assert [(p.line, p.col, p.message) for p in problems] == [
        (2, 13, "not UTF-8: byte 0xe9 at byte offset 22 cannot be decoded; save the file as UTF-8")]


def test_utf16_is_refused_not_guessed(tmp_path: Path) -> None:
    problems = _read(tmp_path, "title: ok\n".encode("utf-16"))
    assert len(problems) == 1 and "not UTF-8" in problems[0].message


def test_control_characters_are_located(tmp_path: Path) -> None:
    problems = _read(tmp_path, "title: ok\nsummary: \"é \x1b[31m red\"\n")
    assert [(p.line, p.col) for p in problems] == [(2, 13)]
    assert "U+001B is not allowed" in problems[0].message
    problems = _read(tmp_path, "title: ok\nsummary: a\x00b\n")
    assert [(p.line, p.message) for p in problems] == [(2, "the file contains a NUL character")]


def test_a_record_saved_with_bom_and_crlf_builds_the_same_site(tmp_path: Path) -> None:
    plain = make_project(tmp_path / "plain")
    windows = make_project(tmp_path / "windows")
    for path in (windows / "content").rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    first = build(Project(plain / "content", TEMPLATES, plain / "site"))
    second = build(Project(windows / "content", TEMPLATES, windows / "site"))
    assert first.ok and second.ok, [str(p) for p in second.problems]
    assert tree(plain / "site") == tree(windows / "site")


def test_tabs_are_reported_at_their_line(tmp_path: Path) -> None:
    problems = _read(tmp_path, "title: ok\ncauses:\n\t- one\n")
    assert [(p.line, p.message) for p in problems] == [
        (3, "a tab character here; YAML indents with spaces only")]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 10_000])
def test_deep_nesting_is_a_located_error_not_a_crash(tmp_path: Path, depth: int) -> None:
    for text in ("title: " + "[" * depth + "]" * depth + "\n",
                 "title: " + "{a: " * depth + "b" + "}" * depth + "\n",
                 "title:\n" + "".join("  " * i + "-\n" for i in range(min(depth, 300)))):
        start = time.perf_counter()
        problems = _read(tmp_path, text)
        assert time.perf_counter() - start < 5
        assert len(problems) == 1, text[:40]
        assert problems[0].line >= 1 and problems[0].col >= 1
        assert problems[0].message == f"the YAML is nested more than {MAX_DEPTH} levels deep"


def test_nesting_deep_enough_to_crash_libyaml_fails_cleanly_in_the_cli(tmp_path: Path) -> None:
    """100,000 nested lists fit in the size limit and used to crash the interpreter (SIGSEGV in
    libyaml's recursive composer)."""
    project = make_project(tmp_path)
    (project / "content" / "openrouter" / "deep.yaml").write_text(
        "title: " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    run = fixdex("check", cwd=project)
    assert run.code == 1, run.err[-500:]
    assert "content/openrouter/deep.yaml:1:" in run.err and "nested more than" in run.err


def test_nesting_a_record_needs_is_allowed(tmp_path: Path) -> None:
    text = "a:\n" + "".join("  " * (i + 1) + "- b:\n" for i in range(40)) + "  " * 42 + "c\n"
    assert _read(tmp_path, text) == []


@pytest.mark.parametrize(("text", "message"), [
    ("title: " + "1" * 5000 + "\n", "a number 5,000 characters long; put it in quotes if it is text"),
    ("http_status: 0x" + "f" * 5000 + "\n", "a number 5,002 characters long; put it in quotes if it is text"),
    ("base: &b {a: 1}\nx:\n  <<: *b\n",
     "merge keys ('<<') are not allowed; write the fields out (quote '<<' if it is text)"),
])
def test_yaml_features_that_would_crash_or_surprise_are_located(tmp_path: Path, text: str,
                                                                message: str) -> None:
    problems = _read(tmp_path, text)
    assert [p.message for p in problems] == [message]
    assert problems[0].line >= 1


def test_a_plain_equals_sign_is_text(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("summary: =\ntags: [=, a]\n", encoding="utf-8")
    assert read_document(path, "r.yaml").data == {"summary": "=", "tags": ["=", "a"]}


def test_a_file_symlink_out_of_content_is_refused(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    secret = tmp_path / "secret.yaml"
    shutil.copy(project / "content" / RECORD, secret)
    (project / "content" / "openrouter" / "stolen.yaml").symlink_to(secret)
    result = build(Project(project / "content", TEMPLATES, project / "site"))
    assert not result.ok
    assert [(p.file.rsplit("content/", 1)[1], p.message) for p in errors_only(result.problems)] == [
        ("openrouter/stolen.yaml", "a link to a file outside content/")]
    assert not (project / "site").exists()


def test_a_folder_symlink_in_content_is_refused(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    shutil.copy(project / "content" / RECORD, outside / "sub" / "stolen.yaml")
    (project / "content" / "linked").symlink_to(outside / "sub", target_is_directory=True)
    (project / "content" / "openrouter" / "nested").symlink_to(outside, target_is_directory=True)
    result = build(Project(project / "content", TEMPLATES, project / "site"))
    assert not result.ok
    found = sorted((p.file.rsplit("content/", 1)[1], p.message) for p in errors_only(result.problems))
    assert found == [("linked", "a linked folder; put records in content/ itself"),
                     ("openrouter/nested", "a linked folder; put records in content/ itself")]


def test_site_settings_linked_out_of_content_are_refused_unread(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    secret = tmp_path / "secret.yaml"
    secret.write_text("api_token: s3cr3t-value-that-must-not-leak\n", encoding="utf-8")
    for target in (secret, Path("/dev/zero")):
        site = project / "content" / "site.yaml"
        site.unlink()
        site.symlink_to(target)
        start = time.perf_counter()
        result = build(Project(project / "content", TEMPLATES, project / "site"))
        assert time.perf_counter() - start < 5
        messages = [str(p) for p in errors_only(result.problems)]
        assert any(m.endswith("content/site.yaml: a link to a file outside content/")
                   for m in messages), messages
        assert not any("s3cr3t" in m for m in messages)


def test_reading_stops_at_the_size_limit(tmp_path: Path) -> None:
    start = time.perf_counter()
    with pytest.raises(ContentErrors) as info:
        read_document(Path("/dev/zero"), "zero.yaml")
    assert time.perf_counter() - start < 5
    assert "a record may be at most" in info.value.problems[0].message


def test_the_generator_only_ever_uses_the_safe_yaml_loader() -> None:
    """Every YAML read goes through load.py's loader, built on PyYAML's safe loader."""
    from generator import load

    assert issubclass(load._Loader, yaml.CSafeLoader | yaml.SafeLoader)
    unsafe = re.compile(r"yaml\.(load|load_all|unsafe_load|full_load)\(|yaml\.Loader\b"
                        r"|FullLoader|UnsafeLoader|yaml\.CLoader")
    found = [f"{path.name}:{number}: {line.strip()}"
             for path in sorted(Path(load.__file__).parent.glob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if unsafe.search(line)]
    assert found == []


# -- paths: nothing lands outside the output folder --------------------------------------------


def _listing(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


HOSTILE_TAGS = ["../../x", "..", "%2e%2e", "..%2f..%2fetc", "/etc/passwd", "\\..\\..\\x", "ｘ",
                "\u0430pi", "\u202e\u2066evil", "\u200b", "CON", "nul.txt", "x" * 60]
HOSTILE_ALIASES = ["/../x", "//evil.com/x", "/x/../../y", "/%2e%2e/x/", "/x/..%2fy/",
                   "/.well-known/acme-challenge/x", "/.git/config", "/.fixdex-output",
                   "/./x/", "/x//y/", "\\\\evil\\x", "/x\\..\\..\\y/", "/index.html",
                   "/static/site.js", "/example-api/rate-limited/", "/example-api/index.html",
                   "/Example-Api/Rate-Limited/index.html", "/tag/http-401/", "/feed.xml",
                   "/a.html", "/ok/\u0430/", "/ok%00/", "/ok\u0000/", "/" + "a/" * 200,
                   "javascript:alert(1)", "/x/;rm -rf ~/"]


def _hostile_cases() -> list[tuple[str, str, object]]:
    cases: list[tuple[str, str, object]] = [("tags", f"tag-{i}", [tag]) for i, tag in
                                            enumerate(HOSTILE_TAGS)]
    cases += [("aliases", f"alias-{i}", [alias]) for i, alias in enumerate(HOSTILE_ALIASES)]
    cases += [("platform", "platform-dots", ".."), ("platform", "platform-slash", "../../x"),
              ("category", "category-dots", "../Rate limits")]
    return cases


@pytest.mark.parametrize(("field", "case", "value"), _hostile_cases(),
                         ids=[c[1] for c in _hostile_cases()])
def test_hostile_names_are_refused_or_written_inside_the_output(tmp_path: Path, field: str,
                                                                case: str, value: object) -> None:
    project = make_project(tmp_path)
    out = project / "site"
    assert build(Project(project / "content", TEMPLATES, out)).ok
    good_site = tree(out)
    before = _listing(tmp_path)
    assert {p for p in before if not p.startswith(("content", "templates", "site"))} == {LOCK_FILE}

    path = project / "content" / RECORD
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data[field] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = build(Project(project / "content", TEMPLATES, out))

    outside = {p for p in _listing(tmp_path) if p != "site" and not p.startswith("site/")}
    assert outside == {p for p in before if p != "site" and not p.startswith("site/")}
    resolved = out.resolve()
    for written in out.rglob("*"):
        assert written.resolve().is_relative_to(resolved) and not written.is_symlink()
    if result.ok:
        assert (out / "index.html").is_file() and tree(out) != good_site
    else:
        assert tree(out) == good_site
        for problem in errors_only(result.problems):
            assert problem.file.endswith(RECORD) and problem.message, str(problem)
            assert problem.field.startswith(field) and problem.line >= 1, str(problem)


def test_hostile_record_file_names_are_refused(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    source = (project / "content" / RECORD).read_bytes()
    names = ["..yaml", "a..b.yaml", "%2e%2e.yaml", "CON.yaml", "ünï.yaml", "a b.yaml", "-x.yaml",
             "x\\y.yaml", "index.html.yaml", "\u202eevil.yaml"]
    for name in names:
        (project / "content" / "openrouter" / name).write_bytes(source)
    before = _listing(tmp_path)
    result = build(Project(project / "content", TEMPLATES, project / "site"))
    assert not result.ok
    assert _listing(tmp_path) == before
    reported = {p.file.rsplit("/", 1)[1] for p in errors_only(result.problems)}
    assert reported >= {n for n in names if not n.startswith(".")}


def test_hostile_output_folders_are_refused_without_touching_them(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("mine\n")
    for out in (precious, project / "content", project / "templates", project,
                project / "content" / "openrouter"):
        run = fixdex("build", "--out", out, cwd=project)
        assert run.code == 2 and "Traceback" not in run.err, run.err
    assert (precious / "keep.txt").read_text() == "mine\n"
    assert sorted(_listing(precious)) == ["keep.txt"]
    assert tree(project / "content") == tree(VALID_SITE)


def test_cli_build_of_the_hostile_site_is_clean(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(HOSTILE_SITE, content)
    run = fixdex("build", "--templates", TEMPLATES, cwd=tmp_path)
    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    assert (tmp_path / "site" / "index.html").is_file()


def test_build_cache_files_from_a_pull_request_cannot_run_code(tmp_path: Path) -> None:
    """A pull request can add any file, a fake build cache too: building its checkout must
    never execute what such a file holds (unpickling would)."""
    project = make_project(tmp_path / "p")
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str, str]]:
            return (open, (str(marker), "w"))

    from generator import __version__
    cache = project / ".fixdex-cache"
    cache.mkdir()
    for version in range(1, 4):
        (cache / f"records.v{version}.pickle").write_bytes(pickle.dumps((__version__, Evil())))
    run = fixdex("build", cwd=project)
    assert run.code == 0, run.err
    assert not marker.exists(), "building ran code from a cache file in the checkout"
