"""The command line end to end, on the shipped content and on broken copies of it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import REPO, fixdex, soup

COMMANDS = ["build", "check", "schema"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    run = fixdex(command, "--help")
    assert run.code == 0
    assert run.out.startswith(f"usage: fixdex {command}")


def test_usage_errors_exit_2() -> None:
    assert fixdex().code == 2
    assert fixdex("frobnicate").code == 2
    run = fixdex("check", "--format", "xml")
    assert run.code == 2 and "invalid choice" in run.err
    run = fixdex("build", "--content", "no-such-dir")
    assert run.code == 2 and "no content folder at no-such-dir" in run.err


def test_shipped_content_checks_clean_and_builds(tmp_path: Path) -> None:
    run = fixdex("check", "--strict")
    assert run.code == 0, run.err
    out = tmp_path / "site"
    run = fixdex("build", "--out", out)
    assert run.code == 0, run.err
    records = sorted((REPO / "content").glob("*/*.yaml"))
    assert len(records) >= 30
    for record in records:
        page = out / record.parent.name / record.stem / "index.html"
        assert page.is_file(), page
        assert soup(page).h1.get_text().strip()
    platforms = {r.parent.name for r in records}
    assert len(platforms) >= 5
    for platform in platforms:
        assert (out / platform / "index.html").is_file()
    for name in ("index.html", "404.html", "sitemap.xml", "robots.txt", "feed.xml",
                 "api/errors.json"):
        assert (out / name).is_file(), name


def test_broken_copy_of_shipped_content_fails_with_located_errors(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(REPO / "content", content)
    record = sorted(content.glob("openrouter/*.yaml"))[0]
    text = record.read_text()
    record.write_text(text.replace("\nsummary:", "\nsumary:", 1))
    run = fixdex("check", "--content", content)
    assert run.code == 1
    shown = record.relative_to(tmp_path).as_posix()
    line = text.split("\nsummary:")[0].count("\n") + 2
    assert f"{shown}:{line}:1: sumary: unknown field (did you mean 'summary'?)" in run.err
    assert "Traceback" not in run.err


def test_schema_prints_the_committed_schema() -> None:
    run = fixdex("schema")
    assert run.code == 0
    schema = json.loads(run.out)
    assert schema["additionalProperties"] is False
    assert "signature" in schema["required"]
    assert all("description" in p for p in schema["properties"].values())
    committed = json.loads((REPO / "content" / "record.schema.json").read_text())
    assert schema == committed, "run: fixdex schema > content/record.schema.json"


def test_check_formats(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(REPO / "tests/fixtures/valid-site/content", content)
    record = content / "example-api/rate-limited.yaml"
    record.write_text(record.read_text().replace("http_status: 429", "http_status: 999"))
    run = fixdex("check", "--content", content, "--format", "github", cwd=tmp_path)
    assert run.code == 1
    assert run.out.splitlines() == [
        "::error file=content/example-api/rate-limited.yaml,line=7,col=14,title=http_status::"
        "http_status: must be between 100 and 599, found the number 999"
    ]
    run = fixdex("check", "--content", content, "--format", "json", cwd=tmp_path)
    assert run.code == 1
    assert json.loads(run.out) == [{
        "file": "content/example-api/rate-limited.yaml", "line": 7, "col": 14,
        "field": "http_status", "message": "must be between 100 and 599, found the number 999",
        "severity": "error",
    }]


def test_strict_fails_on_warnings(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(REPO / "tests/fixtures/valid-site/content", content)
    record = content / "example-api/rate-limited.yaml"
    record.write_text(record.read_text().replace("    checked: 2026-10-01\n", ""))
    assert fixdex("check", "--content", content, cwd=tmp_path).code == 0
    run = fixdex("check", "--content", content, "--strict", cwd=tmp_path)
    assert run.code == 1
    assert "warning: sources[0]: no `checked` date" in run.err


def test_a_system_error_is_one_line_and_exit_2_not_a_traceback(tmp_path: Path) -> None:
    """Nothing can be created under /proc: the error of the system is reported as such."""
    shutil.copytree(REPO / "tests/fixtures/valid-site/content", tmp_path / "content")
    run = fixdex("build", "--out", "/proc/fixdex-site", cwd=tmp_path)
    assert run.code == 2
    assert "Traceback" not in run.err
    assert run.err.startswith("fixdex build: ")
    assert run.err.rstrip().endswith("(/proc/.fixdex-site.lock)")
    assert len(run.err.splitlines()) == 1


def test_a_full_disk_mid_build_leaves_the_old_site_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A disk that fills while pages are written: one line naming the file, exit 2, and the
    site of the last good build still in place, byte for byte."""
    import errno
    import os

    from generator import build
    from generator.cli import main

    shutil.copytree(REPO / "tests/fixtures/valid-site/content", tmp_path / "content")
    monkeypatch.chdir(tmp_path)
    assert main(["build", "--no-cache"]) == 0
    site = tmp_path / "site"
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    capsys.readouterr()

    def full(root: Path, rel: str, data: str | bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(root / rel))

    monkeypatch.setattr(build, "write_new", full)
    assert main(["build", "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith(f"fixdex build: {os.strerror(errno.ENOSPC)} (")
    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".site.lock", "content", "site"])  # no staging folder left behind


def test_a_killed_worker_ends_the_build_in_one_line_and_exit_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A worker killed mid-build (by the kernel's out-of-memory killer, say): one line, exit 2,
    and no site and no staging folder left behind."""
    import os
    import re
    import signal
    import subprocess
    import sys

    from generator import build
    from generator.build import PARALLEL_MIN
    from generator.cli import main

    subprocess.run([sys.executable, str(REPO / "bench/make_corpus.py"), str(PARALLEL_MIN + 50),
                    str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    parent, real = os.getpid(), build._process

    def killed(item: tuple[bytes | None, str, str, bytes | None]) -> object:
        if os.getpid() != parent:  # in a worker (forked with this very function)
            os.kill(os.getpid(), signal.SIGKILL)
        return real(item)

    monkeypatch.setattr(build, "_process", killed)
    assert main(["build", "--no-cache", "--jobs", "2"]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(r"fixdex build: a worker process \(pid \d+\) ended without its results"
                        r" \(killed\?\)\n", err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["content"]
