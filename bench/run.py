"""Benchmark fixdex builds: cold, no-op, one record changed, one template changed.

    python bench/run.py [N ...] [--runs R]    (default: 1000 10000 50000, one run)

For each N, a deterministic corpus is made with bench/make_corpus.py under bench/out/, and
`fixdex build` is run as a user would run it (a separate process, default --jobs). Wall time
and the peak memory of the whole process tree (the build and its workers, PSS summed, so
pages a forked worker shares with its parent count once; sampled every 200 ms from /proc)
are printed as a table with the machine's core count. This is a benchmark, not a test:
nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import compileall
import itertools
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import make_corpus

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"


def _pss(pid: str) -> int:
    """Proportional set size: a forked worker's pages shared with its parent count once."""
    try:
        for line in Path("/proc", pid, "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _tree_rss(root: int) -> int:
    """Memory of a process and all its descendants (summed PSS), in bytes."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        parents[int(entry.name)] = int(fields[1])
    rss = {pid: _pss(str(pid)) for pid in _descendants(root, parents)}
    return sum(rss.values())


def _descendants(root: int, parents: dict[int, int]) -> list[int]:
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return found


class PeakSampler:
    """Samples a process tree's memory every 200 ms in a thread; `stop()` returns the peak.

    Reading smaps_rollup makes the kernel walk the page tables of every process: every 20 ms,
    as before, the sampler took a good part of a core from the build it was measuring.
    """

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, _tree_rss(self.pid))
            time.sleep(0.2)

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.peak


def compile_fixdex() -> None:
    """Compile fixdex's modules to bytecode, as installing it does. This machine's environment
    sets PYTHONDONTWRITEBYTECODE, so without this every timed run would compile all of
    `generator/` from source first (about 70 ms here): not a cost a user's builds pay."""
    compileall.compile_dir(REPO / "generator", quiet=1)


def run_build(cwd: Path, *args: str) -> tuple[float, int, str]:
    """(seconds, peak bytes of the process tree, stderr) of one `fixdex build`."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "generator", "build", *args], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    sampler = PeakSampler(proc.pid)
    _, err = proc.communicate()
    seconds = time.perf_counter() - start
    peak = sampler.stop()
    if proc.returncode != 0:
        raise SystemExit(f"build failed in {cwd}:\n{err}")
    return seconds, peak, err


def ensure_corpus(n: int) -> Path:
    """bench/out/corpus-N, made by bench/make_corpus.py unless it is already there."""
    root = OUT / f"corpus-{n}"
    if not (root / "content" / "site.yaml").is_file():
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run([sys.executable, str(BENCH / "make_corpus.py"), str(n), str(root)],
                       check=True)
    found = len(list((root / "content").glob("*/*.yaml")))
    if found != n:
        raise SystemExit(f"{root} holds {found} records, not {n}: delete it and run again")
    platform, slug, text = make_corpus.record(0, n)
    first = root / "content" / platform / f"{slug}.yaml"
    if not first.is_file() or first.read_text() != text:
        raise SystemExit(f"{root} was written by another version of make_corpus.py: delete it"
                         " (or move it aside) and run again")
    return root


def corpus(n: int) -> Path:
    """The corpus with a fresh copy of the repository's templates beside it."""
    root = ensure_corpus(n)
    shutil.rmtree(root / "templates", ignore_errors=True)
    shutil.copytree(REPO / "templates", root / "templates")
    return root


TRASH = OUT / "trash"
"""Where the bench moves old output trees. It is never emptied by a bench: deleting it is
what `discard` avoids, and a bench run within six minutes after would pay for it. Delete it
when no benchmark follows."""


def discard(*paths: Path) -> None:
    """Move trees out of the way without deleting them. This machine's ext4 runs without a
    journal, and ext4 then avoids reusing an inode freed in the last 60 s, or 360 s while its
    inode table block is unwritten (RECENTCY_MIN and RECENTCY_DIRTY in fs/ext4/ialloc.c):
    every file created meanwhile walks past all of them (`perf` shows `recently_deleted`
    under `openat`). Right after a 10,000-page site was deleted, creating 10,000 files took
    2-10 s of system time instead of 0.3-0.6 s, even after a sync and 70 s of waiting. A
    fresh checkout never pays that; a bench that deletes the last run's site would. (Nor
    should anything else delete large trees in the six minutes before a benchmark.)"""
    TRASH.mkdir(parents=True, exist_ok=True)
    for path in paths:
        if path.exists():
            path.rename(TRASH / f"{path.name}-{time.time_ns()}")


def warm(*paths: Path) -> None:
    """Read every file under `paths` once, so that the timed run finds them in memory.

    This VM pages out file pages that nothing touched for about a minute (a DAMON `pageout`
    scheme for unmapped pages, minimum age 12 aggregation intervals of 5 s: see
    /sys/kernel/mm/damon/admin/kdamonds/0/contexts/0/schemes/0). A corpus last read a few
    minutes earlier was read from disk again: 1.7 s for the 10,000 records' 49 MB, against
    0.2 s from memory, and about 8 s at 50,000. A maintainer's files and a CI checkout were
    just written: in memory. Hugo's inputs are warmed the same way (hugo_compare.py)."""
    for path in paths:
        files = [path] if path.is_file() else (p for p in path.rglob("*") if p.is_file())
        for file in files:
            with open(file, "rb") as f:
                while f.read(1 << 20):
                    pass


def warm_fixdex(root: Path) -> None:
    """fixdex's inputs (records, templates, the cache a rebuild reads) and the Python modules
    a build imports: the VM pages those out too (see `warm`)."""
    warm(*(p for p in (root / "content", root / "templates", root / ".fixdex-cache")
           if p.exists()))
    subprocess.run([sys.executable, "-c", "import generator.cli, generator.build"], cwd=root,
                   env={**os.environ, "PYTHONPATH": str(REPO)}, check=True)


def settle(root: Path) -> None:
    """Wait for fixdex's background deletes of old output trees (a build started meanwhile
    would be measured against thousands of concurrent removals), flush the disk, and bring
    the build's inputs into memory (see `warm`)."""
    while any(p.name.startswith(".") and ".trash-" in p.name for p in root.iterdir()):
        time.sleep(0.2)
    os.sync()
    time.sleep(1)
    warm_fixdex(root)


EDIT_DATE = "2026-11-20"
"""The `updated` date the one-record edit gives its record: later than every corpus date."""


def measure(n: int) -> dict[str, tuple[float, int]]:
    """One round of every case but the last (see `measure_no_cache`)."""
    root = corpus(n)
    settle(root)
    # The spare tree the last round's updates left goes too: a fresh checkout has none, and
    # a cold build would delete it (and pay for that, see `discard`).
    discard(root / "site", root / ".site.spare", root / ".fixdex-cache")
    settle(root)
    results = {"cold build": run_build(root)[:2]}
    settle(root)
    results["no-op rebuild"] = run_build(root)[:2]
    record = sorted((root / "content").glob("*/*.yaml"))[n // 2]
    text = record.read_text()
    # An edit as a maintainer makes it: new text and a new `updated` date, which the sitemap,
    # the feed and every listing that shows the record must take up as well.
    edited = re.sub(r'^quick_fix: "', 'quick_fix: "Changed. ', text, count=1, flags=re.M)
    record.write_text(re.sub(r"^updated: .*$", f"updated: {EDIT_DATE}", edited, count=1,
                             flags=re.M))
    settle(root)
    results["one record changed"] = run_build(root)[:2]
    record.write_text(text)  # the record changes back: an update after an update
    settle(root)
    results["one record changed again"] = run_build(root)[:2]
    base = root / "templates" / "base.html"
    base.write_text(base.read_text().replace("</footer>", "<p>bench</p></footer>"))
    settle(root)
    results["one template changed"] = run_build(root)[:2]
    return results


NO_CACHE = "cold build, --no-cache, old site present"


def measure_no_cache(n: int) -> tuple[float, int]:
    """A build that ignores the cache and replaces the site a previous build left. It deletes
    the old site as it finishes, which every build after it pays for (see `discard`): these
    run after every other case."""
    root = corpus(n)
    settle(root)
    if not (root / "site").is_dir():
        run_build(root)
        settle(root)
    return run_build(root, "--no-cache")[:2]


def print_growth(medians: dict[int, dict[str, float]]) -> None:
    """How each case's median time grew from one size to the next, beside how the record
    count grew: the issue asks 50,000 records to cost no more than about 5x 10,000."""
    sizes = sorted(medians)
    for small, large in itertools.pairwise(sizes):
        print(f"{small} -> {large} records ({large / small:g}x):")
        for case, seconds in medians[large].items():
            before = medians[small][case]
            print(f"{'':>8}  {case:<42} {seconds / before:>7.1f}x")


BYTES_PER_RECORD_ROUND = 40_000
"""About what one round leaves in `TRASH` per record: the site, the spare a template change
leaves (new files for every page), the cache (at 50,000 records: 0.7 + 0.7 + 0.34 GB)."""


def check_disk(sizes: list[int], runs: int) -> None:
    """Stop before a run that would fill the disk: the trash is never emptied by a bench, and
    a build that runs out of space fails (as a 50,000-record round did on 2026-11-23)."""
    OUT.mkdir(parents=True, exist_ok=True)
    need = sum(sizes) * runs * BYTES_PER_RECORD_ROUND + 2**30
    free = shutil.disk_usage(OUT).free
    if free < need:
        raise SystemExit(f"this bench needs about {need / 2**30:.1f} GB free beside {OUT}, and"
                         f" {free / 2**30:.1f} GB are: delete {TRASH} (old output trees) first,"
                         " then wait six minutes (see `discard`)")


def main(sizes: list[int], runs: int) -> None:
    check_disk(sizes, runs)
    compile_fixdex()
    print(f"fixdex benchmark, {os.cpu_count()} cores, Python {sys.version.split()[0]},"
          f" median of {runs} run{'s' if runs > 1 else ''}")
    print(f"{'records':>8}  {'case':<42} {'seconds':>8} {'peak MB':>8}  (runs)")
    # The sizes take turns, round by round: this machine's speed drifts by 20-30% over
    # minutes, and a drift must not land on one size only (the growth from one size to the
    # next is a target too). The `--no-cache` builds, which delete old sites, come last.
    rounds: dict[int, list[dict[str, tuple[float, int]]]] = {n: [] for n in sizes}
    for _ in range(runs):
        for n in sizes:
            rounds[n].append(measure(n))
            print(f"  ({n} records, round {len(rounds[n])} of {runs}: cold build"
                  f" {rounds[n][-1]['cold build'][0]:.2f} s)", file=sys.stderr, flush=True)
    for i in range(runs):
        for n in sizes:
            rounds[n][i][NO_CACHE] = measure_no_cache(n)
    medians: dict[int, dict[str, float]] = {}
    for n in sizes:
        for case in rounds[n][0]:
            times = [r[case][0] for r in rounds[n]]
            seconds = medians.setdefault(n, {})[case] = statistics.median(times)
            peak = statistics.median(r[case][1] for r in rounds[n])
            runs_text = " / ".join(f"{t:.2f}" for t in times)
            print(f"{n:>8}  {case:<42} {seconds:>8.2f} {peak / 2**20:>8.0f}  ({runs_text})",
                  flush=True)
    print_growth(medians)
    print(f"old output trees are in {TRASH.relative_to(REPO)}: delete it when no benchmark"
          " follows (see `discard`)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1000, 10000, 50000])
    parser.add_argument("--runs", type=int, default=1,
                        help="run every case this many times and report the medians")
    options = parser.parse_args()
    main(options.sizes, options.runs)
