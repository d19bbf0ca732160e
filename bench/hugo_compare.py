"""Build the same corpus with fixdex and with Hugo, side by side, cold, and compare.

    python bench/hugo_compare.py N [--runs 3]

The deterministic corpus of bench/make_corpus.py (bench/out/corpus-N/, made if missing) is
converted into a Hugo site under bench/out/hugo-N/: one content file per record at
content/<platform-slug>/<slug>.md whose front matter carries the record's fields and whose body
holds the record's sections as Markdown, in the record-format order, so Hugo renders the same
Markdown fixdex does. A minimal theme mirrors fixdex's pages (error page with breadcrumb, fact
box and table of contents; platform, category and tag hubs as taxonomies; a home page listing
every error by platform; sitemap and RSS).

Each run is a separate, cold process, alternating between the tools: `hugo` with its output,
resources/ and cache folders deleted first, and `fixdex build --no-cache` into a fresh folder.
Wall time and the peak resident memory of the process tree (sampled from /proc, as in
bench/run.py) are reported as the median of the runs. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from run import PeakSampler, compile_fixdex, discard, ensure_corpus, warm, warm_fixdex

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

HUGO_CONFIG = """\
baseURL = "https://bench.example.com/"
title = "fixdex benchmark"
languageCode = "en"

# the same hubs fixdex builds: one per platform, category and tag
[taxonomies]
  platform = "platform"
  category = "category"
  tag = "tags"

# fixdex's feed holds the 20 most recent errors; Hugo's default is every page in every feed
[services.rss]
  limit = 20

# fixdex shows code as plain <pre><code>, without syntax highlighting
[markup.highlight]
  codeFences = false

# fixdex's table of contents lists the page's sections (h2) only
[markup.tableOfContents]
  startLevel = 2
  endLevel = 2
"""

LAYOUTS = {
    "_default/baseof.html": """\
