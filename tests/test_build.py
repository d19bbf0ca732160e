"""The whole pipeline on real files: deterministic output, atomic replacement, clean failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import fixdex, make_project, tree

RECORD = "content/example-api/rate-limited.yaml"


def test_same_input_gives_byte_identical_output(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    assert fixdex("build", cwd=project).code == 0
    first = tree(project / "site")
    assert fixdex("build", "--out", "other", cwd=project).code == 0
    assert tree(project / "other") == first
    assert fixdex("build", cwd=project).code == 0
    assert tree(project / "site") == first


def test_failed_build_leaves_previous_site_byte_identical(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    assert fixdex("build", cwd=project).code == 0
    before = tree(project / "site")
    record = project / RECORD
    record.write_text(record.read_text().replace("category: Rate limits", "category: Nope"))
    run = fixdex("build", cwd=project)
    assert run.code == 1
    assert "category: unknown category 'Nope'" in run.err
    assert "site was not changed" in run.err
    assert tree(project / "site") == before
    assert sorted(p.name for p in project.iterdir()) == [
        ".fixdex-cache", ".site.lock", "content", "site", "templates"]


def test_template_error_is_located_and_site_untouched(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    assert fixdex("build", cwd=project).code == 0
    before = tree(project / "site")
    hub = project / "templates" / "hub.html"
    hub.write_text(hub.read_text().replace("{{ listing.heading }}", "{{ listing.heading }"))
    run = fixdex("build", cwd=project)
    assert run.code == 1
    assert "templates/hub.html:" in run.err and "template syntax error" in run.err
    assert "Traceback" not in run.err
    assert tree(project / "site") == before


def test_deleted_record_page_disappears(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    assert fixdex("build", cwd=project).code == 0
    assert (project / "site/example-api/rate-limited/index.html").is_file()
    (project / RECORD).unlink()
    other = project / "content/openrouter/expired-key-user-not-found.yaml"
    other.write_text(other.read_text().replace("related: [rate-limited]", "related: []"))
    assert fixdex("build", cwd=project).code == 0
    assert not (project / "site/example-api").exists()
    assert "rate-limited" not in (project / "site/sitemap.xml").read_text()


def test_check_writes_nothing(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    run = fixdex("check", cwd=project)
    assert run.code == 0, run.err
    assert run.err.strip() == "ok: 2 records, no problems"
    assert sorted(p.name for p in project.iterdir()) == ["content", "templates"]


def test_refuses_an_output_folder_it_did_not_write(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    (project / "notes").mkdir()
    (project / "notes" / "keep.txt").write_text("mine")
    run = fixdex("build", "--out", "notes", cwd=project)
    assert run.code == 2
    assert "was not written by fixdex" in run.err
    assert (project / "notes" / "keep.txt").read_text() == "mine"
    run = fixdex("build", "--out", ".", cwd=project)
    assert run.code == 2
    run = fixdex("build", "--out", "content/..", cwd=project)
    assert run.code == 2 and (project / "content").is_dir()


def test_whole_set_checks_on_two_cores_report_what_one_process_reports(tmp_path: Path) -> None:
    """Above PARALLEL_MIN records, worker processes read and note the records and the main
    process checks the whole set: the report must be one process's, line for line."""
    import re
    import subprocess
    import sys

    from helpers import REPO, TEMPLATES

    from generator.build import PARALLEL_MIN

    subprocess.run([sys.executable, str(REPO / "bench/make_corpus.py"), str(PARALLEL_MIN + 50),
                    str(tmp_path)], check=True)
    (tmp_path / "templates").symlink_to(TEMPLATES)
    records = sorted((tmp_path / "content").glob("*/*.yaml"))
    for record in records[:3]:  # one sentence in three records: a warning on each
        record.write_text(re.sub(r'^quick_fix: "', 'quick_fix: "Clear the local cache, then send'
                                 ' the request again. ', record.read_text(), count=1,
                                 flags=re.M))
    twin = records[4].read_text()
    signature = re.search(r'^signature: "(.*)"$', twin, flags=re.M).group(1)
    records[5].write_text(re.sub(r'^signature: ".*"$', f'signature: "{signature.upper()}"',
                                 records[5].read_text(), count=1, flags=re.M))
    one = fixdex("check", "--jobs", "1", cwd=tmp_path)
    two = fixdex("check", "--jobs", "2", cwd=tmp_path)
    assert one.code == two.code == 1
    assert two.err == one.err
    assert two.err.count("the same sentence appears in 3 records") == 3
    assert f"duplicates signature of {records[4].relative_to(tmp_path)}" in two.err


def test_a_forked_helper_answers_from_another_process_and_raises_what_it_raised() -> None:
    import os

    from generator.build import _Forked
    from generator.errors import ContentErrors, Problem

    assert _Forked(os.getpid).result() != os.getpid()
    assert _Forked(os.getpid, fork=False).result() == os.getpid()
    problem = Problem("content/a.yaml", 3, 5, "title", "too short")

    def fail() -> None:
        raise ContentErrors([problem])

    for fork in (True, False):
        with pytest.raises(ContentErrors) as raised:
            _Forked(fail, fork=fork).result()
        assert raised.value.problems == [problem]


