"""The error matcher (generator/lookup.py): normalising pasted text, ranking records, checks.

The labelled queries in lookup_queries.yaml are pasted errors as people paste them, each
with the record it must find in the lookalike fixture site (tests/fixtures/lookup-site).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.build import Project, gather
from generator.errors import Severity
from generator.lookup import (
    NORM_RULES,
    THRESHOLD,
    Match,
    _keep,
    _prepare,
    _rank,
    _unescape,
    build_index,
    examples_problems,
    index_size,
    normalise,
    search,
    top_match,
)
from generator.validate import Entry

REPO = Path(__file__).resolve().parent.parent
LOOKUP_SITE = REPO / "tests" / "fixtures" / "lookup-site" / "content"
QUERIES = yaml.safe_load((REPO / "tests" / "lookup_queries.yaml").read_text(encoding="utf-8"))


def _entries(content: Path) -> list[Entry]:
    result = gather(Project(content=content))
    assert result.ok and result.site is not None, [str(p) for p in result.problems]
    return list(result.site.entries)


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return _entries(LOOKUP_SITE)


@pytest.fixture(scope="module")
def index(entries: list[Entry]) -> dict:
    return build_index(entries)


def _top(index: dict, text: str) -> str | None:
    found = search(index, text)
    return found[0].slug if found else None


# -- normalise ------------------------------------------------------------------------------


@pytest.mark.parametrize(("noisy", "clean"), [
    # timestamps
    ("2026-02-19T08:14:22.531Z User not found", "User not found"),
    ("[2026-04-02 12:30:01,442] User not found", "User not found"),
    ("2024/12/25 00:40:02 User not found", "User not found"),
    ("Date: Fri, 08 Mar 2024 23:43:08 GMT User not found", "Date: User not found"),
    ("Mar 12 10:04:55 host User not found", "host User not found"),
    ('10.0.0.1 - - [12/Mar/2024:10:00:00 +0000] "User not found"', "User not found"),
    ("12:34:56.404 User not found", "User not found"),
    # request and trace ids
    ("User not found (request id: 2024072510422562564674066306279)", "User not found"),
    ("User not found request_id=req_a1b2c3d4e5f6", "User not found"),
    ("x-request-id: 9019dfce-1b2f-4de3-bd19-0db0c3fa158f User not found", "x User not found"),
    ("User not found trace_id=0a1b2c3d4e5f60718293a4b5c6d7e8f9", "User not found"),
    ("User not found 'request_id': 'req_011CUbX7uSW8Rr9JmHaAmXyz'", "User not found"),
    ("chatcmpl-9xYz1234AbCd User not found", "User not found"),
    # UUIDs and hex
    ("User 5d1c6f2e-8b9a-4c3d-a1e2-f3b4c5d6e7f8 not found", "User not found"),
    ("User not found at 0x7ffd5e8c and 1dfb48d2811a and a3f9c2d41b7e", "User not found at and and"),
    # API keys and org ids
    ("Incorrect API key provided: sk-proj-Ab12****Yz90.", "Incorrect API key provided"),
    ("Rate limit reached in organization org-Q2w3E4r5T6y7U8i9", "Rate limit reached organization"),
    # numbers other than HTTP statuses
    ("Limit 30000, Used 28039, Requested 3906. Please try again in 3.89s.",
     "Limit Used Requested try again"),
    ("Limit: 10,000 / min, 1000 free requests, gpt-4.1 and 600 or 099", "Limit min free requests gpt"),
    # file paths and line numbers
    ('File "/usr/lib/python3.11/site-packages/openai/_base_client.py", line 404, in _request',
     "File _request"),
    (r"at C:\Users\new\proj\main.py:404:12 failed", "at failed"),
    ("at async /app/node_modules/ai/dist/index.mjs:4105:18", "at async"),
    ("at APIError.generate (error.mjs:404:20)", "at APIError generate"),
    ("at com.anthropic.Handler.handle(Handler.java:404)", "at com anthropic Handler handle"),
    # quoting, JSON escapes, case, whitespace and punctuation
    (r'{\"error\":{\"message\":\"User not found.\",\"code\":401}}', "User not found 401"),
    ("{'error': {'message': 'User not found.', 'code': 401}}", "User not found 401"),
    (r"User\nnot\tfound\r\n", "User not found"),
    (r"\u0055ser not found \u0027quoted\u0027", "user not found quoted"),
    ("  USER\tNOT \n\n FOUND!!! ", "user not found"),
    ("«User» — not… found;", "User not found"),
])
def test_normalise_removes_noise(noisy: str, clean: str) -> None:
    assert normalise(noisy) == normalise(clean)
    assert all(t.isascii() and t == t.lower() for t in normalise(noisy))


@pytest.mark.parametrize(("text", "tokens"), [
    ("Error code: 401 - Unauthorized", ["401", "unauthorized"]),
    ("HTTP 402 Payment Required", ["402", "payment", "required"]),
    ("status=429 Too Many Requests", ["429", "too", "many", "requests"]),
    ("100 599 600 99 4290 042", ["100", "599"]),
    ("'code': 'invalid_api_key'", ["invalid_api_key"]),
    ("invalid x-api-key", ["invalid", "api", "key"]),
    ("12:34:56.404", []),
    ("", []),
])
def test_normalise_keeps_status_codes_and_identifiers(text: str, tokens: list[str]) -> None:
    assert normalise(text) == tokens


def test_normalise_drops_stop_words_and_single_letters() -> None:
    assert normalise("You exceeded your current quota, please check your plan") == [
        "exceeded", "current", "quota", "check", "plan"]
    assert normalise("OpenAI's key is a secret") == ["openai", "key", "secret"]


# -- search ---------------------------------------------------------------------------------


def test_labelled_queries_find_their_record(index: dict) -> None:
    queries = QUERIES["queries"]
    assert len(queries) >= 40
    misses = [(q["expect"], _top(index, q["text"]), q["text"][:80])
              for q in queries if _top(index, q["text"]) != q["expect"]]
    top1 = 1 - len(misses) / len(queries)
    assert top1 >= 0.95, misses


def test_every_fixture_record_is_the_expected_answer_of_some_query(entries: list[Entry]) -> None:
    assert {q["expect"] for q in QUERIES["queries"]} == {e.slug for e in entries}


@pytest.mark.parametrize("text", QUERIES["unrelated"])
def test_unrelated_errors_find_nothing(index: dict, text: str) -> None:
    assert search(index, text) == []


@pytest.mark.parametrize(("text", "expected", "not_first"), [
    # 401 vs 402 vs 429, across services
    ("401 User not found", "expired-key-user-not-found", "no-auth-credentials-found"),
    ("401 No auth credentials found", "no-auth-credentials-found", "expired-key-user-not-found"),
    ("402 This request requires more credits", "insufficient-credits", "insufficient-quota"),
    ("429 You exceeded your current quota, please check your plan and billing details.",
     "insufficient-quota", "rate-limit-reached"),
    ("429 Rate limit reached for gpt-4o on requests per min", "rate-limit-reached",
     "insufficient-quota"),
    # the same words in another order or another service
    ("Incorrect API key provided: sk-abc", "incorrect-api-key-provided", "invalid-x-api-key"),
    ("'code': 'invalid_api_key'", "incorrect-api-key-provided", "invalid-x-api-key"),
    ("invalid x-api-key", "invalid-x-api-key", "incorrect-api-key-provided"),
    ("API key not valid. Please pass a valid API key.", "api-key-not-valid",
     "incorrect-api-key-provided"),
    ("User not found.", "expired-key-user-not-found", "incorrect-api-key-provided"),
])
def test_lookalikes_rank_the_right_record_first(index: dict, text: str, expected: str,
                                                  not_first: str) -> None:
    found = search(index, text)
    assert found and found[0].slug == expected
    assert all(m.slug != not_first or m.score < found[0].score for m in found)


def test_matches_carry_the_record_and_a_ranked_score(index: dict) -> None:
    found = search(index, "openai.RateLimitError: Error code: 429 - insufficient_quota")
    assert found[0] == Match(
        "insufficient-quota", "OpenAI 429 insufficient_quota: \"You exceeded your quota\"",
        "You exceeded your current quota, please check your plan and billing details. For more"
        " information on this error, read the docs:"
        " https://platform.openai.com/docs/guides/error-codes/api-errors.",
        "/openai-api/insufficient-quota/", found[0].score)
    assert all(THRESHOLD <= m.score <= 1 for m in found)
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)


def test_limit_and_empty_queries(index: dict) -> None:
    assert search(index, "") == [] and search(index, " \n\t ") == []
    assert len(search(index, "401 invalid_api_key User not found invalid x-api-key", limit=1)) == 1


def test_a_partial_paste_still_finds_a_long_signature(index: dict) -> None:
    """People copy the first words: 4 of 7 tokens of the quota message are enough."""
    assert _top(index, "Error: 429 You exceeded your current quota") == "insufficient-quota"
    assert search(index, "404 Not Found") == []


NOISE = st.sampled_from([
    "2026-02-19T08:14:22.531Z", "[2026-04-02 12:30:01,442]", "Fri, 08 Mar 2024 23:43:08 GMT",
    "request_id=req_a1b2c3d4e5f6", "x-request-id: 9019dfce-1b2f-4de3-bd19-0db0c3fa158f",
    "trace_id=0a1b2c3d4e5f6071", 'File "/srv/app/client.py", line 88, in call', "0x7ffd5e8c",
    "at /app/node_modules/openai/core.js:286:25", "Traceback (most recent call last):",
    "ERROR", "WARN retrying in 3.2s", "pid=4242",
])


def _by_the_rules(text: str) -> list[str]:
    """`normalise` as the browser does it: every rule of NORM_RULES, in order, on all text.
    (normalise skips the rules that cannot match a text; this must not change a token.)"""
    text = text.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"))
    for rule in NORM_RULES["before"]:
        text = re.sub(rule, " ", text)
    text = re.sub(NORM_RULES["escape"], _unescape, text)
    for rule in NORM_RULES["noise"]:
        text = re.sub(rule, " ", text)
    return [t for t in re.findall(NORM_RULES["token"], text) if _keep(t)][:NORM_RULES["max"]]


# Pieces that set off every rule (and nearly set them off), to be joined in any order.
RULE_BAIT = st.sampled_from([
    "request_id=req_42", "trace-id: 9f", "req_abc123", "user-123", "sk-or-v1-***", "run_x9",
    "0x1F", "0x", "550e8400-e29b-41d4-a716-446655440000", "-e29b-41d4-", "2026-11-03T10:00:00Z",
    "2026/1/3", "3.1.2026", "Mon, 03 Nov 2026", "03-nov", "03/Nov/2026:10:00:00", "Nov  3 10:00:01",
    "10:00", "10:00:00.123", "12:34", "/usr/lib/python3/x.py", "/a/b", "a/b", "C:\\Users\\x",
    "C:\\", "\\n", "\\u0041", "\\\\t", "\\x", "main.py:12:4", "core.js:286:25", "file.go",
    "line 42", "line x", ":12:3", "1.5", "1,000", "3.2s", "v1.2.3", "ID", "id", "\u00e9t\u00e9",
    "Ünïcode", "İ", "401", "429", "invalid_api_key", "Error", " ", "\n", "\t", ".", ",", ":", "-",
    "_", "/", "\\",
])


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.one_of(RULE_BAIT, st.text(max_size=12)), max_size=12),
       st.sampled_from(["", " ", "\n", "-", "/", ":", "."]))
def test_normalise_equals_the_shipped_rules_applied_in_full(parts: list[str], glue: str) -> None:
    text = glue.join(parts)
    assert normalise(text) == _by_the_rules(text)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_noise_around_a_signature_does_not_change_the_answer(index: dict, data: st.DataObject,
                                                              ) -> None:
    slug, _, signature, _ = data.draw(st.sampled_from(index["records"]))
    before = data.draw(st.lists(NOISE, max_size=3))
    after = data.draw(st.lists(NOISE, max_size=3))
    quoted = data.draw(st.sampled_from([
        signature, json.dumps(signature), json.dumps({"error": signature}), signature.upper(),
        repr({"error": {"message": signature}}),
    ]))
    text = "\n".join([*before, quoted, *after])
    assert _top(index, text) == slug


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_the_inverted_index_skips_no_form_that_could_score(index: dict,
                                                           data: st.DataObject) -> None:
    """Forms are filed under their heavy tokens only; ranking every form gives the same answer."""
    vocab = index["vocab"]
    form = data.draw(st.sampled_from(index["forms"]))
    words = data.draw(st.lists(st.sampled_from([vocab[t] for t in form[1:]]), max_size=12))
    extra = data.draw(st.lists(st.sampled_from(vocab), max_size=4))
    text = " ".join(data.draw(st.permutations([*words, *extra])))
    assert search(index, text) == _rank(_prepare(index, prune=False), index, text, 5)


@dataclass(frozen=True)
class _Head:
    title: str
    signature: str
    also_seen_as: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Entry:
    """What `build_index` reads of an entry, for indexes made up by a test."""

    slug: str
    head: _Head
    platform_slug: str = "p"


# Few words, so that forms share tokens, pairs and whole token sets, and ranks often tie.
# "upstream" and "overloaded" are long enough to be a form on their own.
FEW_WORDS = ["quota", "limit", "key", "invalid", "model", "429", "upstream", "overloaded"]


def _made_up_index(signatures: list[list[str]], aliases: list[list[str]]) -> dict:
    return build_index([
        _Entry(f"r-{i:02}", _Head(f"Record {i}", " ".join(words),
                                   tuple(" ".join(a) for a in aliases[i::len(signatures)])))
        for i, words in enumerate(signatures)
    ])


@settings(max_examples=1000, deadline=None)
@given(data=st.data())
def test_top_match_is_the_first_answer_of_a_full_search(data: st.DataObject) -> None:
    """The check's lookup (`top_match`) answers exactly as `search` does, on indexes whose
    forms share words, pairs and token sets, for pastes made of a form's words reordered,
    repeated, cut short or mixed with others."""
    form = st.lists(st.sampled_from(FEW_WORDS), min_size=1, max_size=5)
    signatures = data.draw(st.lists(form, min_size=1, max_size=10))
    aliases = data.draw(st.lists(form, max_size=6))
    index = _made_up_index(signatures, aliases)
    forms = signatures + aliases
    words = data.draw(st.sampled_from(forms))
    paste = data.draw(st.one_of(
        st.just(words),
        st.permutations(words),
        st.lists(st.sampled_from(words), max_size=7),
        st.lists(st.sampled_from([*words, "noise", *FEW_WORDS]), max_size=9),
        # several whole forms in one paste: several perfect candidates, ranked by weight
        st.lists(st.sampled_from(forms), min_size=2, max_size=3).map(
            lambda parts: [w for part in parts for w in [*part, "noise"]]),
    ))
    text = " ".join(paste)
    found = search(index, text, limit=1)
    assert top_match(index, text) == (found[0] if found else None)


@pytest.mark.parametrize(("signatures", "paste"), [
    # A one-token form ties with a form whose tokens repeat it: the first slug wins.
    ([["key", "limit", "model", "quota"], ["upstream"], ["upstream", "upstream", "upstream"]],
     "upstream upstream noise"),
    # No form fits whole; one that starts elsewhere in the paste ranks first.
    ([["overloaded", "key", "upstream", "invalid"],
      ["limit", "overloaded", "overloaded", "invalid", "quota"]],
     "limit overloaded invalid noise overloaded invalid quota noise overloaded key upstream"),
    # Two whole forms: the heavier one (a rare word) beats two common ones.
    ([["model", "429"], ["model", "429", "key"], ["model", "429", "limit"],
      ["model", "429", "quota"], ["overloaded"]],
     "model 429 overloaded"),
])
def test_top_match_on_ties_and_near_misses(signatures: list[list[str]], paste: str) -> None:
    index = _made_up_index(signatures, [])
    found = search(index, paste, limit=1)
    assert top_match(index, paste) == (found[0] if found else None)


def test_top_match_answers_a_perfect_paste_without_a_full_search(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A paste holding a whole form is answered from the forms that start like it; a tie
    between records whose forms both fit goes to the first slug, as in `search`."""
    import generator.lookup as lookup

    index = _made_up_index([["model", "overloaded", "429"], ["invalid", "key"],
                            ["overloaded", "429"], ["model", "overloaded", "429"]], [])
    expected = search(index, "error: model overloaded 429, retry", limit=1)
    monkeypatch.setattr(lookup, "_candidates", _no_full_search)
    assert [m.slug for m in expected] == ["r-00"]
    assert top_match(index, "error: model overloaded 429, retry") == expected[0]


