"""Incremental builds: the same bytes as a cold build, after every kind of change."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import REPO, TEMPLATES, fixdex, tree

from generator.cache import STAMP_SETTLE_NS
from generator.project import Project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    subprocess.run([sys.executable, str(REPO / "bench/make_corpus.py"), "60", str(tmp_path)],
                   check=True)
    shutil.copytree(TEMPLATES, tmp_path / "templates")
    run = fixdex("build", cwd=tmp_path)
    assert run.code == 0, run.err
    return tmp_path


def _records(project: Path) -> list[Path]:
    return sorted((project / "content").glob("*/*.yaml"))


def _backdate(project: Path, seconds: int = 3600) -> None:
    """Make every record look written long ago, and wait until its change time (which only
    the clock moves) is old enough too: only then does a build trust its stamp."""
    then = time.time() - seconds
    for path in _records(project):
        os.utime(path, (then, then))
    time.sleep(STAMP_SETTLE_NS / 1e9 + 0.1)


def _assert_same_as_cold(project: Path) -> None:
    run = fixdex("build", "--no-cache", "--out", "cold", cwd=project)
    assert run.code == 0, run.err
    assert tree(project / "site") == tree(project / "cold")
    shutil.rmtree(project / "cold")


def _unrelate(project: Path, slug: str) -> None:
    for path in _records(project):
        text = path.read_text()
        new = re.sub(rf"(, )?\b{re.escape(slug)}\b(, )?", lambda m: ", " if m.group(1) and m.group(2)
                     else "", text)
        if new != text:
            path.write_text(new)


def test_nothing_changed_writes_nothing(project: Path) -> None:
    _backdate(project)
    run = fixdex("build", cwd=project)  # reads what the clock changed, writes nothing
    assert run.code == 0 and "(0 written)" in run.err, run.err
    before = {p: p.stat().st_mtime_ns for p in (project / "site").rglob("*") if p.is_file()}
    run = fixdex("build", cwd=project)
    assert run.code == 0 and "(nothing changed)" in run.err
    after = {p: p.stat().st_mtime_ns for p in (project / "site").rglob("*") if p.is_file()}
    assert before == after


def test_one_changed_record_rewrites_only_its_page_and_listings(project: Path) -> None:
    record = _records(project)[5]
    text = record.read_text()
    record.write_text(re.sub(r'^quick_fix: ".*"$', 'quick_fix: "Restart the client."', text,
                             flags=re.M))
    run = fixdex("build", cwd=project)
    assert run.code == 0, run.err
    written = int(re.search(r"\((\d+) written\)", run.err).group(1))
    assert written == 1, run.err  # only the error page: nothing else shows the quick fix
    _assert_same_as_cold(project)


def test_edits_deletions_renames_additions_and_templates(project: Path) -> None:
    records = _records(project)
    title_edit = records[3]
    title_edit.write_text(title_edit.read_text().replace('title: "', 'title: "Edited ', 1))
    fixdex("build", cwd=project)
    _assert_same_as_cold(project)

    doomed = records[7]
    _unrelate(project, doomed.stem)
    doomed.unlink()
    assert fixdex("build", cwd=project).code == 0
    assert not (project / "site" / doomed.parent.name / doomed.stem).exists()
    _assert_same_as_cold(project)

    moved = records[9]
    _unrelate(project, moved.stem)
    moved.rename(moved.with_name("renamed-record.yaml"))
    assert fixdex("build", cwd=project).code == 0
    _assert_same_as_cold(project)

    shutil.copy(records[11], records[11].with_name("a-copy.yaml"))
    copy = records[11].with_name("a-copy.yaml")
    copy.write_text(re.sub(r"^signature: \"", 'signature: "copied ', copy.read_text(), flags=re.M)
                    .replace("also_seen_as: [\"", "also_seen_as: [\"copied "))
    assert fixdex("build", cwd=project).code == 0
    _assert_same_as_cold(project)

    footer = project / "templates" / "base.html"
    footer.write_text(footer.read_text().replace("</footer>", "<p>Changed.</p>\n</footer>"))
    assert fixdex("build", cwd=project).code == 0
    _assert_same_as_cold(project)
    assert "<p>Changed.</p>" in (project / "site" / "index.html").read_text()


def test_interrupted_update_is_redone_in_full(project: Path) -> None:
    journal = project / ".site.journal"
    journal.write_text("index.html\n")  # what a build killed mid-update leaves behind
    (project / "site" / "index.html").write_text("half-updated")
    record = _records(project)[2]
    record.write_text(record.read_text().replace('title: "', 'title: "Again ', 1))
    run = fixdex("build", cwd=project)
    assert run.code == 0, run.err
    assert not journal.exists()
    _assert_same_as_cold(project)


def test_a_cache_written_by_other_code_is_ignored(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache from another release or a local edit of the generator is never unpickled into
    objects whose classes have changed since: it reads as empty."""
    from generator import cache

    key = b"k" * 16
    records, bodies = {key: b"pickled record"}, {key: b"pickled full record"}
    cache.Cache(tmp_path).save_records(records, bodies, {cache.shard_of(key)})
    assert cache.Cache(tmp_path).records() == records
    assert dict(cache.Cache(tmp_path).bodies({key})) == bodies
    monkeypatch.setattr(cache, "CODE_IDENTITY", cache.CODE_IDENTITY + "-edited")
    assert cache.Cache(tmp_path).records() == {}
    assert dict(cache.Cache(tmp_path).bodies({key})) == {}


