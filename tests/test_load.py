"""Loading: field paths become positions, the fast constructor equals PyYAML's, files are found."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from helpers import REPO, VALID_SITE

from generator.errors import ContentErrors, Problem
from generator.load import _Loader, find_record_files, read_document

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
])
def test_values_the_fast_constructor_leaves_to_pyyaml_get_its_errors(
        tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(text)
    with pytest.raises(ContentErrors) as caught:
        read_document(path, "r.yaml")
    assert f"r.yaml:{message}" in str(caught.value)


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
