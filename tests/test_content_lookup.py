"""`fixdex lookup` and the /search/ page on the SHIPPED content (content/), not a fixture.

tests/content_queries.yaml holds errors pasted the way they reach a terminal (log lines,
escaped JSON, stack traces, SDK prefixes), each labelled with the record it must find first,
lookalikes across providers, and unrelated errors that must find nothing. The site is built
once through the real CLI; the whole set is ranked in-process on the index that build wrote,
a subset through `fixdex lookup` itself (which must answer exactly as in-process), and every
query again in chromium, whose answers must equal Python's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import guarded_page, serve
from helpers import REPO, fixdex, typed_first_hit
from playwright.sync_api import Browser, Page

from generator.lookup import search

QUERIES: list[dict] = yaml.safe_load(
    (REPO / "tests" / "content_queries.yaml").read_text(encoding="utf-8"))
LABELLED = [q for q in QUERIES if q["expect"] is not None]
UNRELATED = [q for q in QUERIES if q["expect"] is None]
TOP1_BAR = 0.95
# Through the CLI: a spread of the labelled set (every platform, plain and multi-line, the
# lookalikes at the end) and of the unrelated errors. The rest runs in-process.
CLI_SUBSET = [*LABELLED[::12], *UNRELATED[::3]]


@dataclass(frozen=True)
class Built:
    root: Path
    index: dict


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """content/ built once by `fixdex build`, as a user would, into a temporary folder."""
    root = tmp_path_factory.mktemp("shipped") / "site"
    run = fixdex("build", "--no-cache", "--out", root)
    assert run.code == 0, run.err
    index = json.loads((root / "search" / "index.json").read_text(encoding="utf-8"))
    return Built(root, index)


def _first(index: dict, text: str) -> str | None:
    found = search(index, text)
    return found[0].slug if found else None


def _as_json(index: dict, text: str, limit: int = 5) -> list[dict]:
    """What `fixdex lookup --json` prints for `text`, computed in-process."""
    return [{"slug": m.slug, "title": m.title, "signature": m.signature, "url": m.url,
             "score": round(m.score, 3)} for m in search(index, text, limit=limit)]


# -- the labelled set itself --------------------------------------------------------------


def test_the_set_covers_every_shipped_record(built: Built) -> None:
    """At least two pastes per record besides the lookalikes, labels naming live records."""
    slugs = {r[0] for r in built.index["records"]}
    assert len(slugs) == len(list((REPO / "content").glob("*/*.yaml")))
    assert {q["expect"] for q in LABELLED} <= slugs
    own = Counter(q["expect"] for q in LABELLED if "lookalike" not in q["note"])
    assert {s: own[s] for s in slugs if own[s] < 2} == {}
    assert len(LABELLED) >= 2 * len(slugs) and len(UNRELATED) >= 10
    assert all(set(q) == {"query", "expect", "note"} and q["query"].strip() and q["note"]
               for q in QUERIES)
    assert len({q["query"] for q in QUERIES}) == len(QUERIES)


# -- ranking, in-process on the index the build wrote -------------------------------------


def test_top1_on_the_shipped_content(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    misses = [(q["expect"], _first(built.index, q["query"]), q["note"]) for q in LABELLED
              if _first(built.index, q["query"]) != q["expect"]]
    top1 = 1 - len(misses) / len(LABELLED)
    with capsys.disabled():
        print(f"\ncontent lookup top-1: {len(LABELLED) - len(misses)}/{len(LABELLED)}"
              f" = {top1:.1%} (bar {TOP1_BAR:.0%})")
        for expected, got, note in misses:
            print(f"  miss: expected {expected}, got {got} ({note})")
    assert top1 >= TOP1_BAR, misses


@pytest.mark.parametrize("query", [q["query"] for q in UNRELATED],
                         ids=[q["note"] for q in UNRELATED])
def test_unrelated_errors_find_nothing(built: Built, query: str) -> None:
    assert search(built.index, query) == []


# -- the same answers through `fixdex lookup` ---------------------------------------------


def _lookup_all(site: Path, texts: list[str]) -> list[tuple[int, str, str]]:
    """`fixdex lookup --json --site SITE TEXT` for each text, run side by side."""
    procs = [subprocess.Popen([sys.executable, "-m", "generator", "lookup", "--json",
                               "--site", str(site), text], cwd=REPO, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for text in texts]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append((proc.returncode, out, err))
    return results


def test_the_cli_answers_like_search_and_exits_by_match(built: Built) -> None:
    assert len(CLI_SUBSET) >= 15 and sum(q["expect"] is None for q in CLI_SUBSET) >= 4
    runs = _lookup_all(built.root, [q["query"] for q in CLI_SUBSET])
    for q, (code, out, err) in zip(CLI_SUBSET, runs, strict=True):
        printed = json.loads(out)
        assert printed == _as_json(built.index, q["query"]), q["note"]
        if q["expect"] is None:
            assert (code, printed) == (1, []), (q["note"], printed)
        else:
            assert code == 0, (q["note"], err)
            assert printed[0]["slug"] == q["expect"], (q["note"], printed)
            assert printed[0]["url"].endswith(f"/{q['expect']}/")


def test_lookup_from_content_matches_the_built_index(built: Built) -> None:
    query = LABELLED[0]["query"]
    run = fixdex("lookup", "--json", "--content", "content", query)
    assert run.code == 0, run.err
    assert json.loads(run.out) == _as_json(built.index, query)
    assert json.loads(run.out)[0]["slug"] == LABELLED[0]["expect"]


def test_plain_output_shows_score_title_and_url(built: Built) -> None:
    query = "openai.RateLimitError: Error code: 429 - {'error': {'code': 'insufficient_quota'}}"
    run = fixdex("lookup", "--site", built.root, query)
    assert run.code == 0, run.err
    best = search(built.index, query)[0]
    assert best.slug == "insufficient-quota"
    lines = run.out.splitlines()
    assert lines[0] == f"{best.score:5.2f}  {best.title}"
    assert lines[1] == f"       {best.url}"
    assert len(lines) == 2 * len(search(built.index, query))


def test_plain_output_of_no_match_says_so_on_stderr(built: Built) -> None:
    run = fixdex("lookup", "--site", built.root, "fatal: not a git repository")
    assert (run.code, run.out) == (1, "")
    assert "no confident match" in run.err


def test_stdin_takes_a_multi_line_paste(built: Built) -> None:
    paste = next(q for q in LABELLED if q["query"].startswith("Traceback"))
    assert "\n" in paste["query"]
    run = fixdex("lookup", "--json", "--site", built.root, "-", stdin=paste["query"])
    assert run.code == 0, run.err
    assert json.loads(run.out)[0]["slug"] == paste["expect"]
    plain = fixdex("lookup", "--site", built.root, "-", stdin=paste["query"])
    assert plain.code == 0 and plain.out.splitlines()[1].endswith(f"/{paste['expect']}/")
    nothing = fixdex("lookup", "--json", "--site", built.root, "-",
                     stdin=UNRELATED[0]["query"])
    assert (nothing.code, json.loads(nothing.out)) == (1, [])


def test_limit_cuts_the_list(built: Built) -> None:
    # An OpenRouter 401 that also reads as the generic "Provider returned error".
    query = "401 Provider returned error"
    assert len(search(built.index, query)) >= 2
    run = fixdex("lookup", "--json", "--limit", "1", "--site", built.root, query)
    assert run.code == 0, run.err
    assert json.loads(run.out) == _as_json(built.index, query, limit=1)
    assert json.loads(run.out)[0]["slug"] == "unauthorized-provider-returned-error"
    assert fixdex("lookup", "--limit", "0", "--site", built.root, query).code == 2


@pytest.mark.parametrize("args", [[""], ["   \n\t "], ["-"]], ids=["empty", "blank", "stdin"])
def test_an_empty_query_is_a_usage_error(built: Built, args: list[str]) -> None:
    run = fixdex("lookup", "--site", built.root, *args, stdin="  \n")
    assert run.code == 2
    assert "nothing to look up" in run.err and run.out == ""


# -- the /search/ page in chromium --------------------------------------------------------


@pytest.fixture(scope="module")
def served(built: Built) -> Iterator[str]:
    with serve(built.root) as base_url:
        yield base_url


@pytest.fixture
def page(browser: Browser, served: str) -> Iterator[Page]:
    """The /search/ page with its index loaded; console errors or off-host requests fail."""
    with guarded_page(browser, served) as page:
        page.goto(served + "search/")
        page.wait_for_function("() => window.fixdexLookup && window.fixdexLookup.index")
        yield page


def test_the_browser_ranks_every_query_like_python(page: Page, built: Built) -> None:
    texts = [q["query"] for q in QUERIES]
    got = page.evaluate("async qs => { const ix = await fixdexLookup.index;"
                        " return qs.map(q => fixdexLookup.search(ix, q)); }", texts)
    for q, results in zip(QUERIES, got, strict=True):
        python = search(built.index, q["query"])
        assert [r["slug"] for r in results[:1]] == [m.slug for m in python[:1]], q["note"]
        assert [(r["slug"], r["score"]) for r in results] == [
            (m.slug, m.score) for m in python], q["note"]
        if q["expect"] is None:
            assert results == [], q["note"]


def test_typing_pastes_into_the_search_page(page: Page, built: Built) -> None:
    typed = [*LABELLED[::25], *UNRELATED[:2]]
    assert any("\n" in q["query"] for q in typed)
    for q in typed:
        python = search(built.index, q["query"])
        expected = python[0].url if python else None
        assert typed_first_hit(page, q["query"]) == expected, q["note"]
        if q["expect"] is not None:
            assert expected is not None and expected.endswith(f"/{q['expect']}/"), q["note"]