def test_rewriting_a_shard_keeps_the_full_records_of_its_other_records(tmp_path: Path) -> None:
    """A build that made one record again rewrites that record's shard with the full records
    of the others it holds (which the build never read) and without those of deleted ones."""
    from generator import cache

    keys = [bytes([16 * i]) + b"k" * 15 for i in range(3)]  # one shard: the same first byte % 16
    assert len({cache.shard_of(k) for k in keys}) == 1
    store = cache.Cache(tmp_path)
    shards = {cache.shard_of(keys[0])}
    store.save_records({k: b"head" for k in keys}, {k: b"old " + k for k in keys}, shards)
    store.save_records({k: b"head" for k in keys[:2]}, {keys[0]: b"new"}, shards)
    assert store.records() == {keys[0]: b"head", keys[1]: b"head"}
    assert dict(store.bodies(set(keys))) == {keys[0]: b"new", keys[1]: b"old " + keys[1]}


def test_a_page_whose_record_was_lost_from_the_cache_reads_its_file_again(project: Path) -> None:
    """An unchanged record comes from the cache without its full record, which is fetched
    only for a page rendered again; if the cache lost it, the record file is read again."""
    _backdate(project)
    assert fixdex("build", cwd=project).code == 0  # stamps every record: not read again next
    lost = list((project / ".fixdex-cache").glob("bodies-*"))
    assert lost
    for shard in lost:
        shard.unlink()
    base = project / "templates" / "base.html"
    base.write_text(base.read_text().replace("</footer>", "<p>Edited.</p></footer>"))
    run = fixdex("build", cwd=project)
    assert run.code == 0, run.err
    assert f"{len(_records(project))} error pages" in run.err
    _assert_same_as_cold(project)
    assert "<p>Edited.</p>" in (project / "site" / "index.html").read_text()


def test_a_site_without_its_manifest_is_rebuilt_whole(project: Path) -> None:
    """The published folder is there but the cache is gone (or from other code): the build
    cannot trust what is on disk, so it writes the site anew and swaps it in."""
    shutil.rmtree(project / ".fixdex-cache")
    record = _records(project)[3]
    record.write_text(record.read_text().replace('quick_fix: "', 'quick_fix: "First, ', 1))
    run = fixdex("build", cwd=project)
    assert run.code == 0, run.err
    written = int(re.search(r"\((\d+) written\)", run.err).group(1))
    assert written == len(tree(project / "site")), run.err
    _assert_same_as_cold(project)
    run = fixdex("build", cwd=project)  # the record changed too recently to skip the build
    assert run.code == 0 and "(0 written)" in run.err, run.err


