"""Fuzzing: whatever a record file holds, the build ends in a valid site or located problems.

Random bytes, random YAML-like text (keys, indentation, quotes, anchors, tags, flow
collections, tabs, BOM, CRLF, odd Unicode) and random mutations of the valid fixture records
(fields dropped, duplicated, renamed or retyped, the file cut at any byte, odd characters put
anywhere) go through the real pipeline in-process, and a few through the real CLI. The only
outcomes allowed are a valid site, or problems that each name a file and say what is wrong:
never an exception, a hang, or a changed site after a failed build.

The number of examples each test ran is printed at the end of the module (terminal summary).
"""

from __future__ import annotations

import contextlib
import random
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import TEMPLATES, VALID_SITE, fixdex, make_project, tree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.build import BuildResult, Project, build, gather
from generator.errors import display_path, errors_only
from generator.load import _depth_bound

SLOW_CALL = 10.0
"""Seconds one in-process run may take before it counts as a hang."""
FUZZ_FILE = "openrouter/fuzzed.yaml"
RECORDS = sorted(p.relative_to(VALID_SITE) for p in VALID_SITE.rglob("*/*.yaml"))
RECORD_TEXTS = [(VALID_SITE / p).read_text(encoding="utf-8") for p in RECORDS]
RUNS: Counter[str] = Counter()

def _settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

FIELDS = ["title", "summary", "platform", "category", "tags", "signature", "also_seen_as",
          "examples", "http_status", "updated", "quick_fix", "meaning", "why", "causes",
          "quick_fixes", "platform_checks", "tool", "check", "steps", "prevention", "sources",
          "url", "kind", "checked", "evidence", "note", "affected_tools", "faq", "q", "a",
          "related", "aliases"]
