"""Loading: field paths become positions, the fast constructor equals PyYAML's, files are found."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from helpers import REPO, VALID_SITE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.errors import ContentErrors, Problem
from generator.load import _Loader, _read_simple, find_record_files, read_document, read_limited

RECORD = VALID_SITE / "openrouter" / "expired-key-user-not-found.yaml"


def test_locate_values_keys_and_missing_paths() -> None:
    doc = read_document(RECORD, "r.yaml")
    assert doc.locate(("title",)) == (2, 8)
    assert doc.locate(("title",), key=True) == (2, 1)
    assert doc.locate(("faq", 0, "a")) == (43, 8)
    assert doc.locate(("sources", 0, "url")) == (35, 10)
    assert doc.locate(("faq", 9, "a")) == doc.locate(("faq",))  # nearest existing parent
    assert doc.locate(("nope",)) == (2, 1)


@pytest.mark.parametrize("path", sorted((REPO / "content").glob("*/*.yaml")),
                         ids=lambda p: p.stem)
def test_fast_constructor_equals_pyyaml(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    general = yaml.load(text, Loader=_Loader)  # the general path of our hardened safe loader
    assert read_document(path, "x").data == general


TRICKY_YAML = [
    "a: &x [1, 2.5, true, null, ~, 0x1f, 0o17, 1_000, -.inf]\nb: *x\nc: *x\n",
    "a: &m {k: v, n: 2}\nlist:\n  - *m\n  - {k: *m}\n",
    "when: 2026-01-17\nstamp: 2026-01-17T10:00:00Z\nyes_no: [yes, no, on, off, Yes]\n",
    "text: |\n  two\n  lines\nfolded: >\n  one\n  line\nsingle: 'it''s'\n",
    "equals: =\nempty:\nnested: [[a, [b, {c: d}]], []]\n'quoted key': 1\n",
    "explicit: !!str 12\nint: !!int '7'\nfloat: !!float 1\nseq: !!seq [a]\nmap: !!map {a: b}\n",
]


@pytest.mark.parametrize("text", TRICKY_YAML)
def test_fast_constructor_equals_pyyaml_on_every_kind_of_value(tmp_path: Path, text: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(text)
    assert read_document(path, "r.yaml").data == yaml.load(text, Loader=_Loader)


@pytest.mark.parametrize(("text", "message"), [
    ("base: &b {x: 1}\nmerged:\n  <<: *b\n  y: 2\n", "3:3: merge keys ('<<') are not allowed"),
    ("merged:\n  <<: {x: 1}\n  y: 2\n", "2:3: merge keys ('<<') are not allowed"),
    ("odd: !!str {a: 1}\n", "1:6: expected a scalar node, but found mapping"),
    ("? [complex, key]\n: value\n", "1:3: found unhashable key"),
    ("1: int key\n", "1:1: field names must be text"),
    ("a: [x, {b: 1, b: 2}]\n", "1:15: duplicate key 'b'"),
    # found by tests/test_fuzz.py: these crashed the loader with a traceback
    ("!!map ~\n", "1:1: the tag '!!map' does not fit this value"),
    ("!!map title: x\n", "1:1: the tag '!!map' does not fit this value"),
    ("!!map [a]\n", "1:1: the tag '!!map' does not fit this value"),
    ("!!seq x\n", "1:1: the tag '!!seq' does not fit this value"),
    ("a: !!seq x\n", "1:4: the tag '!!seq' does not fit this value"),
])
def test_values_the_fast_constructor_leaves_to_pyyaml_get_its_errors(
        tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(text)
    with pytest.raises(ContentErrors) as caught:
        read_document(path, "r.yaml")
    assert f"r.yaml:{message}" in str(caught.value)


# Texts in (or at the edge of) the subset the line reader takes without the YAML parser.
SIMPLE_YAML = [
    "a: text\nb: 'it''s'\nc: \"q \\\" \\\\ \\/ \\n \\t\"\nd: 400\ne: 2026-02-30\nf:\ng: # c\n",
    "a: [x y, \"b, c\", 'd', 12, 2026-01-01]\nb: []\nc: [ ]  # c\nd: https://x.example/a#b\n",
    "lit: |\n  one\n    two\n\n  three\n\nstrip: |-\n  x\n\nkeep: |+\n  y\n\n\nz: 1\n",
    "s:\n- a\n- |\n  b\n- q: 1\n  r:\n  - x\nt:\n  - u: v\n    w: [1]\n  -   k: v\n# end\n",
    "m:\n  n:\n    o: p\n  # c\n  q: \"r\" # c\nlast: Yesterday\n",
    "k: v\n  more\n", "k: yes\n", "on: 1\n", "k: 0x1f\n", "k: \"a\n  b\"\n", "k: >\n  x\n",
    "k: |\n\n  x\n", "k: v\nk: w\n", "k: &a x\nl: *a\n", "k: !!str x\n", "k:\ttab\n",
    "k: [a, ]\n", "k: [a: b]\n", "k: v: w\n", "- a\n", "--- \nk: v\n", "k: v", "k: \"\\x41\"\n",
    "k:\n  - a\n  b: c\n", "k: 1.5\n", "k: -1\n", "k: \"x\"y\n", "<<: x\n", "k: =\n",
]


@pytest.mark.parametrize("text", SIMPLE_YAML)
def test_line_reader_equals_pyyaml_or_leaves_it_the_text(text: str) -> None:
    """The line reader gives exactly the general loader's data, or nothing."""
    data = _read_simple(text)
    if data is None:
        return
    assert repr(data) == repr(yaml.load(text, Loader=_Loader))


