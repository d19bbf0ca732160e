"""Weak-content warnings: each rule on real records, through the real CLI."""

from __future__ import annotations

import pytest
from helpers import fixdex, make_project

from generator import quality
from generator.quality import article_problems, needs_an

RECORD = "content/example-api/rate-limited.yaml"


@pytest.mark.parametrize("word, expected", [
    ("OpenRouter", True), ("API", True), ("HTTP", True), ("SDK", True), ("hour", True),
    ("error", True), ("user", False), ("URL", False), ("unique", False), ("one", False),
    ("key", False), ("401", False), ("European", False),
])
def test_needs_an(word: str, expected: bool) -> None:
    assert needs_an(word) is expected


def test_article_problems_skip_code() -> None:
    assert article_problems("a OpenRouter key, a user, `a API` and a HTTP 401") == [
        "a OpenRouter", "a HTTP"]


def test_each_warning_is_located_and_strict_fails(tmp_path) -> None:  # type: ignore[no-untyped-def]
    project = make_project(tmp_path)
    record = project / RECORD
    text = record.read_text()
    text = text.replace('title: "Example API answers 429 Too Many Requests"',
                        'title: "Example API answers 429 Too Many Requests when a OpenRouter'
                        ' style burst arrives"')
    text = text.replace("updated: 2026-10-01", "updated: 2020-01-01")
    text = text.replace("    checked: 2026-10-01\n", "")
    record.write_text(text)
    run = fixdex("check", cwd=project)
    assert run.code == 0, run.err
    lines = run.err.splitlines()
    assert lines[:4] == [
        f"{RECORD}:1:8: warning: title: 'a OpenRouter': use 'an' before a vowel sound",
        f"{RECORD}:1:8: warning: title: 79 characters; search results cut titles after about 60",
        f"{RECORD}:8:10: warning: updated: 2020-01-01 is over a year ago; re-check the record"
        " and its sources",
        f"{RECORD}:16:5: warning: sources[0]: no `checked` date: say when the source was last read",
    ]
    assert fixdex("check", "--strict", cwd=project).code == 1


def test_sentence_repeated_in_three_records(tmp_path) -> None:  # type: ignore[no-untyped-def]
    project = make_project(tmp_path)
    filler = "Check the account, the key and the settings of the tool you are running."
    base = (project / RECORD).read_text()
    for name in ("copy-one", "copy-two"):
        (project / f"content/example-api/{name}.yaml").write_text(
            base.replace("429 Too Many Requests: rate limit exceeded", f"429 {name}")
            .replace("related: [expired-key-user-not-found]", "related: []"))
    for path in sorted((project / "content/example-api").glob("*.yaml")):
        path.write_text(path.read_text().replace(
            'quick_fixes: ["Back off exponentially."]', f'quick_fixes: ["{filler}"]'))
    run = fixdex("check", cwd=project)
    repeated = [line for line in run.err.splitlines()
                if "quick_fixes[0]: the same sentence" in line]
    assert len(repeated) == 3
    assert repeated[0].startswith("content/example-api/copy-one.yaml:")
    assert "quick_fixes[0]: the same sentence appears in 3 records (also" in repeated[0]


def test_joined_ascii_notes_equal_the_per_text_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """`record_notes`' one-pass ASCII path finds what the per-text path finds, in order."""
    import datetime as dt
    import random
    from types import SimpleNamespace as NS

    rng = random.Random(7)
    bits = ["a", "A", " ", "-", ".", "!", "?", "'", "x", "E", "U", "h", "`", "\n", "\t", "1",
            "an ", "a ", "A ", "Apple", "hour", "SDK", "one", "(", '"', ". ", "? ", "b-A ",
            "ok. Then", "Foo bar baz qux quux corge", "API", "x_a "]

    def text() -> str:
        return "".join(rng.choice(bits) for _ in range(rng.randrange(1, 60))).strip() or "x"

    for _ in range(500):
        rec = NS(title=text(), summary=text(), quick_fix=text(), meaning=text(), why=text(),
                 causes=[text()], quick_fixes=[text(), text()], steps=[text()], prevention=[],
                 platform_checks=[NS(check=text())], evidence=NS(note=text()),
                 faq=[NS(q=text(), a=text())], updated=dt.date(2026, 1, 1), sources=[])
        joined = quality.record_notes(rec, dt.date(2026, 6, 1))  # type: ignore[arg-type]
        with monkeypatch.context() as patch:
            patch.setattr(quality, "_SENTENCE_BREAK", "")  # no text passes the guard
            per_text = quality.record_notes(rec, dt.date(2026, 6, 1))  # type: ignore[arg-type]
        assert joined == per_text