YAML_BITS = [
    ": ", ":", "\n", "\n  ", "\n    ", "\n- ", "- ", "-", "[", "]", "{", "}", ", ", ",", "'", '"',
    "&a ", "*a", "&b ", "*b", "!!str ", "!!int ", "!!map ", "!!python/object/apply:os.system ",
    "!x ", "!!binary ", "!<tag:yaml.org,2002:str> ", "\t", "\ufeff", "\r\n", "\r", "|\n  ",
    "|-\n  ", ">\n  ", "---\n", "...\n", " # c\n", "? ", "<<: ", "~", "null", "2026-11-01",
    "2026-02-30", "1e999", "0x1F", "0o17", "1_000", "190:20:30", ".nan", "-.inf", "yes", "No",
    "=", "é", "\u202e", "\u200b", "\x85", "\u2028", "\ufffe", "😀", "\\", '"\\u0000"', '"\\ud800"',
    '"\\x"', "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "@", "`", "{{ 7*7 }}", "<script>", "%",
    "javascript:alert(1)", "https://example.com/", "TODO", "\x00", "\x07", "\x1b",
]
ODD_CHARS = ["\ufeff", "\u202e", "\u200b", "\x85", "\u2028", "\u2029", "\x00", "\x07", "\x1b",
             "\t", "\r", "\ud7ff", "\ue000", "\ufffe", "\uffff", "😀", "é", "\u0301",
             "\U0010ffff", "\n", "'", '"', "#", ":", "- ", "&", "*", "!", "|", ">", "%", "@", "`"]


# -- the outcome every run must have ------------------------------------------------------------


def _outcome(result: BuildResult, content: Path) -> str:
    """Assert the run ended in a valid site or located problems; name which."""
    errors = errors_only(result.problems)
    if result.ok:
        assert result.site is not None
        assert not errors
        return "valid"
    assert errors
    shown = display_path(content)
    for problem in errors:
        assert problem.file.startswith(shown), str(problem)
        assert problem.message.strip(), str(problem)
        assert problem.line >= 0 and problem.col >= 0
        assert "Traceback" not in problem.message
    return "located errors"


@contextlib.contextmanager
def _replaced(path: Path, data: bytes) -> Iterator[None]:
    """`path` holds `data` for the duration (a new file is removed afterwards)."""
    original = path.read_bytes() if path.exists() else None
    path.write_bytes(data)
    try:
        yield
    finally:
        if original is None:
            path.unlink()
        else:
            path.write_bytes(original)


def _gather(content: Path, name: str) -> str:
    start = time.perf_counter()
    result = gather(Project(content, TEMPLATES, content.parent / "site"))
    assert time.perf_counter() - start < SLOW_CALL
    outcome = _outcome(result, content)
    RUNS[name] += 1
    RUNS[f"{name}: {outcome}"] += 1
    return outcome


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the valid fixture site; each example rewrites one file in it."""
    return make_project(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module", autouse=True)
def report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    lines = [f"  {name}: {count}" for name, count in sorted(RUNS.items())]
    total = sum(count for name, count in RUNS.items() if ":" not in name)
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\n".join(["", f"fuzz examples run: {total}", *lines]))


# -- random input ------------------------------------------------------------------------------


@_settings(500)
@given(data=st.binary(max_size=3000))
def test_random_bytes(project: Path, data: bytes) -> None:
    with _replaced(project / "content" / FUZZ_FILE, data):
        assert _gather(project / "content", "random bytes") == "located errors"


yaml_text = st.lists(
    st.one_of(st.sampled_from(FIELDS).map(lambda f: f + ": "), st.sampled_from(YAML_BITS),
              st.text(max_size=6)),
    max_size=80,
).map("".join)


@_settings(500)
@given(text=yaml_text, record=st.sampled_from([None, *range(len(RECORDS))]), at_end=st.booleans())
def test_random_yaml(project: Path, text: str, record: int | None, at_end: bool) -> None:
    """YAML-ish noise alone, or appended to / put in front of a valid record."""
    if record is None:
        path, body = project / "content" / FUZZ_FILE, text
    else:
        path, valid = project / "content" / RECORDS[record], RECORD_TEXTS[record]
        body = valid + "\n" + text if at_end else text + "\n" + valid
    with _replaced(path, body.encode("utf-8")):
        _gather(project / "content", "random YAML")


@_settings(250)
@given(text=yaml_text)
def test_random_site_settings(project: Path, text: str) -> None:
    """site.yaml is content too: fuzz it with the records left valid."""
    site = project / "content" / "site.yaml"
    with _replaced(site, site.read_bytes() + b"\n" + text.encode("utf-8")):
        _gather(project / "content", "random site.yaml")


# -- mutations of valid records ----------------------------------------------------------------


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside parsed YAML."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield (*prefix, i)
            yield from _paths(value, (*prefix, i))


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


huge_text = st.sampled_from([1_000, 60_000, 300_000]).flatmap(
    lambda n: st.sampled_from(["a", "é", "😀", "<script>", "\u202e", "{{ 7*7 }}"]).map(
        lambda s: s * (n // len(s))))
values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
    st.lists(st.text(max_size=8), max_size=3),
    st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=3),
    st.lists(st.lists(st.integers(), max_size=2), max_size=2), huge_text,
    st.sampled_from(["", " ", "TODO", "2026-13-01", "9999-12-31", "1999-01-01", "/../x",
                     "https://evil.example/", "javascript:alert(1)", "issue", "[]", "{}",
                     "Authentication and API keys", "OpenRouter", "rate-limited"]),
)
new_keys = st.one_of(st.sampled_from(FIELDS), st.text(max_size=12), st.integers(),
                     st.booleans(), st.none(), st.sampled_from(["Title", "title ", "tittle", "<<"]))


@st.composite
def mutated_record(draw: st.DrawFn) -> tuple[Path, bytes]:
    """A fixture record with one to three mutations: its path in content/ and its new bytes."""
    index = draw(st.integers(min_value=0, max_value=len(RECORDS) - 1))
    return RECORDS[index], draw(mutations(RECORD_TEXTS[index]))


@st.composite
def mutations(draw: st.DrawFn, text: str) -> bytes:
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        kind = draw(st.sampled_from(["drop", "retype", "rename", "add", "duplicate line",
                                     "truncate", "insert", "swap lines"]))
        if kind in ("drop", "retype", "rename", "add"):
            try:
                data = yaml.load(text, Loader=yaml.CSafeLoader)
            except yaml.YAMLError:
                continue
            paths = list(_paths(data)) if isinstance(data, dict) else []
            if not paths:
                continue
            path = draw(st.sampled_from(paths))
            parent = _parent(data, path)
            if kind == "drop":
                del parent[path[-1]]
            elif kind == "retype":
                parent[path[-1]] = draw(values)
            elif kind == "rename" and isinstance(parent, dict):
                parent[draw(new_keys)] = parent.pop(path[-1])
            elif kind == "add" and isinstance(parent, dict):
                parent[draw(new_keys)] = draw(values)
            elif isinstance(parent, list):
                parent.append(draw(values))
            text = yaml.dump(data, Dumper=yaml.CSafeDumper, allow_unicode=draw(st.booleans()),
                             sort_keys=False, width=draw(st.sampled_from([80, 10**6])))
        elif kind == "duplicate line":
            lines = text.splitlines(keepends=True)
            i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
            text = "".join([*lines[: i + 1], lines[i], *lines[i + 1:]])
        elif kind == "swap lines":
            lines = text.splitlines(keepends=True)
            i = draw(st.integers(min_value=0, max_value=len(lines) - 2))
            lines[i], lines[i + 1] = lines[i + 1], lines[i]
            text = "".join(lines)
        elif kind == "insert":
            at = draw(st.integers(min_value=0, max_value=len(text)))
            text = text[:at] + draw(st.sampled_from(ODD_CHARS)) + text[at:]
        else:
            raw = text.encode("utf-8")
            cut = draw(st.integers(min_value=0, max_value=len(raw)))
            return raw[:cut]
    return text.encode("utf-8")


@_settings(500)
@given(mutated=mutated_record())
def test_mutated_records(project: Path, mutated: tuple[Path, bytes]) -> None:
    rel, data = mutated
    with _replaced(project / "content" / rel, data):
        _gather(project / "content", "mutated records")


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose site/ was built from the valid fixture before any fuzzing."""
    root = make_project(tmp_path_factory.mktemp("published"))
    assert build(Project(root / "content", TEMPLATES, root / "site")).ok
    return root


@_settings(60)
@given(mutated=mutated_record())
def test_mutated_builds_write_a_whole_site_or_nothing(published: Path,
                                                      mutated: tuple[Path, bytes]) -> None:
    """Full builds with writing: a failure leaves site/ byte-identical; a success is whole."""
    content, out = published / "content", published / "site"
    rel, data = mutated
    before = tree(out)
    with _replaced(content / rel, data):
        start = time.perf_counter()
        result = build(Project(content, TEMPLATES, out))
        assert time.perf_counter() - start < SLOW_CALL
        outcome = _outcome(result, content)
    RUNS["mutated builds"] += 1
    RUNS[f"mutated builds: {outcome}"] += 1
    leftovers = sorted(p.name for p in published.iterdir() if p.name.startswith(".site."))
    assert leftovers == [".site.lock"]
    if outcome == "valid":
        assert result.site is not None
        after = tree(out)
        assert "index.html" in after and ".fixdex-output" in after
        for entry in result.site.entries:
            assert entry.url_path.strip("/") + "/index.html" in after
    else:
        assert tree(out) == before


# -- the real CLI ------------------------------------------------------------------------------


def _cli_inputs() -> list[tuple[str, bytes]]:
    rng = random.Random(20261122)
    record = RECORD_TEXTS[0].encode("utf-8")
    return [
        ("random bytes", rng.randbytes(4000)),
        ("truncated record", record[: len(record) // 2 + 7]),
        ("nested 100,000 deep", b"title: " + b"[" * 100_000 + b"]" * 100_000),
        ("huge number", b"title: " + b"9" * 6000),
        ("odd unicode", record.replace(b"summary:", "summary: \ufffe\u202e".encode())),
        ("billion laughs", b"a: &a [x,x,x,x,x,x,x,x,x,x]\n" + b"".join(
            f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n".encode()
            for p, c in zip("abcdefgh", "bcdefghi", strict=True))),
    ]


@pytest.fixture(scope="module")
def cli_published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project built once by the real CLI; each CLI test works on a copy of it."""
    root = make_project(tmp_path_factory.mktemp("cli"))
    assert fixdex("build", "--no-cache", cwd=root).code == 0
    return root


@pytest.mark.parametrize(("name", "data"), _cli_inputs(), ids=[n for n, _ in _cli_inputs()])
def test_cli_reports_located_errors_and_keeps_the_site(tmp_path: Path, cli_published: Path,
                                                       name: str, data: bytes) -> None:
    root = tmp_path / "project"
    shutil.copytree(cli_published, root, symlinks=True)
    before = tree(root / "site")
    assert before == tree(cli_published / "site")
    (root / "content" / FUZZ_FILE).write_bytes(data)
    start = time.perf_counter()
    run = fixdex("build", "--no-cache", cwd=root)
    assert time.perf_counter() - start < 60
    RUNS["CLI builds"] += 1
    assert run.code == 1, run.err[-2000:]
    assert "Traceback" not in run.err
    assert f"content/{FUZZ_FILE}" in run.err
    assert "site was not changed" in run.err
    assert tree(root / "site") == before


# -- the invariant the nesting guard relies on -------------------------------------------------


structure_text = st.lists(
    st.sampled_from(["- ", "-\t", "? ", ": ", "a: ", "a:", "\n", "\n  ", "\n    ", " ", "[", "]",
                     "{", "}", ", ", "&x ", "*x", "!!seq ", "'q'", "x", "--- ", "\t", "\r",
                     "\r ", "\x85", "\u2028 ", "\u2029", "\ufeff", "\r\n  "]),
    max_size=60,
).map("".join)


@_settings(500)
@given(text=structure_text)
def test_the_cheap_depth_bound_is_never_below_the_real_depth(text: str) -> None:
    """load.py skips its exact nesting scan when `_depth_bound` is small: that is only safe if
    the bound is never below the depth libyaml really builds."""
    loader = yaml.CSafeLoader(text)
    depth = deepest = 0
    try:
        while (event := loader.get_event()) is not None:
            if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                depth += 1
                deepest = max(deepest, depth)
            elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass  # the depth reached before the error is what the composer would reach
    finally:
        loader.dispose()
    RUNS["depth bound"] += 1
    assert _depth_bound(text) >= deepest

