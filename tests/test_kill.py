"""Nothing lost: a build killed at any moment, run twice at once, or failing half-way leaves
the published site whole.

A corpus of 1,500 records (bench/make_corpus.py) is built with the real CLI. Builds are then
killed with SIGKILL (the whole process group, workers included) at moments from 50 ms in to
just after the final swap. Every time, site/ must be exactly the previous site or exactly the
new one - never a mix, never missing files - and the next build must produce what a clean
build produces. Each kill builds the other of two versions of the site, so every attempt has
an old site to lose.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import REPO, TEMPLATES

RECORDS = 1500
KILL_DELAYS = (0.05, 0.2, 0.5, 1.0, 2.0)
"""Seconds after the start; more are added just before, at and after the measured build time."""
Tree = dict[str, str]


def _tree(root: Path) -> Tree:
    """Every file below `root` with the digest of its bytes (the whole folder's identity)."""
    return {p.relative_to(root).as_posix(): hashlib.blake2b(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _start(project: Path, *args: str) -> subprocess.Popen[bytes]:
    """`fixdex build` in its own process group, so a kill reaches its workers too."""
    log = (project / f"build-{time.monotonic_ns()}.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "generator", "build", *args], cwd=project,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _kill(proc: subprocess.Popen[bytes]) -> bool:
    """SIGKILL the build's process group; True if it was still running."""
    running = proc.poll() is None
    with contextlib.suppress(ProcessLookupError):  # the group may have ended already
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    return running


def _run(project: Path, *args: str) -> int:
    proc = _start(project, *args)
    return proc.wait(timeout=600)


@dataclass
class Corpus:
    """A project with two versions of its inputs and the tree a clean build makes of each."""

    root: Path
    versions: tuple[dict[str, bytes], dict[str, bytes]]
    trees: tuple[Tree, Tree]
    seconds: float

    def use(self, version: int) -> None:
        for rel, data in self.versions[version].items():
            (self.root / rel).write_bytes(data)

    @property
    def site(self) -> Path:
        return self.root / "site"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    root = tmp_path_factory.mktemp("kill")
    subprocess.run([sys.executable, str(REPO / "bench" / "make_corpus.py"), str(RECORDS),
                    str(root)], check=True)
    shutil.copytree(TEMPLATES, root / "templates")
    record = sorted((root / "content").rglob("*/*.yaml"))[7].relative_to(root).as_posix()
    base = "templates/base.html"
    old = {rel: (root / rel).read_bytes() for rel in (record, base)}
    new = {record: old[record].replace(b"title: \"", b"title: \"Renamed ", 1),
           base: old[base].replace(b"</footer>", b"<!-- version 2 -->\n</footer>", 1)}
    assert new[record] != old[record] and new[base] != old[base]
    corpus = Corpus(root, (old, new), ({}, {}), 0.0)
    trees = []
    for version in (1, 0):
        corpus.use(version)
        start = time.perf_counter()
        assert _run(root, "--no-cache", "--out", f"clean-{version}") == 0
        corpus.seconds = time.perf_counter() - start
        trees.append(_tree(root / f"clean-{version}"))
    corpus.trees = (trees[1], trees[0])
    assert corpus.trees[0] != corpus.trees[1]
    assert len(corpus.trees[0]) > RECORDS
    assert _run(root, "--no-cache") == 0  # site/ holds version 0
    assert _tree(corpus.site) == corpus.trees[0]
    return corpus


def _current(corpus: Corpus) -> int:
    """Which version site/ holds; fails when it is neither (a mix, or files missing)."""
    tree = _tree(corpus.site)
    for version in (0, 1):
        if tree == corpus.trees[version]:
            return version
    missing = set(corpus.trees[0]) - set(tree)
    mixed = sum(tree.get(p) == corpus.trees[0].get(p) for p in tree)
    pytest.fail(f"site/ is neither version: {len(tree)} files, {len(missing)} missing,"
                f" {mixed} of version 0")


def _near_the_end(corpus: Corpus) -> Iterator[float]:
    """Delays that land around the final swap of a build of the measured length."""
    for fraction in (0.93, 1.0, 1.04):
        yield corpus.seconds * fraction


SWAP = "the moment site/ is replaced"
JOURNAL = "while an in-place update is under way"


@dataclass(frozen=True)
class Kill:
    when: float | str
    before: int
    after: int
    running: bool
    """The build was still running when it was killed."""
    caught: bool
    """The moment SWAP or JOURNAL names was seen (always true for a delay)."""


def _kill_at(corpus: Corpus, when: float | str, *args: str) -> Kill:
    """Build the other version and kill it `when` (seconds after the start, SWAP or JOURNAL);
    site/ must then hold one whole version."""
    before = _current(corpus)
    corpus.use(1 - before)
    marker = corpus.site / ".fixdex-output"
    journal = corpus.root / ".site.journal"
    inode = marker.stat().st_ino
    proc = _start(corpus.root, *args)
    caught = not isinstance(when, str)
    if isinstance(when, str):
        deadline = time.monotonic() + corpus.seconds * 5 + 30
        while not caught and time.monotonic() < deadline and proc.poll() is None:
            if when == JOURNAL and journal.exists():
                caught = True
                time.sleep(0.02)
                break
            try:
                caught = when == SWAP and marker.stat().st_ino != inode
            except FileNotFoundError:
                caught = True  # between the two renames of the fallback swap
            time.sleep(0.0005)
    else:
        time.sleep(when)
    running = _kill(proc)
    return Kill(when, before, _current(corpus), running, caught)


def test_killed_builds_leave_the_old_site_or_the_new_one_whole(corpus: Corpus) -> None:
    kills = [_kill_at(corpus, when, "--no-cache")
             for when in (*KILL_DELAYS, *_near_the_end(corpus), SWAP)]
    killed_mid_build = [k for k in kills if k.running and k.before == k.after]
    # The fixed delays well inside the measured build must each kill it before its swap
    # (a faster build moves the later ones to its end, which the other delays cover).
    inside = [d for d in KILL_DELAYS if d < 0.7 * corpus.seconds]
    assert len(inside) >= 3, f"a clean build took only {corpus.seconds:.2f} s"
    assert len(killed_mid_build) >= len(inside), kills
    assert kills[-1].caught and kills[-1].after != kills[-1].before, kills

    # The next build, not killed, cleans up after all of them and matches a clean build.
    version = 1 - _current(corpus)
    corpus.use(version)
    assert _run(corpus.root, "--no-cache") == 0
    assert _tree(corpus.site) == corpus.trees[version]
    leftovers = {p.name for p in corpus.root.iterdir() if p.name.startswith(".site.")}
    assert leftovers <= {".site.lock"} | {n for n in leftovers if ".trash-" in n}


def test_killed_cached_builds_leave_a_whole_site_and_the_next_build_repairs_it(
        corpus: Corpus) -> None:
    """The default build (with its cache) too: killed at any moment, site/ is one version or
    the other, and the next build matches a clean build."""
    version = _current(corpus)
    corpus.use(version)
    assert _run(corpus.root) == 0  # fills the cache and its manifest of site/
    assert _current(corpus) == version
    # An update of every page (the template differs) timed whole, then killed half-way: a
    # fixed delay outlived a fast machine's update (CI once saw it end before 1.0 s).
    corpus.use(1 - version)
    start = time.perf_counter()
    assert _run(corpus.root) == 0
    update = time.perf_counter() - start
    assert _current(corpus) == 1 - version
    kills = [_kill_at(corpus, when) for when in (0.5 * update, JOURNAL, JOURNAL)]
    assert kills[0].running and kills[0].before == kills[0].after, (update, kills)
    during_update = [k for k in kills if k.when == JOURNAL and k.caught and k.running]
    assert during_update, f"no kill landed during an in-place update: {kills}"
    version = 1 - _current(corpus)
    corpus.use(version)
    assert _run(corpus.root) == 0
    assert _tree(corpus.site) == corpus.trees[version]


def test_two_builds_at_once_both_succeed_and_the_site_is_whole(corpus: Corpus) -> None:
    version = 1 - _current(corpus)
    corpus.use(version)
    procs = [_start(corpus.root, "--no-cache"), _start(corpus.root, "--no-cache")]
    while any(p.poll() is None for p in procs):  # site/ is there all along
        assert (corpus.site / "index.html").is_file()
        time.sleep(0.05)
    assert [p.wait() for p in procs] == [0, 0]
    assert _tree(corpus.site) == corpus.trees[version]
    # Cached builds (the default) share the lock with cold ones.
    corpus.use(1 - version)
    procs = [_start(corpus.root), _start(corpus.root, "--no-cache"), _start(corpus.root)]
    assert [p.wait(timeout=600) for p in procs] == [0, 0, 0]  # mostly "nothing changed"
    assert _tree(corpus.site) == corpus.trees[1 - version]


def test_a_failed_build_leaves_the_site_byte_identical(corpus: Corpus) -> None:
    version = _current(corpus)
    before = _tree(corpus.site)
    corpus.use(1 - version)
    broken = corpus.root / "content" / "platform-alpha" / "broken.yaml"
    broken.write_text("title: [unclosed\n", encoding="utf-8")
    try:
        assert _run(corpus.root, "--no-cache") == 1
    finally:
        broken.unlink()
    assert _tree(corpus.site) == before


def test_a_build_failing_half_way_through_writing_leaves_the_site_byte_identical(
        corpus: Corpus) -> None:
    """A template error on one page in the middle of the corpus: pages before it are already
    written to the staging folder, and must never reach site/."""
    version = _current(corpus)
    before = _tree(corpus.site)
    corpus.use(1 - version)
    error_html = corpus.root / "templates" / "error.html"
    original = error_html.read_bytes()
    victim = sorted((corpus.root / "content").rglob("*/*.yaml"))[RECORDS // 2].stem
    error_html.write_bytes(original.replace(
        b"{% block main %}",
        b"{% block main %}{% if '/" + victim.encode()
        + b"/' in page.canonical %}{{ no_such_variable.boom }}{% endif %}", 1))
    try:
        for args in (("--no-cache",), ()):
            proc = _start(corpus.root, *args)
            assert proc.wait(timeout=600) == 1
            assert _tree(corpus.site) == before
            assert not (corpus.root / ".site.building").exists()
    finally:
        error_html.write_bytes(original)
    logs = sorted(corpus.root.glob("build-*.log"), key=lambda p: p.stat().st_mtime)
    assert b"no_such_variable" in logs[-1].read_bytes()
    assert b"Traceback" not in logs[-1].read_bytes()