<!doctype html>
<html lang="{{ site.LanguageCode }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ if .IsHome }}{{ site.Title }}{{ else }}{{ .Title }} | {{ site.Title }}{{ end }}</title>
<meta name="description" content="{{ with .Description }}{{ . }}{{ else }}{{ site.Title }}{{ end }}">
<link rel="canonical" href="{{ .Permalink }}">
<meta property="og:title" content="{{ .Title }}">
<meta property="og:url" content="{{ .Permalink }}">
<link rel="stylesheet" href="{{ "static/style.css" | relURL }}">
{{ with .OutputFormats.Get "rss" -}}
<link rel="alternate" type="application/rss+xml" href="{{ .RelPermalink }}">
{{- end }}
</head>
<body>
<header class="top"><a class="brand" href="{{ "/" | relURL }}">{{ site.Title }}</a>
<form class="top-search" role="search" action="{{ "search/" | relURL }}" method="get">
<input name="q" type="search" placeholder="Paste an error"><button type="submit">Search</button>
</form></header>
<main id="main">
{{ block "main" . }}{{ end }}
</main>
<footer class="bottom"><p><a href="{{ "/" | relURL }}">{{ site.Title }}</a></p></footer>
</body>
</html>
""",
    "_default/single.html": """\
{{ define "main" }}
<article class="error">
<nav class="crumbs" aria-label="Breadcrumb"><ol>
{{ range .GetTerms "platform" }}<li><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></li>{{ end }}
{{ range .GetTerms "category" }}<li><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></li>{{ end }}
</ol></nav>
<h1>{{ .Title }}</h1>
<p class="summary">{{ .Description }}</p>
<dl class="facts">
<div><dt>Category</dt><dd>
{{- range .GetTerms "category" }}<a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a>{{ end -}}
</dd></div>
{{ with .Params.http_status }}<div><dt>HTTP status</dt><dd>{{ . }}</dd></div>{{ end }}
<div class="wide sig"><dt>Error signature</dt>
<dd><pre><code class="signature">{{ .Params.signature }}</code></pre></dd></div>
<div class="wide fix"><dt>Quick fix</dt><dd>{{ .Params.quick_fix | markdownify }}</dd></div>
{{ $updated := .Lastmod.Format "2006-01-02" }}
<div><dt>Updated</dt><dd><time datetime="{{ $updated }}">{{ $updated }}</time></dd></div>
</dl>
{{ with .GetTerms "tags" }}<ul class="tags" aria-label="Tags">
{{ range . }}<li><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></li>
{{ end }}</ul>{{ end }}
<div class="layout">
<nav class="toc" aria-label="On this page"><h2 class="toc-title">On this page</h2>{{ .TableOfContents }}</nav>
<div class="body">
{{ .Content }}
{{ with .Params.related }}
<section aria-labelledby="related"><h2 id="related">Related errors</h2><ul>
{{ range . }}{{ with site.GetPage . }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>
{{ end }}{{ end }}
</ul></section>
{{ end }}
</div>
</div>
</article>
{{ end }}
""",
    "_default/list.html": """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
<p class="total">{{ len .Pages }} errors.</p>
<ul>
{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></li>
{{ end }}
</ul>
{{ end }}
""",
    "index.html": """\
{{ define "main" }}
<section class="hero"><h1>Paste the error you are seeing</h1></section>
<p class="total">{{ len site.RegularPages }} errors across {{ len site.Taxonomies.platform }} platforms.</p>
<div class="listing">
{{ range site.Taxonomies.platform.Alphabetical }}
<section class="group">
<h2><a href="{{ .Page.RelPermalink }}">{{ .Page.LinkTitle }}</a>
<span class="count">({{ .Count }})</span></h2>
<ul>
{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></li>
{{ end }}
</ul>
</section>
{{ end }}
</div>
{{ range $name, $terms := site.Taxonomies }}{{ if ne $name "platform" }}
<section class="browse"><h2>{{ $name }}</h2><ul class="chips">
{{ range $terms.Alphabetical }}<li><a href="{{ .Page.RelPermalink }}">{{ .Page.LinkTitle }}
<span class="count">({{ .Count }})</span></a></li>
{{ end }}
</ul></section>
{{ end }}{{ end }}
{{ end }}
""",
}

# Plain-text fields (source titles, tool names, questions) must not turn into Markdown.
_PLAIN = re.compile(r"([\\`*_\[\]<>#|~&!])")


def _plain(text: str) -> str:
    return _PLAIN.sub(r"\\\1", text)


def _item(marker: str, text: str) -> str:
    """One list item; continuation lines indented under the marker."""
    first, *rest = text.strip().splitlines() or [""]
    pad = " " * len(marker)
    return "\n".join([marker + first, *(pad + line if line.strip() else "" for line in rest)])


def _fence(text: str) -> str:
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, run + 1)
    return f"{fence}\n{text.rstrip()}\n{fence}"


def body(rec: dict[str, Any]) -> str:
    """The record's sections as Markdown, in the order of the record format."""
    out: list[str] = []

    def section(anchor: str, title: str, *parts: str) -> None:
        out.append(f"## {title} {{#{anchor}}}")
        out.extend(parts)

    if rec.get("examples"):
        section("what-it-looks-like", "What it looks like", *(_fence(e) for e in rec["examples"]))
    section("meaning", "What this error means", rec["meaning"].strip())
    section("why", "Why this happens", rec["why"].strip())
    section("causes", "Common causes", "\n".join(_item("- ", c) for c in rec["causes"]))
    section("quick-fixes", "Quick fixes",
            "\n".join(_item(f"{i}. ", c) for i, c in enumerate(rec["quick_fixes"], 1)))
    if rec.get("platform_checks"):
        section("checks", "Platform/tool-specific checks", "\n".join(
            _item("- ", f"**{_plain(c['tool'])}**: {c['check']}") for c in rec["platform_checks"]))
    section("steps", "Step-by-step troubleshooting",
            "\n".join(_item(f"{i}. ", c) for i, c in enumerate(rec["steps"], 1)))
    if rec.get("prevention"):
        section("prevention", "How to prevent it",
                "\n".join(_item("- ", c) for c in rec["prevention"]))
    section("sources", "Sources checked", "\n".join(
        f"- [{_plain(s['title'])}](<{s['url']}>) {s['kind']}"
        + (f", checked {s['checked']}" if s.get("checked") else "") for s in rec["sources"]))
    evidence = rec["evidence"]
    tools = evidence.get("affected_tools") or []
    section("evidence", "Evidence note", evidence["note"].strip(),
            *([f"Affected tools: {_plain(', '.join(tools))}"] if tools else []))
    section("faq", "FAQ", *(f"### {_plain(f['q'])} {{#faq-{i}}}\n\n{f['a'].strip()}"
                            for i, f in enumerate(rec["faq"], 1)))
    return "\n\n".join(out) + "\n"


def front_matter(rec: dict[str, Any], paths: dict[str, str]) -> dict[str, Any]:
    """Hugo front matter: `related` slugs become page paths, resolved by the theme."""
    updated = rec["updated"]
    matter: dict[str, Any] = {
        "title": rec["title"],
        "description": rec["summary"],
        "platform": [rec["platform"]],
        "category": [rec["category"]],
        "tags": list(dict.fromkeys(str(t) for t in rec.get("tags") or [])),
        "signature": rec["signature"],
        "quick_fix": rec["quick_fix"],
        "date": updated,
        "lastmod": updated,
        "related": [paths[s] for s in rec.get("related") or [] if s in paths],
    }
    if rec.get("http_status"):
        matter["http_status"] = rec["http_status"]
    if rec.get("aliases"):
        matter["aliases"] = list(rec["aliases"])
    return matter


def hugo_site(corpus_root: Path, n: int) -> Path:
    """Write bench/out/hugo-N (config, theme, one .md per record) from the corpus."""
    site = OUT / f"hugo-{n}"
    discard(site / "content", site / "layouts")  # not deleted: see `run.discard`
    files = sorted((corpus_root / "content").glob("*/*.yaml"))
    paths = {f.stem: f"/{f.parent.name}/{f.stem}" for f in files}
    for rel, text in LAYOUTS.items():
        (site / "layouts" / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / "layouts" / rel).write_text(text)
    (site / "hugo.toml").write_text(HUGO_CONFIG)
    for f in files:
        rec = yaml.load(f.read_text(), Loader=LOADER)
        target = site / "content" / f.parent.name / f"{f.stem}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        matter = yaml.safe_dump(front_matter(rec, paths), sort_keys=False, allow_unicode=True,
                                width=1 << 20)
        target.write_text(f"---\n{matter}---\n\n{body(rec)}")
    return site


class Run(NamedTuple):
    seconds: float
    cpu: float
    peak: int
    others: float


def _busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores) since boot, from /proc/stat."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    own = os.times()
    return own.user + own.system


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Wall time, CPU time and peak memory of one command, and how busy the rest was.

    CPU time (user + system of the process and the children it waited for, such as fixdex's
    workers) moves less than wall time when other work shares the machine; `others` is the
    CPU the rest of the machine used meanwhile, in cores, so a run can be judged by it.
    """
    with tempfile.TemporaryFile("w+") as err:
        busy, own = _busy_seconds(), _own_seconds()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        sampler = PeakSampler(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        peak = sampler.stop()
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{err.read()}")
    cpu = usage.ru_utime + usage.ru_stime
    others = _busy_seconds() - busy - cpu - (_own_seconds() - own)
    return Run(seconds, cpu, peak, max(others, 0.0) / seconds)


def tree_size(folder: Path) -> tuple[int, int]:
    """(files, bytes) under a folder."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def settle(*folders: Path) -> None:
    """Move the previous output aside (never deleted between runs: see `run.discard`) and
    flush the disk, so no run pays for another's writes."""
    discard(*folders)
    os.sync()
    time.sleep(1)


def version(cmd: list[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return (done.stdout or done.stderr).strip().splitlines()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", type=int, help="records in the corpus")
    parser.add_argument("--runs", type=int, default=3, help="cold runs per tool (default 3)")
    args = parser.parse_args()
    hugo = shutil.which("hugo")
    if hugo is None:
        raise SystemExit("hugo is not installed (Debian: apt-get install -y hugo)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    compile_fixdex()
    root = ensure_corpus(args.n)
    site = hugo_site(root, args.n)
    hugo_out, hugo_cache = site / "public-bench", site / "cache-bench"
    # fixdex's output (and the lock file it keeps beside it) stays out of the corpus folder,
    # which bench/run.py may be using; --no-cache never reads or writes .fixdex-cache there.
    fixdex_out = site / "fixdex-bench"
    scratch = (hugo_out, hugo_cache, site / "resources", fixdex_out)
    hugo_cmd = [hugo, "--quiet", "--destination", str(hugo_out), "--cacheDir", str(hugo_cache)]
    fixdex_cmd = [sys.executable, "-m", "generator", "build", "--no-cache", "--out",
                  str(fixdex_out), "--templates", str(REPO / "templates")]
    runs: dict[str, list[Run]] = {"hugo": [], "fixdex": []}
    sizes: dict[str, tuple[int, int]] = {}
    load = os.getloadavg()
    for i in range(args.runs):
        settle(*scratch)
        warm(Path(hugo), site / "content", site / "layouts", site / "hugo.toml")  # see run.warm
        runs["hugo"].append(timed(hugo_cmd, site))
        sizes["hugo"] = tree_size(hugo_out)
        settle(*scratch)
        warm_fixdex(root)
        warm(REPO / "templates")
        runs["fixdex"].append(timed(fixdex_cmd, root, env))
        sizes["fixdex"] = tree_size(fixdex_out)
        print(f"run {i + 1}: hugo {runs['hugo'][-1].seconds:.2f} s, "
              f"fixdex {runs['fixdex'][-1].seconds:.2f} s (load {os.getloadavg()[0]:.2f})",
              file=sys.stderr, flush=True)
    load_after = os.getloadavg()
    discard(*scratch)  # bench/out/trash: see run.TRASH
    (site / f".{fixdex_out.name}.lock").unlink(missing_ok=True)

    print(f"fixdex vs Hugo, {args.n} records, {dt.date.today().isoformat()}, "
          f"{os.cpu_count()} cores, {args.runs} cold runs each (median)")
    print(f"load average (1/5/15 min) before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    print(f"hugo: {version([hugo, 'version'])}")
    print(f"fixdex: {version([sys.executable, '-m', 'generator', '--version'], env)}, "
          f"Python {sys.version.split()[0]}")
    print()
    print("| tool | wall s (median) | wall s (runs) | CPU s (median) | peak MB | files out "
          "| MB out | other work, cores (runs) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    medians, cpu = {}, {}
    for tool, results in runs.items():
        medians[tool] = statistics.median(r.seconds for r in results)
        cpu[tool] = statistics.median(r.cpu for r in results)
        peak = statistics.median(r.peak for r in results)
        files, size = sizes[tool]
        print(f"| {tool} | {medians[tool]:.2f} | {' / '.join(f'{r.seconds:.2f}' for r in results)}"
              f" | {cpu[tool]:.2f} | {peak / 2**20:.0f} | {files} | {size / 2**20:.1f} "
              f"| {' / '.join(f'{r.others:.2f}' for r in results)} |")
    print()
    print(f"fixdex / Hugo: wall time {medians['fixdex'] / medians['hugo']:.2f}, "
          f"CPU time {cpu['fixdex'] / cpu['hugo']:.2f}")


if __name__ == "__main__":
    main()
