"""Lighthouse scores for the home, an error and the search page of a built fixdex site.

Builds the content (or takes an already built site), serves it on 127.0.0.1, runs the npm
`lighthouse` CLI against Debian chromium for each page and prints the four category scores
(performance, accessibility, best-practices, seo). The full reports and a JSON summary go to
bench/out/lighthouse/. Exit status 1 when a score is below --min (default 95).

Lighthouse is not a project dependency: install it once into a folder of your choice,
    npm install --no-save --prefix /tmp/lighthouse lighthouse@12
(Lighthouse 13 needs Node 22; 12.x runs on the Node 20 that Debian ships) and pass
--lighthouse-dir /tmp/lighthouse, or let --install do it into bench/out/node/.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from generator.build import Project, build  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROME_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
DEFAULT_OUT = REPO / "bench" / "out" / "lighthouse"
DEFAULT_TOOL_DIR = REPO / "bench" / "out" / "node"
LIGHTHOUSE_VERSION = "lighthouse@12"
NOT_ERROR_PAGES = {"category", "tag", "search", "static", "api"}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve `root` on a free port of 127.0.0.1; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def build_site(content: Path, out: Path) -> Path:
    result = build(Project(content=content, templates=REPO / "templates", out=out))
    if not result.ok:
        for problem in result.problems:
            print(problem, file=sys.stderr)
        raise SystemExit(f"the content in {content} does not build")
    return out


def largest_error_page(site: Path) -> str:
    """The heaviest error page (`/<platform>/<slug>/`): the worst case a reader can land on."""
    pages = [p for p in site.glob("*/*/index.html") if p.parts[-3] not in NOT_ERROR_PAGES]
    if not pages:
        raise SystemExit(f"no error pages in {site}")
    page = max(pages, key=lambda p: (p.stat().st_size, str(p)))
    return "/" + page.parent.relative_to(site).as_posix() + "/"


def find_lighthouse(tool_dir: Path, install: bool) -> Path:
    binary = tool_dir / "node_modules" / ".bin" / "lighthouse"
    if binary.exists():
        return binary
    if not install:
        raise SystemExit(f"no lighthouse in {tool_dir}; run with --install, or\n"
                         f"  npm install --no-save --prefix {tool_dir} {LIGHTHOUSE_VERSION}")
    tool_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix",
                    str(tool_dir), LIGHTHOUSE_VERSION], check=True)
    return binary


def run_lighthouse(binary: Path, url: str, report: Path, preset: str | None) -> dict:
    """One Lighthouse run; returns the parsed JSON report."""
    command = [
        str(binary), url,
        "--output=json", f"--output-path={report}",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={' '.join(CHROME_FLAGS)}",
        "--quiet",
    ]
    if preset:
        command.append(f"--preset={preset}")
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    subprocess.run(command, check=True, env=env, timeout=300)
    return json.loads(report.read_text(encoding="utf-8"))


def summarise(data: dict) -> dict:
    scores = {c: round((data["categories"][c]["score"] or 0) * 100) for c in CATEGORIES}
    weighted = {ref["id"] for c in CATEGORIES for ref in data["categories"][c]["auditRefs"]
                if ref.get("weight", 0) > 0}
    failing = sorted(
        audit_id for audit_id in weighted
        if (data["audits"][audit_id].get("score") is not None
            and data["audits"][audit_id]["score"] < 1)
    )
    return {"scores": scores, "below_full_marks": failing,
            "lighthouse": data.get("lighthouseVersion")}


def median_result(path: str, runs: list[dict]) -> dict:
    """The median score per category over the runs, and the audits any run fell short on."""
    scores = {c: round(statistics.median(r["scores"][c] for r in runs)) for c in CATEGORIES}
    failing = sorted({audit for r in runs for audit in r["below_full_marks"]})
    return {"path": path, "scores": scores, "runs": [r["scores"] for r in runs],
            "below_full_marks": failing, "lighthouse": runs[0]["lighthouse"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--content", type=Path, default=REPO / "content",
                        help="content to build (default: content/)")
    source.add_argument("--site", type=Path, help="an already built site folder")
    parser.add_argument("--lighthouse-dir", type=Path, default=DEFAULT_TOOL_DIR,
                        help="folder with node_modules/.bin/lighthouse (default: bench/out/node)")
    parser.add_argument("--install", action="store_true",
                        help=f"npm install {LIGHTHOUSE_VERSION} into --lighthouse-dir if missing")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where reports go")
    parser.add_argument("--preset", choices=["desktop"], default=None,
                        help="desktop preset (default: Lighthouse's mobile emulation)")
    parser.add_argument("--min", type=int, default=95, help="lowest acceptable median score")
    parser.add_argument("--runs", type=int, default=3,
                        help="runs per page; the median score of each category is reported"
                             " (performance moves with the machine's load)")
    args = parser.parse_args(argv)

    binary = find_lighthouse(args.lighthouse_dir, args.install)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fixdex-lh-") as tmp:
        site = args.site or build_site(args.content, Path(tmp) / "site")
        pages = {"home": "/", "error": largest_error_page(site)}
        if (site / "search" / "index.html").exists():
            pages["search"] = "/search/"
        else:
            print("note: this site has no /search/ page; skipping it", file=sys.stderr)
        results: dict[str, dict] = {}
        with serve(site) as base:
            for name, path in pages.items():
                runs = [summarise(run_lighthouse(binary, base + path.lstrip("/"),
                                                 args.out / f"{name}.{i + 1}.report.json",
                                                 args.preset))
                        for i in range(args.runs)]
                results[name] = median_result(path, runs)

    summary = {"preset": args.preset or "mobile", "runs": args.runs, "pages": results}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"| page | path | {' | '.join(CATEGORIES)} |")
    print("|---|---|" + "---|" * len(CATEGORIES))
    low = False
    for name, result in results.items():
        scores = result["scores"]
        low = low or any(s < args.min for s in scores.values())
        print(f"| {name} | `{result['path']}` | "
              + " | ".join(str(scores[c]) for c in CATEGORIES) + " |")
    for name, result in results.items():
        if args.runs > 1:
            print(f"{name}: runs " + "; ".join(
                " ".join(str(r[c]) for c in CATEGORIES) for r in result["runs"]))
        if result["below_full_marks"]:
            print(f"{name}: audits below full marks in some run: "
                  f"{', '.join(result['below_full_marks'])}")
    print(f"reports in {args.out}", file=sys.stderr)
    return 1 if low else 0


if __name__ == "__main__":
    raise SystemExit(main())
