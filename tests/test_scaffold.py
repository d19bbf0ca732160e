"""`fixdex new`: a complete scaffold that cannot be published until every part is filled."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from helpers import fixdex, make_project

from generator.scaffold import slug_for


def test_scaffold_is_complete_and_fails_check_once_per_unfilled_part(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    run = fixdex("new", "OpenRouter", '{"error":{"message":"No auth credentials found","code":401}}',
                 "--category", "Authentication and API keys", cwd=project)
    assert run.code == 0, run.err
    path = project / run.out.strip()
    assert run.out.strip() == "content/openrouter/no-auth-credentials-found-401.yaml"
    text = path.read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../record.schema.json"
    data = yaml.safe_load(text)
    contract = ["title", "summary", "platform", "category", "tags", "signature", "also_seen_as",
                "examples", "updated", "quick_fix", "meaning", "why", "causes", "quick_fixes",
                "platform_checks", "steps", "prevention", "sources", "evidence", "faq",
                "related", "aliases"]
    assert list(data) == contract
    assert data["signature"] == '{"error":{"message":"No auth credentials found","code":401}}'

    check = fixdex("check", cwd=project)
    assert check.code == 1
    lines = [line for line in check.err.splitlines() if line.startswith("content/openrouter/no")]
    fields = [line.split(": ")[1] for line in lines]
    assert fields == ["title", "summary", "quick_fix", "meaning", "why", "causes[0]",
                      "quick_fixes[0]", "steps[0]", "sources[0].title", "sources[0].url",
                      "evidence.note", "faq[0].q", "faq[0].a"]
    assert all(re.search(r"\.yaml:\d+:\d+: ", line) and "not filled in yet (" in line
               for line in lines)
    assert fixdex("build", cwd=project).code == 1


def test_new_keeps_platform_spelling_and_never_overwrites(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    first = fixdex("new", "openrouter", "Key limit exceeded", cwd=project)
    second = fixdex("new", "openrouter", "Key limit exceeded", cwd=project)
    assert first.out.strip() == "content/openrouter/key-limit-exceeded.yaml"
    assert second.out.strip() == "content/openrouter/key-limit-exceeded-2.yaml"
    data = yaml.safe_load((project / first.out.strip()).read_text())
    assert data["platform"] == "OpenRouter"
    assert data["category"].startswith("TODO: one of Authentication and API keys, Rate limits")


def test_new_usage_errors(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    run = fixdex("new", "OpenRouter", "x", "--category", "Rate limit", cwd=project)
    assert run.code == 2
    assert "unknown category 'Rate limit' (did you mean 'Rate limits'?)" in run.err
    assert fixdex("new", "!!!", "x", cwd=project).code == 2
    assert fixdex("new", "OpenRouter", "   ", cwd=project).code == 2
    assert fixdex("new", "OpenRouter", "x", cwd=tmp_path / "content").code == 2


def test_slugs_are_short_readable_and_unique() -> None:
    assert slug_for('{"message": "User not found.", "code": 401}', set()) == "user-not-found-401"
    assert slug_for("Error: 429 Too Many Requests", {"429-too-many-requests"}) == (
        "429-too-many-requests-2")
    assert slug_for("!!!", set()) == "error"
    assert len(slug_for("a " * 50 + "very long signature with many many words in it", set())
               .split("-")) == 6
