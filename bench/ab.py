"""Compare two versions of fixdex by interleaved cold builds of the same corpus.

    python bench/ab.py A B [--n 10000] [--pairs 8]

A and B are git revisions of this repository (`main`, `HEAD~1`, a commit) or folders that
hold a `generator/` package and a `templates/` folder (a worktree with uncommitted changes).
Each pair runs `fixdex build --no-cache` of bench/out/corpus-N once with each version, in
alternating order, as separate cold processes; the CPU time of the whole process tree (from
`wait4`, so the workers count) and the wall time of each run are printed, then the medians and
in how many pairs B used less CPU than A.

Why pairs: on this VM two runs of identical code differ by up to 1.8 s of CPU (of about 10 s)
at 10,000 records, and the machine's speed drifts over minutes. A change of a few percent shows
only as a difference within pairs, over eight or more of them. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

from hugo_compare import Run, settle, timed
from run import OUT, REPO, ensure_corpus, warm, warm_fixdex


def code_tree(spec: str) -> Path:
    """A folder holding the version's `generator/` and `templates/`: the folder itself, or the
    revision's files exported under bench/out/ab/ (kept: exporting is cheap, but rerunning a
    comparison should not need the revision to still exist)."""
    folder = Path(spec)
    if (folder / "generator").is_dir():
        return folder.resolve()
    try:
        sha = subprocess.run(["git", "rev-parse", "--verify", f"{spec}^{{commit}}"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout.strip()
    except subprocess.CalledProcessError:
        raise SystemExit(f"{spec}: neither a folder with generator/ nor a git revision") from None
    tree = OUT / "ab" / sha[:12]
    if not (tree / "generator").is_dir():
        archive = subprocess.run(["git", "archive", sha, "generator", "templates"], cwd=REPO,
                                 capture_output=True, check=True).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("a", help="the base version: a git revision or a folder")
    parser.add_argument("b", help="the version to compare with it")
    parser.add_argument("--n", type=int, default=10000, help="records (default 10000)")
    parser.add_argument("--pairs", type=int, default=8, help="pairs of runs (default 8)")
    args = parser.parse_args()
    trees = {"A": code_tree(args.a), "B": code_tree(args.b)}
    for tree in trees.values():
        compileall.compile_dir(tree / "generator", quiet=1)  # as run.compile_fixdex does
    root = ensure_corpus(args.n)
    outs = {name: OUT / f"ab-site-{name}" for name in trees}
    runs: dict[str, list[Run]] = {"A": [], "B": []}
    print(f"A = {args.a} ({trees['A']}), B = {args.b} ({trees['B']}), {args.n} records, "
          f"cold builds with --no-cache, {args.pairs} pairs")
    print(f"{'pair':>4} {'first':>5}  {'A cpu':>7} {'B cpu':>7} {'B-A':>6}  "
          f"{'A wall':>7} {'B wall':>7} {'B-A':>6}")
    for pair in range(args.pairs):
        order = ("A", "B") if pair % 2 == 0 else ("B", "A")
        for name in order:
            settle(*outs.values())
            warm_fixdex(root)
            warm(trees[name] / "templates")
            cmd = [sys.executable, "-m", "generator", "build", "--no-cache", "--out",
                   str(outs[name]), "--templates", str(trees[name] / "templates")]
            runs[name].append(timed(cmd, root, {**os.environ, "PYTHONPATH": str(trees[name])}))
        a, b = runs["A"][-1], runs["B"][-1]
        print(f"{pair + 1:>4} {order[0]:>5}  {a.cpu:>7.2f} {b.cpu:>7.2f} {b.cpu - a.cpu:>+6.2f}"
              f"  {a.seconds:>7.2f} {b.seconds:>7.2f} {b.seconds - a.seconds:>+6.2f}",
              flush=True)
    settle(*outs.values())
    for out in outs.values():
        (out.parent / f".{out.name}.lock").unlink(missing_ok=True)  # fixdex's, beside it
    cpu = {name: statistics.median(r.cpu for r in rs) for name, rs in runs.items()}
    wall = {name: statistics.median(r.seconds for r in rs) for name, rs in runs.items()}
    lower = sum(b.cpu < a.cpu for a, b in zip(runs["A"], runs["B"], strict=True))
    diffs = [b.cpu - a.cpu for a, b in zip(runs["A"], runs["B"], strict=True)]
    print(f"medians: CPU A {cpu['A']:.2f} s, B {cpu['B']:.2f} s; wall A {wall['A']:.2f} s, "
          f"B {wall['B']:.2f} s")
    print(f"B used less CPU than A in {lower} of {args.pairs} pairs; median difference "
          f"{statistics.median(diffs):+.2f} s")


if __name__ == "__main__":
    main()
