"""The redirect guard: a renamed record must leave an alias behind."""

from __future__ import annotations

import shutil
from pathlib import Path

from helpers import fixdex, make_project

OLD = "content/example-api/rate-limited.yaml"
NEW = "content/example-api/too-many-requests.yaml"


def _rename(project: Path, alias: bool) -> None:
    shutil.move(project / OLD, project / NEW)
    record = project / NEW
    if alias:
        record.write_text(record.read_text() + "aliases: [/example-api/rate-limited/]\n")
    other = project / "content/openrouter/expired-key-user-not-found.yaml"
    other.write_text(other.read_text().replace("related: [rate-limited]",
                                               "related: [too-many-requests]"))


def test_rename_without_alias_fails_with_the_lost_url(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    assert fixdex("build", cwd=project).code == 0
    shutil.copy(project / "site/sitemap.xml", project / "previous.xml")
    _rename(project, alias=False)
    run = fixdex("check", "--previous-sitemap", "previous.xml", cwd=project)
    assert run.code == 1
    assert run.err.splitlines()[0] == (
        "previous.xml:7:11: https://errors.example.com/example-api/rate-limited/ was published"
        ' and would disappear; add "/example-api/rate-limited/" to the aliases of the record'
        " that replaces it")


def test_rename_with_alias_passes_and_redirects(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    assert fixdex("build", cwd=project).code == 0
    shutil.copy(project / "site/sitemap.xml", project / "previous.xml")
    _rename(project, alias=True)
    run = fixdex("check", "--previous-sitemap", "previous.xml", cwd=project)
    assert run.code == 0, run.err
    assert fixdex("build", cwd=project).code == 0
    redirect = (project / "site/example-api/rate-limited/index.html").read_text()
    assert 'content="0; url=/example-api/too-many-requests/"' in redirect


def test_unreadable_previous_sitemap(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    (project / "bad.xml").write_text("<urlset><url>")
    run = fixdex("check", "--previous-sitemap", "bad.xml", cwd=project)
    assert run.code == 1 and run.err.startswith("bad.xml:1:")
    assert fixdex("check", "--previous-sitemap", "missing.xml", cwd=project).code == 2