def test_the_set_is_checked_in_a_forked_child_and_finds_what_one_process_finds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With more than one job, a build checks the whole set in forked children while it
    links (a cold build in one, a rebuild in one per check): its problems must be those of the
    same build in one process, for a rebuild (most records from the cache) and a cold build
    (every record read) alike."""
    import re
    import shutil
    import subprocess
    import sys

    from helpers import REPO, TEMPLATES

    from generator import build
    from generator.build import PARALLEL_MIN
    from generator.project import Project

    one = tmp_path / "one"
    subprocess.run([sys.executable, str(REPO / "bench/make_corpus.py"), str(PARALLEL_MIN + 50),
                    str(one)], check=True)
    (one / "templates").symlink_to(TEMPLATES)
    forks: list[tuple[Path, str]] = []  # where, and which, whole-set checks were forked
    real = build._Forked.__init__
    checks = (build._run_all, build.check_entries, build._weak_content)
    monkeypatch.setattr(build._Forked, "__init__", lambda self, func, fork=True: (
        forks.append((Path.cwd(), func.func.__name__)) if func.func in checks else None,
        real(self, func, fork))[-1])

    def rebuild(root: Path, jobs: int) -> build.BuildResult:
        monkeypatch.chdir(root)  # files are shown, and cached, by their path from here
        return build.build(Project(content=Path("content"), templates=Path("templates"),
                                   out=Path("site"), cache=Path(".fixdex-cache")), jobs=jobs)

    assert rebuild(one, 2).ok and forks == [(one, "_run_all")]  # cold: both in one child
    two = tmp_path / "two"
    shutil.copytree(one, two, symlinks=True)
    for root in (one, two):
        records = sorted((root / "content").glob("*/*.yaml"))
        for record in records[:3]:  # one sentence in three records: a warning on each
            record.write_text(re.sub(r'^quick_fix: "', 'quick_fix: "Clear the local cache, then'
                                     ' send the request again. ', record.read_text(), count=1,
                                     flags=re.M))
        signature = re.search(r'^signature: "(.*)"$', records[4].read_text(), flags=re.M)
        assert signature is not None
        records[5].write_text(re.sub(r'^signature: ".*"$', f'signature: "{signature[1].upper()}"',
                                     records[5].read_text(), count=1, flags=re.M))
    forks.clear()
    in_one, in_two = rebuild(one, 1), rebuild(two, 2)
    assert forks == [(two, "check_entries"), (two, "_weak_content")]  # not with one job
    assert not in_two.ok and in_two.problems == in_one.problems
    messages = [p.message for p in in_two.problems]
    assert sum("the same sentence appears in 3 records" in m for m in messages) == 3
    assert any("duplicates signature of" in m for m in messages)
    three = tmp_path / "three"  # the same records, cold: no cache, no site
    shutil.copytree(two / "content", three / "content")
    (three / "templates").symlink_to(TEMPLATES)
    forks.clear()
    cold = rebuild(three, 2)
    assert forks == [(three, "_run_all")] and cold.problems == in_one.problems


def test_a_cold_build_renders_while_the_set_is_checked_and_publishes_only_if_it_passes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold build on two cores starts rendering before the checks of the whole set (run in
    a child) have answered. When they find an error the build fails with their problems, as
    one process would report them, and the site it had published stays as it was: no file
    changed, no staging folder left behind. When they find only warnings, those are reported
    and the site is published."""
    import re
    import subprocess
    import sys

    from helpers import REPO, TEMPLATES

    from generator import build
    from generator.build import PARALLEL_MIN
    from generator.project import Project

    subprocess.run([sys.executable, str(REPO / "bench/make_corpus.py"), str(PARALLEL_MIN + 50),
                    str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    project = Project(content=Path("content"), templates=TEMPLATES, out=Path("site"))
    pending_at_render: list[bool] = []
    real = build._render_all

    def render_all(run: build._Render, jobs: int, meanwhile: object = None,
                   stop: object = None) -> dict[str, bytes]:
        pending_at_render.append(stop is not None)
        return real(run, jobs, meanwhile, stop)  # type: ignore[arg-type]

    monkeypatch.setattr(build, "_render_all", render_all)
    records = sorted(Path("content").glob("*/*.yaml"))
    for record in records[:3]:  # one sentence in three records: a warning on each
        record.write_text(re.sub(r'^quick_fix: "', 'quick_fix: "Clear the local cache, then send'
                                 ' the request again. ', record.read_text(), count=1, flags=re.M))
    published = build.build(project, jobs=2)
    assert published.ok and pending_at_render == [True]
    assert sum("the same sentence appears in 3 records" in p.message
               for p in published.problems) == 3
    assert published.problems == build.build(project, write=False, jobs=1).problems
    before = tree(Path("site"))
    assert len(before) == published.files

    signature = re.search(r'^signature: "(.*)"$', records[4].read_text(), flags=re.M)
    assert signature is not None
    records[5].write_text(re.sub(r'^signature: ".*"$', f'signature: "{signature[1].upper()}"',
                                 records[5].read_text(), count=1, flags=re.M))
    pending_at_render.clear()
    failed = build.build(project, jobs=2)
    assert pending_at_render == [True]  # it did start rendering
    assert not failed.ok and not failed.pending
    assert failed.problems == build.build(project, write=False, jobs=1).problems
    assert any(f"duplicates signature of {records[4]}" in p.message for p in failed.problems)
    after = tree(Path("site"))
    assert not {rel for rel in before.keys() | after.keys() if before.get(rel) != after.get(rel)}
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [
        ".site.lock"]