def test_line_reader_reads_the_records_it_is_for() -> None:
    for path in sorted(VALID_SITE.glob("*/*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert _read_simple(text) == yaml.load(text, Loader=_Loader), path
    assert _read_simple(SIMPLE_YAML[0]) is not None
    assert _read_simple(SIMPLE_YAML[3]) is not None


def test_a_problem_in_a_simply_read_record_is_located(tmp_path: Path) -> None:
    """The node tree of a record read without one is composed when a position is needed."""
    path = tmp_path / "r.yaml"
    path.write_text("a: 1\nb:\n  - x\n  - y: z\n")
    doc = read_document(path, "r.yaml")
    assert "root" not in doc.__dict__
    assert doc.locate(("b", 1, "y")) == (4, 8)


def test_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    copy = tmp_path / "r.yaml"
    copy.write_bytes(b"\xef\xbb\xbf" + RECORD.read_bytes().replace(b"\n", b"\r\n"))
    assert read_document(copy, "r").data == read_document(RECORD, "r").data


def test_finds_records_and_reports_misplaced_files(tmp_path: Path) -> None:
    content = tmp_path / "content"
    (content / "openrouter").mkdir(parents=True)
    (content / "openrouter" / "a.yaml").write_text("x: 1\n")
    (content / "openrouter" / "notes.md").write_text("ignored")
    (content / ".hidden").mkdir()
    (content / ".hidden" / "b.yaml").write_text("x: 1\n")
    (content / "site.yaml").write_text("x: 1\n")
    outside = tmp_path / "outside.yaml"
    outside.write_text("x: 1\n")
    os.symlink(outside, content / "openrouter" / "link.yaml")
    os.symlink(tmp_path, content / "linked")
    found = list(find_record_files(content, "content"))
    paths = [f[1] for f in found if not isinstance(f, Problem)]
    problems = [str(f) for f in found if isinstance(f, Problem)]
    assert paths == ["content/openrouter/a.yaml"]
    assert problems == [
        "content/linked: a linked folder; put records in content/ itself",
        "content/openrouter/link.yaml: a link to a file outside content/",
    ]


def test_unreadable_and_linked_folders_are_reported_not_skipped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    content = tmp_path / "content"
    (content / "acme" / "deeper").mkdir(parents=True)
    (content / "locked").mkdir()
    (content / "acme" / "deeper" / "here").symlink_to(content / "acme")
    scandir = os.scandir

    def refusing(path: str) -> object:  # root reads every folder: refuse as a plain user's would
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", path)
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    found = list(find_record_files(content, "content"))
    assert sorted(str(p) for p in found) == [
        "content/acme/deeper/here: a linked folder; put records in content/ itself",
        "content/locked: cannot read the folder: Permission denied",
    ]


# Pieces of records and of near-misses, for texts built at random: the line reader must give
# exactly what the YAML parser gives for each, or decline it.
_KEYS = ["a", "title", "k-1", "x_y", "on", "Yes", "no", "1a", "a b", "null", "<<", "~", "?x"]
_SCALARS = [
    "text", "two words", "yes", "No", "off", "~", "null", "Null", "12", "012", "0", "-1", "+1",
    "1_000", "1e3", ".5", "1.5", ".inf", "0x1f", "0o7", "2026-01-01", "2026-1-1", "2026-02-30",
    "2026-01-01T10:00:00", "a # b", "a #b", "a#b", "a: b", "a:b", "x:", "'q'", "'it''s'", "''",
    '"q"', '""', '"a\\nb"', '"\\x41"', '"a\\"b"', '"\\/"', '"a" b', "'a' b", "[a, b]", "[a,b]",
    "[]", "[ ]", "[a, ]", "[a: b]", "[[a]]", "['x', \"y\", 3]", "[yes]", "&a x", "*a",
    "!!str x", "!x y", "%x", "@x", "`x`", "=", "<<", "- x", "-x", "?x", ":x", "|x", ">x",
    "é", "naïve café", "x\u2028y", "x\x85y", "a\tb", "{a: b}", "{}", "x ", "x  # c",
    "https://x.example/a#b", "1:2", "12:30", "-", "--", "---", "...", "#c",
    "[-a]", "[a b, c]", "[a  b]", "[ a , b ]", "[a,,b]", "[12, 2026-01-01]", "[a\\b]",
    "[x.y, 1e3]", "[.5]", "[~]", "[on, off]", "[a-b, -]", "[a, b] # c", "[a, b]x", "[a%, b@]",
    "[a, 'b']", "[a]]", "[a, b",
]
_SAFE_KEYS = ["a", "title", "k-1", "x_y"]
_SAFE_SCALARS = ["text", "two words", "12", "2026-01-01", "'q'", "'it''s'", '"q"', '""',
                 '"a\\nb"', "[a, b]", "[]", "['x', \"y\", 3]", "naïve café", "x  # c",
                 "https://x.example/a#b", "Yesterday", "a-b", "[gateway, http-402]"]
_LITERAL_LINES = ["one", "  two", "", "three: 4", "- x", "# not a comment", "\tx", "'q'"]


def _pick(draw: st.DrawFn, safe: list[str], every: list[str]) -> str:
    """Mostly what the reader takes, now and then anything: a text with one odd piece in it
    tests the reader's edges; a text with five declines at the first."""
    return draw(st.sampled_from(every if draw(st.integers(0, 9)) == 0 else safe))


@st.composite
def _record_text(draw: st.DrawFn) -> str:
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 5))):
        key = _pick(draw, _SAFE_KEYS, _KEYS)
        kind = draw(st.sampled_from(["scalar", "scalar", "literal", "list", "map", "empty"]))
        if kind == "scalar":
            lines.append(f"{key}: {_pick(draw, _SAFE_SCALARS, _SCALARS)}")
        elif kind == "empty":
            lines.append(f"{key}:" + draw(st.sampled_from(["", " ", "  # c"])))
        elif kind == "literal":
            lines.append(f"{key}: " + draw(st.sampled_from(["|", "|-", "|+", "| ", "|2", ">"])))
            pad = " " * draw(st.integers(0, 3))
            lines += [pad + line if line else "" for line in
                      draw(st.lists(st.sampled_from(_LITERAL_LINES), min_size=0, max_size=4))]
        else:
            lines.append(f"{key}:")
            pad = " " * draw(st.integers(0, 3))
            for _ in range(draw(st.integers(0, 3))):
                value = _pick(draw, _SAFE_SCALARS, _SCALARS)
                if kind == "list":
                    nested = draw(st.booleans())
                    lines.append(f"{pad}- " + (f"{_pick(draw, _SAFE_KEYS, _KEYS)}: {value}"
                                               if nested else value))
                    if nested and draw(st.booleans()):
                        lines.append(f"{pad}  {_pick(draw, _SAFE_KEYS, _KEYS)}: "
                                     f"{_pick(draw, _SAFE_SCALARS, _SCALARS)}")
                else:
                    lines.append(f"{pad}{_pick(draw, _SAFE_KEYS, _KEYS)}: {value}")
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", "# comment", "  # indented", "   "])))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "\n", "", "\n\n"]))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_record_text())
def test_line_reader_equals_pyyaml_or_declines_on_random_records(text: str) -> None:
    data = _read_simple(text)
    if data is None:
        return
    assert repr(data) == repr(yaml.load(text, Loader=_Loader)), text