def _no_full_search(*_: object) -> None:
    raise AssertionError("a full search was run")


# -- the index ------------------------------------------------------------------------------


def test_build_index_is_deterministic_and_json_ready(entries: list[Entry]) -> None:
    first = build_index(entries, "/docs/")
    second = build_index(list(reversed(entries)), "/docs/")
    dump = lambda i: json.dumps(i, sort_keys=True, separators=(",", ":"))  # noqa: E731
    assert dump(first) == dump(second)
    assert first["records"][0][3].startswith("/docs/")
    # What the browser reads (JSON) answers exactly like the in-memory index.
    loaded = json.loads(dump(first))
    for q in QUERIES["queries"]:
        assert search(loaded, q["text"]) == search(first, q["text"])


def test_index_is_compact(entries: list[Entry]) -> None:
    index = build_index(entries)
    assert index_size(index) / len(entries) < 1024
    assert len({tuple(f) for f in index["forms"]}) == len(index["forms"])


def test_index_has_an_entry_per_record_and_known_tokens_only(entries: list[Entry]) -> None:
    index = build_index(entries)
    assert [r[0] for r in index["records"]] == [e.slug for e in sorted(
        entries, key=lambda e: (e.platform_slug, e.slug))]
    assert index["vocab"] == sorted(set(index["vocab"]))
    assert all(w > 0 for w in index["weights"])
    assert all(0 <= t < len(index["vocab"]) for f in index["forms"] for t in f[1:])