def test_records_unchanged_since_the_last_build_are_not_read_again(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator import build

    _backdate(project)
    proj = Project(content=project / "content", templates=project / "templates",
                   out=project / "site", cache=project / ".fixdex-cache")
    first = build.gather(proj)  # reads every record once more and stamps them
    reads: list[str] = []
    real = build.read_limited
    monkeypatch.setattr(build, "read_limited", lambda path: reads.append(str(path)) or real(path))
    edited = _records(project)[4]
    edited.write_text(edited.read_text().replace('title: "', 'title: "Stamped ', 1))
    second = build.gather(proj)
    assert reads == [str(edited)]
    assert second.site is not None and first.site is not None
    assert [e.head.title for e in second.site.entries] == [
        "Stamped " + e.head.title if e.display.endswith(edited.name) else e.head.title
        for e in first.site.entries]


def test_an_edit_that_keeps_size_and_time_is_still_seen(project: Path) -> None:
    """Size and modification time can survive an edit (a tool that restores the time, a
    same-length change); the change time and inode cannot, and the build compares them too."""
    _backdate(project)
    assert fixdex("build", cwd=project).code == 0  # stamps the backdated records
    record = _records(project)[6]
    before = record.stat()
    text = record.read_text()
    changed = re.sub(r'^quick_fix: "(.)', lambda m: 'quick_fix: "' + ("X" if m.group(1) != "X"
                     else "Y"), text, count=1, flags=re.M)
    assert changed != text and len(changed) == len(text)
    record.write_text(changed)
    os.utime(record, ns=(before.st_atime_ns, before.st_mtime_ns))
    run = fixdex("build", cwd=project)
    assert run.code == 0 and "(nothing changed)" not in run.err, run.err
    _assert_same_as_cold(project)


def test_compiled_templates_are_kept_and_a_forged_one_is_never_loaded(project: Path) -> None:
    """The templates are compiled once and kept in the cache (signed like every cache file):
    a file changed by anyone else is compiled again, never loaded."""
    compiled = sorted((project / ".fixdex-cache").glob("template-*"))
    assert len(compiled) >= 8  # every page template, and those they extend or import
    for path in compiled:
        path.write_bytes(path.read_bytes()[:-1] + b"!")
    base = project / "templates" / "base.html"
    base.write_text(base.read_text().replace("</footer>", "<p>Forged.</p></footer>"))
    run = fixdex("build", cwd=project)
    assert run.code == 0, run.err
    _assert_same_as_cold(project)
    assert "<p>Forged.</p>" in (project / "site" / "index.html").read_text()
    assert all(p.read_bytes()[-1:] != b"!" for p in compiled)  # compiled and saved again


def test_builds_on_worker_processes_match_a_build_in_one_process(tmp_path: Path) -> None:
    """Above `PARALLEL_MIN` records, worker processes read the records and render and write
    the files, cold and incremental alike: the site must be the same bytes as one process's."""
    from generator.build import PARALLEL_MIN

    records = PARALLEL_MIN + 100
    subprocess.run([sys.executable, str(REPO / "bench/make_corpus.py"), str(records),
                    str(tmp_path)], check=True)
    shutil.copytree(TEMPLATES, tmp_path / "templates")
    run = fixdex("build", "--jobs", "2", cwd=tmp_path)
    assert run.code == 0 and f"built {records} error pages" in run.err, run.err

    def same_as_one_process() -> None:
        one = fixdex("build", "--no-cache", "--jobs", "1", "--out", "one", cwd=tmp_path)
        assert one.code == 0, one.err
        assert tree(tmp_path / "site") == tree(tmp_path / "one")
        shutil.rmtree(tmp_path / "one")

    same_as_one_process()
    edited = _records(tmp_path)[PARALLEL_MIN // 2]
    edited.write_text(edited.read_text().replace('title: "', 'title: "Edited ', 1))
    base = tmp_path / "templates" / "base.html"
    base.write_text(base.read_text().replace("</footer>", "<p>Parallel.</p></footer>"))
    run = fixdex("build", "--jobs", "2", cwd=tmp_path)
    assert run.code == 0, run.err
    written = int(re.search(r"\((\d+) written\)", run.err).group(1))
    assert written > records  # every page: the template changed
    same_as_one_process()
    assert "<p>Parallel.</p>" in (tmp_path / "site" / "index.html").read_text()


def test_listings_are_made_again_only_when_what_they_show_changes(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each listing is keyed by what it shows of each record. The search index holds the
    address, title, signature and the tokens of forms and examples (the slowest listing:
    0.3 s at 10,000 records); the home page, the 404 page and the hubs show a link (address
    and title) grouped by platform or category; the sitemap shows dates. A new fix and date
    make only the sitemap, feeds and the record's page again; a new signature, also the index;
    a new title, also the pages that link to the record. Every time, the site equals a cold build."""
    from generator import build, render

    made: list[str] = []
    for name in ("search_index", "home_page", "not_found_page", "hub_page", "sitemap"):
        real = getattr(render.Renderer, name)
        monkeypatch.setattr(render.Renderer, name,
                            lambda *a, real=real, name=name: made.append(name) or real(*a))
    proj = Project(content=project / "content", templates=project / "templates",
                   out=project / "site", cache=project / ".fixdex-cache")
    record = _records(project)[5]
    text = record.read_text()
    record.write_text(re.sub(r"^updated: .*$", "updated: 2026-11-01", text.replace(
        'quick_fix: "', 'quick_fix: "Restart first. ', 1), count=1, flags=re.M))
    assert build.build(proj).ok
    assert made == ["sitemap"]
    _assert_same_as_cold(project)

    made.clear()
    record.write_text(record.read_text().replace('signature: "', 'signature: "Edited ', 1))
    assert build.build(proj).ok
    assert sorted(made) == ["search_index", "sitemap"]  # (the sitemap is keyed by every field)
    _assert_same_as_cold(project)
    assert '"Edited ' in (project / "site" / "search" / "index.json").read_text()

    made.clear()
    record.write_text(record.read_text().replace('title: "', 'title: "Retitled ', 1))
    assert build.build(proj).ok
    tags = len(re.search(r"^tags: \[(.*)\]$", record.read_text(), flags=re.M).group(1).split(","))
    assert sorted(made) == sorted(["search_index", "home_page", "not_found_page", "sitemap",
                                   *["hub_page"] * (2 + tags)])
    _assert_same_as_cold(project)
    assert "Retitled " in (project / "site" / "index.html").read_text()


def test_the_first_update_after_a_cold_build_swaps_in_a_spare_made_beside_it(
        project: Path) -> None:
    """A cold build starts a hard-link copy of the site it wrote, made in the background under
    the output's lock: the next update levels that copy and swaps it in, instead of cloning
    every page folder while it waits (0.4 s of a one-record rebuild at 10,000 pages)."""
    spare = project / ".site.spare"
    deadline = time.monotonic() + 60
    while not spare.is_dir():
        assert time.monotonic() < deadline, "no spare after a cold build"
        time.sleep(0.05)
    assert tree(spare) == tree(project / "site")
    assert not list(project.glob(".site.spare.trash-*"))  # the copy is renamed when whole
    copied = spare.stat().st_ino
    record = _records(project)[3]
    record.write_text(record.read_text().replace('title: "', 'title: "Spare ', 1))
    run = fixdex("build", cwd=project)
    assert run.code == 0, run.err
    assert (project / "site").stat().st_ino == copied  # the spare, levelled, is the site now
    _assert_same_as_cold(project)
