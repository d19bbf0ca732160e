"""How fast a pasted error is looked up at 10,000 records, in Python and in real chromium.

    .venv/bin/python bench/search_speed.py [--records 10000] [--queries 300]

Synthetic records are built from a Zipf-distributed vocabulary (a few words in every error,
most words rare), with statuses, JSON forms and noisy examples like real records. The queries
are noisy pastes of random records (timestamps, request ids, escaped JSON, stack frames). The
script prints the index size, per-query times (median, p95, max) in Python and in the browser
(performance.now around `fixdexLookup.search` in templates/static/search.js), when the
browser has the index fetched, parsed and prepared, and the top-1 rate on the synthetic queries.
Figures only: nothing here asserts a time, because timings depend on the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from generator.lookup import build_index, search  # noqa: E402
from generator.model import Evidence, FaqEntry, Record, Source  # noqa: E402
from generator.validate import Entry  # noqa: E402

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "zu", "pe", "qua", "dre", "fli",
             "gon", "har", "jet", "ment", "tion", "able", "str", "ex", "con", "pro", "re"]
COMMON = ["request", "failed", "invalid", "api", "key", "not", "found", "limit", "exceeded",
          "rate", "model", "token", "quota", "unauthorized", "access", "denied", "timeout"]
STATUSES = ["400", "401", "402", "403", "404", "408", "409", "422", "429", "500", "502", "503"]
NOISE = ["2026-02-19T08:14:22.531Z", "[2026-04-02 12:30:01,442] ERROR",
         "request_id=req_a1b2c3d4e5f6", "x-request-id: 9019dfce-1b2f-4de3-bd19-0db0c3fa158f",
         'File "/srv/app/client.py", line 88, in call', "at /app/node_modules/x/core.js:286:25"]


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return COMMON + sorted(words)


def _message(rng: random.Random, vocab: list[str], cumulative: list[float]) -> str:
    words = rng.choices(vocab, cum_weights=cumulative, k=rng.randint(5, 12))
    return " ".join(words).capitalize() + "."


def synthetic_entries(n: int, seed: int = 1) -> list[Entry]:
    """`n` records shaped like real ones: a signature, three other forms, two examples."""
    rng = random.Random(seed)
    vocab = _vocabulary(rng, 30_000)
    weights = list(itertools.accumulate(1 / (i + 1) ** 0.9 for i in range(len(vocab))))
    common = {
        "summary": "A synthetic record for the lookup benchmark.", "category": "Bench",
        "updated": dt.date(2026, 1, 1), "quick_fix": "Nothing to fix.", "meaning": "-",
        "why": "-", "causes": ["-"], "quick_fixes": ["-"], "steps": ["-"],
        "sources": [Source(title="s", url="https://example.com/", kind="docs")],
        "evidence": Evidence(note="-"), "faq": [FaqEntry(q="q", a="a")],
    }
    entries = []
    for i in range(n):
        status = rng.choice(STATUSES)
        message = _message(rng, vocab, weights)
        platform = f"platform-{i % 40}"
        record = Record.model_construct(
            title=f"Synthetic error {i}: {message[:60]}", platform=platform, **common,
            signature=json.dumps({"error": {"message": message, "code": int(status)}}),
            also_seen_as=[message, f"{status} {message}", _message(rng, vocab, weights)],
            examples=[f"{rng.choice(NOISE)} Error: {status} {message}",
                      f"{rng.choice(NOISE)}\n{json.dumps({'error': message})}"],
        )
        entries.append(Entry(record, f"synthetic-{i}", platform, Path(f"{platform}/{i}.yaml"),
                             f"content/{platform}/synthetic-{i}.yaml"))
    return entries


def noisy_queries(entries: list[Entry], count: int, seed: int = 2) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for entry in rng.sample(entries, count):
        form = rng.choice([entry.record.signature, *entry.record.also_seen_as[:2]])
        text = rng.choice([form, json.dumps(form), form.upper()])
        out.append((entry.slug, f"{rng.choice(NOISE)} {text}\n{rng.choice(NOISE)}"))
    return out


def _figures(ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"median {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms, max {ms[-1]:.2f} ms"


def browser_times(index: dict, queries: list[str]) -> tuple[list[float], float]:
    """Per-query times in chromium, and when the index was ready (fetched, parsed, prepared)."""
    from conftest import CHROMIUM, CHROMIUM_ARGS, build_site, serve
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        root = build_site(REPO / "tests" / "fixtures" / "lookup-site" / "content",
                          Path(tmp) / "site")
        (root / "search" / "index.json").write_text(
            json.dumps(index, sort_keys=True, separators=(",", ":")))
        with serve(root) as base_url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(base_url + "search/")
            page.wait_for_function("() => window.fixdexLookup && window.fixdexLookup.index")
            # performance.now() counts from the navigation: fetch, parse and prepare.
            ready_ms = page.evaluate("fixdexLookup.index.then(() => performance.now())")
            page.evaluate("fixdexLookup.index.then(ix => fixdexLookup.search(ix, 'warm up'))")
            times = page.evaluate(
                "async qs => { const ix = await fixdexLookup.index; return qs.map(q => {"
                " const t = performance.now(); fixdexLookup.search(ix, q);"
                " return performance.now() - t; }); }", queries)
            browser.close()
    return times, ready_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()

    entries = synthetic_entries(args.records)
    t = time.perf_counter()
    index = build_index(entries)
    build_s = time.perf_counter() - t
    size = len(json.dumps(index, sort_keys=True, separators=(",", ":")).encode())
    print(f"{args.records} records: index {size / 1024:.0f} KiB ({size / args.records:.0f} B"
          f" per record), built in {build_s:.1f} s")

    queries = noisy_queries(entries, args.queries)
    search(index, "warm up")
    ms, hits = [], 0
    for slug, text in queries:
        t = time.perf_counter()
        found = search(index, text)
        ms.append((time.perf_counter() - t) * 1000)
        hits += bool(found) and found[0].slug == slug
    print(f"python:  {_figures(ms)}; top-1 {hits}/{len(queries)}")
    if not args.no_browser:
        times, ready_ms = browser_times(index, [q for _, q in queries])
        print(f"browser: {_figures(times)}; index ready {ready_ms:.0f} ms after navigation")


if __name__ == "__main__":
    main()