@pytest.mark.parametrize("flow", [
    "[gateway, http-402]", "[a b, c]", "[a  b]", "[ a , b ]", "[12, 2026-01-01]", "[a\\b]",
    "[x.y, 1e3]", "[.5]", "[~]", "[on, off]", "[a-b, -]", "[a, b] # c", "[a, b]x", "[-a]",
    "[a,,b]", "[a, ]", "[a%, b@]", "[Yes, no]", "[a]]",
])
def test_a_flow_list_of_bare_words_reads_as_pyyaml_reads_it_or_declines(flow: str) -> None:
    """The split taken for lists of bare words must give the item pattern's result."""
    text = f"k: {flow}\n"
    data = _read_simple(text)
    if data is not None:
        assert repr(data) == repr(yaml.load(text, Loader=_Loader))
    if flow in ("[gateway, http-402]", "[a b, c]", "[ a , b ]", "[12, 2026-01-01]",
                "[a, b] # c"):  # what records hold: read, not left to the parser
        assert data is not None


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 70_000])
def test_read_limited_reads_a_whole_file_and_its_size(tmp_path: Path, size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    (tmp_path / "f").write_bytes(data)
    assert read_limited(tmp_path / "f", limit=100_000) == (data, size)


def test_read_limited_stops_at_the_limit_and_gives_the_real_size(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x" * 5000)
    assert read_limited(tmp_path / "f", limit=1000) == (b"x" * 1000, 5000)
    assert read_limited(tmp_path / "f", limit=5000) == (b"x" * 5000, 5000)


def test_read_limited_reads_past_a_size_that_says_too_little() -> None:
    """/dev/zero says 0 bytes and never ends: read up to the limit, no further."""
    assert read_limited("/dev/zero", limit=300_000) == (bytes(300_000), 300_000)