# -- checking examples ----------------------------------------------------------------------


def test_the_fixture_examples_all_look_up_to_their_record(entries: list[Entry]) -> None:
    assert examples_problems(entries) == []


def _copy_site(tmp_path: Path) -> Path:
    content = tmp_path / "content"
    shutil.copytree(LOOKUP_SITE, content)
    return content


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_an_example_that_belongs_to_another_record_is_reported(tmp_path: Path) -> None:
    content = _copy_site(tmp_path)
    source = (content / "openrouter" / "no-auth-credentials-found.yaml").read_text()
    record = content / "openrouter" / "missing-key-header.yaml"
    record.write_text(source.replace(
        "signature: '{\"error\":{\"message\":\"No auth credentials found\",\"code\":401}}'",
        "signature: 'Missing Authentication header'",
    ).replace(
        "  - \"401 No auth credentials found\"\n  - \"No auth credentials found\"\n",
        "  - \"401 Missing Authentication header\"\n",
    ).replace(
        "Failed to generate commit message: 401 No auth credentials found",
        "Failed to generate commit message: 402 This request requires more credits, or fewer"
        " max_tokens.",
    ).replace(
        "Error: CompletionError: ProviderError: {\"error\":{\"message\":\"No auth credentials"
        " found\",\"code\":401}}",
        "Error: Missing Authentication header",
    ))
    problems = examples_problems(_entries(content))
    [problem] = [p for p in problems if p.file.endswith("missing-key-header.yaml")]
    assert problem.severity is Severity.ERROR
    assert problem.field == "examples[1]"
    # The example is a `|-` block: its value starts on the indicator's line, just above.
    assert problem.line == _line_of(record, "Failed to generate commit message: 402") - 1
    assert "looks up to" in problem.message and "insufficient-credits.yaml" in problem.message


