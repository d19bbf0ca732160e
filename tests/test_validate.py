"""Each validation rule, run through the real CLI on fixture files, with its exact message.

Every folder in tests/fixtures/invalid/ holds record files (laid over the valid fixture's
site.yaml) and `expected.txt`: exactly what `fixdex check` must print.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from helpers import FIXTURES, TEMPLATES, VALID_SITE, fixdex

from generator.errors import ContentErrors
from generator.model import ValidationContext
from generator.validate import check_entries, validate_record

CASES = sorted(p.name for p in (FIXTURES / "invalid").iterdir() if p.is_dir())


def _lay_out(case: str, tmp: Path) -> Path:
    content = tmp / "content"
    content.mkdir()
    shutil.copy(VALID_SITE / "site.yaml", content / "site.yaml")
    for path in (FIXTURES / "invalid" / case).rglob("*"):
        rel = path.relative_to(FIXTURES / "invalid" / case)
        if path.is_file() and rel.name != "expected.txt":
            (content / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, content / rel)
    return tmp


@pytest.mark.parametrize("case", CASES)
def test_invalid_case_reports_exact_located_problems(case: str, tmp_path: Path) -> None:
    project = _lay_out(case, tmp_path)
    run = fixdex("check", "--templates", TEMPLATES, cwd=project)
    # `{today}`: messages about future dates name the day the check ran
    expected = (FIXTURES / "invalid" / case / "expected.txt").read_text()
    assert run.err == expected.replace("{today}", dt.date.today().isoformat())
    assert run.code == 1
    assert "Traceback" not in run.err


@pytest.mark.parametrize("case", CASES)
def test_invalid_case_build_writes_nothing(case: str, tmp_path: Path) -> None:
    project = _lay_out(case, tmp_path)
    run = fixdex("build", "--templates", TEMPLATES, cwd=project)
    assert run.code == 1
    assert not (project / "site").exists()
    assert sorted(p.name for p in project.iterdir()) == [".fixdex-cache", "content"]


def test_all_problems_of_all_files_in_one_run(tmp_path: Path) -> None:
    project = _lay_out("typo-field", tmp_path)
    for case in ("wrong-types", "nested"):
        src = FIXTURES / "invalid" / case / "openrouter" / "expired-key-user-not-found.yaml"
        shutil.copy(src, project / "content" / "openrouter" / f"{case}.yaml")
    run = fixdex("check", "--templates", TEMPLATES, cwd=project)
    files = {line.split(":")[0] for line in run.err.splitlines() if line.startswith("content/")}
    assert files == {
        "content/openrouter/expired-key-user-not-found.yaml",
        "content/openrouter/wrong-types.yaml",
        "content/openrouter/nested.yaml",
    }
    assert "wrong-types.yaml:6:7: tags: must be a list" in run.err
    assert "nested.yaml:44:5: faq[1].a: required field is missing" in run.err


def test_future_date_uses_injected_today(tmp_path: Path) -> None:
    import datetime as dt

    path = VALID_SITE / "openrouter" / "expired-key-user-not-found.yaml"
    ctx = ValidationContext(categories=("Authentication and API keys",),
                            today=dt.date(2026, 10, 31))
    with pytest.raises(ContentErrors) as info:
        validate_record(path, "x.yaml", ctx)
    messages = [str(p) for p in info.value.problems]
    assert "x.yaml:15:10: updated: 2026-11-01 is in the future (today is 2026-10-31)" in messages
    assert "x.yaml:37:14: sources[0].checked: 2026-11-01 is in the future" in " ".join(messages)


def test_signature_clash_names_both_files_and_ignores_spacing(tmp_path: Path) -> None:
    ctx = ValidationContext(categories=("Authentication and API keys", "Rate limits"))
    first = VALID_SITE / "openrouter" / "expired-key-user-not-found.yaml"
    twin = tmp_path / "openrouter" / "twin.yaml"
    twin.parent.mkdir()
    text = first.read_text().replace(
        "signature: '{\"message\": \"User not found.\", \"code\": 401}'",
        "signature: '{\"message\":  \"USER not found.\",\n  \"code\": 401}'",
    ).replace("also_seen_as: [\"User not found.\"]", "also_seen_as: []").replace(
        "aliases: [/openrouter/user-not-found/]", "aliases: []")
    twin.write_text(text)
    entries = [validate_record(first, "a.yaml", ctx), validate_record(twin, "b.yaml", ctx)]
    problems = [str(p) for p in check_entries(entries, invalid_slugs=["rate-limited"])]
    assert problems == [
        "b.yaml:7:12: signature: duplicates signature of a.yaml"
        " (compared ignoring case and spacing)"
    ]