def test_an_example_that_matches_nothing_is_reported(tmp_path: Path) -> None:
    content = _copy_site(tmp_path)
    record = content / "google-gemini-api" / "api-key-not-valid.yaml"
    record.write_text(record.read_text().replace(
        "    ✕ [API Error: API key not valid. Please pass a valid API key. (Status: INVALID_ARGUMENT)]",
        "    Segmentation fault (core dumped)",
    ))
    [problem] = examples_problems(_entries(content))
    assert (problem.field, problem.severity) == ("examples[1]", Severity.ERROR)
    assert problem.line == _line_of(record, "Segmentation fault") - 1
    assert "matches no record confidently" in problem.message


def test_a_form_that_looks_up_to_another_record_is_a_warning(tmp_path: Path) -> None:
    content = _copy_site(tmp_path)
    record = content / "anthropic-api" / "invalid-x-api-key.yaml"
    # Not the same text (the check of unique forms lets it through), but the same words.
    record.write_text(record.read_text().replace(
        '  - "invalid x-api-key"\n',
        '  - "invalid x-api-key"\n  - "Error: Incorrect API key provided (request id: 42)"\n',
    ))
    problems = examples_problems(_entries(content))
    assert [(p.field, p.severity) for p in problems] == [("also_seen_as[1]", Severity.WARNING)]
    assert problems[0].line == _line_of(record, "Incorrect API key provided (request id")
    assert "incorrect-api-key-provided.yaml" in problems[0].message
